"""An async token bucket shared by every OCI call of the operator.

OCI throttles per tenancy; a burst of resources after a restart would otherwise hit 429s
that then cost a retry-after wait each. Spending tokens up front is cheaper.

When calls queue for tokens, they are served by priority, not arrival: a thousand runs
applied together queue a thousand CreateJobRuns, and the state polls of the runs that
already started must not wait behind all of them (their status would lag by minutes).
Log searches come last: their lines are late, never lost (the cursor keeps the place).

How much of the budget is in use is read back as :meth:`TokenBucket.headroom`: with few
runs the operator uses a small share of it and spends the rest on latency (shorter poll
and log-read intervals); as runs grow, the headroom shrinks and the
intervals fall back to the batched schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Final

from ads_operator import metrics

#: Lower is served first. State reads and cancels: what users watch and ask for.
STATE, OTHER, LOGS = 0, 1, 2
PRIORITY: Final = {
    "GetJobRun": STATE,
    "ListJobRuns": STATE,
    "CancelJobRun": STATE,
    "SearchLogs": LOGS,
}


#: The time constant (seconds) of the smoothed use behind :meth:`TokenBucket.headroom`:
#: long enough that the ticks of a batched schedule (3-12 s) average out, short enough
#: that a wave of new runs is felt within a poll or two.
USE_WINDOW: Final = 30.0
#: How slowly headroom comes back once use falls (seconds, the time constant of the
#: highest recent use): as the runs of a large wave end, the last ones are not read
#: faster at once (that tail spent the calls the wave was kept within), and a service
#: that was busy a minute ago may be again.
RECOVERY: Final = 120.0


def priority_of(operation: str) -> int:
    return PRIORITY.get(operation, OTHER)


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``acquire`` waits for one.
    Waiters are served lowest ``priority`` first, in arrival order within a priority.

    The count of tokens is guarded by a lock: a worker thread reading the pages of one
    state list takes the token of each further page itself (:meth:`try_take`), without a
    return to the event loop."""

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()
        #: State reads paging through a list now, each keeping a token back for its
        #: next page (:meth:`reserving`).
        self._reserved = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._server: asyncio.Task[None] | None = None
        #: Tokens taken, decayed with :data:`USE_WINDOW` as of ``_used_at``.
        self._used = 0.0
        self._used_at = self._stamp
        #: The highest rate of use (tokens per second) lately, decayed with
        #: :data:`RECOVERY` as of ``_peak_at``.
        self._peak = 0.0
        self._peak_at = self._stamp
        #: When OCI last answered 429 (:meth:`throttled`).
        self._throttled_at: float | None = None

    def headroom(self) -> float:
        """The share of the budget not in use (0.0 .. 1.0): one minus the rate of tokens
        taken over the last :data:`USE_WINDOW` seconds or so (an exponentially weighted
        average), and minus the calls queued for a token now (spread over that window: a
        queue is demand the rate cannot serve yet), or the highest such rate lately, which
        rises with the use and falls over :data:`RECOVERY`. After OCI throttled a call, none,
        coming back over :data:`USE_WINDOW`: the tenancy's real limit is lower than ours,
        or others spend it. A pure read, safe from any thread."""
        with self._lock:
            now = self._clock()
            used = self._used * math.exp(-(now - self._used_at) / USE_WINDOW)
            peak = self._peak * math.exp(-(now - self._peak_at) / RECOVERY)
            throttled_at = self._throttled_at
        demand = max((used + len(self._waiting)) / USE_WINDOW, peak)
        free = max(0.0, 1.0 - demand / self.rate)
        if throttled_at is not None:
            free *= min(1.0, max(0.0, now - throttled_at) / USE_WINDOW)
        return free

    def throttled(self) -> None:
        """OCI answered a call of this service 429: no headroom for a while."""
        with self._lock:
            self._throttled_at = self._clock()

    def _count_use(self) -> None:
        """One token taken (called under the lock)."""
        now = self._clock()
        self._used = self._used * math.exp(-(now - self._used_at) / USE_WINDOW) + 1.0
        self._used_at = now
        peak = self._peak * math.exp(-(now - self._peak_at) / RECOVERY)
        self._peak, self._peak_at = max(peak, self._used / USE_WINDOW), now

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self, keep: int = 0) -> float:
        """Take a token if one is there beyond ``keep`` (returns 0), else the seconds
        until one will be. Safe from any thread; it does not queue, so only the most
        urgent calls (state reads, holding a token for their first page) use it outside
        the loop."""
        with self._lock:
            self._refill()
            if self._tokens >= 1 + keep:
                self._tokens -= 1
                self._count_use()
                return 0.0
            return (1 + keep - self._tokens) / self.rate

    @contextlib.contextmanager
    def reserving(self) -> Iterator[None]:
        """While a state read pages through a list (taking the tokens of its further
        pages in a worker thread), calls of lower priority get only the tokens beyond one
        per such read. Without it a queue of creates took every token as it accrued, and
        each page of the read went back to the loop to queue for one."""
        self._reserved += 1
        try:
            yield
        finally:
            self._reserved -= 1

    def _keep(self, priority: int) -> int:
        """Tokens a call of ``priority`` must leave (never the whole burst: a call that
        can never be served would starve)."""
        return min(self._reserved, int(self.burst) - 1) if priority > STATE else 0

    def _give_back(self) -> None:
        with self._lock:
            self._tokens += 1
            self._used = max(0.0, self._used - 1.0)

    async def acquire(self, priority: int = OTHER) -> None:
        if not self._waiting and self.try_take(self._keep(priority)) == 0:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), future))
        if self._server is None or self._server.done():
            self._server = asyncio.get_running_loop().create_task(self._serve())
        queued = self._clock()
        await future
        metrics.rate_limit_wait(self._clock() - queued)

    async def _serve(self) -> None:
        """Hands out tokens as they accrue, to the most urgent waiter still waiting."""
        while self._waiting:
            priority, _, first = self._waiting[0]
            if first.cancelled():
                heapq.heappop(self._waiting)
                continue
            wait = self.try_take(self._keep(priority))
            if wait > 0:
                await asyncio.sleep(wait)  # pacing: the token exists only after this time
                continue
            _, _, future = heapq.heappop(self._waiting)
            if future.cancelled():
                self._give_back()  # nobody used it
            else:
                future.set_result(None)


#: The OCI service each operation belongs to; OCI throttles each service's API on its own.
SERVICE_OF: Final = {
    "SearchLogs": "logging",
    "GetLog": "logging",
    "GetObject": "objectstorage",
    "ListObjects": "objectstorage",
}


def service_of(operation: str) -> str:
    return SERVICE_OF.get(operation, "datascience")


class TenancyBudget:
    """The call budget of one tenancy: a :class:`TokenBucket` per OCI service.

    OCI's limits apply per tenancy and service API, so a thousand runs' log searches
    (Logging Search) do not use up what their state reads and creates (Data Science) may
    spend, and the other way round."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.buckets: dict[str, TokenBucket] = {}

    def bucket(self, operation: str) -> TokenBucket:
        service = service_of(operation)
        found = self.buckets.get(service)
        if found is None:
            found = self.buckets[service] = TokenBucket(self.rate)
        return found

    async def acquire(self, operation: str) -> None:
        await self.bucket(operation).acquire(priority_of(operation))

    def headroom(self, operation: str | None = None) -> float:
        """The :meth:`TokenBucket.headroom` of the service ``operation`` belongs to, or
        with none given the least of all services' (1.0 before any call)."""
        if operation is not None:
            found = self.buckets.get(service_of(operation))
            return 1.0 if found is None else found.headroom()
        return min((b.headroom() for b in list(self.buckets.values())), default=1.0)
