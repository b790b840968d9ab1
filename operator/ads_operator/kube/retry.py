"""How the Kubernetes adapter retries a call that failed transiently: :class:`RetryPolicy`
(how often, how long at most) and :func:`retrying` (the loop).

The apiserver sheds load with 429 (API Priority and Fairness) and drops connections
when it restarts or a proxy in between does: single failures that a use case should not
see, let alone crash on. So the adapter tries again itself, honouring ``Retry-After``,
backing off exponentially with jitter, within a total budget; what still fails after it
reaches the use case as the last :class:`~ads_operator.kube.port.KubeError`, and the use
case tries its whole pass again later. Which failures may be retried is decided in
:mod:`ads_operator.kube.errors`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ads_operator.kube.errors import retryable
from ads_operator.kube.port import KubeError, error_text

log = logging.getLogger(__name__)
_T = TypeVar("_T")
#: The jitter's source. One for the process: seeding a generator per call read 2.5 KB of
#: urandom each time, 7 % of the event loop's time at a thousand runs.
_JITTER = random.Random()  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries of a call, no retry begun after ``budget`` seconds.

    The n-th retry waits up to ``base * 2**n`` seconds (full jitter, at most ``cap``), or
    what the apiserver's ``Retry-After`` asks, bounded by ``max_retry_after``: a server
    asking for a minute must not hold a status patch that long (the use case's next pass
    comes sooner)."""

    attempts: int = 6
    budget: float = 20.0
    base: float = 0.2
    cap: float = 4.0
    max_retry_after: float = 10.0

    def delay(self, exc: KubeError, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first)."""
        if exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        return rng.uniform(0, min(self.cap, self.base * 2**retry))


#: No retry at all (unit tests of callers that want the first failure).
NO_RETRY = RetryPolicy(attempts=1)
#: What the operator runs with.
DEFAULT_RETRY = RetryPolicy()


async def retrying(
    call: Callable[[], Awaitable[_T]],
    *,
    idempotent: bool,
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> _T:
    """``call()``, tried again after each transient :class:`KubeError` while the policy
    allows; the last error is raised. ``what`` names the call in the debug log."""
    rng = rng or _JITTER
    deadline = clock() + policy.budget
    for retry in range(policy.attempts):
        try:
            return await call()
        except KubeError as exc:
            if retry + 1 >= policy.attempts or not retryable(exc, idempotent=idempotent):
                raise
            pause = policy.delay(exc, retry, rng)
            if clock() + pause > deadline:
                raise
            log.debug("%s failed (%s); retrying in %.2f s", what, error_text(exc), pause)
            await sleep(pause)
    raise AssertionError("unreachable: the last attempt returns or raises")
