"""Batched following (issue 7): polls on common ticks, one log search per log group and
window, records handed back per run, finished runs read singly."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ads_operator.models.oci_records import LogPage, LogRecord
from ads_operator.oci import logreader
from ads_operator.oci.factory import PortFactory
from ads_operator.oci.logreader import LogSearchBatcher, LogWant, batch_query, split_records
from ads_operator.oci.poller import RunStateReader
from ads_operator.oci.ticks import aligned_delay, state_interval
from ads_operator.settings import Settings
from oci_emulator.testing import generate_api_key
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort, at


def test_aligned_delay_lands_on_common_ticks_at_least_half_an_interval_away() -> None:
    for now in (0.0, 1.0, 1.4, 1.6, 2.9, 1000.25):
        wait = aligned_delay(3.0, now)
        assert (now + wait) % 3.0 == pytest.approx(0.0, abs=1e-9)
        assert 1.5 <= wait <= 4.5
    assert aligned_delay(3.0, 10.0, jitter=0.1, rand=lambda: 1.0) == pytest.approx(
        aligned_delay(3.0, 10.0) + 0.1
    )


def test_counted_from_the_pass_start_a_fast_passs_own_time_skips_no_tick() -> None:
    """A pass begun on a 0.75 s tick and ending 0.4 s later waits for the next tick, not
    the one after (counted from its end, half an interval away was then two ticks)."""
    assert 0.4 + aligned_delay(0.75, 0.4) == pytest.approx(1.5)
    assert 0.4 + aligned_delay(0.75, 0.4, started=0.0) == pytest.approx(0.75)
    # A pass that ran past the next tick waits for the one after it (on the ticks still).
    assert 1.0 + aligned_delay(0.75, 1.0, started=0.0) == pytest.approx(1.5)


def want(
    run: str, log: str = "l1", group: str = "g", start: float = 0, end: float = 100
) -> LogWant:
    return LogWant(COMPARTMENT, group, log, run, at(start), at(end))


def test_batch_query_names_each_log_once_and_each_run() -> None:
    query = batch_query([want("r1"), want("r2", "l2"), want("r3")])
    assert query == (
        f'search "{COMPARTMENT}/g/l1", "{COMPARTMENT}/g/l2"'
        " | where source = '*r1' or source = '*r2' or source = '*r3' | sort by datetime asc"
    )


def test_records_go_to_their_run_and_only_inside_its_window() -> None:
    wants = [want("ocid.r1", start=10), want("ocid.r2", end=20)]
    recs = [
        LogRecord("a", at(5), "r1 early", "ocid.r1"),
        LogRecord("b", at(15), "r1", "ocid.r1"),
        LogRecord("c", at(15), "r2", "ocid.r2"),
        LogRecord("d", at(25), "r2 late", "ocid.r2"),
        LogRecord("e", at(15), "other run", "ocid.r9"),
    ]
    assert [[r.id for r in rs] for rs in split_records(wants, recs)] == [["b"], ["c"]]


class SearchPort:
    """Answers SearchLogs from records per run, honouring ``or`` over sources."""

    def __init__(self, records: dict[str, list[LogRecord]], page_size: int = 1000) -> None:
        self.records, self.page_size = records, page_size
        self.queries: list[str] = []
        self.fail: Exception | None = None

    async def search_logs(
        self, *, query: str, time_start: datetime, time_end: datetime, limit: int, page: Any
    ) -> LogPage:
        self.queries.append(query)
        if self.fail is not None:
            raise self.fail
        runs = [part.split("'")[0] for part in query.split("source = '*")[1:]]
        if "| where" not in query:  # the whole log: every run's records
            runs = list(self.records)
        hits = sorted(
            (
                r
                for run in runs
                for r in self.records.get(run, [])
                if time_start <= r.time < time_end
            ),
            key=lambda r: r.time,
        )
        offset = int(page or 0)
        more = offset + self.page_size < len(hits)
        chunk = tuple(hits[offset : offset + self.page_size])
        return LogPage(chunk, str(offset + self.page_size) if more else None)


def lines(run: str, n: int) -> list[LogRecord]:
    return [LogRecord(f"{run}-{i}", at(i), f"{run} line {i}", run) for i in range(n)]


async def _no_wait(_: float) -> None:
    return None


async def test_concurrent_searches_of_one_log_group_share_a_paged_query() -> None:
    port = SearchPort({f"r{i}": lines(f"r{i}", 7) for i in range(4)}, page_size=5)
    batcher = LogSearchBatcher(window=0.1, sleep=_no_wait)
    found = await asyncio.gather(
        *(batcher.search(port, want(f"r{i}", log=f"l{i}")) for i in range(3)),  # type: ignore[arg-type]
        batcher.search(port, want("r3", group="other")),  # type: ignore[arg-type]
    )
    assert [[r.message for r in rs] for rs in found] == [
        [f"r{i} line {j}" for j in range(7)] for i in range(4)
    ]
    grouped = [q for q in port.queries if " or " in q]
    assert len(set(grouped)) == 1
    assert len(grouped) == 5  # 21 records, pages of 5: one query, followed to the end
    # and the plain per-run query for the other log group (7 records: two pages)
    assert len(port.queries) == 5 + 2
    assert batcher.calls == 7
    assert batcher.answered == 4


async def test_many_runs_are_split_into_bounded_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logreader, "MAX_RUNS_PER_QUERY", 2)
    port = SearchPort({f"r{i}": lines(f"r{i}", 1) for i in range(5)})
    batcher = LogSearchBatcher(window=0.1, sleep=_no_wait)
    # three logs, none with more than two runs waiting: ``or`` queries of two, two and one
    found = await asyncio.gather(
        *(batcher.search(port, want(f"r{i}", log=f"l{i % 3}")) for i in range(5))  # type: ignore[arg-type]
    )
    assert [len(rs) for rs in found] == [1] * 5
    assert len(port.queries) == 3
    assert all("| where" in q for q in port.queries)


def test_a_crowded_log_gets_one_whole_log_query_and_the_rest_or_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logreader, "MAX_RUNS_PER_QUERY", 2)
    wants = [want("a", "l1"), want("b", "l2"), want("c", "l1"), want("d", "l3"), want("e", "l1")]
    assert logreader.plan_queries(wants) == [(True, [0, 2, 4]), (False, [1, 3])]
    assert logreader.plan_queries(wants[:2]) == [(False, [0, 1])]  # two on l1: not crowded


async def test_a_crowded_log_is_searched_once_without_where_and_routed_by_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logreader, "MAX_RUNS_PER_QUERY", 2)
    runs = [f"ocid1.datasciencejobrun.oc1..r{i}" for i in range(4)]
    records = {run: lines(run, 3) for run in runs}
    records["ocid1.datasciencejobrun.oc1..nobody"] = lines("ocid1.datasciencejobrun.oc1..x", 3)
    records["not-an-ocid"] = lines("not-an-ocid", 2)
    port = SearchPort(records, page_size=4)
    batcher = LogSearchBatcher(window=0.1, sleep=_no_wait)
    windows = [(0, 100), (1, 100), (0, 2), (0, 100)]
    found = await asyncio.gather(
        *(
            batcher.search(port, want(run, start=s, end=e))  # type: ignore[arg-type]
            for run, (s, e) in zip(runs, windows, strict=True)
        )
    )
    assert [[r.id for r in rs] for rs in found] == [
        [f"{runs[0]}-{j}" for j in range(3)],
        [f"{runs[1]}-{j}" for j in (1, 2)],  # each run's own window
        [f"{runs[2]}-{j}" for j in (0, 1)],
        [f"{runs[3]}-{j}" for j in range(3)],
    ]  # and the records of runs nobody asked about are dropped
    assert set(port.queries) == {f'search "{COMPARTMENT}/g/l1" | sort by datetime asc'}
    assert len(port.queries) == 5  # 17 records in pages of 4: one query, paged to the end
    assert batcher.calls == 5
    assert batcher.answered == 4


async def test_a_failed_search_fails_every_run_in_it() -> None:
    port = SearchPort({})
    port.fail = RuntimeError("throttled")
    batcher = LogSearchBatcher(window=0.1, sleep=_no_wait)
    results = await asyncio.gather(
        *(batcher.search(port, want(f"r{i}")) for i in range(2)),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_a_run_that_left_the_live_lists_is_read_singly() -> None:
    port = FakePort()
    ids = []
    for i in range(4):
        run = await port.create_job_run(
            details={"jobId": "j", "compartmentId": COMPARTMENT, "projectId": PROJECT},
            retry_token=f"t{i}",
        )
        ids.append(run.id)
    for run_id in ids[:3]:
        port.move(run_id, "IN_PROGRESS", "running")
    port.move(ids[3], "FAILED", "exit code 1", time_finished=at(1))
    reader = RunStateReader(min_batch=2, window=0.0, sleep=_no_wait)
    runs = await asyncio.gather(
        *(reader.read(port, run_id=i, compartment_id=COMPARTMENT, batchable=True) for i in ids)
    )
    assert [r.lifecycle_state for r in runs] == ["IN_PROGRESS"] * 3 + ["FAILED"]
    # ACCEPTED, then IN_PROGRESS, and beside them the top of SUCCEEDED (not there).
    assert port.calls["list_recent_job_runs"] == 3
    assert port.calls["get_job_run"] == 1


def test_one_call_budget_per_tenancy_shared_by_its_credentials_and_regions(tmp_path: Path) -> None:
    key = generate_api_key(tmp_path)

    def secret(tenancy: str, region: str) -> dict[str, str]:
        return {
            "tenancy": tenancy,
            "user": key.user,
            "fingerprint": key.fingerprint,
            "region": region,
            "key": key.key_file.read_text(),
        }

    factory = PortFactory(Settings(oci_endpoint="http://127.0.0.1:9"))
    a = factory.port(secret=secret("ocid1.tenancy.oc1..a", "us-ashburn-1"), secret_name="a")
    a2 = factory.port(secret=secret("ocid1.tenancy.oc1..a", "eu-frankfurt-1"), secret_name="a2")
    b = factory.port(secret=secret("ocid1.tenancy.oc1..b", "us-ashburn-1"), secret_name="b")
    assert a is not a2
    assert a._limiter is a2._limiter  # type: ignore[attr-defined]
    assert a._limiter is not b._limiter  # type: ignore[attr-defined]
    assert sorted(factory.limiters) == ["ocid1.tenancy.oc1..a", "ocid1.tenancy.oc1..b"]


def test_long_in_progress_runs_are_read_less_often_on_the_same_ticks() -> None:
    assert state_interval(3.0, "ACCEPTED", None) == 3.0
    assert state_interval(3.0, "IN_PROGRESS", 30.0) == 3.0
    assert state_interval(3.0, "IN_PROGRESS", 600.0) == 6.0
    assert state_interval(3.0, "IN_PROGRESS", 7200.0) == 12.0
    assert state_interval(3.0, "SUCCEEDED", 7200.0) == 3.0  # the log grace: quick again
    slow = state_interval(3.0, "IN_PROGRESS", 7200.0)
    assert (5.0 + aligned_delay(slow, 5.0)) % 3.0 == pytest.approx(0.0, abs=1e-9)


class CompartmentPort:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def get_log_compartment(self, *, log_group_id: str, log_id: str) -> str:
        self.calls += 1
        await asyncio.sleep(0)  # let the other callers arrive while this one is asked
        if self.fail:
            raise RuntimeError("unavailable")
        return f"compartment-of-{log_group_id}"


async def test_a_log_groups_compartment_is_asked_once_for_all_its_runs() -> None:
    port = CompartmentPort()
    batcher = LogSearchBatcher(window=0.1)
    found = await asyncio.gather(
        *(batcher.log_compartment(port, log_group_id="g", log_id=f"l{i}") for i in range(20)),  # type: ignore[arg-type]
        batcher.log_compartment(port, log_group_id="h", log_id="l"),  # type: ignore[arg-type]
    )
    assert set(found[:20]) == {"compartment-of-g"}
    assert found[20] == "compartment-of-h"
    assert port.calls == 2


async def test_a_failed_compartment_lookup_is_asked_again() -> None:
    port = CompartmentPort()
    port.fail = True
    batcher = LogSearchBatcher(window=0.1)
    with pytest.raises(RuntimeError):
        await batcher.log_compartment(port, log_group_id="g", log_id="l")  # type: ignore[arg-type]
    port.fail = False
    assert await batcher.log_compartment(port, log_group_id="g", log_id="l") == "compartment-of-g"  # type: ignore[arg-type]
    assert port.calls == 2


def test_a_whole_log_query_only_when_most_of_the_log_s_writers_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logreader, "MAX_RUNS_PER_QUERY", 2)
    monkeypatch.setattr(logreader, "WHOLE_LOG_SHARE", 0.5)
    wants = [want("a", "l1"), want("c", "l1"), want("e", "l1")]
    assert logreader.plan_queries(wants, {"l1": 6}) == [(True, [0, 1, 2])]  # 3 of 6
    assert logreader.plan_queries(wants, {"l1": 7}) == [(False, [0, 1]), (False, [2])]


async def test_runs_that_stopped_searching_are_forgotten_as_writers() -> None:
    port = SearchPort({"r1": lines("r1", 1), "r2": lines("r2", 1)})
    clock = [1000.0]
    batcher = LogSearchBatcher(window=0, sleep=_no_wait, clock=lambda: clock[0])
    await batcher.search(port, want("r1", log="l1"))  # type: ignore[arg-type]
    assert batcher._writing(port, "l1") == 1  # type: ignore[arg-type]
    clock[0] += logreader.WRITERS_SEEN + 1
    await batcher.search(port, want("r2", log="l2"))  # type: ignore[arg-type]
    assert list(batcher._writers) == [(id(port), "l2")]  # l1's only run ended: gone


def test_runs_whose_windows_start_far_apart_do_not_share_an_or_query() -> None:
    """A run's first read starts a minute before it was accepted: in one ``or`` query with
    runs read seconds ago, the query would read that minute of every run in it."""
    starts = {"a": 100, "first": 55, "b": 110, "c": 116}  # b is 10 s after a, c 16 s
    wants = [want(run, start=start, end=130) for run, start in starts.items()]
    assert logreader.plan_queries(wants) == [(False, [1]), (False, [0, 2]), (False, [3])]
    assert logreader.plan_queries(wants[:1] + wants[2:]) == [(False, [0, 1]), (False, [2])]
