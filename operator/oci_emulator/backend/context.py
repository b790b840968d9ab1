"""What every backend operation receives besides its arguments: who calls, and a scheduler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TENANCY = "ocid1.tenancy.oc1..aaaaaaaaemulatortenancy"
DEFAULT_USER = "ocid1.user.oc1..aaaaaaaaemulatoruser"


@dataclass(frozen=True)
class Caller:
    """The principal from the request signature's keyId (``tenancy/user/fingerprint``)."""

    tenancy: str = DEFAULT_TENANCY
    user: str = DEFAULT_USER
    #: ``namespace/serviceaccount`` when an OKE workload signs with its session token; its
    #: calls are limited to the compartments the workload policy grants it. API keys and
    #: run principals have no policy in the emulator (``None``: unrestricted).
    workload: str | None = None


class Scheduler(Protocol):
    """Deferred work on the emulator's event loop (work requests, run phases)."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> None: ...


class RunControl(Protocol):
    """The run driver, as the Data Science backend sees it."""

    def start(self, run_id: str) -> None: ...

    def cancel(self, run_id: str) -> None: ...
