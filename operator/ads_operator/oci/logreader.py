"""Log searches of many runs batched into one query per log group (issue 7).

Following a run's output means one SearchLogs per run and poll (ADS: every 3 s); at a
thousand runs that is several hundred calls a second. Logging Search accepts several
comma-separated streams and ``or`` in ``where``, so the searches that arrive within a
short window for runs whose logs live in the same (compartment, log group) become one
query: every run's log as a stream, ``source = '*<run>'`` for each run, sorted ascending,
paged to the end. The records are handed back to each run by their ``source`` and cut
to that run's own time window, so each caller sees exactly what its own query would
have returned; de-duplication and the exactly-once cursor stay with the caller.

At most :data:`MAX_RUNS_PER_QUERY` runs share one ``or`` query (keeps the query text
bounded), and only runs whose windows start near each other (a query reads all of its
runs from the earliest start); a single waiting run gets the plain per-run query. When
more runs than that wait on the *same* log (a thousand runs of one job), chunks of
``or`` queries would each page through their share of the log: instead that log is
searched once without ``where`` (one query; its pages follow the log's volume in the
window) and the records are routed to the runs by ``source``. Records of runs nobody
asked about are dropped, so this pays off when the waiting runs are most of the log's
writers, which is what so many of them on one log means.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from ads_operator.models.oci_records import LogRecord
from ads_operator.oci.log_mode import SLOW_PAGE, LogMode
from ads_operator.oci.port import OciPort
from ads_operator.oci.settle_time import SettleTime
from ads_operator.oci.shared_reads import SharedReads
from ads_operator.settings import Settings

log = logging.getLogger(__name__)

MAX_RUNS_PER_QUERY: Final = 50
#: Queries of the operator paging at once. They wait for the Logging budget anyway; more
#: in flight only holds more parsed result pages in memory at the same time.
MAX_QUERIES_AT_ONCE: Final = 4
PAGE_LIMIT: Final = 1000
#: A whole-log query serves the runs whose windows start at most this much before the
#: median start of its log's waiting runs (see :func:`_near`).
WHOLE_LOG_SLACK: Final = timedelta(seconds=30)
#: An ``or`` query reads every run in it from the earliest start among them: a run whose
#: window starts further back than this before another's gets a query apart. A run's
#: first read starts a minute before it was accepted (clock skew); sharing a query with
#: fifty runs read ten seconds ago, it made the query read a minute of all fifty (at a
#: thousand runs, a fifth of the records read were dropped). The windows of runs read on
#: the batched schedule start within about one read interval (10 s) of each other.
OR_QUERY_SLACK: Final = timedelta(seconds=15)
#: The share of a log's writers that must wait for a whole-log query (it reads all).
WHOLE_LOG_SHARE: Final = 0.9
#: How long a run that searched a log counts among its writers.
WRITERS_SEEN: Final = 60.0
OCID_MARK: Final = "ocid1."


@dataclass(frozen=True)
class LogWant:
    """One run's search: its log and the time window it needs."""

    compartment_id: str
    log_group_id: str
    log_id: str
    run_id: str
    start: datetime
    end: datetime
    #: A sweep for late records: batched with other sweeps only.
    sweep: bool = False


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


def log_query(compartment_id: str, log_group_id: str, log_id: str) -> str:
    """Every record of one log (no ``where``), for routing to many runs by ``source``."""
    return f'search "{compartment_id}/{log_group_id}/{log_id}" | sort by datetime asc'


def plan_queries(
    wants: Sequence[LogWant], writers: Mapping[str, int] | None = None
) -> list[tuple[bool, list[int]]]:
    """The queries for one batch window as ``(whole_log, indices into wants)``. The runs of
    a log with more than :data:`MAX_RUNS_PER_QUERY` waiting share one whole-log query
    (those whose windows start near the others', see :func:`_near`) when they are at
    least :data:`WHOLE_LOG_SHARE` of the log's ``writers`` (the runs that searched it
    lately): the query reads every writer's records; the others go in ``or`` queries of
    at most that many runs, in the order their windows start, each spanning starts at
    most :data:`OR_QUERY_SLACK` apart."""
    by_log: dict[str, list[int]] = {}
    for i, want in enumerate(wants):
        by_log.setdefault(want.log_id, []).append(i)
    plans: list[tuple[bool, list[int]]] = []
    whole: set[int] = set()
    for log in sorted(by_log):
        near = _near(wants, by_log[log])
        crowd = (writers or {}).get(log, 0) * WHOLE_LOG_SHARE
        if len(near) > MAX_RUNS_PER_QUERY and len(near) >= crowd:
            plans.append((True, near))
            whole.update(near)
    rest = sorted((i for i in range(len(wants)) if i not in whole), key=lambda i: wants[i].start)
    chunks: list[list[int]] = []
    for i in rest:
        chunk = chunks[-1] if chunks else None
        if (
            chunk is None
            or len(chunk) >= MAX_RUNS_PER_QUERY
            or wants[i].start - wants[chunk[0]].start > OR_QUERY_SLACK
        ):
            chunks.append([i])
        else:
            chunk.append(i)
    return plans + [(False, chunk) for chunk in chunks]


def _near(wants: Sequence[LogWant], group: list[int]) -> list[int]:
    """The runs of one log whose windows start near the median start: a whole-log query
    reads every run's records from its earliest start, so a run far behind (after a
    restart, a slow step) would make it read minutes of a thousand runs' log; such a run
    gets an ``or`` query of its own instead, which pages through its own lines only."""
    starts = sorted(wants[i].start for i in group)
    edge = starts[len(starts) // 2] - WHOLE_LOG_SLACK
    return [i for i in group if wants[i].start >= edge]


def last_ocid(source: str) -> str:
    """A record's ``source`` from its last OCID on (the run's, which ``source = '*<ocid>'``
    matches), or the whole of it when it holds none."""
    return source[source.rfind(OCID_MARK) :] if OCID_MARK in source else source


def split_records(wants: Sequence[LogWant], records: Sequence[LogRecord]) -> list[list[LogRecord]]:
    """Each want's records (by ``source`` suffix and its own window), in result order."""
    out: list[list[LogRecord]] = [[] for _ in wants]
    index = {w.run_id: i for i, w in enumerate(wants)}
    for record in records:
        source = record.source
        i = index.get(source.rsplit("/", 1)[-1]) if source else None
        if i is None and OCID_MARK in source:
            # Ends with a run's OCID iff its last OCID is that run's: one lookup, not a
            # scan (a whole-log search returns many records of runs nobody asked about).
            i = index.get(last_ocid(source))
        elif i is None:  # not an OCID: match by suffix
            i = next((j for j, w in enumerate(wants) if source.endswith(w.run_id)), None)
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
        self,
        *,
        window: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        longest_settle: float = Settings.log_settle,
    ) -> None:
        self.window = window
        self._sleep = sleep
        self._clock = clock
        self._batches: dict[tuple[int, str, str, bool], _Batch] = {}
        #: The runs that searched each log lately (when), by port and log.
        self._writers: dict[tuple[int, str], dict[str, float]] = {}
        self._writers_pruned = clock()
        #: Log compartments per log group: a log never leaves its group's compartment.
        self._compartments = SharedReads[str](ttl=math.inf)
        #: SearchLogs calls made and run searches answered (for tests and the benchmark).
        self.calls = 0
        self.answered = 0
        self._querying = asyncio.Semaphore(MAX_QUERIES_AT_ONCE)
        #: Fresh or settled reads (its headroom is wired by the operator).
        self.mode = LogMode()
        #: How long records take to become searchable, as the records read show it.
        self.settle = SettleTime(longest_settle, clock)

    async def log_compartment(self, port: OciPort, *, log_group_id: str, log_id: str) -> str:
        """The compartment of a log (GetLog), asked once per log group: a log lives in its
        group's compartment, and a hundred runs starting together need it at once.
        A failed lookup is not remembered."""
        return await self._compartments.get(
            (id(port), log_group_id),
            lambda: port.get_log_compartment(log_group_id=log_group_id, log_id=log_id),
        )

    async def search(self, port: OciPort, want: LogWant) -> list[LogRecord]:
        self._note_writer(port, want)
        if self.window <= 0:
            return (await self._run(port, [want]))[0]
        # Sweeps for late records (deep windows) are batched apart: a batch's query
        # covers all of its windows, and one deep window would make every run's share
        # of it as deep.
        key = (id(port), want.compartment_id, want.log_group_id, want.sweep)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch(port)
            asyncio.get_running_loop().create_task(self._flush_later(key))
        future: asyncio.Future[list[LogRecord]] = asyncio.get_running_loop().create_future()
        batch.waiting.append((want, future))
        return await future

    async def _flush_later(self, key: tuple[int, str, str, bool]) -> None:
        await self._sleep(self.window)  # the collection window, by design
        batch = self._batches.pop(key)
        # The runs furthest behind first: their queries take the first of the query
        # slots and the Logging tokens, so no run's lines keep falling behind.
        batch.waiting.sort(key=lambda item: item[0].start)
        wants = [w for w, _ in batch.waiting]
        writers = {log: self._writing(batch.port, log) for log in {w.log_id for w in wants}}
        await asyncio.gather(
            *(
                self._answer(batch.port, [batch.waiting[i] for i in indices], whole_log=whole)
                for whole, indices in plan_queries(wants, writers)
            )
        )

    def _note_writer(self, port: OciPort, want: LogWant) -> None:
        """Remember that the run searched its log now; once a minute forget every run
        that did not lately (runs end, and logs of one run are never searched again)."""
        now = self._clock()
        self._writers.setdefault((id(port), want.log_id), {})[want.run_id] = now
        if now - self._writers_pruned < WRITERS_SEEN:
            return
        self._writers_pruned = now
        for key, seen in list(self._writers.items()):
            fresh = {run: at for run, at in seen.items() if now - at < WRITERS_SEEN}
            if fresh:
                self._writers[key] = fresh
            else:
                del self._writers[key]

    def _writing(self, port: OciPort, log_id: str) -> int:
        """How many runs searched the log lately (:meth:`_note_writer` forgets the rest)."""
        edge = self._clock() - WRITERS_SEEN
        return sum(at >= edge for at in self._writers.get((id(port), log_id), {}).values())

    async def _answer(
        self,
        port: OciPort,
        chunk: list[tuple[LogWant, asyncio.Future[list[LogRecord]]]],
        *,
        whole_log: bool = False,
    ) -> None:
        try:
            async with self._querying:
                results = await self._run(port, [w for w, _ in chunk], whole_log=whole_log)
        except Exception as exc:  # the search failed: every run in it gets the error
            for _, future in chunk:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), records in zip(chunk, results, strict=True):
            if not future.done():
                future.set_result(records)

    async def _run(
        self, port: OciPort, wants: list[LogWant], *, whole_log: bool = False
    ) -> list[list[LogRecord]]:
        self.answered += len(wants)
        if whole_log:
            query = log_query(wants[0].compartment_id, wants[0].log_group_id, wants[0].log_id)
        elif len(wants) == 1:
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
            began = time.monotonic()
            try:
                result = await port.search_logs(
                    query=query, time_start=start, time_end=end, limit=PAGE_LIMIT, page=page
                )
            except Exception as exc:
                self.mode.failed(exc)  # the caller reads again
                raise
            if time.monotonic() - began > SLOW_PAGE:
                self.mode.trouble()
            self.settle.observe(result.records)
            records.extend(result.records)
            page = result.next_page
            if not page:
                break
        if len(wants) == 1:
            return [[r for r in records if wants[0].start <= r.time < wants[0].end]]
        return split_records(wants, records)
