"""The log steps' lane: when a step may start reading (in waves, once few steps are
ahead of it) and how many write at once.

A log step reads the new lines, then writes the cursor and the Events; the writes wait
for one of the few write slots (:meth:`LogLane.writing`), which keep a run's new state
from queueing behind them at the API server. At a thousand runs the API server takes
about 60 log steps a second, fewer than become due, and steps that had read queued for
a slot for up to 20 s: their lines were read and then left waiting, and the next read
started that much later. Waiting *before* the read instead costs the same time, but the
read then ends nearer to now and the lines it finds are written at once (the step takes
its ``now`` after it was let in).

Steps are let in as a wave, not one by one as slots free: runs that read together share
one search (:class:`~ads_operator.oci.logreader.LogSearchBatcher` batches what arrives
within 0.2 s), so a trickle of admissions would cost more, emptier search pages. While
fewer than ``low`` steps are in flight nothing waits, which is every case but a backed
up API server (10 or 300 runs keep far fewer in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class LogLane:
    """Shared by the log steps of all runs: ``admitted()`` around a whole step, and
    ``writing()`` around its writes."""

    def __init__(self, low: int, writes: int) -> None:
        #: Below this many steps in flight, the waiting ones are let in (up to as many).
        self.low = low
        self.in_flight = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._writes = asyncio.Semaphore(writes)

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[bool]:
        """Holds a place for a step; yields whether it had to wait for it (then its
        ``now`` is the time it was let in, not its pass's)."""
        waited = self.in_flight >= self.low or bool(self._waiting)
        if not waited:
            self.in_flight += 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(future)
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._leave()  # let in, then canceled before it ran: give the place back
                raise
        try:
            yield waited
        finally:
            self._leave()

    @property
    def busy(self) -> bool:
        """Whether steps queue (or would): then each saves the status less often."""
        return self.in_flight >= self.low or bool(self._waiting)

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Holds one of the write slots (a run's new state goes first, at the API server)."""
        async with self._writes:
            yield

    def _leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight >= self.low:
            return
        wave = self.low
        while self._waiting and wave > 0:
            future = self._waiting.popleft()
            if future.done():  # canceled while waiting
                continue
            self.in_flight += 1
            wave -= 1
            future.set_result(None)
