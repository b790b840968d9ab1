"""Batched run-state reads: one ListJobRuns answers many polls; singles where needed."""

from __future__ import annotations

import asyncio

import pytest

from ads_operator.models.oci_errors import NotFoundError, ThrottledError
from ads_operator.models.oci_records import OciJobRun
from ads_operator.oci import poller
from ads_operator.oci.poller import RunStateReader
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort, at


async def _runs(port: FakePort, count: int) -> list[str]:
    ids = []
    for i in range(count):
        run = await port.create_job_run(
            details={"jobId": "j", "compartmentId": COMPARTMENT, "projectId": PROJECT},
            retry_token=f"t{i}",
        )
        ids.append(run.id)
    return ids


async def _no_wait(_: float) -> None:
    return None


async def _read_all(
    reader: RunStateReader,
    port: FakePort,
    ids: list[str],
    *,
    known_state: str | None = None,
    placed: bool = False,
) -> list[OciJobRun]:
    """Reads the runs at once, batchable, with the state last known and (``placed``)
    when each was accepted."""
    return await asyncio.gather(
        *(
            reader.read(
                port,
                run_id=i,
                compartment_id=COMPARTMENT,
                batchable=True,
                known_state=known_state,
                accepted=port.runs[i].time_accepted if placed else None,
            )
            for i in ids
        )
    )


def _taking_turns(port: FakePort) -> list[object]:
    """Makes each list page take a turn of the loop, so lists read at once interleave as
    they do in threads; returns the states of the pages read, in order."""
    listed = port.list_recent_job_runs
    states: list[object] = []

    async def taking_turns(**kwargs: object) -> object:
        states.append(kwargs["lifecycle_state"])
        await asyncio.sleep(0)
        return await listed(**kwargs)  # type: ignore[arg-type]

    port.list_recent_job_runs = taking_turns  # type: ignore[method-assign, assignment]
    return states


async def test_concurrent_polls_share_one_list_call() -> None:
    port = FakePort()
    ids = await _runs(port, 6)
    port.move(ids[2], "IN_PROGRESS", "running")
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    runs = await asyncio.gather(
        *(
            reader.read(
                port,
                run_id=i,
                compartment_id=COMPARTMENT,
                batchable=True,
                log_group_id="lg",
                log_id="l",
            )
            for i in ids
        )
    )
    assert [r.id for r in runs] == ids
    assert runs[2].lifecycle_state == "IN_PROGRESS"
    assert all(r.log_id == "l" for r in runs)  # filled in: summaries have no logDetails
    assert port.calls["list_recent_job_runs"] == 2  # the IN_PROGRESS and the ACCEPTED list
    assert port.calls["get_job_run"] == 0


async def test_few_polls_read_singly_and_unreached_runs_fall_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = FakePort()
    ids = await _runs(port, 5)
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids[:2])
    )
    assert port.calls["list_recent_job_runs"] == 0
    assert port.calls["get_job_run"] == 2
    monkeypatch.setattr(poller, "PAGE_SIZE", 1)
    monkeypatch.setattr(poller, "MAX_PAGES", 2)
    # No IN_PROGRESS run (one call), then ACCEPTED newest first, two pages of one, and
    # beside them the top of SUCCEEDED (one call); the three oldest runs are then looked
    # for in each (empty) ended list, one call each, and read one by one.
    runs = await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids)
    )
    assert [r.id for r in runs] == ids
    assert port.calls["list_recent_job_runs"] == 1 + 2 + 1 + len(poller.ENDED_STATES)
    assert port.calls["get_job_run"] == 2 + 3


async def test_runs_that_ended_together_are_read_from_the_ended_lists() -> None:
    port = FakePort()
    ids = await _runs(port, 4)
    for i in ids[:3]:
        port.move(i, "FAILED", "exit code 1", time_finished=at(9))
    port.move(ids[3], "SUCCEEDED", "done", time_finished=at(9))
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    runs = await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids)
    )
    assert [r.lifecycle_state for r in runs] == ["FAILED"] * 3 + ["SUCCEEDED"]
    # ACCEPTED, IN_PROGRESS (both empty) and beside them the top of SUCCEEDED; then the
    # ended lists for the three left: SUCCEEDED, FAILED. No single read.
    assert port.calls["list_recent_job_runs"] == 5
    assert port.calls["get_job_run"] == 0


async def test_one_missing_run_fails_only_its_own_read() -> None:
    port = FakePort()
    ids = await _runs(port, 3)
    reader = RunStateReader(min_batch=2, window=0.0, sleep=_no_wait)
    results = await asyncio.gather(
        *(
            reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True)
            for i in [*ids, "ocid1.datasciencejobrun.oc1..gone"]
        ),
        return_exceptions=True,
    )
    assert [getattr(r, "id", None) for r in results[:3]] == ids
    assert isinstance(results[3], NotFoundError)


async def test_unbatchable_reads_go_straight_to_get_job_run() -> None:
    port = FakePort()
    (run_id,) = await _runs(port, 1)
    reader = RunStateReader(min_batch=1, window=10.0)
    run = await reader.read(port, run_id=run_id, compartment_id=COMPARTMENT, batchable=True)
    assert run.id == run_id
    assert port.calls["get_job_run"] == 1


async def test_a_run_moving_on_while_the_lists_are_read_is_still_found() -> None:
    """Lists are read in lifecycle order: a run that starts between the ACCEPTED and the
    IN_PROGRESS read is in the second list, not in neither."""
    port = FakePort()
    ids = await _runs(port, 3)
    listed = port.list_recent_job_runs

    async def list_and_start(**kwargs: object) -> object:
        page = await listed(**kwargs)  # type: ignore[arg-type]
        if kwargs.get("lifecycle_state") == "IN_PROGRESS":  # starts right after this read
            port.move(ids[0], "IN_PROGRESS", "running", time_started=at(2))
        return page

    port.list_recent_job_runs = list_and_start  # type: ignore[method-assign, assignment]
    for i in ids[1:]:
        port.move(i, "IN_PROGRESS", "running", time_started=at(1))
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    runs = await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids)
    )
    assert [r.id for r in runs] == ids
    assert port.calls["get_job_run"] == 0


async def test_a_list_is_read_from_both_ends_until_the_reads_meet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Proving that a run has left a list takes reading all of it: from both ends at
    once that is half as many pages one after another, and no more pages in all."""
    port = FakePort()
    ids = await _runs(port, 10)
    for i in ids:
        port.move(i, "IN_PROGRESS", "running", time_started=at(1))
    port.move(ids[4], "SUCCEEDED", "done", time_finished=at(9))
    monkeypatch.setattr(poller, "PAGE_SIZE", 2)
    listed = port.list_recent_job_runs
    ends: list[object] = []

    async def recording(**kwargs: object) -> object:
        ends.append((kwargs["lifecycle_state"], kwargs["newest_first"]))
        return await listed(**kwargs)  # type: ignore[arg-type]

    port.list_recent_job_runs = recording  # type: ignore[method-assign, assignment]
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    runs = await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids)
    )
    assert [r.lifecycle_state for r in runs] == ["IN_PROGRESS"] * 4 + ["SUCCEEDED"] + [
        "IN_PROGRESS"
    ] * 5
    # ACCEPTED (empty), then the 9 IN_PROGRESS runs in pages of 2: the newest page, then
    # one from each end in turn until they overlap. 5 pages, as many as from one end, but
    # 3 rounds instead of 5. The run that left is on the top page of SUCCEEDED, read
    # beside (after them here: this fake port never yields).
    newest, oldest = True, False
    assert ends == [("ACCEPTED", newest)] + [
        ("IN_PROGRESS", end) for end in (newest, newest, oldest, newest, oldest)
    ] + [("SUCCEEDED", newest)]
    assert port.calls["get_job_run"] == 0


async def test_runs_in_the_newer_half_of_a_list_are_looked_for_from_its_top_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Runs in their first minute are read every 3 s, the others every 6 s. Once the
    list was read to its end, the reader knows where its middle lies: the new runs alone
    are looked for from the top, and one of them that ended is known gone as soon as
    the read from the top has passed it."""
    monkeypatch.setattr(poller, "PAGE_SIZE", 1)
    port = FakePort()
    ids = await _runs(port, 10)
    for n, i in enumerate(ids):
        port.move(i, "IN_PROGRESS", "running", time_accepted=at(n), time_started=at(n))
    ends: list[bool] = []
    listed = port.list_recent_job_runs

    async def recording(**kwargs: object) -> object:
        if kwargs["lifecycle_state"] == "IN_PROGRESS":
            ends.append(bool(kwargs["newest_first"]))
        return await listed(**kwargs)  # type: ignore[arg-type]

    port.list_recent_job_runs = recording  # type: ignore[method-assign, assignment]
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)

    async def read(some: list[str]) -> list[OciJobRun]:
        return await _read_all(reader, port, some, known_state="IN_PROGRESS", placed=True)

    await read(ids)  # the whole list, from both ends until the reads meet
    assert set(ends) == {True, False}
    ends.clear()
    port.move(ids[8], "SUCCEEDED", "done", time_finished=at(20))
    runs = await read(ids[6:])
    assert [r.lifecycle_state for r in runs] == ["IN_PROGRESS"] * 2 + ["SUCCEEDED", "IN_PROGRESS"]
    # r9, r7, r6 from the top: every run looked for, and r8 (accepted between r9 and r7)
    # known gone; the top of SUCCEEDED, read beside, shows it. Nothing from the bottom.
    assert ends == [True, True, True]
    assert port.calls["get_job_run"] == 0


async def test_each_read_is_answered_as_soon_as_its_run_is_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that just started is among the newest of its list: its new state must not
    wait for the rest of the list to be read."""
    monkeypatch.setattr(poller, "PAGE_SIZE", 1)
    port = FakePort()
    ids = await _runs(port, 3)
    for i in ids:
        port.move(i, "IN_PROGRESS", "running", time_started=at(1))
    listed = port.list_recent_job_runs
    rest_of_list = asyncio.Event()

    async def slow_after_the_first_page(**kwargs: object) -> object:
        if port.calls["list_recent_job_runs"] >= 2:  # ACCEPTED, then the newest page
            await rest_of_list.wait()
        return await listed(**kwargs)  # type: ignore[arg-type]

    port.list_recent_job_runs = slow_after_the_first_page  # type: ignore[method-assign, assignment]
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    reads = [
        asyncio.ensure_future(
            reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True)
        )
        for i in ids
    ]
    newest = reads[-1]
    await asyncio.wait([newest], timeout=5)  # a deadline, not a pause: done at once
    assert newest.done()
    assert newest.result().lifecycle_state == "IN_PROGRESS"
    assert not reads[0].done()  # the oldest is on a page not read yet
    rest_of_list.set()
    assert [r.id for r in await asyncio.gather(*reads)] == ids


async def test_after_runs_ended_the_ended_list_is_read_beside_the_live_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Runs started together end together: once some ended, a run that ends next is
    answered from the top of the ended list without waiting for the live list to be read
    through (which proving it left takes)."""
    monkeypatch.setattr(poller, "PAGE_SIZE", 1)
    port = FakePort()
    ids = await _runs(port, 6)
    for i in ids:
        port.move(i, "IN_PROGRESS", "running", time_started=at(1))
    for i in ids[:3]:
        port.move(i, "SUCCEEDED", "done", time_finished=at(9))
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)

    def read_all() -> list[asyncio.Future[OciJobRun]]:
        return [
            asyncio.ensure_future(
                reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True)
            )
            for i in ids
        ]

    first = await asyncio.gather(*read_all())
    assert [r.lifecycle_state for r in first] == ["SUCCEEDED"] * 3 + ["IN_PROGRESS"] * 3
    port.move(ids[5], "SUCCEEDED", "done", time_finished=at(12))  # the newest ends next
    listed = port.list_recent_job_runs
    live_list = asyncio.Event()

    async def live_list_held(**kwargs: object) -> object:
        if kwargs["lifecycle_state"] == "IN_PROGRESS":
            await live_list.wait()
        return await listed(**kwargs)  # type: ignore[arg-type]

    port.list_recent_job_runs = live_list_held  # type: ignore[method-assign, assignment]
    reads = read_all()
    await asyncio.wait([reads[5]], timeout=5)  # a deadline, not a pause: done at once
    assert reads[5].done()
    assert reads[5].result().lifecycle_state == "SUCCEEDED"
    assert not reads[3].done()  # still IN_PROGRESS: waits for the live list
    live_list.set()
    states = [r.lifecycle_state for r in await asyncio.gather(*reads)]
    assert states == ["SUCCEEDED"] * 3 + ["IN_PROGRESS"] * 2 + ["SUCCEEDED"]


async def test_without_runs_ending_only_the_top_of_succeeded_is_read_beside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(poller, "PAGE_SIZE", 2)  # a live list of more than one page
    port = FakePort()
    ids = await _runs(port, 3)
    for i in ids:
        port.move(i, "IN_PROGRESS", "running", time_started=at(1))
    states = _taking_turns(port)
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    for _ in range(2):
        await asyncio.gather(
            *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids)
        )
    assert [s for s in states if s not in poller.LIVE_STATES] == ["SUCCEEDED"] * 2


async def test_beside_a_live_list_of_one_page_no_ended_list_is_read() -> None:
    """A short live list proves at once that a run left it: a few runs read every second
    cost one list page per read, not two. The first read, not knowing the list yet,
    reads the top of SUCCEEDED beside it as for a long list."""
    port = FakePort()
    ids = await _runs(port, 3)
    for i in ids:
        port.move(i, "IN_PROGRESS", "running", time_started=at(1))
    states = _taking_turns(port)
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    for _ in range(3):
        await _read_all(reader, port, ids, known_state="IN_PROGRESS")
    assert states == ["IN_PROGRESS", "SUCCEEDED", "IN_PROGRESS", "IN_PROGRESS"]
    port.move(ids[0], "SUCCEEDED", "done", time_finished=at(9))
    runs = await _read_all(reader, port, ids, known_state="IN_PROGRESS")
    assert [r.lifecycle_state for r in runs] == ["SUCCEEDED", "IN_PROGRESS", "IN_PROGRESS"]
    assert states[4:] == ["IN_PROGRESS"]  # the one that left it: read singly
    assert port.calls["get_job_run"] == 1


async def test_a_failed_list_page_fails_every_read_still_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reads answered from pages read before the failure keep their answer; the rest get
    the list's error as it is (a 429 keeps its retry-after)."""
    monkeypatch.setattr(poller, "PAGE_SIZE", 1)
    port = FakePort()
    ids = await _runs(port, 3)
    listed = port.list_recent_job_runs
    throttled = ThrottledError("slow down", status=429, retry_after=7.0)

    async def second_page_throttled(**kwargs: object) -> object:
        if port.calls["list_recent_job_runs"] >= 1:
            port.calls["list_recent_job_runs"] += 1
            raise throttled
        return await listed(**kwargs)  # type: ignore[arg-type]

    port.list_recent_job_runs = second_page_throttled  # type: ignore[method-assign, assignment]
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    results = await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids),
        return_exceptions=True,
    )
    newest = results[2]
    assert isinstance(newest, OciJobRun)
    assert newest.lifecycle_state == "ACCEPTED"
    assert results[:2] == [throttled, throttled]


async def test_a_sleeping_run_is_woken_when_a_page_read_for_others_shows_it_moved_on() -> None:
    """A long run polls every 6 s; the reads made for the runs around it every 3 s show
    its end first. It is woken, and its next read answers from that page, no call."""
    port = FakePort()
    ids = await _runs(port, 5)
    sleeper, others = ids[0], ids[1:]
    for i in ids:
        port.move(i, "IN_PROGRESS", "running", time_started=at(1))
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    woken: list[str] = []
    reader.follow(sleeper, "IN_PROGRESS", lambda: woken.append(sleeper))
    reader.follow(others[0], "IN_PROGRESS", lambda: woken.append(others[0]))  # unchanged

    await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in others)
    )
    assert woken == []  # its page showed it as it was known
    port.move(others[1], "SUCCEEDED", "done", time_finished=at(9))
    await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in others)
    )
    port.move(sleeper, "SUCCEEDED", "done", time_finished=at(12))
    await asyncio.gather(  # a run ended last time: the SUCCEEDED list's top is read beside
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in others)
    )
    assert woken == [sleeper]
    assert reader.woken == 1
    calls = dict(port.calls)
    run = await reader.read(port, run_id=sleeper, compartment_id=COMPARTMENT, batchable=True)
    assert run.lifecycle_state == "SUCCEEDED"
    assert dict(port.calls) == calls  # answered from the page that woke it


async def test_a_page_with_an_older_state_wakes_nobody() -> None:
    """A page fetched before a run's own pass learnt a newer state shows the older one;
    it must not wake the run to show that state again."""
    port = FakePort()
    ids = await _runs(port, 4)
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    woken: list[str] = []
    reader.follow(ids[0], "IN_PROGRESS", lambda: woken.append(ids[0]))  # the list says ACCEPTED
    await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids[1:])
    )
    assert woken == []
    reader.unfollow(ids[0])
    port.move(ids[0], "SUCCEEDED", "done", time_finished=at(9))
    await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids[1:])
    )
    assert woken == []  # no longer followed


async def test_the_live_list_is_not_read_through_for_runs_the_ended_list_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Runs in their log grace are read every 3 s; the top of their ended list answers
    them, so the live list need not be read to its end to prove they left it."""
    monkeypatch.setattr(poller, "PAGE_SIZE", 2)
    port = FakePort()
    ids = await _runs(port, 12)
    for i in ids:
        port.move(i, "IN_PROGRESS", "running", time_started=at(1))
    ended = ids[-2:]
    for i in ended:
        port.move(i, "SUCCEEDED", "done", time_finished=at(9))
    reader = RunStateReader(min_batch=2, window=0.0, sleep=_no_wait)
    await asyncio.gather(  # learns that runs of the compartment end
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids)
    )
    states = _taking_turns(port)
    runs = await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ended)
    )
    assert [r.lifecycle_state for r in runs] == ["SUCCEEDED"] * 2
    # Its first page at most (asked for before the answer came), not all 5.
    assert states.count("IN_PROGRESS") <= 1
    assert states.count("SUCCEEDED") == 1
