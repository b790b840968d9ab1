"""Run-state reads, batched per compartment when many runs are live at once.

Every live run is polled every few seconds. One GetJobRun per run and poll is fine for a
handful of runs, but a hundred runs would need ~33 calls a second, far above what an
operator should spend of a tenancy's rate limit. So reads that arrive within a short
window are collected per (credentials, compartment); when at least ``min_batch`` distinct
runs wait, one ListJobRuns (newest first, paged only until every wanted run was seen)
answers all of them. Runs the list does not reach are read one by one. Summaries carry no
``logDetails``: callers pass the log ids they already know, and read single runs
(``batchable=False``) until they know them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Final

from ads_operator.oci.domain import OciJobRun
from ads_operator.oci.port import OciPort

#: Page size for batched reads, and at most this many pages per batch.
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 5


@dataclass
class _Batch:
    port: OciPort
    compartment_id: str
    waiting: dict[str, list[asyncio.Future[OciJobRun]]] = field(default_factory=dict)


class RunStateReader:
    def __init__(
        self,
        *,
        min_batch: int,
        window: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.min_batch = min_batch
        self.window = window
        self._sleep = sleep
        self._batches: dict[tuple[int, str], _Batch] = {}
        #: Calls made, by kind (for tests and the benchmark).
        self.single_reads = 0
        self.list_calls = 0

    async def read(
        self,
        port: OciPort,
        *,
        run_id: str,
        compartment_id: str,
        batchable: bool,
        log_group_id: str | None = None,
        log_id: str | None = None,
    ) -> OciJobRun:
        if not batchable or self.min_batch <= 1:
            self.single_reads += 1
            return await port.get_job_run(run_id=run_id)
        key = (id(port), compartment_id)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch(port, compartment_id)
            asyncio.get_running_loop().create_task(self._flush_later(key))
        future: asyncio.Future[OciJobRun] = asyncio.get_running_loop().create_future()
        batch.waiting.setdefault(run_id, []).append(future)
        run = await future
        if run.log_id is None and log_id is not None:
            run = replace(run, log_group_id=log_group_id, log_id=log_id)
        return run

    async def _flush_later(self, key: tuple[int, str]) -> None:
        await self._sleep(self.window)  # the collection window, by design
        batch = self._batches.pop(key)
        try:
            found = await self._resolve(batch)
        except Exception as exc:  # the list call failed: everyone waiting gets its error
            found = dict.fromkeys(batch.waiting, exc)
        for run_id, futures in batch.waiting.items():
            outcome = found[run_id]
            for f in futures:
                if f.done():
                    continue
                if isinstance(outcome, BaseException):
                    f.set_exception(outcome)
                else:
                    f.set_result(outcome)

    async def _resolve(self, batch: _Batch) -> dict[str, OciJobRun | BaseException]:
        wanted = set(batch.waiting)
        found: dict[str, OciJobRun | BaseException] = {}
        if len(wanted) >= self.min_batch:
            page: str | None = None
            for _ in range(MAX_PAGES):
                self.list_calls += 1
                runs, page = await batch.port.list_recent_job_runs(
                    compartment_id=batch.compartment_id, page=page, limit=PAGE_SIZE
                )
                found.update({r.id: r for r in runs if r.id in wanted})
                if wanted <= found.keys() or not page:
                    break
        missing = [run_id for run_id in wanted if run_id not in found]
        self.single_reads += len(missing)
        singles = await asyncio.gather(
            *(batch.port.get_job_run(run_id=r) for r in missing), return_exceptions=True
        )
        found.update(zip(missing, singles, strict=True))
        return found
