"""Looking for runs in a compartment's list of runs in one lifecycle state, page by page.

The pure part of a batched state read (:mod:`.poller`): which page to read next, what was
found, and when to stop. A port reads the pages a :class:`RunScan` asks for
(:meth:`~ads_operator.oci.port.OciPort.scan_job_runs`).

Why the list is read from both ends: OCI pages a list with opaque tokens, so the pages of
one read follow each other, and on a busy service each takes a few tenths of a second. A
run that has left the list (it finished) is only known to be gone once the whole list was
read: at a thousand live runs that is ten pages, one after another, before its new state
can be shown. Read newest first and oldest first at the same time, the two reads meet in
the middle after half the time, and they cost no more pages. Lists looked through for runs
that just ended are read newest first only: those runs are near the top, and the bottom
of a list of finished runs holds thousands of old ones.

The list is sorted by creation time (a run's ``timeAccepted``), so when the reader knows
when each wanted run was accepted, the list need not be read through: a run newer than
the oldest run read from the top (or older than the newest read from the bottom) would
have been on a page read, and is gone. And the list is read on from the end that reaches
every run still looked for in the fewest pages, if one end does it in fewer than both:
the runs in their first minute, read every 3 s beside the longer ones' 6 s, are near
the top (at a thousand live runs their reads took ~11 pages, 5 of them from the
bottom). A wrong guess (a clock or sort the service does not keep) costs calls, never a
state: a run not found is read on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from ads_operator.models.oci_records import OciJobRun

NEWEST_FIRST, OLDEST_FIRST = True, False


class RunScan:
    """Reads the list of runs in ``state`` until every run of ``wanted`` was seen, the
    whole list was (from one end to the other, or where the reads from both ends met), or
    ``max_pages`` were read, or every wanted run was answered elsewhere (:meth:`answered`:
    a run that just ended is found on the first page of its ended list, read beside).
    Safe to feed from two threads, one per end.

    ``followed``: other runs (id -> the state last known) reported too when a page shows
    them in another state, to wake them (they do not make the scan read further).
    ``accepted``: when wanted runs were accepted, where known (their place in the list);
    ``oldest``: the list's oldest ``timeAccepted`` when a read last reached it."""

    def __init__(
        self,
        wanted: Collection[str],
        state: str,
        max_pages: int,
        *,
        both_ends: bool,
        followed: Mapping[str, str] | None = None,
        accepted: Mapping[str, datetime] | None = None,
        oldest: datetime | None = None,
    ) -> None:
        self.wanted = frozenset(wanted)
        self.accepted = {r: t for r, t in (accepted or {}).items() if r in self.wanted}
        self.oldest = oldest
        self.followed = dict(followed or {})
        self.state = state
        self.max_pages = max_pages
        self.both_ends = both_ends
        #: The wanted runs seen so far, by id.
        self.found: dict[str, OciJobRun] = {}
        #: Pages read (each one ListJobRuns call).
        self.pages = 0
        self._seen: dict[bool, set[str]] = {NEWEST_FIRST: set(), OLDEST_FIRST: set()}
        self._next: dict[bool, str | None] = {NEWEST_FIRST: None, OLDEST_FIRST: None}
        self._covered = False
        self._missing = set(self.wanted)
        #: The oldest time read from the top, the newest from the bottom: how far each
        #: read has come. And the newest time read.
        self._reached: dict[bool, datetime | None] = {NEWEST_FIRST: None, OLDEST_FIRST: None}
        self._newest: datetime | None = None
        #: The time of the list's oldest run, once a page showed it (the first page from
        #: the bottom, or the last from the top).
        self.list_oldest: datetime | None = None
        self._lock = threading.Lock()

    def done(self) -> bool:
        with self._lock:
            return self._covered or self.pages >= self.max_pages or not self._missing

    def answered(self, run_id: str) -> None:
        """``run_id`` needs no looking for any more (another list showed it)."""
        with self._lock:
            self._missing.discard(run_id)

    def ends(self) -> tuple[bool, ...]:
        """The ends to read on after the first page (newest first): the one, or both,
        that reach every run still looked for in the fewest pages, by where their
        acceptance times place them between the newest run read and :attr:`oldest`
        (evenly spread in time: runs are created at a fairly steady pace). Both ends
        when that cannot be told; the top only without ``both_ends``."""
        if not self.both_ends:
            return (NEWEST_FIRST,)
        with self._lock:
            times = [self.accepted.get(r) for r in self._missing]
            newest, oldest = self._newest, self.oldest
        known = [t for t in times if t is not None]
        if newest is None or oldest is None or newest <= oldest or len(known) < len(times):
            return (NEWEST_FIRST, OLDEST_FIRST)
        if not known:
            return (NEWEST_FIRST,)
        # How far down the list each run is: 0.0 at the top, 1.0 at the bottom.
        depths = [min(1.0, max(0.0, (newest - t) / (newest - oldest))) for t in known]
        top, bottom = max(depths), 1.0 - min(depths)
        both = 2 * max(min(d, 1.0 - d) for d in depths)  # the two reads in step
        if min(top, bottom) >= both:
            return (NEWEST_FIRST, OLDEST_FIRST)
        return (NEWEST_FIRST,) if top <= bottom else (OLDEST_FIRST,)

    def next_page(self, newest_first: bool) -> str | None:
        """The page token to read next from that end (None: its first page)."""
        with self._lock:
            return self._next[newest_first]

    def add(
        self, newest_first: bool, runs: Sequence[OciJobRun], next_page: str | None
    ) -> list[OciJobRun]:
        """Takes in a page read from one end; returns the wanted runs first seen on it, and
        the followed ones first seen in another state."""
        with self._lock:
            self.pages += 1
            ids = {r.id for r in runs}
            self._seen[newest_first] |= ids
            met = not self._seen[not newest_first].isdisjoint(ids)
            if not next_page or met:
                self._covered = True
            self._next[newest_first] = next_page
            new = [
                r
                for r in runs
                if r.id not in self.found
                and (
                    r.id in self.wanted
                    or self.followed.get(r.id, r.lifecycle_state) != r.lifecycle_state
                )
            ]
            self.found.update((r.id, r) for r in new)
            self._missing.difference_update(ids)
            self._passed(newest_first, runs, last=not next_page)
            return new

    def _passed(self, newest_first: bool, runs: Sequence[OciJobRun], *, last: bool) -> None:
        """Notes how far the read from this end has come, and gives up the runs it has
        passed without seeing them: they have left the list (strictly past: runs
        accepted in the same instant may straddle two pages)."""
        times = [r.time_accepted for r in runs if r.time_accepted is not None]
        if not times:
            return
        self._newest = max(times) if self._newest is None else max(self._newest, *times)
        if self.list_oldest is None and (last or not newest_first):
            self.list_oldest = min(times)
        far = min(times) if newest_first else max(times)
        reached = self._reached[newest_first]
        if reached is not None:
            far = min(far, reached) if newest_first else max(far, reached)
        self._reached[newest_first] = far
        for run_id in list(self._missing):
            at = self.accepted.get(run_id)
            if at is not None and (at > far if newest_first else at < far):
                self._missing.discard(run_id)
