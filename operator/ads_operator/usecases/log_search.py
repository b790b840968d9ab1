"""A run's log as the use cases search it: its records in a window, and their count.

Both go through the port with the run as a hint (:class:`~ads_operator.oci.port.RunLog`),
so a batching port answers many runs with one query.
"""

from __future__ import annotations

from datetime import datetime

from ads_operator.models.oci_errors import NotFoundError
from ads_operator.models.oci_records import LogRecord, OciJobRun
from ads_operator.oci.log_counts import run_count_query
from ads_operator.oci.port import RunLog
from ads_operator.reconcile import logs
from ads_operator.usecases.run_context import RunContext


async def run_log(
    ctx: RunContext, run: OciJobRun, *, sweep: bool = False, count_from: datetime | None = None
) -> RunLog:
    """The run's log (its compartment looked up once: searches name it)."""
    assert run.log_group_id
    assert run.log_id
    if ctx.memory.log_compartment is None:
        try:
            ctx.memory.log_compartment = await ctx.port.get_log_compartment(
                log_group_id=run.log_group_id, log_id=run.log_id
            )
        except NotFoundError:
            ctx.memory.log_compartment = run.compartment_id
    return RunLog(
        ctx.memory.log_compartment, run.log_group_id, run.log_id, run.id, sweep, count_from
    )


async def search_all(
    ctx: RunContext, run: OciJobRun, start: datetime, end: datetime, *, sweep: bool = False
) -> list[LogRecord]:
    """The run's records in the window (a port that batches searches the log of many
    runs at once and answers on one page)."""
    log = await run_log(ctx, run, sweep=sweep)
    query = logs.search_query(log.compartment_id, log.log_group_id, log.log_id, log.run_id)
    records: list[LogRecord] = []
    page: str | None = None
    while True:
        result = await ctx.port.search_logs(
            query=query, time_start=start, time_end=end, limit=1000, page=page, run=log
        )
        records.extend(result.records)
        page = result.next_page
        if not page:
            return records


async def count(
    ctx: RunContext, run: OciJobRun, start: datetime, end: datetime, *, count_from: datetime
) -> int:
    """How many records of the run OCI holds in the window, counted at ``count_from``
    or later (a batching port counts many runs' with one query, see
    :mod:`~ads_operator.oci.log_counts`)."""
    log = await run_log(ctx, run, sweep=True, count_from=count_from)
    query = run_count_query(log.compartment_id, log.log_group_id, log.log_id, log.run_id)
    counts = await ctx.port.count_logs(query=query, time_start=start, time_end=end, run=log)
    return sum(counts.values())
