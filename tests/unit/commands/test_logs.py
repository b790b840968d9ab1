"""``ads-operator logs``: the streaming core against the in-memory port."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from ads_operator.commands.logs import stream
from ads_operator.models.oci_records import LogPage
from ads_operator.settings import Settings
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort, at


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
    printed = await stream(
        port, run_id, follow=False, settings=Settings(), out=out, now=lambda: at(10)
    )
    assert printed == 2
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
    settings = Settings(poll_interval=0.01)
    await stream(port, run_id, follow=True, settings=settings, out=out, now=lambda: at(60))
    assert out.getvalue().splitlines() == [
        "2026-11-26 09:00:00 - Job Run ACCEPTED",  # earlier states, at OCI's own times
        "2026-11-26 09:00:00 - Job Run IN_PROGRESS",
        "2026-11-26 09:00:01 - only line",
        "2026-11-26 09:00:02 - Job Run SUCCEEDED, Job run artifact execution succeeded.",
    ]
    assert port.calls["get_job_run"] == 1, "a finished run is read once"


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
    clock = iter([at(9), at(9), at(30), at(30), at(30), at(30)])
    port.move(run_id, "IN_PROGRESS", "", time_started=at(5))
    followed = io.StringIO()

    async def finish_after_first_pass(**kwargs: object) -> object:
        page = await FakePort.search_logs(port, **kwargs)  # type: ignore[arg-type]
        port.move(run_id, "SUCCEEDED", "done", time_started=at(5), time_finished=at(8))
        return page

    port.search_logs = finish_after_first_pass  # type: ignore[method-assign, assignment]
    await stream(
        port,
        run_id,
        follow=True,
        settings=Settings(poll_interval=0.01),
        out=followed,
        now=lambda: next(clock),
    )
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
    settings = Settings(poll_interval=0.01)  # settle 10 s, overlap 0
    await stream(port, run_id, follow=True, settings=settings, out=out, now=port.now)
    printed = [line.split(" - ", 1)[1] for line in out.getvalue().splitlines()]
    assert printed == ["Job Run ACCEPTED", "early", "late", "new", "Job Run SUCCEEDED, done"]
    assert port.calls["search_logs"] >= 3
