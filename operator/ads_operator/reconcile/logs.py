"""Log mirroring as pure functions: the search window, de-duplication and when to stop.

OCI Logging makes a record searchable some seconds after its own time (ingestion is late
and out of order). Re-reading a fixed overlap on every poll would catch late records, but
makes each poll's reads grow with lines x overlap instead of with new lines (issue 7). So
each read covers ``[watermark - overlap, now - settle)``, half-open, and then moves the
*watermark* to the end of that window: everything before the watermark was read after it
had settled, and consecutive half-open windows never see a record twice. ``settle`` is how
late a record may become visible and still be mirrored; ``overlap`` (default 0) is an
optional extra re-read depth for records later than that, paid for in reads per poll.

Only re-read records need de-duplication: the cursor (``status.logCursor``) keeps the ids
of mirrored records with time at or after ``watermark - overlap`` (none when the overlap
is 0). When more ids would be needed than the status may hold, the oldest whole time
groups are dropped and the cursor gets a *floor*: the time of the oldest group still
remembered. Searches never reach below the floor, so a bounded cursor never repeats a line
(in that rare case it may skip a record that arrived very late).

Cursors written before the watermark existed (``lastTime`` and ids only, the floor as a
``floor:<time>`` id) are still read; see :func:`read_window`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from ads_operator.models.oci_records import LogRecord

_Line = TypeVar("_Line")

#: Searched before ``timeAccepted`` too: the emitter's clock may differ from the service's.
START_MARGIN = timedelta(seconds=60)
#: The re-read depth of cursors written before the watermark existed, when the overlap is
#: now 0: the earlier default (ADS's 180 s), which their ids cover.
LEGACY_OVERLAP = timedelta(seconds=180)
#: Logging Search refuses windows reaching back more than 14 days.
SEARCH_RETENTION = timedelta(days=14) - timedelta(minutes=1)

#: How a floor travelled in the ids of cursors written before it had its own field.
FLOOR_PREFIX = "floor:"

#: Logs are read fresh once this share of the Logging budget went unused lately, and
#: settled again when less than :data:`FRESH_LEAVE` did (apart, so the mode does not flap
#: while reading fresh itself uses some of the budget). The same marks as the cadence's
#: (:data:`ads_operator.oci.cadence.SPEND_BELOW`, ``SAVE_ABOVE``, as headroom): fresh
#: reads only while the reads are spending headroom. At 0.7 / 0.5, a thousand runs whose
#: lines used ~45 % of Logging kept reading fresh from their start on: unsettled ids in
#: every cursor (~30 MB more RSS, larger status patches) and more SearchLogs pages.
FRESH_ENTER = 0.85
FRESH_LEAVE = 0.65


def fresh_next(fresh: bool, headroom: float) -> bool:
    """Whether to read fresh, having read ``fresh`` so far, with this budget headroom."""
    return headroom >= (FRESH_LEAVE if fresh else FRESH_ENTER)


@dataclass(frozen=True)
class Cursor:
    """Where mirroring of one run's log stands."""

    #: Newest record time mirrored.
    last_time: datetime | None = None
    #: Ids of mirrored records at or after ``watermark - overlap`` (re-read, so skipped).
    ids: tuple[str, ...] = ()
    #: Records before this time are never mirrored (set when ids had to be dropped).
    floor: datetime | None = None
    #: Records before this time were read after they settled.
    watermark: datetime | None = None

    @classmethod
    def from_wire(
        cls,
        last_time: datetime | None,
        ids: Iterable[str],
        *,
        floor: datetime | None = None,
        watermark: datetime | None = None,
    ) -> Cursor:
        """The cursor of a status; a legacy ``floor:<time>`` id counts when ``floor`` is unset."""
        plain: list[str] = []
        for item in ids:
            if item.startswith(FLOOR_PREFIX):
                floor = floor or datetime.fromisoformat(item[len(FLOOR_PREFIX) :])
            else:
                plain.append(item)
        return cls(last_time, tuple(plain), floor, watermark)


@dataclass(frozen=True)
class Window:
    """One search, half-open: ``start <= time < end``."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Merged:
    new: tuple[LogRecord, ...]
    cursor: Cursor


def search_query(compartment_id: str, log_group_id: str, log_id: str, run_id: str) -> str:
    """The query ADS builds (bare ``source = '<ocid>'`` is refused, hence the ``*``),
    sorted ascending because lines are mirrored oldest first."""
    return (
        f'search "{compartment_id}/{log_group_id}/{log_id}"'
        f" | where source = '*{run_id}' | sort by datetime asc"
    )


def read_window(
    cursor: Cursor,
    *,
    time_accepted: datetime | None,
    now: datetime,
    settle: timedelta,
    overlap: timedelta,
    fresh: bool = False,
) -> Window | None:
    """The next search, or None when there is nothing settled to read yet (no call).

    It starts ``overlap`` before the watermark (first read: a margin before the run was
    accepted), never before that margin, the floor, or the API's 14 days; it ends at
    ``now - settle``, or, ``fresh``, at ``now`` (see :func:`merge`: the watermark still
    stops at ``now - settle``, and the records after it are remembered by id). A legacy
    cursor (no watermark) resumes ``overlap`` before its newest record, or
    :data:`LEGACY_OVERLAP` when the overlap is 0 (the depth its ids cover): reaching
    further back than its ids would mirror old lines again.
    """
    end = whole_ms(now if fresh else now - settle)
    if cursor.watermark is not None:
        start = cursor.watermark - overlap
    elif cursor.last_time is not None:
        start = cursor.last_time - (overlap if overlap > timedelta(0) else LEGACY_OVERLAP)
    else:
        start = (time_accepted or end) - START_MARGIN
    if time_accepted is not None:
        start = max(start, time_accepted - START_MARGIN)
    if cursor.floor is not None:
        start = max(start, cursor.floor)
    start = whole_ms(max(start, now - SEARCH_RETENTION))
    if end <= start:
        return None
    return Window(start, end)


def whole_ms(moment: datetime) -> datetime:
    """``moment`` cut to the millisecond: the precision of record times and of the search
    API's window. A window edge between two milliseconds is rounded by the service one
    way and compared by :func:`merge` the other, and a record on that millisecond fell
    between two reads (1 line in 60,000 in the benchmark)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def merge(
    cursor: Cursor,
    fetched: Iterable[LogRecord],
    *,
    window: Window,
    overlap: timedelta,
    max_ids: int,
    settled: datetime | None = None,
) -> Merged:
    """The records of ``window`` not yet mirrored, oldest first, and the cursor after
    mirroring them: its watermark at the window's end, or at ``settled`` when the window
    reached past it (a fresh read: the records after ``settled`` may still be joined by
    others, so the next read covers them again and their ids stay in the cursor)."""
    records = sorted(  # stable: service order within a time
        (r for r in fetched if window.start <= r.time < window.end), key=lambda r: r.time
    )
    if cursor.floor is not None:
        records = [r for r in records if r.time >= cursor.floor]
    seen = set(cursor.ids)
    new: list[LogRecord] = []
    batch_ids: set[str] = set()
    for record in records:
        if record.id in seen or record.id in batch_ids:
            continue
        new.append(record)
        batch_ids.add(record.id)
    last_time = cursor.last_time
    if records:
        newest = records[-1].time
        last_time = newest if last_time is None else max(last_time, newest)
    end = window.end if settled is None else min(window.end, whole_ms(settled))
    watermark = end if cursor.watermark is None else max(cursor.watermark, end)
    horizon = watermark - overlap
    # Everything fetched was mirrored, now or before; the next read re-reads from horizon.
    keep: list[tuple[str, datetime]] = [(r.id, r.time) for r in records if r.time >= horizon]
    if cursor.last_time is not None and cursor.last_time >= watermark:
        # A legacy cursor mirrored records up to ``lastTime``, past this window: the next
        # reads meet them again, so its ids stay (their times unknown: at most lastTime).
        fetched_ids = {r.id for r in records}
        keep += [(i, cursor.last_time) for i in cursor.ids if i not in fetched_ids]
    ids, floor = _bounded(keep, max_ids)
    if floor is None and cursor.floor is not None and cursor.floor >= horizon:
        floor = cursor.floor
    return Merged(tuple(new), Cursor(last_time, ids, floor, watermark))


def _bounded(
    items: Sequence[tuple[str, datetime]], max_ids: int
) -> tuple[tuple[str, ...], datetime | None]:
    """The ids of ``items`` and a floor when the oldest time groups were dropped.

    Whole groups only: a group split in two would have its forgotten half re-mirrored.
    """
    unique: dict[str, datetime] = {}
    for record_id, time in items:
        unique.setdefault(record_id, time)
    ordered = sorted(unique.items(), key=lambda kv: kv[1])
    if len(ordered) <= max_ids:
        return tuple(i for i, _ in ordered), None
    cut = len(ordered) - max_ids
    while 0 < cut < len(ordered) and ordered[cut - 1][1] == ordered[cut][1]:
        cut += 1
    if cut >= len(ordered):
        # One time group larger than the budget: remember nothing and move the floor past it.
        newest = ordered[-1][1]
        return (), newest + timedelta(microseconds=1)
    return tuple(i for i, _ in ordered[cut:]), ordered[cut][1]


def keep_reading(
    *,
    terminal: bool,
    time_finished: datetime | None,
    now: datetime,
    grace: timedelta,
    settle: timedelta = timedelta(0),
) -> bool:
    """Whether logs may still arrive: until ``grace`` after the run finished (ADS: 90 s),
    and until the read made with this decision (it ends at ``now - settle``) has passed the
    finish, so a settle longer than the grace still reads the last lines."""
    if not terminal:
        return True
    if time_finished is None:
        return False
    return now <= time_finished + grace or now - settle <= time_finished


def tail(previous: Sequence[_Line], new: Sequence[_Line], size: int) -> list[_Line]:
    """The last ``size`` lines after appending ``new`` (records, or their wire form)."""
    if size <= 0:
        return []
    return [*previous, *new][-size:]
