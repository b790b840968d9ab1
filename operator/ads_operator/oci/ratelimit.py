"""An async token bucket shared by every OCI call of the operator.

OCI throttles per tenancy; a burst of resources after a restart would otherwise hit 429s
that then cost a retry-after wait each. Spending tokens up front is cheaper.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ads_operator import metrics


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``acquire`` waits for one."""

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
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self) -> float:
        """Take a token if one is there (returns 0), else the seconds until one will be."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    async def acquire(self) -> None:
        async with self._lock:
            wait = self.try_take()
            if wait > 0:
                metrics.rate_limit_wait(wait)
            while wait > 0:
                await asyncio.sleep(wait)  # pacing: the token exists only after this time
                wait = self.try_take()
