"""Log mirroring as pure functions: the search window, de-duplication and when to stop.

OCI Logging delivers records late and out of order, so each poll re-reads an overlap
window and skips records already mirrored. The cursor that makes this durable is stored
in ``status.logCursor``: the newest record time seen and the ids mirrored within the
overlap window. When more ids would be needed than the status may hold, the oldest
whole time groups are dropped and the cursor is marked *saturated*: records older than
the oldest remembered id then count as mirrored, so a bounded cursor never repeats a
line (it may, in that rare case, skip a record that arrived very late).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ads_operator.oci.domain import LogRecord

#: Searched before ``timeAccepted`` too: the emitter's clock may differ from the service's.
START_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class Cursor:
    last_time: datetime | None = None
    ids: tuple[str, ...] = ()


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
    seen = set(cursor.ids)
    saturated = len(cursor.ids) >= max_ids
    known_times = [r.time for r in records if r.id in seen]
    oldest_known = min(known_times) if known_times else None
    new: list[LogRecord] = []
    batch_ids: set[str] = set()
    for record in records:
        if record.id in seen or record.id in batch_ids:
            continue
        if saturated and oldest_known is not None and record.time < oldest_known:
            continue
        new.append(record)
        batch_ids.add(record.id)
    last_time = cursor.last_time
    if records:
        newest = records[-1].time
        last_time = newest if last_time is None else max(last_time, newest)
    keep: list[LogRecord] = []
    if last_time is not None:
        horizon = last_time - overlap
        keep = [r for r in records if (r.id in seen or r.id in batch_ids) and r.time >= horizon]
    return Merged(tuple(new), Cursor(last_time, _bounded_ids(keep, max_ids)))


def _bounded_ids(records: Sequence[LogRecord], max_ids: int) -> tuple[str, ...]:
    """Ids of ``records`` (sorted by time), dropping oldest whole time groups beyond max."""
    unique: dict[str, datetime] = {}
    for r in records:
        unique.setdefault(r.id, r.time)
    items = sorted(unique.items(), key=lambda kv: kv[1])
    if len(items) <= max_ids:
        return tuple(i for i, _ in items)
    cut = len(items) - max_ids
    boundary = items[cut][1]
    while cut < len(items) and items[cut - 1][1] == boundary:
        cut += 1  # never split a time group: its remaining members would be re-mirrored
    kept = items[cut:] if cut < len(items) else items[-max_ids:]
    return tuple(i for i, _ in kept)


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
