"""How long log records take to become searchable, as the records themselves show it:
:class:`SettleTime`, shared by every log search of the operator (issue 21).

A settled read ends ``settle`` before now, so that the records of that stretch are all
searchable when it is read; a fresh read remembers the records of the last ``settle``
seconds by id and reads them again. A fixed ``LOG_SETTLE`` (10 s) is a guess at OCI
Logging's ingest delay: too short and records are found only by the sweeps for late
records (a minute or three later), too long and every line waits for it. Each record
says when it was ingested (``logContent.oracle.ingestedtime``), so the operator settles
for what it sees: the longest delay of the last minutes plus a margin, between
:data:`SHORTEST` and ``LOG_SETTLE``. Delays longer than ``LOG_SETTLE`` do not count: such
records are late records whatever the settle is, and the sweeps mirror them
(:mod:`~ads_operator.reconcile.late_logs`). A record the shorter settle missed is found
by a sweep, and its delay lengthens the settle from then on: nothing is lost either way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Final

from ads_operator.models.oci_records import LogRecord

#: The shortest settle: a margin for the clocks of the operator and the service, and for
#: a record that is ingested but not yet searchable.
SHORTEST: Final = 2.0
#: Added to the longest delay seen.
MARGIN: Final = 1.0
#: Delays are remembered per :data:`BUCKET` seconds for :data:`REMEMBERED` seconds: a
#: slow spell of the service lengthens the settle for five minutes after it was seen.
BUCKET: Final = 30.0
REMEMBERED: Final = 300.0


class SettleTime:
    """The settle time to read with now: ``longest`` (``LOG_SETTLE``) until records were
    seen, then the longest ingest delay of the last :data:`REMEMBERED` seconds (at most
    ``longest``) plus :data:`MARGIN`, never below :data:`SHORTEST` nor above ``longest``."""

    def __init__(self, longest: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.longest = longest
        self._clock = clock
        #: The longest delay (seconds) seen in each bucket, by bucket number.
        self._delays: dict[int, float] = {}

    def observe(self, records: Iterable[LogRecord]) -> None:
        """Note the ingest delays of records a search returned (those that say when)."""
        longest = -math.inf
        for record in records:
            if record.ingested is not None:
                delay = (record.ingested - record.time).total_seconds()
                if longest < delay <= self.longest:
                    longest = delay
        if longest == -math.inf:
            return
        now = self._clock()
        self._delays = self._recent(now)  # at most REMEMBERED / BUCKET + 1 buckets
        bucket = int(now // BUCKET)
        self._delays[bucket] = max(self._delays.get(bucket, 0.0), longest)

    def seconds(self) -> float:
        """The settle time (seconds) for a read made now."""
        recent = self._recent(self._clock())
        if not recent:
            return self.longest
        return min(self.longest, max(SHORTEST, max(recent.values()) + MARGIN))

    def _recent(self, now: float) -> dict[int, float]:
        """The buckets of the last :data:`REMEMBERED` seconds."""
        first = int((now - REMEMBERED) // BUCKET) + 1
        return {b: d for b, d in self._delays.items() if b >= first}
