"""Counts of many runs' log records with one query: what makes sweeps for late records
cheap (issue 21).

A sweep looks at a stretch of a run's log again, long after its regular reads, to find
records OCI Logging made searchable late (see :mod:`~ads_operator.reconcile.late_logs`).
Reading the stretch again read every record twice: at 1,000 runs a third more searches
than following the logs at all. Most stretches hold no late record, and the sweep knows
how many records of the stretch it has mirrored. So it first asks how many OCI holds
(``summarize count() as n by source``: one row per run, however many lines) and reads
the stretch only when the two differ.

Counts of runs whose stretches are the same window and whose logs are in the same
(compartment, log group) are asked together: one query names their logs as streams, with
no ``where``, and its rows are handed to the runs by ``source``. Sweeps fall on common
ticks and stretches on a common grid (:func:`~ads_operator.reconcile.late_logs.sweep_window`),
and the counts of one window are kept a while (:data:`KEEP`): the runs whose sweeps come
a few seconds after the first (each run's log step has its own time) are answered by the
same query. A kept count serves a run only if it was taken after the run's
``count_from``: a count answers for the records that were searchable when it was asked,
and a sweep needs those searchable at least ``bound`` after the stretch's end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from ads_operator.oci.logreader import MAX_RUNS_PER_QUERY, LogWant, last_ocid
from ads_operator.oci.port import OciPort

#: The field the count rows carry the count in.
COUNT_FIELD: Final = "n"
#: How long the counts of a window are kept for runs that sweep it a little later.
KEEP: Final = timedelta(seconds=60)


def run_count_query(compartment_id: str, log_group_id: str, log_id: str, run_id: str) -> str:
    """One run's records of a log, counted (``source = '*<ocid>'`` as ADS filters)."""
    return (
        f'search "{compartment_id}/{log_group_id}/{log_id}"'
        f" | where source = '*{run_id}' | summarize count() as {COUNT_FIELD} by source"
    )


def logs_count_query(compartment_id: str, log_group_id: str, log_ids: Sequence[str]) -> str:
    """Every source's records of these logs, counted: one row per source."""
    streams = ", ".join(f'"{compartment_id}/{log_group_id}/{log}"' for log in log_ids)
    return f"search {streams} | summarize count() as {COUNT_FIELD} by source"


def by_run(counts: Mapping[str, int]) -> dict[str, int]:
    """Counts by the last OCID of their ``source`` (a run's, as ``source = '*<ocid>'``
    matches it); sources without one by themselves."""
    out: dict[str, int] = {}
    for source, count in counts.items():
        run = last_ocid(source)
        out[run] = out.get(run, 0) + count
    return out


@dataclass(frozen=True)
class _Counted:
    #: When the query was asked (by the batcher's clock): records searchable then are in.
    asked_at: datetime
    logs: frozenset[str]
    runs: dict[str, int]


@dataclass
class _Batch:
    port: OciPort
    waiting: list[tuple[LogWant, asyncio.Future[int]]] = field(default_factory=list)


_Key = tuple[int, str, str, datetime, datetime]


class LogCountBatcher:
    """Shared by every run of the operator; ``count`` answers one run's record count."""

    def __init__(
        self,
        *,
        window: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.window = window
        self._sleep = sleep
        self._clock = clock
        self._batches: dict[_Key, _Batch] = {}
        self._kept: dict[_Key, _Counted] = {}
        #: Count queries made (for tests and the benchmark).
        self.calls = 0

    async def count(self, port: OciPort, want: LogWant, *, count_from: datetime) -> int:
        """The run's records in ``[want.start, want.end)``, as counted at ``count_from``
        or later."""
        if self.window <= 0:
            self.calls += 1
            query = run_count_query(
                want.compartment_id, want.log_group_id, want.log_id, want.run_id
            )
            counts = await port.count_logs(query=query, time_start=want.start, time_end=want.end)
            return by_run(counts).get(want.run_id, 0)
        key = (id(port), want.compartment_id, want.log_group_id, want.start, want.end)
        kept = self._kept.get(key)
        if kept is not None and kept.asked_at >= count_from and want.log_id in kept.logs:
            return kept.runs.get(want.run_id, 0)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch(port)
            asyncio.get_running_loop().create_task(self._flush_later(key))
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        batch.waiting.append((want, future))
        return await future

    async def _flush_later(self, key: _Key) -> None:
        await self._sleep(self.window)  # the collection window, by design
        batch = self._batches.pop(key)
        first = batch.waiting[0][0]
        logs = sorted({w.log_id for w, _ in batch.waiting})
        asked_at = self._clock()
        counts: dict[str, int] = {}
        try:
            for i in range(0, len(logs), MAX_RUNS_PER_QUERY):
                self.calls += 1
                query = logs_count_query(
                    first.compartment_id, first.log_group_id, logs[i : i + MAX_RUNS_PER_QUERY]
                )
                counts.update(
                    await batch.port.count_logs(
                        query=query, time_start=first.start, time_end=first.end
                    )
                )
        except Exception as exc:  # the count failed: every run in it gets the error
            for _, future in batch.waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        runs = by_run(counts)
        self._kept = {k: v for k, v in self._kept.items() if asked_at - v.asked_at < KEEP}
        self._kept[key] = _Counted(asked_at, frozenset(logs), runs)
        for want, future in batch.waiting:
            if not future.done():
                future.set_result(runs.get(want.run_id, 0))
