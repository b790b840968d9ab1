"""What ``ads-operator logs -f`` reads next, and which of the records it got are new.

A person following one run wants its lines while they are fresh, so the live tail reads
up to *now* (no settle time) about once a second. OCI Logging makes a record searchable
some time after its own timestamp, usually seconds but sometimes minutes, and several
records can share a millisecond; so a read never trusts its window to be complete:

- every read re-reads ``quick`` (a few seconds, the usual ingestion delay) before the end
  of the previous one, which catches the records that were ingested a little late;
- every ``deep_every`` (and once more before the tail ends) a read reaches back
  ``late_bound + deep_every``, which catches any record ingested up to ``late_bound``
  (ADS's 180 s) after its time, whenever the deep read falls;
- a record is shown once: the ids of the records shown whose time any later read can
  still reach are remembered (the ``late_bound + deep_every`` before now, no more), so
  re-read records are dropped by id, and records that share a timestamp are all kept.

A record ingested later than ``late_bound`` after its time may be missed while following
(``ads-operator logs RUN`` without ``-f`` reads the whole log once it has settled). The
price of the deep re-read is the records of ``late_bound + deep_every`` every
``deep_every``: one SearchLogs page per 1,000 of them.

Pure: the clock and the search are the caller's (:func:`ads_operator.commands.follow.stream`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile.logs import SEARCH_RETENTION, START_MARGIN, Window, whole_ms

#: How late a record may be ingested and still be shown while following (ADS: 180 s);
#: ``ads-operator logs`` passes ``ADS_OPERATOR_LOG_LATE_BOUND``, whose default this is.
LATE_BOUND = timedelta(seconds=180)
#: How often the tail re-reads back to :data:`LATE_BOUND`.
DEEP_EVERY = timedelta(seconds=15)


@dataclass(frozen=True)
class Read:
    """One search: its window, and whether it reaches back to the late bound."""

    window: Window
    deep: bool


@dataclass
class Trail:
    """One followed run's reading position. ``quick`` is the re-read depth of every read
    (at least the time records usually take to become searchable)."""

    quick: timedelta
    late_bound: timedelta = LATE_BOUND
    deep_every: timedelta = DEEP_EVERY
    #: End of the newest read (None: nothing read yet).
    read_to: datetime | None = None
    #: When the last deep read was made.
    deep_at: datetime | None = None
    #: Ids of the shown records a later read may meet again, with their times.
    shown: dict[str, datetime] = field(default_factory=dict)

    @property
    def deep(self) -> timedelta:
        """How far back a deep read reaches: a record ``late_bound`` late is searchable
        before the next deep read, and that read still reaches its time."""
        return self.late_bound + self.deep_every

    def next_read(
        self, *, now: datetime, time_accepted: datetime | None, last: bool = False
    ) -> Read | None:
        """The next read: the whole log so far the first time, a deep one when due (or
        ``last``, the read before the tail ends), else a quick one; None if empty."""
        end = whole_ms(now)
        first = (time_accepted or now) - START_MARGIN  # the run's whole log
        deep = last or self.deep_at is None or now - self.deep_at >= self.deep_every
        if self.read_to is None:
            start = first
        elif deep:
            start = now - self.deep
        else:
            # Never below a deep read's start: the ids of older records are forgotten.
            start = max(self.read_to - self.quick, now - self.deep)
        start = whole_ms(max(start, first, now - SEARCH_RETENTION))
        return Read(Window(start, end), deep) if start < end else None

    def take(self, records: Iterable[LogRecord], read: Read, *, now: datetime) -> list[LogRecord]:
        """The records of the read's window not shown before, oldest first (records of one
        time stay in the order the service answered them); remembers them as shown."""
        window = read.window
        fresh = sorted(
            (r for r in records if window.start <= r.time < window.end and r.id not in self.shown),
            key=lambda r: r.time,
        )
        new: list[LogRecord] = []
        for record in fresh:
            if record.id not in self.shown:  # a page boundary may repeat one
                self.shown[record.id] = record.time
                new.append(record)
        if read.deep:
            self.deep_at = now
        self.read_to = window.end if self.read_to is None else max(self.read_to, window.end)
        # No later read starts before ``now - deep``: older ids cannot be met again.
        horizon = whole_ms(now - self.deep)
        self.shown = {i: t for i, t in self.shown.items() if t >= horizon}
        return new
