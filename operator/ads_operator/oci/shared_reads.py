"""One OCI read shared by everyone who asks for the same thing within a few seconds.

A thousand DataScienceJobRuns of one job, applied together, each need the job (GetJob) to
create their run. Asked one by one that is a thousand identical calls against the
tenancy's budget; shared, it is one. The answer is kept ``ttl`` seconds: a job's
compartment and project never change, and a job that stops being ACTIVE is noticed by
the next read after that. Failures are not kept (the next caller asks again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedReads(Generic[T]):
    """``get(key, read)`` runs ``read`` once per key and ``ttl``; concurrent callers wait
    for the same call."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, asyncio.Task[T]]] = {}
        #: Reads actually made (for tests and the benchmark).
        self.reads = 0

    async def get(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None or now - entry[0] > self.ttl:
            self._prune(now)
            self.reads += 1
            task = asyncio.ensure_future(read())
            entry = self._entries[key] = (now, task)
        task = entry[1]
        try:
            return await asyncio.shield(task)
        except Exception:
            if self._entries.get(key) is entry:
                del self._entries[key]
            raise

    def _prune(self, now: float) -> None:
        """Drops expired answers, so keys of long-gone jobs do not accumulate."""
        for key in [k for k, (at, t) in self._entries.items() if t.done() and now - at > self.ttl]:
            del self._entries[key]
