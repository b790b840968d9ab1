"""A run's passes with the settled watermark (issue 7): lines are read once they have
settled, without a search while nothing has, the cursor's wire form, a cursor written by
the earlier version, and a settle longer than the log grace."""

from __future__ import annotations

from typing import Any

from ads_operator.reconcile.logs import FLOOR_PREFIX
from ads_operator.reconcile.run import iso
from ads_operator.settings import Settings
from ads_operator.usecases.run_executor import RunContext
from tests.fixtures.fake_oci import FakePort, at
from tests.unit.usecases.test_run_executor import Clock, Recorder, make, run_pass


def settled(port: FakePort, rec: Recorder, clock: Clock, **settings: Any) -> RunContext:
    """A context with the given log settings (default: the operator's defaults)."""
    ctx = make(port, rec, clock)
    ctx.settings = Settings(**settings)
    return ctx


async def started(port: FakePort, rec: Recorder, clock: Clock, ctx: RunContext) -> str:
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    return run_id


async def test_lines_are_read_once_settled_and_no_search_runs_while_nothing_has() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = settled(port, rec, clock)  # settle 10 s, no overlap
    run_id = await started(port, rec, clock, ctx)
    port.emit(run_id, ("one", at(2)), ("two", at(14)))
    clock.seconds = 15
    await run_pass(ctx)
    assert rec.lines == ["one"]  # "two" is younger than the settle time
    assert ctx.status["logCursor"] == {
        "lastTime": iso(at(2)),
        "watermark": iso(at(5)),
        "floor": None,
        "ids": [],
        "steps": 1,
    }
    searches = port.calls["search_logs"]
    await run_pass(ctx)  # the same instant: nothing has settled since
    assert port.calls["search_logs"] == searches
    clock.seconds = 30
    await run_pass(ctx)
    assert rec.lines == ["one", "two"]
    assert ctx.status["logCursor"]["watermark"] == iso(at(20))
    assert ctx.status["logCursor"]["ids"] == []


async def test_a_cursor_of_the_earlier_version_is_upgraded_without_doubling_lines() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = settled(port, rec, clock, log_overlap=0)
    run_id = await started(port, rec, clock, ctx)
    port.emit(run_id, *[(f"old {i}", at(2 + i)) for i in range(10)])
    old_ids = [r.id for r in port.logs[run_id]]
    # What the earlier version persisted after mirroring "old 0".."old 9" at 12 s: its
    # floor inside the ids, no watermark.
    ctx.status["logCursor"] = {
        "lastTime": iso(at(11)),
        "ids": [FLOOR_PREFIX + at(2).isoformat(), *old_ids],
    }
    port.emit(run_id, ("new", at(12)))
    for seconds in (13, 20, 40):
        clock.seconds = seconds
        await run_pass(ctx)
    assert rec.lines == ["new"]
    cursor = ctx.status["logCursor"]
    assert cursor["watermark"] == iso(at(30))
    assert not any(i.startswith(FLOOR_PREFIX) for i in cursor["ids"])


async def test_a_settle_longer_than_the_grace_still_reads_the_last_lines() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = settled(port, rec, clock, log_settle=30, log_grace=5)
    run_id = await started(port, rec, clock, ctx)
    port.emit(run_id, ("last words", at(9)))
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(10))
    polls = 0
    for seconds in (20, 35, 41):  # past the grace, but the finish settles at 40 s
        clock.seconds = seconds
        polls += 1
        if await run_pass(ctx) is None:
            break
    assert polls == 3
    assert rec.lines == ["last words"]


async def test_an_ended_runs_log_is_read_at_once_then_on_the_live_schedule_until_complete() -> None:
    """Without headroom a run that ended is read at its first pass (its last lines), then
    every ~10 s like a live run, and at the first pass past its grace (which completes
    the log); not at every 3 s pass through the grace (a search and a status patch
    each). A line that turns up in the grace is mirrored by an interval read."""
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = settled(port, rec, clock, log_grace=30, log_settle=2)
    run_id = await started(port, rec, clock, ctx)
    port.emit(run_id, ("last words", at(9.5)))
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(10))
    read_at: list[int] = []
    complete_at = None
    for second in range(12, 61, 3):
        if second == 15:
            port.emit(run_id, ("flushed after the end", at(11)))
        clock.seconds = second
        before = port.calls["search_logs"]
        if await run_pass(ctx) is None:
            complete_at = second
        if port.calls["search_logs"] > before:
            read_at.append(second)
        if complete_at is not None:
            break
    # At once, every ~10 s, and past 10 + 30 s (every pass from 12 to 42 s before: 11).
    assert read_at == [12, 21, 30, 39, 42]
    assert complete_at == 42
    assert rec.lines == ["last words", "flushed after the end"]
