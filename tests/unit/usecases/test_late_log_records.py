"""Late records (issue 21): a run's passes over a log where some records become
searchable long after their time. Every record searchable within ``log_late_bound`` is
mirrored exactly once, in fresh mode, settled mode and across switches between them; a
restarted operator doubles nothing; sweeps cost a call per third of the bound."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from typing import Any

import pytest

from ads_operator.models.oci_errors import InvalidRequestError
from ads_operator.reconcile.late_logs import LateIds
from ads_operator.settings import Settings
from ads_operator.usecases.run_executor import RunContext
from tests.fixtures.fake_oci import FakePort, at
from tests.unit.usecases.test_run_executor import Clock, Recorder, make, run_pass

BOUND = 60.0


def context(port: FakePort, rec: Recorder, clock: Clock, **settings: Any) -> RunContext:
    ctx = make(port, rec, clock)
    values: dict[str, Any] = {
        "log_settle": 2,
        "log_overlap": 0,
        # As long as the bound: the last lines' late records are read by the final sweep
        # (a run's log is read until the grace after its finish, as ADS does).
        "log_grace": BOUND,
        "log_read_interval": 0,
        "log_late_bound": BOUND,
    }
    ctx.settings = Settings(**{**values, **settings})
    return ctx


class LateLog:
    """Records of one run, each becoming searchable at its own time plus a delay."""

    def __init__(self, port: FakePort, run_id: str, seed: int, *, late_share: float) -> None:
        self.port, self.run_id = port, run_id
        rng = random.Random(seed)
        self.pending: list[tuple[float, str, float]] = []  # (visible at, message, time)
        for i in range(400):
            time = 2 + i * 0.25
            delay = 0.0
            if rng.random() < late_share:
                delay = rng.uniform(3, BOUND - 1)  # later than the settle, within the bound
            self.pending.append((time + delay, f"line {i:03d}", time))
        self.pending.sort()
        self.expected = [m for _, m, _ in self.pending]

    def ingest(self, now: float) -> None:
        while self.pending and self.pending[0][0] <= now:
            _, message, time = self.pending.pop(0)
            self.port.emit(self.run_id, (message, at(time)))


async def follow(
    ctx: RunContext, port: FakePort, log: LateLog, fresh: Any, until: float, settle: Any = None
) -> None:
    clock = ctx.now
    assert isinstance(clock, Clock)
    seconds = clock.seconds
    while seconds < until:
        seconds = round(seconds + 0.5, 3)
        clock.seconds = seconds
        log.ingest(seconds)
        ctx.log_fresh = lambda s=seconds: bool(fresh(s))
        if settle is not None:
            ctx.log_settle = lambda s=seconds: float(settle(s))
        if await run_pass(ctx) is None:
            return


async def started(port: FakePort, rec: Recorder, clock: Clock, ctx: RunContext) -> str:
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    return run_id


def finish(port: FakePort, run_id: str) -> None:
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(103))


@pytest.mark.parametrize(
    "mode",
    ["settled", "fresh", "switching"],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_every_record_within_the_bound_is_mirrored_exactly_once(mode: str, seed: int) -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock)
    run_id = await started(port, rec, clock, ctx)
    log = LateLog(port, run_id, seed, late_share=0.1)
    fresh = {
        "settled": lambda s: False,
        "fresh": lambda s: True,
        "switching": lambda s: int(s // 7) % 2 == 0,  # a switch every 7 s
    }[mode]
    await follow(ctx, port, log, fresh, until=103)
    finish(port, run_id)
    await follow(ctx, port, log, fresh, until=103 + BOUND + 30)
    counts = Counter(rec.lines)
    assert [line for line, n in counts.items() if n > 1] == []
    assert sorted(counts) == sorted(log.expected)
    assert log.pending == []


@pytest.mark.parametrize("mode", ["settled", "switching"])
@pytest.mark.parametrize("seed", [1, 2])
async def test_a_settle_time_that_changes_loses_and_doubles_nothing(mode: str, seed: int) -> None:
    """The settle time follows the ingest delays the records show
    (:class:`~ads_operator.oci.settle_time.SettleTime`): shortening it while records come
    3 s late or more, and lengthening it again (the watermark stays where it was), still
    mirrors each record once."""
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock, log_settle=10)
    run_id = await started(port, rec, clock, ctx)
    log = LateLog(port, run_id, seed, late_share=0.2)
    fresh = {"settled": lambda s: False, "switching": lambda s: int(s // 7) % 2 == 0}[mode]
    settle = lambda s: [10.0, 2.0, 5.0][int(s // 11) % 3]  # noqa: E731
    await follow(ctx, port, log, fresh, until=103, settle=settle)
    finish(port, run_id)
    await follow(ctx, port, log, fresh, until=103 + BOUND + 30, settle=settle)
    counts = Counter(rec.lines)
    assert [line for line, n in counts.items() if n > 1] == []
    assert sorted(counts) == sorted(log.expected)


async def test_a_settled_read_ends_at_the_settle_time_the_records_show() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock, log_settle=10)
    run_id = await started(port, rec, clock, ctx)
    port.emit(run_id, ("prompt", at(5)))
    ctx.log_fresh = lambda: False
    clock.seconds = 7.5
    await run_pass(ctx)
    assert rec.lines == []  # LOG_SETTLE: 10 s to wait
    ctx.log_settle = lambda: 2.0  # records have been ingested within a second lately
    clock.seconds = 8
    await run_pass(ctx)
    assert rec.lines == ["prompt"]


async def test_without_sweeps_late_records_are_lost_as_before() -> None:
    """The same log with ``log_late_bound`` 0 (sweeps off): the late records are lost;
    shows the test above can fail."""
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock, log_late_bound=0)
    run_id = await started(port, rec, clock, ctx)
    log = LateLog(port, run_id, 1, late_share=0.1)
    await follow(ctx, port, log, lambda s: False, until=103)
    finish(port, run_id)
    await follow(ctx, port, log, lambda s: False, until=103 + BOUND + 30)
    assert len(set(rec.lines)) < len(log.expected)
    assert len(rec.lines) == len(set(rec.lines))


async def test_fresh_reads_show_lines_before_they_settle() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock, log_settle=10)
    run_id = await started(port, rec, clock, ctx)
    port.emit(run_id, ("now", at(5)))
    clock.seconds = 5.5
    ctx.log_fresh = lambda: False
    await run_pass(ctx)
    assert rec.lines == []  # settled: 10 s to wait
    clock.seconds = 6
    ctx.log_fresh = lambda: True
    await run_pass(ctx)
    assert rec.lines == ["now"]
    cursor = ctx.status["logCursor"]
    assert cursor["watermark"] < cursor["lastTime"]  # the watermark stays settled
    assert len(cursor["ids"]) == 1  # and "now" is remembered by id
    clock.seconds = 30
    ctx.log_fresh = lambda: False
    await run_pass(ctx)
    assert rec.lines == ["now"]


async def test_a_restarted_operator_doubles_nothing() -> None:
    """The sweep memory is lost with the process: the new one sweeps only what its own
    reads covered, so no record is mirrored twice (late records from before the restart
    that arrive after it may be missed: the documented limit)."""
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock)
    run_id = await started(port, rec, clock, ctx)
    log = LateLog(port, run_id, 4, late_share=0.2)
    await follow(ctx, port, log, lambda s: int(s // 5) % 2 == 0, until=50)
    again = context(port, rec, clock, log_late_bound=BOUND)
    again.status = ctx.status  # the saved status, nothing of the memory
    await follow(again, port, log, lambda s: True, until=103)
    finish(port, run_id)
    await follow(again, port, log, lambda s: True, until=103 + BOUND + 30)
    counts = Counter(rec.lines)
    assert [line for line, n in counts.items() if n > 1] == []
    assert len(counts) > 0.9 * len(log.expected)


async def test_settled_sweeps_cost_a_call_per_third_of_the_bound() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock)
    run_id = await started(port, rec, clock, ctx)
    log = LateLog(port, run_id, 5, late_share=0.0)
    ctx.settings = dataclasses.replace(ctx.settings, log_read_interval=5)
    await follow(ctx, port, log, lambda s: False, until=100)
    with_sweeps = port.calls["search_logs"]
    port2, rec2, clock2 = FakePort(), Recorder(), Clock()
    ctx2 = context(port2, rec2, clock2, log_late_bound=0, log_read_interval=5)
    run2 = await started(port2, rec2, clock2, ctx2)
    await follow(ctx2, port2, LateLog(port2, run2, 5, late_share=0.0), lambda s: False, until=100)
    # 100 s of a 60 s bound: sweeps at 20 s ticks, the first with nothing old enough;
    # with no late record each counts and reads nothing.
    assert with_sweeps == port2.calls["search_logs"]
    assert 1 <= port.calls["count_logs"] <= 100 / (BOUND / 3)
    assert rec.lines == rec2.lines


async def test_a_sweep_reads_only_when_the_count_shows_late_records() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock, log_read_interval=5)
    run_id = await started(port, rec, clock, ctx)
    log = LateLog(port, run_id, 5, late_share=0.0)
    await follow(ctx, port, log, lambda s: False, until=100)
    searches = port.calls["search_logs"]
    port.emit(run_id, ("late", at(45)))  # searchable 55 s after its time: within the bound
    await follow(ctx, port, log, lambda s: False, until=140)
    assert rec.lines.count("late") == 1
    assert port.calls["search_logs"] > searches


async def test_a_service_that_refuses_counts_is_swept_by_reading() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    port.fail_next["count_logs"] = InvalidRequestError("summarize is not supported", status=400)
    ctx = context(port, rec, clock)
    run_id = await started(port, rec, clock, ctx)
    log = LateLog(port, run_id, 1, late_share=0.1)
    await follow(ctx, port, log, lambda s: False, until=103)
    finish(port, run_id)
    await follow(ctx, port, log, lambda s: False, until=103 + BOUND + 30)
    assert sorted(rec.lines) == sorted(log.expected)
    assert port.calls["count_logs"] == 1  # refused once, not asked again


async def test_a_retried_attempt_sweeps_its_own_log_from_its_first_read() -> None:
    """The memory of an earlier attempt's run (another OCI run) is not carried over: its
    position would make the new run's first sweeps read from long before it existed."""
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = context(port, rec, clock)
    run_id = await started(port, rec, clock, ctx)
    ctx.memory.late = LateIds(at(-3600), "ocid1.datasciencejobrun.oc1..earlier")
    port.emit(run_id, ("one", at(2)))
    clock.seconds = 10
    await run_pass(ctx)
    late = ctx.memory.late
    assert late is not None
    assert late.run_id == run_id
    assert late.until >= at(-60)  # where this run's first read started
    assert len(late) == 1
