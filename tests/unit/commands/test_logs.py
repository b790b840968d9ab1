"""``ads-operator logs``: the streaming core against the in-memory port."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ads_operator.commands.follow import CANCELED_EXIT, exit_status, stream
from ads_operator.models.oci_records import LogPage, OciJobRun
from ads_operator.settings import Settings
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort, at


class Clock:
    """A clock that ``sleep`` moves on (the follow loop's waits take no time)."""

    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.moment

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=seconds)


async def no_sleep(seconds: float) -> None:
    """The clock moves with the searches instead."""


async def _run(port: FakePort) -> str:
    run = await port.create_job_run(
        details={"jobId": "j", "compartmentId": COMPARTMENT, "projectId": PROJECT},
        retry_token="t",
    )
    return run.id


async def test_prints_the_lines_so_far_in_order() -> None:
    port = FakePort()
    run_id = await _run(port)
    port.emit(run_id, ("b", at(2)), ("a", at(1)))
    out = io.StringIO()
    shown = await stream(
        port, run_id, follow=False, settings=Settings(), out=out, now=lambda: at(10)
    )
    assert shown.printed == 2
    assert out.getvalue().splitlines() == ["2026-11-26 09:00:01 - a", "2026-11-26 09:00:02 - b"]


async def test_follow_of_a_finished_run_prints_in_time_order_and_returns_at_once() -> None:
    port = FakePort()
    run_id = await _run(port)
    port.emit(run_id, ("only line", at(1)))
    port.move(
        run_id,
        "SUCCEEDED",
        "Job run artifact execution succeeded.",
        time_started=at(0),
        time_finished=at(2),
    )
    out = io.StringIO()
    await stream(port, run_id, follow=True, settings=Settings(), out=out, now=lambda: at(60))
    assert out.getvalue().splitlines() == [
        "2026-11-26 09:00:00 - Job Run ACCEPTED",  # earlier states, at OCI's own times
        "2026-11-26 09:00:00 - Job Run IN_PROGRESS",
        "2026-11-26 09:00:01 - only line",
        "2026-11-26 09:00:02 - Job Run SUCCEEDED, Job run artifact execution succeeded.",
    ]
    assert port.calls["get_job_run"] == 1, "a finished run is read once"


async def test_a_last_line_of_the_same_millisecond_as_the_end_comes_before_it() -> None:
    """A run that exits right after printing: its last line and its finish share a
    millisecond, and the state line still ends the output (``make demo`` met this)."""
    port = FakePort()
    run_id = await _run(port)
    port.emit(run_id, ("first", at(1)), ("last", at(2)))
    port.move(run_id, "SUCCEEDED", "done", time_started=at(0), time_finished=at(2))
    out = io.StringIO()
    await stream(port, run_id, follow=True, settings=Settings(), out=out, now=lambda: at(60))
    assert out.getvalue().splitlines()[-2:] == [
        "2026-11-26 09:00:02 - last",
        "2026-11-26 09:00:02 - Job Run SUCCEEDED, done",
    ]


async def test_a_live_run_shows_its_state_at_the_time_oci_recorded() -> None:
    port = FakePort()
    run_id = await _run(port)
    port.emit(run_id, ("before", at(3)), ("after", at(6)))
    port.move(run_id, "IN_PROGRESS", "", time_started=at(5))
    out = io.StringIO()
    await stream(port, run_id, follow=False, settings=Settings(), out=out, now=lambda: at(9))
    assert [line.split(" - ", 1)[1] for line in out.getvalue().splitlines()] == [
        "before",
        "after",
    ]
    port.emit(run_id, ("later", at(7)))
    clock = Clock(at(9))
    followed = io.StringIO()

    async def finish_after_first_pass(**kwargs: object) -> object:
        page = await FakePort.search_logs(port, **kwargs)  # type: ignore[arg-type]
        port.move(run_id, "SUCCEEDED", "done", time_started=at(5), time_finished=at(8))
        return page

    port.search_logs = finish_after_first_pass  # type: ignore[method-assign, assignment]
    shown = await stream(
        port,
        run_id,
        follow=True,
        settings=Settings(),
        out=followed,
        now=clock.now,
        sleep=clock.sleep,
    )
    assert exit_status(shown.run) == 0
    assert [line[11:] for line in followed.getvalue().splitlines()] == [
        "09:00:00 - Job Run ACCEPTED",
        "09:00:03 - before",
        "09:00:05 - Job Run IN_PROGRESS",
        "09:00:06 - after",
        "09:00:07 - later",
        "09:00:08 - Job Run SUCCEEDED, done",
    ]


class LatePort(FakePort):
    """Each search moves the clock 1 s on; after the first, a record 1.5 s older than
    that search's end becomes searchable (late), and a new one is written."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 3.0

    def now(self) -> datetime:
        return at(self.seconds)

    async def search_logs(self, **kwargs: Any) -> LogPage:
        page = await super().search_logs(**kwargs)
        if self.calls["search_logs"] == 1:
            (run_id,) = self.runs
            self.emit(run_id, ("late", at(self.seconds - 1.5)), ("new", at(self.seconds + 0.5)))
        self.seconds += 1
        return page


async def test_follow_shows_lines_at_once_and_late_ones_once() -> None:
    port = LatePort()
    run_id = await _run(port)
    port.emit(run_id, ("early", at(1)))
    port.move(run_id, "SUCCEEDED", "done", time_finished=at(4))
    out = io.StringIO()
    settings = Settings()  # settle 10 s, overlap 0
    await stream(
        port, run_id, follow=True, settings=settings, out=out, now=port.now, sleep=no_sleep
    )
    printed = [line.split(" - ", 1)[1] for line in out.getvalue().splitlines()]
    assert printed == ["Job Run ACCEPTED", "early", "late", "new", "Job Run SUCCEEDED, done"]
    assert port.calls["search_logs"] >= 3


async def test_a_failed_run_ends_the_follow_with_its_exit_code_and_late_lines_once() -> None:
    port = FakePort()
    run_id = await _run(port)
    port.move(run_id, "IN_PROGRESS", "", time_started=at(1))
    port.emit(run_id, ("one", at(2)))
    clock = Clock(at(3))
    searches = 0
    real_search = port.search_logs

    async def search(**kwargs: Any) -> LogPage:
        nonlocal searches
        searches += 1
        if searches == 3:
            port.emit(run_id, ("two", at(4)))
        if searches == 30:  # 27 s after its time: past every quick re-read
            port.emit(run_id, ("late", at(3.5)))
        if searches == 40:
            port.move(
                run_id, "FAILED", "Job run artifact execution failed with exit code 3.",
                time_started=at(1), time_finished=clock.now(),
            )  # fmt: skip
        return await real_search(**kwargs)

    port.search_logs = search  # type: ignore[method-assign]
    out = io.StringIO()
    shown = await stream(
        port, run_id, follow=True, settings=Settings(), out=out, now=clock.now, sleep=clock.sleep
    )
    printed = [line.split(" - ", 1)[1] for line in out.getvalue().splitlines()]
    assert printed == [
        "Job Run ACCEPTED",
        "Job Run IN_PROGRESS",
        "one",
        "two",
        "late",
        "Job Run FAILED, Job run artifact execution failed with exit code 3.",
    ]
    assert shown.printed == 3
    assert exit_status(shown.run) == 3
    assert set(clock.slept) == {1.0}, "searched every second"
    assert port.calls["get_job_run"] < searches / 2, "its state is read less often"


def _ended(state: str, details: str = "") -> OciJobRun:
    return OciJobRun(id="r", job_id="j", lifecycle_state=state, compartment_id="c",
                     lifecycle_details=details)  # fmt: skip


def test_exit_status_of_each_ending() -> None:
    assert exit_status(_ended("SUCCEEDED", "Job run artifact execution succeeded.")) == 0
    assert exit_status(_ended("FAILED", "Job run artifact execution failed with exit code 3")) == 3
    assert exit_status(_ended("FAILED", "Job run timed out.")) == 1
    assert exit_status(_ended("FAILED", "exit code 0")) == 1, "failed is never 0"
    assert exit_status(_ended("CANCELED", "Job run was canceled.")) == CANCELED_EXIT == 143
    assert exit_status(_ended("DELETED")) == CANCELED_EXIT
    assert exit_status(_ended("DELETED", "failed with exit code 2")) == 2


async def test_grace_keeps_reading_after_the_end_for_late_records() -> None:
    port = FakePort()
    run_id = await _run(port)
    port.emit(run_id, ("last", at(1)))
    port.move(run_id, "SUCCEEDED", "done", time_started=at(0), time_finished=at(2))
    clock = Clock(at(3))
    real_search = port.search_logs

    async def search(**kwargs: Any) -> LogPage:
        if clock.now() == at(40):  # ingested 38 s after its time, after the run ended
            port.emit(run_id, ("late", at(1.5)))
        return await real_search(**kwargs)

    port.search_logs = search  # type: ignore[method-assign]
    out = io.StringIO()
    settings = Settings()  # settle 10 s: without grace it would end at 12 s
    await stream(
        port, run_id, follow=True, settings=settings, out=out, now=clock.now,
        sleep=clock.sleep, grace=60,
    )  # fmt: skip
    printed = [line.split(" - ", 1)[1] for line in out.getvalue().splitlines()]
    assert printed[-3:] == ["last", "late", "Job Run SUCCEEDED, done"]
    assert clock.now() >= at(62)


async def test_a_run_without_logging_says_so_once_and_ends_with_the_run() -> None:
    port = FakePort()
    run_id = await _run(port)
    port.runs[run_id] = replace(port.runs[run_id], log_id=None, log_group_id=None)
    port.move(run_id, "IN_PROGRESS", "", time_started=at(1))
    clock = Clock(at(2))
    reads = 0
    real_get = port.get_job_run

    async def get_job_run(**kwargs: Any) -> OciJobRun:
        nonlocal reads
        reads += 1
        if reads == 4:
            port.move(run_id, "CANCELED", "Job run was canceled.", time_finished=clock.now())
        return await real_get(**kwargs)

    port.get_job_run = get_job_run  # type: ignore[method-assign]
    out = io.StringIO()
    shown = await stream(
        port, run_id, follow=True, settings=Settings(), out=out, now=clock.now, sleep=clock.sleep
    )
    printed = [line.split(" - ", 1)[-1] for line in out.getvalue().splitlines()]
    assert (
        printed.count("Logging is not configured for this job run; only its status is shown.") == 1
    )
    assert printed[-1] == "Job Run CANCELED, Job run was canceled."
    assert exit_status(shown.run) == CANCELED_EXIT
