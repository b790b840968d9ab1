"""Late log records: each mirrored once, up to a bound, without growing ``.status``.

OCI Logging makes most records searchable within seconds, but some much later (ADS
re-reads the last 180 s on every poll to catch them). The regular read
(:mod:`~ads_operator.reconcile.logs`) moves its watermark to ``now - settle``, so a record
that becomes searchable later than that is behind the watermark and never read by it.

A *sweep* reads such a stretch again: ``[until, end)``, where ``until`` is where the last
sweep left off and ``end`` is the regular read's watermark (an *eager* sweep, when the
budget allows: late lines appear soon after they become searchable) or ``now - bound``
(an *economical* sweep, when it does not: each record is read once more, at the age
``bound``). After a sweep, ``until`` moves to ``now - bound``: a stretch is swept for the
last time once every record in it that becomes searchable within ``bound`` has. Sweeps
run every ``bound / 3`` (each run's own clock), so a stretch is swept one or more times,
the last at least ``bound`` after its records' time.

What a sweep finds that was not mirrored yet is late: the ids of the records mirrored
since ``until`` are kept to tell (:class:`LateIds`). They are kept in memory, not in the
status: at five lines a second and 180 s that is ~1,200 ids a run, rewritten with every
cursor patch if they were in ``.status``. In memory they cost 16 bytes each (a hash of
the id and the record's time, in flat arrays). A restarted operator knows none: its
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

#: Most record ids one run's sweeps remember (16 bytes each).
MAX_LATE_IDS: Final = 50_000
#: Sweeps per ``bound``: each stretch is swept up to this many times, the last at least
#: ``bound`` after its records' time.
SWEEPS_PER_BOUND: Final = 3

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _key(record_id: str) -> int:
    """A 64-bit digest of a record id (the process's own string hash: the ids are never
    compared across processes)."""
    return hash(record_id)


class LateIds:
    """The records mirrored with a time at or after ``until``, by id digest and time.

    Mutated only on a copy (:meth:`copy`): a log step's sweep is committed to the run's
    memory only once its cursor and Events are saved, so a step that fails forgets
    nothing it did not mirror."""

    def __init__(self, until: datetime, run_id: str = "") -> None:
        self.until = until
        #: The OCI run whose records these are (a retried attempt is another run).
        self.run_id = run_id
        self._keys = array("q")
        self._times = array("q")

    def copy(self) -> LateIds:
        other = LateIds(self.until, self.run_id)
        other._keys = array("q", self._keys)
        other._times = array("q", self._times)
        return other

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, records: Iterable[LogRecord]) -> None:
        """Remember these mirrored records (those before ``until`` are never swept)."""
        floor = _ms(self.until)
        for record in records:
            time_ms = _ms(record.time)
            if time_ms >= floor:
                self._keys.append(_key(record.id))
                self._times.append(time_ms)
        if len(self._keys) > MAX_LATE_IDS:
            self._forget(sorted(self._times)[len(self._keys) - MAX_LATE_IDS], inclusive=True)

    def advance(self, until: datetime) -> None:
        """Sweep no more before ``until``: forget the records before it."""
        if until > self.until:
            self._forget(_ms(until), inclusive=False)
            self.until = max(self.until, until)

    def known(self) -> set[int]:
        return set(self._keys)

    def _forget(self, edge_ms: int, *, inclusive: bool) -> None:
        """Drop records before ``edge_ms`` (and at it, ``inclusive``: a whole millisecond,
        never half of one, whose other half would be mirrored again)."""
        keep = [
            i for i, t in enumerate(self._times) if t > edge_ms or (t == edge_ms and not inclusive)
        ]
        self._keys = array("q", (self._keys[i] for i in keep))
        self._times = array("q", (self._times[i] for i in keep))
        if inclusive:
            edge = _EPOCH + timedelta(milliseconds=edge_ms + 1)
            self.until = max(self.until, edge)


def interval(bound: timedelta) -> timedelta:
    """How often a run's log is swept."""
    return bound / SWEEPS_PER_BOUND


def sweep_due(last: datetime | None, *, now: datetime, bound: timedelta) -> bool:
    """Whether a sweep is due (never with a bound of 0: late records are not looked for)."""
    if bound <= timedelta(0):
        return False
    return last is None or now - last >= interval(bound)


def sweep_window(
    late: LateIds,
    *,
    watermark: datetime | None,
    overlap: timedelta,
    now: datetime,
    bound: timedelta,
    eager: bool,
) -> Window | None:
    """The stretch to sweep, or None when there is none (no call)."""
    if watermark is None:
        return None
    end = watermark - overlap
    if not eager:
        end = min(end, now - bound)
    end = whole_ms(end)
    if end <= late.until:
        return None
    return Window(late.until, end)


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
    for record in sorted(
        (r for r in fetched if window.start <= r.time < window.end), key=lambda r: r.time
    ):
        key = _key(record.id)
        if key not in known:
            known.add(key)
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
