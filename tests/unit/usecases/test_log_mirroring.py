"""Exactly-once log mirroring across crashes (finding F1): batches and Event names are
deterministic, and a kill at any point of a pass (before the write-ahead patch, between it
and creating the Events, or after them) neither loses nor doubles a line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile import log_batches
from ads_operator.reconcile.events import LogEventLimiter, plan_named_events
from ads_operator.reconcile.lifecycle import run_finished
from ads_operator.reconcile.log_batches import PendingEvent, batch_records, event_name
from ads_operator.reconcile.times import iso
from ads_operator.settings import Settings
from ads_operator.usecases.log_gate import LogLane
from ads_operator.usecases.run_executor import RunContext
from tests.fixtures.fake_oci import FakePort, at
from tests.unit.usecases.test_run_executor import Clock, Recorder, make, run_pass


def records(n: int, start: int = 0) -> list[LogRecord]:
    return [LogRecord(id=f"r{i}", time=at(i), message=f"line {i}") for i in range(start, n)]


def test_the_same_records_give_the_same_batches_and_names() -> None:
    first = batch_records(records(200), 300)
    again = batch_records(records(200), 300)
    assert first == again
    assert len(first) > 1
    assert [i for ids, _ in first for i in ids] == [f"r{i}" for i in range(200)]
    assert all(len(m.encode()) <= 300 for _, m in first)
    names = {event_name("run", "uid", ids) for ids, _ in first}
    assert len(names) == len(first)
    assert event_name("run", "uid", ("r1",)) != event_name("run", "uid-2", ("r1",))
    assert len(event_name("x" * 300, "uid", ("r1",))) <= 253


def test_pending_events_round_trip_through_the_status_wire_form() -> None:
    pending = [PendingEvent("a.log.1", "LogLines", "x\ny"), PendingEvent("a.lim.2", "L", "m", True)]
    assert log_batches.from_wire(log_batches.to_wire(pending)) == pending
    assert log_batches.to_wire([]) is None
    assert log_batches.from_wire(None) == []


def test_rate_limit_keeps_one_named_announcement_and_bounds_the_pending_list() -> None:
    limiter = LogEventLimiter(per_run=1000, global_=1000, clock=lambda: 0.0)
    settings = Settings(log_event_max_bytes=16)
    planned, dropped = plan_named_events(
        records(500), run_name="r", run_uid="u", limiter=limiter, settings=settings
    )
    assert len(planned) == log_batches.MAX_PENDING
    assert planned[-1].reason == log_batches.LIMIT_REASON
    assert planned[-1].name == log_batches.limit_event_name("r", "u")
    shown = sum(p.message.count("\n") + 1 for p in planned[:-1])
    assert shown + dropped == 500


def test_a_step_record_round_trips_and_a_step_too_large_for_one_writes_ahead_instead() -> None:
    events = [
        PendingEvent("a.lim.1", log_batches.LIMIT_REASON, "limited", True),
        PendingEvent("a.log.2", "LogLines", "x\ny"),
        PendingEvent("a.log.3", "LogLines", "z"),
    ]
    status = {"logCursor": {"lastTime": "t", "steps": 4}, "logTail": [{"message": "é"}]}
    ordered = log_batches.with_step_record(events, "a.log.step4", status)
    assert ordered is not None
    head, *rest = ordered
    assert (head.name, head.message, head.reason) == ("a.log.step4", "x\ny", "LogLines")
    assert rest == [events[0], events[2]]  # the step Event first, then the others
    assert head.record is not None
    record = log_batches.StepRecord.from_json(head.record)
    assert record == log_batches.StepRecord(status, tuple(rest))
    assert log_batches.StepRecord.from_json("{not json") is None
    assert log_batches.StepRecord.from_json("[]") is None
    assert log_batches.with_step_record(events[:1], "a.log.s", status) is None  # no line Event
    huge = {"logTail": [{"message": "m" * 1000}] * 200}
    assert log_batches.with_step_record(events, "a.log.s", huge) is None  # > 192 KiB
    names = {log_batches.step_event_name("a", "uid", attempt, 1) for attempt in (1, 2)}
    assert len(names) == 2  # a retried attempt counts its steps afresh, under other names


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after the raise runs."""


def persisted(patches: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The status as the API server holds it after these merge patches."""
    status: dict[str, Any] = {}
    for patch in patches:
        for key, value in patch.items():
            if value is None:
                status.pop(key, None)
            else:
                status[key] = value
    return status


def incarnation(
    port: FakePort, rec: Recorder, clock: Clock, kill_at: str | None, busy: bool = False
) -> RunContext:
    """A daemon started from the persisted status, killed at ``kill_at`` of its first
    step that mirrors lines: "step" (before its step Event), "rest" (after it, before the
    step's other Events), "posted" (after those, before the status) or "persist" (at the
    status). ``busy``: every step finds the log lane busy, so the status is written at
    most every ``log_status_interval`` (30 s) and the step Events carry it meanwhile."""
    ctx = make(port, rec, clock, status=persisted(rec.patches))
    if busy:
        ctx.log_lane = LogLane(low=1, writes=8)  # the step itself fills it
    persist, post_events = ctx.kube.persist, ctx.kube.post_events

    async def killing_persist(patch: dict[str, Any], conditions_from: Any = None) -> Any:
        if kill_at == "persist" and "logCursor" in patch:
            raise Killed
        return await persist(patch, conditions_from)

    async def killing_post(pending: Sequence[PendingEvent]) -> Sequence[PendingEvent]:
        step = bool(pending) and pending[0].record is not None
        if kill_at == ("step" if step else "rest"):
            raise Killed
        refused = await post_events(pending)
        if kill_at == "posted" and not step:
            raise Killed
        return refused

    ctx.kube.persist = killing_persist  # type: ignore[method-assign]
    ctx.kube.post_events = killing_post  # type: ignore[method-assign]
    return ctx


@pytest.mark.parametrize("busy", [False, True])
@pytest.mark.parametrize("kill_at", ["step", "rest", "posted", "persist"])
async def test_a_kill_at_any_point_of_a_step_neither_loses_nor_doubles_lines(
    kill_at: str, busy: bool
) -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    await run_pass(make(port, rec, clock))
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    expected: list[str] = []
    kills = 0
    ctx = incarnation(port, rec, clock, None, busy)
    for step in range(12):
        lines = [(f"line {step}.{i}", at(2 + step + i * 0.01)) for i in range(40)]
        port.emit(run_id, *lines)
        expected += [text for text, _ in lines]
        clock.seconds = 3 + step
        if step % 3 == 2:  # every third step: the daemon dies, and the next one is killed
            ctx = incarnation(port, rec, clock, kill_at, busy)
        try:
            await run_pass(ctx)
        except Killed:
            kills += 1
            ctx = incarnation(port, rec, clock, None, busy)
    assert kills == 4
    if busy:  # the status lagged: steps were found by their step Events
        assert sum(1 for p in rec.patches if "logCursor" in p) < 12
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(15))
    clock.seconds = 200
    assert await run_pass(incarnation(port, rec, clock, None, busy)) is None
    assert rec.lines == expected
    status = persisted(rec.patches)
    assert run_finished(status)
    assert status["logCursor"]["steps"] == len(rec.records)


async def test_a_kill_after_the_last_step_event_keeps_the_run_unfinished() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    await run_pass(make(port, rec, clock))
    (run_id,) = port.runs
    port.emit(run_id, ("last words", at(2)))
    port.move(run_id, "FAILED", "exit code 1", time_started=at(1), time_finished=at(3))
    clock.seconds = 200
    with pytest.raises(Killed):
        await run_pass(incarnation(port, rec, clock, "posted"))
    assert rec.lines == ["last words"]
    status = persisted(rec.patches)
    assert "logCursor" not in status
    assert not run_finished(status)  # so a new daemon is started and finds the step Event
    assert await run_pass(incarnation(port, rec, clock, None)) is None
    assert rec.lines == ["last words"]
    assert persisted(rec.patches)["logCursor"]["steps"] == 1


async def test_events_an_earlier_version_left_pending_in_the_status_are_created_once() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    await run_pass(make(port, rec, clock))
    (run_id,) = port.runs
    port.emit(run_id, ("old", at(2)), ("new", at(4)))
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(5))
    # An operator before step Events wrote "old" ahead with its cursor, then died.
    old = PendingEvent(event_name("run-1", "run-uid", ["r-old"]), "LogLines", "old")
    rec.patches.append(
        {
            "logCursor": {"lastTime": iso(at(2)), "ids": ["rec-0-old"]},
            "logPending": log_batches.to_wire([old]),
        }
    )
    clock.seconds = 200
    assert await run_pass(incarnation(port, rec, clock, None)) is None
    assert rec.lines == ["old", "new"]
    assert "logPending" not in persisted(rec.patches)


async def test_a_step_without_a_log_line_event_writes_ahead_in_the_status() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    await run_pass(make(port, rec, clock))
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    port.emit(run_id, ("hidden", at(2)))
    rec.event_budget = 0  # every line limited: only a limit Event would be posted
    clock.seconds = 5
    ctx = incarnation(port, rec, clock, None)
    planned = ctx.kube.plan_lines

    def with_limit_event(records: Sequence[Any]) -> tuple[list[PendingEvent], int]:
        events, dropped = planned(records)
        return [*events, PendingEvent("run-1.lim.x", log_batches.LIMIT_REASON, "limited")], dropped

    ctx.kube.plan_lines = with_limit_event  # type: ignore[method-assign]
    await run_pass(ctx)
    ahead = [p for p in rec.patches if p.get("logPending")]
    assert [e["name"] for e in ahead[0]["logPending"]] == ["run-1.lim.x"]
    assert rec.records == {}
