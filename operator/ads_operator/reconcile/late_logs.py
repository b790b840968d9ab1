"""Late log records: each mirrored once, up to a bound, without growing ``.status``.

OCI Logging makes most records searchable within seconds, but some much later (ADS
re-reads the last 180 s on every poll to catch them). The regular read
(:mod:`~ads_operator.reconcile.logs`) moves its watermark to ``now - settle``, so a record
that becomes searchable later than that is behind the watermark and never read by it.

A *sweep* looks at such a stretch again: ``[until, end)``, where ``until`` is where the
last sweep left off and ``end`` is the regular read's watermark (an *eager* sweep, when
the budget allows: late lines appear soon after they become searchable) or ``now -
bound`` (an *economical* sweep, when it does not: each stretch is looked at once more,
at the age ``bound``), on a grid of 10 s (:func:`grid`). It first counts the run's
records in the stretch, and reads them only when OCI holds more than were mirrored
(:mod:`~ads_operator.usecases.late_sweep`): most stretches hold no late record. After a
sweep, ``until`` moves to ``now - bound``: a stretch is swept for the last time once
every record in it that becomes searchable within ``bound`` has. Sweeps run at each
``bound / 3`` tick of the wall clock (all runs in the same few seconds, so that their
counts share queries), so a stretch is swept one or more times, the last at least
``bound`` after its records' time.

What a sweep finds that was not mirrored yet is late: the ids of the records mirrored
since ``until`` are kept to tell (:class:`LateIds`). They are kept in memory, not in the
status: at five lines a second and 180 s that is ~1,200 ids a run, rewritten with every
cursor patch if they were in ``.status``. In memory they cost 8 bytes each (32 bits of
the id's hash and the record's time, in flat arrays). A restarted operator knows none: its
sweeps start where its own first regular read started (the saved watermark), so records
before it that become searchable after the restart are not mirrored (never doubled).
At most :data:`MAX_LATE_IDS` are kept per run: a log that writes more than that in
``bound`` seconds forgets the oldest and moves ``until`` past them.

The sweep never reaches past the regular read's re-read zone (``watermark - overlap``):
records there are de-duplicated by the cursor's ids, which survive restarts, and a
record mirrored by a sweep must never be met by a regular read.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile.logs import Window, whole_ms

#: Most record ids one run's sweeps remember (8 bytes each).
MAX_LATE_IDS: Final = 50_000
#: Sweeps per ``bound``: each stretch is swept up to this many times, the last at least
#: ``bound`` after its records' time.
SWEEPS_PER_BOUND: Final = 3
#: Steps of the grid sweep windows end on, per sweep interval (10 s at the default bound).
GRID_STEPS: Final = 6

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _digest(record_id: str) -> int:
    """32 bits of a record id's hash (the process's own string hash: the ids are never
    compared across processes). With the record's time it tells records apart: two
    records of one run share both only one time in four billion per millisecond."""
    return hash(record_id) & 0xFFFFFFFF


class LateIds:
    """The records mirrored with a time at or after ``until``, by id digest and time.

    Kept in two flat arrays of 32-bit numbers (the id's digest, and the time in ms after
    the first ``until``): 8 bytes a record. Mutated only on a copy (:meth:`copy`): a log
    step's sweep is committed to the run's memory only once its cursor and Events are
    saved, so a step that fails forgets nothing it did not mirror."""

    def __init__(self, until: datetime, run_id: str = "") -> None:
        self.until = until
        #: The OCI run whose records these are (a retried attempt is another run).
        self.run_id = run_id
        self._base = _ms(until)
        self._digests = array("I")
        self._times = array("I")  # ms after _base: 49 days of a run's log

    def copy(self) -> LateIds:
        other = LateIds(self.until, self.run_id)
        other._base = self._base
        other._digests = array("I", self._digests)
        other._times = array("I", self._times)
        return other

    def __len__(self) -> int:
        return len(self._digests)

    def _key(self, record: LogRecord) -> int:
        return _digest(record.id) << 32 | (_ms(record.time) - self._base)

    def add(self, records: Iterable[LogRecord]) -> None:
        """Remember these mirrored records (those before ``until`` are never swept)."""
        floor = _ms(self.until)
        for record in records:
            time_ms = _ms(record.time)
            if time_ms < floor:
                continue
            if time_ms - self._base >= 2**32:  # 49 days on: count from ``until`` instead
                shift, self._base = floor - self._base, floor
                self._times = array("I", (t - shift for t in self._times))
            self._digests.append(_digest(record.id))
            self._times.append(time_ms - self._base)
        if len(self._digests) > MAX_LATE_IDS:
            cut = sorted(self._times)[len(self._digests) - MAX_LATE_IDS]
            self._forget(self._base + cut, inclusive=True)

    def advance(self, until: datetime) -> None:
        """Sweep no more before ``until``: forget the records before it."""
        if until > self.until:
            self._forget(_ms(until), inclusive=False)
            self.until = max(self.until, until)

    def count_in(self, start: datetime, end: datetime) -> int:
        """How many distinct records of ``[start, end)`` are remembered (a regular read
        meets some twice, in its re-read zone). Records before ``until`` are forgotten:
        ``start`` is never before it."""
        low, high = _ms(start) - self._base, _ms(end) - self._base
        return len(
            {
                d << 32 | t
                for d, t in zip(self._digests, self._times, strict=True)
                if low <= t < high
            }
        )

    def knows(self, record: LogRecord, known: set[int]) -> bool:
        return self._key(record) in known

    def known(self) -> set[int]:
        """The keys of the records remembered (for :meth:`knows`)."""
        return {d << 32 | t for d, t in zip(self._digests, self._times, strict=True)}

    def _forget(self, edge_ms: int, *, inclusive: bool) -> None:
        """Drop records before ``edge_ms`` (and at it, ``inclusive``: a whole millisecond,
        never half of one, whose other half would be mirrored again)."""
        edge = edge_ms - self._base
        keep = [i for i, t in enumerate(self._times) if t > edge or (t == edge and not inclusive)]
        self._digests = array("I", (self._digests[i] for i in keep))
        self._times = array("I", (self._times[i] for i in keep))
        if inclusive:
            moved = _EPOCH + timedelta(milliseconds=edge_ms + 1)
            self.until = max(self.until, moved)


def interval(bound: timedelta) -> timedelta:
    """How often a run's log is swept."""
    return bound / SWEEPS_PER_BOUND


def grid(bound: timedelta) -> timedelta:
    """The step sweep windows end on: runs that sweep at about the same time sweep the
    same stretch, and their counts are one query (:mod:`~ads_operator.oci.log_counts`)."""
    return interval(bound) / GRID_STEPS


def sweep_due(last: datetime | None, *, now: datetime, bound: timedelta) -> bool:
    """Whether a sweep is due (never with a bound of 0: late records are not looked for):
    at the first step in each new tick of :func:`interval` on the wall clock, so that
    runs sweep together (counted from each run's last sweep, a thousand runs' sweeps
    spread over the whole interval and each few made a count query of their own)."""
    if bound <= timedelta(0):
        return False
    every = interval(bound)
    return last is None or (now - _EPOCH) // every > (last - _EPOCH) // every


def sweep_window(
    late: LateIds,
    *,
    watermark: datetime | None,
    overlap: timedelta,
    now: datetime,
    bound: timedelta,
    eager: bool,
    aligned: bool = True,
) -> Window | None:
    """The stretch to sweep, or None when there is none (no call). It ends on the
    :func:`grid` (``aligned``), except for the sweep of a run's last read, which reaches
    its last regular read."""
    if watermark is None:
        return None
    end = watermark - overlap
    if not eager:
        end = min(end, now - bound)
    step = grid(bound)
    end = whole_ms(_EPOCH + (end - _EPOCH) // step * step if aligned else end)
    if end <= late.until:
        return None
    return Window(late.until, end)


def count_window(window: Window, bound: timedelta, *, known_until: datetime, final: bool) -> Window:
    """The stretch whose records a sweep of ``window`` counts: widened to whole sweep
    intervals (60 s at the default bound), so that runs sweeping about the same time,
    or ending about the same time, share the count query. What it adds holds no record
    the run has not mirrored: before ``until`` a new run has none (its first read began
    at its acceptance; a restarted operator's run has, its counts then differ and it
    reads, from ``until``); after the window's end up to ``known_until`` (the regular
    reads' watermark) the run mirrored all there was, and after the last read of a
    finished run (``final``) there is nothing more."""
    step = interval(bound)
    start = _EPOCH + (window.start - _EPOCH) // step * step
    end = _EPOCH - (_EPOCH - window.end) // step * step
    if end > known_until and not final:
        end = window.end
    return Window(start, end)


def sweep(
    late: LateIds,
    fetched: Iterable[LogRecord],
    *,
    window: Window,
    now: datetime,
    bound: timedelta,
) -> tuple[list[LogRecord], LateIds]:
    """The late records among ``fetched`` (not mirrored yet), oldest first, and the
    memory after mirroring them."""
    known = late.known()
    new: list[LogRecord] = []
    ids: set[str] = set()
    for record in sorted(
        (r for r in fetched if window.start <= r.time < window.end), key=lambda r: r.time
    ):
        if record.id not in ids and not late.knows(record, known):
            ids.add(record.id)
            new.append(record)
    after = late.copy()
    after.add(new)
    after.advance(min(window.end, whole_ms(now - bound)))
    return new, after


def remember(late: LateIds, records: Sequence[LogRecord]) -> LateIds:
    """The memory after a regular read that fetched ``records`` (mirrored now or before)."""
    if not records:
        return late
    after = late.copy()
    after.add(records)
    return after
