"""What a use case tells its handler: done, try again after a delay, or failed for good.

Use cases return an :data:`Outcome` and never raise anything of kopf's;
:mod:`ads_operator.handlers` has the one function that turns an outcome into kopf's
retry semantics. A daemon's stop signal reaches use cases as :class:`Stopping`, which
kopf's ``DaemonStopped`` satisfies and tests fake with a few lines.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol, TypeAlias


@dataclass(frozen=True)
class Done:
    """Nothing more to do until the resource changes (or the next timer)."""


@dataclass(frozen=True)
class RetryAfter:
    """Not finished: call again after ``delay`` seconds (``message`` says why)."""

    delay: float
    message: str


@dataclass(frozen=True)
class Failed:
    """Cannot succeed until the spec changes (already reported on the resource)."""

    message: str


Outcome: TypeAlias = Done | RetryAfter | Failed


class Stopping(Protocol):
    """A daemon's stop signal: true once the daemon should end; ``wait`` pauses until
    then or for ``timeout`` seconds, whichever comes first."""

    def __bool__(self) -> bool: ...

    def wait(self, timeout: float) -> Awaitable[object]: ...
