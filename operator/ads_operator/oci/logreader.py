"""Log searches of many runs batched into one query per log group (issue 7).

Following a run's output means one SearchLogs per run and poll (ADS: every 3 s); at a
thousand runs that is several hundred calls a second. Logging Search accepts several
comma-separated streams and ``or`` in ``where``, so the searches that arrive within a
short window for runs whose logs live in the same (compartment, log group) become one
query: every run's log as a stream, ``source = '*<run>'`` for each run, sorted ascending,
paged to the end. The records are handed back to each run by their ``source`` and cut
to that run's own time window, so each caller sees exactly what its own query would
have returned; de-duplication and the exactly-once cursor stay with the caller.

At most :data:`MAX_RUNS_PER_QUERY` runs share one query (keeps the query text and the
result pages bounded); a single waiting run gets the plain per-run query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from ads_operator.oci.domain import LogRecord
from ads_operator.oci.port import OciPort

MAX_RUNS_PER_QUERY: Final = 50
PAGE_LIMIT: Final = 1000


@dataclass(frozen=True)
class LogWant:
    """One run's search: its log and the time window it needs."""

    compartment_id: str
    log_group_id: str
    log_id: str
    run_id: str
    start: datetime
    end: datetime


def run_query(compartment_id: str, log_group_id: str, log_id: str, run_id: str) -> str:
    """The per-run query ADS builds (bare ``source = '<ocid>'`` is refused, hence ``*``)."""
    return (
        f'search "{compartment_id}/{log_group_id}/{log_id}"'
        f" | where source = '*{run_id}' | sort by datetime asc"
    )


def batch_query(wants: Sequence[LogWant]) -> str:
    """One query for several runs of one compartment and log group: each distinct log as
    a stream, each run as an ``or`` of its ``source``."""
    first = wants[0]
    logs = sorted({w.log_id for w in wants})
    streams = ", ".join(f'"{first.compartment_id}/{first.log_group_id}/{log}"' for log in logs)
    sources = " or ".join(f"source = '*{w.run_id}'" for w in wants)
    return f"search {streams} | where {sources} | sort by datetime asc"


def split_records(wants: Sequence[LogWant], records: Sequence[LogRecord]) -> list[list[LogRecord]]:
    """Each want's records (by ``source`` suffix and its own window), in result order."""
    out: list[list[LogRecord]] = [[] for _ in wants]
    index = {w.run_id: i for i, w in enumerate(wants)}
    for record in records:
        i = index.get(record.source.rsplit("/", 1)[-1]) if record.source else None
        if i is None:  # a source that is not exactly a run id: match by suffix
            i = next((j for j, w in enumerate(wants) if record.source.endswith(w.run_id)), None)
        if i is not None and wants[i].start <= record.time < wants[i].end:
            out[i].append(record)
    return out


@dataclass
class _Batch:
    port: OciPort
    waiting: list[tuple[LogWant, asyncio.Future[list[LogRecord]]]] = field(default_factory=list)


class LogSearchBatcher:
    """Shared by every run of the operator; ``search`` returns one run's records."""

    def __init__(
        self, *, window: float, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.window = window
        self._sleep = sleep
        self._batches: dict[tuple[int, str, str], _Batch] = {}
        self._compartments: dict[tuple[int, str], asyncio.Task[str]] = {}
        #: SearchLogs calls made and run searches answered (for tests and the benchmark).
        self.calls = 0
        self.answered = 0

    async def log_compartment(self, port: OciPort, *, log_group_id: str, log_id: str) -> str:
        """The compartment of a log (GetLog), asked once per log group: a log lives in its
        group's compartment, and a hundred runs starting together need it at once.
        A failed lookup is not remembered."""
        key = (id(port), log_group_id)
        task = self._compartments.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                port.get_log_compartment(log_group_id=log_group_id, log_id=log_id)
            )
            self._compartments[key] = task
        try:
            return await asyncio.shield(task)
        except Exception:
            if self._compartments.get(key) is task:
                del self._compartments[key]
            raise

    async def search(self, port: OciPort, want: LogWant) -> list[LogRecord]:
        if self.window <= 0:
            return (await self._run(port, [want]))[0]
        key = (id(port), want.compartment_id, want.log_group_id)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch(port)
            asyncio.get_running_loop().create_task(self._flush_later(key))
        future: asyncio.Future[list[LogRecord]] = asyncio.get_running_loop().create_future()
        batch.waiting.append((want, future))
        return await future

    async def _flush_later(self, key: tuple[int, str, str]) -> None:
        await self._sleep(self.window)  # the collection window, by design
        batch = self._batches.pop(key)
        chunks = [
            batch.waiting[i : i + MAX_RUNS_PER_QUERY]
            for i in range(0, len(batch.waiting), MAX_RUNS_PER_QUERY)
        ]
        await asyncio.gather(*(self._answer(batch.port, chunk) for chunk in chunks))

    async def _answer(
        self, port: OciPort, chunk: list[tuple[LogWant, asyncio.Future[list[LogRecord]]]]
    ) -> None:
        try:
            results = await self._run(port, [w for w, _ in chunk])
        except Exception as exc:  # the search failed: every run in it gets the error
            for _, future in chunk:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), records in zip(chunk, results, strict=True):
            if not future.done():
                future.set_result(records)

    async def _run(self, port: OciPort, wants: list[LogWant]) -> list[list[LogRecord]]:
        self.answered += len(wants)
        if len(wants) == 1:
            w = wants[0]
            query = run_query(w.compartment_id, w.log_group_id, w.log_id, w.run_id)
        else:
            query = batch_query(wants)
        start = min(w.start for w in wants)
        end = max(w.end for w in wants)
        records: list[LogRecord] = []
        page: str | None = None
        while True:
            self.calls += 1
            result = await port.search_logs(
                query=query, time_start=start, time_end=end, limit=PAGE_LIMIT, page=page
            )
            records.extend(result.records)
            page = result.next_page
            if not page:
                break
        if len(wants) == 1:
            return [[r for r in records if wants[0].start <= r.time < wants[0].end]]
        return split_records(wants, records)
