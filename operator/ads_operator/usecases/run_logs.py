"""A run's log step: read the new lines, make the Events they make durable (a step Event
that carries the rest, or the cursor's write-ahead, see
:mod:`~ads_operator.reconcile.log_batches`), create them, then write the status when due.

While a run is live the step runs beside the passes (one at a time): reading the log,
creating the Events and writing the status take as long as the Logging service and the
apiserver need for thousands of lines, and the next state read must not wait for that.
Once the run is terminal its state cannot change any more, and the passes wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from ads_operator.models.oci_records import OciJobRun
from ads_operator.models.run_wire import (
    CursorWire,
    LogLineWire,
    PendingEventWire,
    RunStatusWire,
)
from ads_operator.oci import cadence
from ads_operator.reconcile import late_logs, log_batches, logs, progress
from ads_operator.reconcile.late_logs import LateIds
from ads_operator.reconcile.log_batches import PendingEvent
from ads_operator.reconcile.times import iso, parse_time
from ads_operator.usecases import late_sweep, log_search
from ads_operator.usecases.run_context import RunContext

log = logging.getLogger(__name__)


def _pending_wire(pending: Sequence[PendingEvent]) -> list[PendingEventWire] | None:
    """``status.logPending`` for these Events (None clears it)."""
    return cast("list[PendingEventWire] | None", log_batches.to_wire(pending))


def _cursor(status: Mapping[str, Any]) -> logs.Cursor:
    raw = status.get("logCursor") or {}
    return logs.Cursor.from_wire(
        parse_time(raw.get("lastTime")),
        raw.get("ids") or [],
        floor=parse_time(raw.get("floor")),
        watermark=parse_time(raw.get("watermark")),
    )


def _cursor_wire(cursor: logs.Cursor) -> CursorWire:
    """``status.logCursor`` for a merge patch: unset fields are written as None, which
    removes them, and the ids list replaces the earlier one (with any legacy ``floor:``
    entry in it)."""
    return {
        "lastTime": iso(cursor.last_time),
        "watermark": iso(cursor.watermark),
        "floor": iso(cursor.floor),
        "ids": list(cursor.ids),
    }


async def follow_logs(
    ctx: RunContext, run: OciJobRun, now: datetime, terminal: bool, duration: str | None
) -> bool:
    """Takes in the last log step (raising its error), starts the next one unless one is
    in flight, and says whether the log is complete: the run is terminal, no Event is
    left to create, and a read made after the log grace has passed the finish.

    A live run's step runs beside the passes; a terminal run's pass waits for it, so the
    read that completes the log is decided on at once, as a single pass would."""
    if ctx.memory.log_step is not None and (terminal or ctx.memory.log_step.done()):
        await ctx.wait_logs()
    if (
        ctx.memory.log_step is None
        and not _read_enough(ctx, run, terminal)
        and _log_due(ctx, run, now, terminal)
    ):
        ctx.memory.log_step = asyncio.get_running_loop().create_task(
            _log_step(ctx, run, now, duration, terminal)
        )
        if terminal:
            await ctx.wait_logs()
    return _read_enough(ctx, run, terminal) and ctx.memory.log_step is None


def _log_due(ctx: RunContext, run: OciJobRun, now: datetime, terminal: bool) -> bool:
    """Whether this pass reads the log: at once when it never did or Events are left to
    create, else at the pass nearest to the log-read interval after the last read, which
    shrinks with the headroom of the budget (:func:`ads_operator.oci.cadence.log_read_due`).

    A terminal run's also at the first pass after it ended (its last lines, at once) and
    at the first pass whose read completes the log (after the grace); in between on the
    same schedule as a live run's."""
    read_at = ctx.memory.logs_read_at
    if read_at is None or ctx.memory.unposted:
        return True
    if terminal and (
        run.time_finished is None
        or read_at <= run.time_finished
        or not _keeps_reading(ctx, run, now)
    ):
        return True
    return cadence.log_read_due(
        read_at.timestamp(),
        now.timestamp(),
        slowest=ctx.settings.log_read_interval,
        poll_interval=ctx.settings.poll_interval,
        headroom=ctx.headroom(None),
    )


def _keeps_reading(ctx: RunContext, run: OciJobRun, moment: datetime) -> bool:
    """Whether a terminal run's log may still change after a read made at ``moment``."""
    return logs.keep_reading(
        terminal=True,
        time_finished=run.time_finished,
        now=moment,
        grace=timedelta(seconds=ctx.settings.log_grace),
        settle=timedelta(seconds=ctx.settings.log_settle),
    )


def _read_enough(ctx: RunContext, run: OciJobRun, terminal: bool) -> bool:
    memory = ctx.memory
    if not terminal or memory.unposted or memory.log_unsaved or memory.logs_read_at is None:
        return False
    return not _keeps_reading(ctx, run, memory.logs_read_at)


async def _log_step(
    ctx: RunContext, run: OciJobRun, now: datetime, duration: str | None, terminal: bool
) -> None:
    """Read the new lines, then create the Events they make, the step Event first (or,
    when there is none, persist them with the cursor first), then write the status if it
    is due (:func:`_status_due`). What the sweep for late records learnt is kept with the
    step: a step that fails before its Events leaves the memory as it was, and the
    records it found are found again.

    A step that waited at the gate reads up to the time it was let in, not the pass's."""
    lane = ctx.log_lane
    async with lane.admitted() if lane else contextlib.nullcontext(False) as waited:
        if waited:
            now = max(now, ctx.now())
        patch, to_post, read, late = await _mirror_logs(ctx, run, now, terminal)
        async with lane.writing() if lane else contextlib.nullcontext():
            if read:
                patch["duration"] = duration
                await _write_step(ctx, patch, to_post, late)
            else:
                ctx.memory.unposted = await _post(ctx, to_post)
            if _status_due(ctx, now, terminal):
                await _save_status(ctx, now)
    if read:
        ctx.memory.logs_read_at = now


async def _write_step(
    ctx: RunContext, patch: RunStatusWire, to_post: list[PendingEvent], late: late_sweep.Late
) -> None:
    """Make a read's Events durable: as a step Event that carries the status after it and
    the other Events, created first; or, for a step without a log-line Event or too
    large for one, by persisting them with the status (``logPending``) before creating
    them. The status after the step is kept unsaved until :func:`_save_status`."""
    memory = ctx.memory
    status: RunStatusWire = {**(memory.log_unsaved or {}), **patch}
    if not to_post:
        memory.log_unsaved, memory.late, memory.late_swept_at = status, *late
        return
    steps = _steps(status) + 1
    counted: RunStatusWire = {**status, "logCursor": _counted(status.get("logCursor"), steps)}
    name = log_batches.step_event_name(ctx.name, ctx.uid, ctx.attempt, steps)
    ordered = log_batches.with_step_record(to_post, name, counted)
    if ordered is None:  # written ahead in the status, the step count unchanged
        await ctx.save({**status, "logPending": _pending_wire(to_post)})
        memory.log_unsaved, memory.late, memory.late_swept_at = None, *late
        memory.unposted = await _post(ctx, to_post)
        return
    memory.log_unsaved, memory.late, memory.late_swept_at = counted, *late
    memory.unposted = await _post(ctx, ordered)


async def _post(ctx: RunContext, events: Sequence[PendingEvent]) -> list[PendingEvent]:
    """Create ``events`` (a step Event first, alone: the others exist only after it);
    returns those the apiserver refused, to be created again before reading on."""
    if not events:
        return []
    if events[0].record is not None:
        if await ctx.kube.post_events(events[:1]):
            return list(events)
        events = events[1:]
    return list(await ctx.kube.post_events(events))


def _status_due(ctx: RunContext, now: datetime, terminal: bool) -> bool:
    """Whether the log fields are written now: once every Event of the steps before
    exists, after every step unless log steps queue for the API server, and then at
    most every ``log_status_interval`` (always for a terminal run, whose log completes
    only once they are written)."""
    memory = ctx.memory
    if memory.log_unsaved is None or memory.unposted:
        return False
    lane, interval = ctx.log_lane, ctx.settings.log_status_interval
    if terminal or lane is None or not lane.busy or memory.log_saved_at is None:
        return True
    return (now - memory.log_saved_at).total_seconds() >= interval


async def _save_status(ctx: RunContext, now: datetime) -> None:
    patch = ctx.memory.log_unsaved
    assert patch is not None
    if ctx.status.get("logPending"):
        patch["logPending"] = None  # created: nothing left to resume
    await ctx.save(patch)
    ctx.memory.log_unsaved, ctx.memory.log_saved_at = None, now


def _counted(cursor: CursorWire | None, steps: int) -> CursorWire:
    counted: CursorWire = {**(cursor or {}), "steps": steps}
    return counted


def _steps(status: Mapping[str, Any]) -> int:
    return int((status.get("logCursor") or {}).get("steps") or 0)


def _shown(ctx: RunContext) -> RunStatusWire:
    """The status as the log steps so far left it (written or not)."""
    return {**ctx.status, **(ctx.memory.log_unsaved or {})}


async def _resume(ctx: RunContext) -> None:
    """Once per incarnation: create the Events an earlier one made durable and may have
    been killed before creating (those it did create answer 409 and count as done):
    those persisted in ``logPending``, and those of the step Events after the status's
    step count, looked up one by one until one does not exist. The last one found holds
    the status its step left, saved later as any step's."""
    memory = ctx.memory
    if memory.pending_resumed:
        return
    unposted = await _post(ctx, log_batches.from_wire(ctx.status.get("logPending")))
    steps, found = _steps(ctx.status), None
    while True:
        name = log_batches.step_event_name(ctx.name, ctx.uid, ctx.attempt, steps + 1)
        raw = await ctx.kube.step_record(name)
        record = log_batches.StepRecord.from_json(raw) if raw is not None else None
        if record is None:
            if raw is not None:
                log.warning("log step Event %s of %s has no record", name, ctx.name)
            break
        steps, found = steps + 1, record
    if found is not None:
        unposted += await _post(ctx, found.rest)
        memory.log_unsaved = cast(RunStatusWire, dict(found.status))
    memory.unposted, memory.pending_resumed = unposted, True


async def _mirror_logs(
    ctx: RunContext, run: OciJobRun, now: datetime, terminal: bool = False
) -> tuple[RunStatusWire, list[PendingEvent], bool, late_sweep.Late]:
    """The log fields of the status after reading new log lines, the Events to create,
    whether the log was read (not when refused Events come first), and the late-record
    memory to keep once the Events are durable."""
    await _resume(ctx)
    kept: late_sweep.Late = (ctx.memory.late, ctx.memory.late_swept_at)
    if ctx.memory.unposted:
        # The apiserver refused some Events (overload, a timeout): create them again
        # before reading on; the cursor waits, so what is left to create stays bounded.
        return {}, list(ctx.memory.unposted), False, kept
    shown = _shown(ctx)
    settings = ctx.settings
    overlap = timedelta(seconds=settings.log_overlap)
    settle = timedelta(seconds=ctx.settle_seconds())
    fresh = ctx.log_fresh()
    cursor = _cursor(shown)
    window = logs.read_window(
        cursor,
        time_accepted=run.time_accepted,
        now=now,
        settle=settle,
        overlap=overlap,
        fresh=fresh,
    )
    late = ctx.memory.late
    if late is not None and late.run_id != run.id:
        late = None  # a new attempt (a new OCI run): its own log, from its first read
    if window is None:  # nothing has settled since the last read: no call
        merged = logs.Merged((), cursor)
    else:
        fetched = await log_search.search_all(ctx, run, window.start, window.end)
        merged = logs.merge(
            cursor,
            fetched,
            window=window,
            overlap=overlap,
            max_ids=settings.log_cursor_max_ids,
            settled=now - settle,
        )
        # Sweeps of this incarnation start where its first read started: what came
        # before was mirrored by reads whose ids it does not know.
        late = late_logs.remember(
            late if late is not None else LateIds(window.start, run.id),
            [r for r in fetched if window.start <= r.time < window.end],
        )
    found, kept = await late_sweep.sweep(
        ctx, run, now, merged.cursor, late, fresh=fresh, terminal=terminal
    )
    new = [*merged.new, *found]
    to_post: list[PendingEvent] = []
    not_mirrored = 0
    if new:
        planned, not_mirrored = ctx.kube.plan_lines(new)
        to_post = list(planned)
    # The tail stays in its wire form: only the lines new to it are formatted (parsing
    # and formatting the whole tail at every read of a thousand runs cost the loop).
    size = settings.log_tail_lines
    added: list[LogLineWire] = [
        {"time": iso(r.time), "message": r.message[:2048]} for r in new[-size:]
    ]
    patch: RunStatusWire = {
        "logCursor": {**_cursor_wire(merged.cursor), "steps": _steps(shown)},
        "logTail": logs.tail(list(shown.get("logTail") or []), added, size),
    }
    if not_mirrored:
        # With the cursor in one patch: a read that is not saved is read (and counted)
        # again, a saved one never (its records are behind the cursor).
        before = int(shown.get("logLinesNotMirrored") or 0)
        patch["logLinesNotMirrored"] = before + not_mirrored
    reported = progress.latest(r.message for r in merged.new)  # late lines are old news
    if reported is not None:
        marker = reported.as_status()
        patch["progress"], patch["progressPercent"] = marker["progress"], marker["progressPercent"]
    return patch, to_post, True, kept
