"""A run's sweep for late log records (see :mod:`~ads_operator.reconcile.late_logs`):
count first, read only when OCI holds records the run has not mirrored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ads_operator.models.oci_errors import InvalidRequestError
from ads_operator.models.oci_records import LogRecord, OciJobRun
from ads_operator.reconcile import late_logs, logs
from ads_operator.reconcile.late_logs import LateIds
from ads_operator.reconcile.logs import Window
from ads_operator.usecases import log_search
from ads_operator.usecases.run_context import RunContext

#: The late-record memory after a step, and the time of its last sweep.
Late = tuple[LateIds | None, datetime | None]


async def sweep(
    ctx: RunContext,
    run: OciJobRun,
    now: datetime,
    cursor: logs.Cursor,
    late: LateIds | None,
    *,
    fresh: bool,
    terminal: bool,
) -> tuple[list[LogRecord], Late]:
    """The late records a sweep finds (see :mod:`~ads_operator.reconcile.late_logs`),
    and the memory after it. A sweep is due every third of ``log_late_bound``, and at the
    read that ends a finished run's log (then up to its last regular read)."""
    settings = ctx.settings
    bound = timedelta(seconds=settings.log_late_bound)
    swept_at = ctx.memory.late_swept_at
    final = terminal and not logs.keep_reading(
        terminal=True,
        time_finished=run.time_finished,
        now=now,
        grace=timedelta(seconds=settings.log_grace),
        settle=timedelta(seconds=settings.log_settle),
    )
    if late is None or bound <= timedelta(0):
        return [], (late, swept_at)
    if not (final or late_logs.sweep_due(swept_at, now=now, bound=bound)):
        return [], (late, swept_at)
    window = late_logs.sweep_window(
        late,
        watermark=cursor.watermark,
        overlap=timedelta(seconds=settings.log_overlap),
        now=now,
        bound=bound,
        eager=fresh or final,
        aligned=not final,
    )
    if window is None:
        return [], (late, now)
    counted = late_logs.count_window(
        window, bound, known_until=cursor.watermark or window.end, final=final
    )
    # A count answers for the records searchable when it was taken: ``bound`` after the
    # stretch's end, or for a finished run's last lines the log grace after its finish.
    count_from = min(counted.end + bound, now)
    if final and run.time_finished is not None:
        count_from = min(count_from, run.time_finished + timedelta(seconds=settings.log_grace))
    if await _nothing_late(ctx, run, late, counted, count_from=count_from):
        return [], (late_logs.sweep(late, (), window=window, now=now, bound=bound)[1], now)
    fetched = await log_search.search_all(ctx, run, window.start, window.end, sweep=True)
    found, late = late_logs.sweep(late, fetched, window=window, now=now, bound=bound)
    return found, (late, now)


async def _nothing_late(
    ctx: RunContext,
    run: OciJobRun,
    late: LateIds,
    window: Window,
    *,
    count_from: datetime,
) -> bool:
    """Whether OCI holds no more records of the run in the window (a sweep's, widened
    by :func:`~ads_operator.reconcile.late_logs.count_window`) than the run has
    mirrored: then there is nothing to read. A count is one row per run, and runs
    sweeping the same stretch share the query, where reading the stretch again read
    every record twice. The count must have been taken at ``count_from`` or later.
    A service that refuses the count is read instead."""
    if ctx.memory.counts_refused:
        return False
    try:
        held = await log_search.count(ctx, run, window.start, window.end, count_from=count_from)
    except InvalidRequestError:
        ctx.memory.counts_refused = True
        return False
    return held == late.count_in(window.start, window.end)
