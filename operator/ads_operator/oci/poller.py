"""Run-state reads, batched per compartment when many runs are live at once.

Every live run is polled every few seconds. One GetJobRun per run and poll is fine for a
handful of runs, but a hundred runs would need ~33 calls a second, far above what an
operator should spend of a tenancy's rate limit. So reads that arrive within a short
window are collected per (credentials, compartment); when at least ``min_batch``
distinct runs wait, ListJobRuns filtered by lifecycle state (ACCEPTED, then IN_PROGRESS;
each read from both ends at once, or from the one nearer to every wanted run, only until
every wanted run was seen or passed, see :mod:`.run_scan`) answers all of them, each as
soon as its run is seen: finished runs, however many, never fill these pages. Runs on
neither list have just left the live states: when many left together they are looked up
in the lists of ended states (newest first), the rest are read one by one (GetJobRun).
Summaries carry no ``logDetails``: callers pass the log ids they already know, and read
single runs (``batchable=False``) until they know them.

The pages read for some runs show the states of others too. A live run that sleeps
until its next poll can ask to be woken when a page shows it moved on (:meth:`follow`):
a long run polls every 6 s, while the runs around it (new ones, ones in their log grace)
have its list read every 3 s, and the top page of the ended lists beside it. Its next
:meth:`read` then answers with that state without another call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from ads_operator.models.oci_records import OciJobRun
from ads_operator.oci.port import OciPort
from ads_operator.oci.run_scan import RunScan

#: Page size for batched reads, and at most this many pages per state list and batch.
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 20
#: The lists read per batch, in lifecycle order: a run moving on while the lists are read
#: (ACCEPTED to IN_PROGRESS, say) is then still found in the later list, instead of in
#: neither (read ACCEPTED after IN_PROGRESS, a thousand runs starting together missed
#: dozens per tick, each then costing the ended lists and a GetJobRun).
LIVE_STATES: Final = ("ACCEPTED", "IN_PROGRESS")
#: Where runs that left the live lists are looked for when many left in one window (runs
#: started together end together). Newest first, so the search rarely pages far even in a
#: compartment with thousands of finished runs; the rest are read one by one.
ENDED_STATES: Final = ("SUCCEEDED", "FAILED", "CANCELING", "CANCELED", "NEEDS_ATTENTION")
#: How far along its life a state is. A run only moves forward; a page fetched before a
#: run's pass learnt a newer state must not wake it with the older one.
_STAGE: Final = {"ACCEPTED": 0, "IN_PROGRESS": 1}


def _stage(state: str) -> int:
    return _STAGE.get(state, 2)


@dataclass
class _Batch:
    port: OciPort
    compartment_id: str
    waiting: dict[str, list[asyncio.Future[OciJobRun]]] = field(default_factory=dict)
    #: When waiting runs were accepted, where known: their place in the lists.
    accepted: dict[str, datetime] = field(default_factory=dict)
    #: The lists being read for it (told when a run was answered from another).
    scans: list[RunScan] = field(default_factory=list)
    #: Whether a waiting run may still be ACCEPTED (else that list is not read).
    maybe_accepted: bool = False


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
        #: Per (port, compartment): the ended states runs were last answered in.
        self._ending: dict[tuple[int, str], set[str]] = {}
        #: (port, compartment)s whose live lists took one page at the last read.
        self._short_lists: set[tuple[int, str]] = set()
        #: Per (port, compartment, state): the list's oldest run when a read last reached
        #: it (where the middle of the list lies, see :meth:`RunScan.ends`).
        self._oldest: dict[tuple[int, str, str], datetime] = {}
        #: Sleeping runs to wake when a page shows them moved on: id -> (state, wake).
        self._followed: dict[str, tuple[str, Callable[[], None]]] = {}
        #: What woke them, for their next read.
        self._fresh: dict[str, OciJobRun] = {}
        #: Calls made, by kind (for tests and the benchmark), and runs woken.
        self.single_reads = 0
        self.list_calls = 0
        self.woken = 0

    def follow(self, run_id: str, state: str, wake: Callable[[], None]) -> None:
        """Calls ``wake`` (once) when a page read for other runs shows ``run_id`` past
        ``state``; the run's next :meth:`read` then answers with what the page showed."""
        self._followed[run_id] = (state, wake)

    def unfollow(self, run_id: str) -> None:
        """The run is awake (or no longer followed): no wake any more."""
        self._followed.pop(run_id, None)

    def forget(self, run_id: str) -> None:
        """The run is not followed any more (deleted, or the operator stops)."""
        self._followed.pop(run_id, None)
        self._fresh.pop(run_id, None)

    def _notice(self, batch: _Batch, run: OciJobRun) -> None:
        followed = self._followed.get(run.id)
        if followed is None or _stage(run.lifecycle_state) <= _stage(followed[0]):
            return
        del self._followed[run.id]
        self._fresh[run.id] = run
        self._note_ending(batch, run)
        self.woken += 1
        followed[1]()

    async def read(
        self,
        port: OciPort,
        *,
        run_id: str,
        compartment_id: str,
        batchable: bool,
        log_group_id: str | None = None,
        log_id: str | None = None,
        known_state: str | None = None,
        accepted: datetime | None = None,
    ) -> OciJobRun:
        """The run's state. ``known_state``: the state last seen, if any (a run known to be
        IN_PROGRESS is not looked for in the ACCEPTED list); ``accepted``: when the run was
        accepted, if known (where it is in the lists, see :mod:`.run_scan`)."""
        fresh = self._fresh.pop(run_id, None)
        if fresh is not None:
            run = fresh
        elif not batchable or self.min_batch <= 1:
            self.single_reads += 1
            return await port.get_job_run(run_id=run_id)
        else:
            run = await self._batched(port, run_id, compartment_id, known_state, accepted)
        if run.log_id is None and log_id is not None:
            run = replace(run, log_group_id=log_group_id, log_id=log_id)
        return run

    async def _batched(
        self,
        port: OciPort,
        run_id: str,
        compartment_id: str,
        known_state: str | None,
        accepted: datetime | None,
    ) -> OciJobRun:
        key = (id(port), compartment_id)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch(port, compartment_id)
            asyncio.get_running_loop().create_task(self._flush_later(key))
        future: asyncio.Future[OciJobRun] = asyncio.get_running_loop().create_future()
        batch.waiting.setdefault(run_id, []).append(future)
        if known_state in (None, "ACCEPTED"):
            batch.maybe_accepted = True
        if accepted is not None:
            batch.accepted[run_id] = accepted
        return await future

    async def _flush_later(self, key: tuple[int, str]) -> None:
        await self._sleep(self.window)  # the collection window, by design
        batch = self._batches.pop(key)
        try:
            await self._resolve(batch)
        except Exception as exc:  # a list call failed: everyone still waiting gets its error
            for run_id in list(batch.waiting):
                self._answer(batch, run_id, exc)

    def _answer(self, batch: _Batch, run_id: str, outcome: OciJobRun | BaseException) -> None:
        """Gives the reads of ``run_id`` their outcome (once; later ones are ignored) and
        notes the ended state it was found in."""
        if isinstance(outcome, OciJobRun):
            self._note_ending(batch, outcome)
        for scan in batch.scans:
            scan.answered(run_id)
        for f in batch.waiting.pop(run_id, []):
            if f.done():
                continue
            if isinstance(outcome, BaseException):
                f.set_exception(outcome)
            else:
                f.set_result(outcome)

    def _note_ending(self, batch: _Batch, run: OciJobRun) -> None:
        if run.lifecycle_state in ENDED_STATES:
            key = (id(batch.port), batch.compartment_id)
            self._ending.setdefault(key, set()).add(run.lifecycle_state)

    async def _resolve(self, batch: _Batch) -> None:
        """Answers each waiting read as soon as its run is seen: a run that changed state
        is usually seen early (one that just started is among the newest of its list),
        while proving that a run has left a list takes reading all of it."""
        if len(batch.waiting) >= self.min_batch:
            # A run that just ended is near the top of its ended list: the first page of
            # SUCCEEDED (where most runs end) and of any other list runs of this
            # compartment ended in at the last batch is read beside the live lists, so
            # an end need not wait until the whole live list was read to prove the run
            # left it (the first runs of a thousand to end waited ~15 s for that).
            # A live list of one page (at the last read) proves at once that a run left
            # it: then the ended lists are read only for runs found missing, and a few
            # runs read every second cost one call per read instead of two.
            key = (id(batch.port), batch.compartment_id)
            ending = self._ending.pop(key, set())
            if key not in self._short_lists:
                ending.add("SUCCEEDED")
            live = LIVE_STATES if batch.maybe_accepted else ("IN_PROGRESS",)
            pages, *_ = await asyncio.gather(
                self._scan(batch, live, both_ends=True),
                *(
                    self._scan(batch, (state,), both_ends=False, max_pages=1)
                    for state in ENDED_STATES
                    if state in ending
                ),
            )
            if pages > 1:
                self._short_lists.discard(key)
            else:
                self._short_lists.add(key)
            if len(batch.waiting) >= self.min_batch:  # many ended together
                await self._scan(batch, ENDED_STATES, both_ends=False)
        missing = list(batch.waiting)
        self.single_reads += len(missing)
        singles = await asyncio.gather(
            *(batch.port.get_job_run(run_id=r) for r in missing), return_exceptions=True
        )
        for run_id, outcome in zip(missing, singles, strict=True):
            self._answer(batch, run_id, outcome)

    async def _scan(
        self,
        batch: _Batch,
        states: tuple[str, ...],
        *,
        both_ends: bool,
        max_pages: int | None = None,
    ) -> int:
        """Reads the state lists in order until every waiting run was seen; each list to
        its end (or where its reads from both ends met), or ``max_pages`` (default
        :data:`MAX_PAGES`) of it. Returns the most pages read of one list."""

        def found(runs: Sequence[OciJobRun]) -> None:
            for run in runs:
                if run.id in batch.waiting:
                    self._answer(batch, run.id, run)
                else:
                    self._notice(batch, run)

        most = 0
        for state in states:
            if not batch.waiting:
                return most
            followed = {r: s for r, (s, _) in self._followed.items() if r not in batch.waiting}
            list_key = (id(batch.port), batch.compartment_id, state)
            scan = RunScan(
                batch.waiting,
                state,
                max_pages or MAX_PAGES,
                both_ends=both_ends,
                followed=followed,
                accepted=batch.accepted,
                oldest=self._oldest.get(list_key),
            )
            batch.scans.append(scan)
            try:
                await batch.port.scan_job_runs(
                    compartment_id=batch.compartment_id,
                    scan=scan,
                    page_size=PAGE_SIZE,
                    found=found,
                )
            finally:
                batch.scans.remove(scan)
                self.list_calls += scan.pages
            if scan.list_oldest is not None:
                self._oldest[list_key] = scan.list_oldest
            most = max(most, scan.pages)
        return most
