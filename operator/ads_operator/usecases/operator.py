"""The operator object: everything one operator process shares between handlers.

kopf keeps it in its memo (set at startup, see :mod:`ads_operator.handlers`); use cases
receive it and find here every piece of process-wide state, so no module keeps any of
its own and a unit test builds a fresh one over fake ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

from ads_operator.kube.events import EventPoster
from ads_operator.kube.port import KubePort, Resource
from ads_operator.models.oci_records import OciJob
from ads_operator.oci import cadence
from ads_operator.oci.poller import RunStateReader
from ads_operator.oci.port import OciPort
from ads_operator.oci.shared_reads import SharedReads
from ads_operator.reconcile import admission
from ads_operator.reconcile.events import LogEventLimiter, RepeatLimiter
from ads_operator.settings import Settings
from ads_operator.usecases.log_gate import LogLane
from ads_operator.usecases.mounts import ResolvedMounts
from ads_operator.usecases.service_networks import ServiceNetworks


def utcnow() -> datetime:
    return datetime.now(UTC)


class Ports(Protocol):
    """Where OCI ports come from (:class:`ads_operator.oci.factory.PortFactory`): one per
    credentials and region."""

    @property
    def has_default(self) -> bool:
        """Whether the default credentials are built (building them may do network I/O)."""
        ...

    def credentials(self, secret: Mapping[str, bytes] | None, secret_name: str | None) -> object:
        """Build (and keep) the credentials; raises when they are unusable."""
        ...

    def port(
        self,
        *,
        secret: Mapping[str, bytes] | None = None,
        secret_name: str | None = None,
        region: str | None = None,
    ) -> OciPort: ...

    def is_built(
        self,
        *,
        secret: Mapping[str, bytes] | None = None,
        secret_name: str | None = None,
        region: str | None = None,
    ) -> bool:
        """Whether :meth:`port` answers from its cache (else it is built in a thread)."""
        ...


#: Log steps that write at once. At a thousand runs a hundred log steps a second each
#: patch a cursor and create Events; let all in flight (64 threads) and the API server
#: shares its CPU among them, and a run's new state, patched on threads of its own,
#: waits behind them there (state lag p99 24 s in the benchmark). The rest wait here,
#: where a state patch does not.
LOG_WRITES_AT_ONCE: Final = 8
#: Log steps in flight (reading or writing) below which waiting ones are let in, as a
#: wave of up to as many (:mod:`ads_operator.usecases.log_gate`): more than the write
#: slots take in the second a wave needs to read (~60 a second at a thousand runs), so
#: they stay busy, and two full 50-run searches (``logreader.MAX_RUNS_PER_QUERY``).
LOG_STEPS_IN_FLIGHT: Final = 100


@dataclass
class Operator:
    """What every handler shares."""

    settings: Settings
    kube: KubePort
    factory: Ports
    limiter: LogEventLimiter
    #: The state reader the factory's ports batch through (its wake-ups are per run).
    reader: RunStateReader
    #: GetJob answers shared by the runs being created together (keyed by port and job).
    jobs: SharedReads[OciJob] = field(default_factory=lambda: SharedReads[OciJob](ttl=10.0))
    #: DataScienceJob bodies read for runs, shared for a moment (a change is seen at most
    #: this late; the job's own Ready condition gates creation anyway).
    job_bodies: SharedReads[Resource | None] = field(
        default_factory=lambda: SharedReads[Resource | None](ttl=2.0)
    )
    #: The digest of each Secret as last read for credentials (None: it was missing), so
    #: an authorization failure can wait for the Secret to change (see credentials.py).
    secrets_seen: dict[tuple[str, str], str | None] = field(default_factory=dict)
    #: Runs admitted under MAX_ACTIVE_RUNS_PER_NAMESPACE by this process (one replica).
    reservations: admission.Reservations = field(default_factory=admission.Reservations)
    #: One admission decision at a time: each sees the slot the one before took.
    admission_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: File Storage mounts written by address, as resolved for each job's generation.
    mounts: ResolvedMounts = field(default_factory=ResolvedMounts)
    #: The cluster's Service networks, which https code sources must not reach.
    service_networks: ServiceNetworks = field(default_factory=ServiceNetworks)
    #: The one budget for Events that are not log lines (kopf's own Events included).
    repeats: RepeatLimiter = field(default_factory=RepeatLimiter)
    #: The share of the OCI call budget not in use lately, by operation (its service's:
    #: :meth:`ads_operator.oci.factory.PortFactory.headroom`). The poll and log-read
    #: intervals spend it on latency. Without a budget
    #: (unit tests) none: the batched schedule.
    headroom: Callable[[str | None], float] = cadence.no_headroom
    #: Whether logs are read fresh now (:class:`ads_operator.oci.log_mode.LogMode`);
    #: without a budget (unit tests) never: settled, as before.
    log_fresh: Callable[[], bool] = lambda: False
    #: The settle time of a log read made now, in seconds
    #: (:class:`ads_operator.oci.settle_time.SettleTime`); None (unit tests): ``log_settle``.
    log_settle: Callable[[], float] | None = None
    #: When log steps may read and how many write at once (see
    #: :data:`LOG_STEPS_IN_FLIGHT` and :data:`LOG_WRITES_AT_ONCE`).
    log_lane: LogLane = field(
        default_factory=lambda: LogLane(LOG_STEPS_IN_FLIGHT, LOG_WRITES_AT_ONCE)
    )
    #: The wall clock (tests pass their own).
    now: Callable[[], datetime] = utcnow
    events: EventPoster = field(init=False)

    def __post_init__(self) -> None:
        self.events = EventPoster(self.kube, self.repeats)
