"""Log mirroring as pure functions: the search window, de-duplication and when to stop.

OCI Logging delivers records late and out of order, so each poll re-reads an overlap
window and skips records already mirrored. The cursor that makes this durable is stored
in ``status.logCursor``: the newest record time seen and the ids mirrored within the
overlap window. When more ids would be needed than the status may hold, the oldest
whole time groups are dropped and the cursor gets a *floor*: the time of the oldest
group still remembered. Searches never reach below the floor, so a bounded cursor never
repeats a line (in that rare case it may skip a record that arrived very late). The
floor travels in the ids list as one ``floor:<time>`` entry, keeping the status schema
small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ads_operator.oci.domain import LogRecord

#: Searched before ``timeAccepted`` too: the emitter's clock may differ from the service's.
START_MARGIN = timedelta(seconds=60)


FLOOR_PREFIX = "floor:"


@dataclass(frozen=True)
class Cursor:
    last_time: datetime | None = None
    ids: tuple[str, ...] = ()
    floor: datetime | None = None

    def to_ids(self) -> list[str]:
        """The wire form of ``ids`` (with the floor entry, if any)."""
        head = [FLOOR_PREFIX + self.floor.isoformat()] if self.floor is not None else []
        return [*head, *self.ids]

    @classmethod
    def from_wire(cls, last_time: datetime | None, ids: list[str] | tuple[str, ...]) -> Cursor:
        floor = None
        plain: list[str] = []
        for item in ids:
            if item.startswith(FLOOR_PREFIX):
                floor = datetime.fromisoformat(item[len(FLOOR_PREFIX) :])
            else:
                plain.append(item)
        return cls(last_time, tuple(plain), floor)


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


def window_start(
    cursor: Cursor, *, time_accepted: datetime | None, now: datetime, overlap: timedelta
) -> datetime:
    """Where the next search starts: the overlap before the newest record seen, never
    before the run was accepted (and never more than 14 days back, the API's limit)."""
    floor = now - timedelta(days=14) + timedelta(minutes=1)
    if cursor.last_time is not None:
        start = cursor.last_time - overlap
        if time_accepted is not None:
            start = max(start, time_accepted - START_MARGIN)
        if cursor.floor is not None:
            start = max(start, cursor.floor)
    else:
        start = (time_accepted or now - overlap) - START_MARGIN
    return max(start, floor)


def merge(
    cursor: Cursor,
    fetched: Iterable[LogRecord],
    *,
    overlap: timedelta,
    max_ids: int,
) -> Merged:
    """The records not yet mirrored, oldest first, and the cursor after mirroring them."""
    records = sorted(fetched, key=lambda r: r.time)  # stable: service order within a time
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
    if last_time is None:
        return Merged(tuple(new), cursor)
    horizon = last_time - overlap
    keep = [r for r in records if r.time >= horizon]  # all were mirrored, now or before
    ids, floor = _bounded(keep, max_ids - 1)
    if floor is None and cursor.floor is not None and cursor.floor >= horizon:
        floor = cursor.floor
    return Merged(tuple(new), Cursor(last_time, ids, floor))


def _bounded(records: Sequence[LogRecord], max_ids: int) -> tuple[tuple[str, ...], datetime | None]:
    """Ids of ``records`` (sorted by time) and a floor when oldest time groups were dropped.

    Whole groups only: a group split in two would have its forgotten half re-mirrored.
    """
    unique: dict[str, datetime] = {}
    for r in records:
        unique.setdefault(r.id, r.time)
    items = sorted(unique.items(), key=lambda kv: kv[1])
    if len(items) <= max_ids:
        return tuple(i for i, _ in items), None
    cut = len(items) - max_ids
    while 0 < cut < len(items) and items[cut - 1][1] == items[cut][1]:
        cut += 1
    if cut >= len(items):
        # One time group larger than the budget: remember nothing and move the floor past it.
        newest = items[-1][1]
        return (), newest + timedelta(microseconds=1)
    return tuple(i for i, _ in items[cut:]), items[cut][1]


def keep_reading(
    *, terminal: bool, time_finished: datetime | None, now: datetime, grace: timedelta
) -> bool:
    """Whether logs may still arrive: until ``grace`` after the run finished (ADS: 90 s)."""
    if not terminal:
        return True
    if time_finished is None:
        return False
    return now <= time_finished + grace


def tail(previous: Sequence[LogRecord], new: Sequence[LogRecord], size: int) -> list[LogRecord]:
    """The last ``size`` lines after appending ``new``."""
    if size <= 0:
        return []
    return [*previous, *new][-size:]
