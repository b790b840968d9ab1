"""Operator settings, read once from the environment (``ADS_OPERATOR_*``).

Every knob that changes behaviour a user can observe lives here with its reason, so the
chart, ``make demo`` and the tests set the same names. Durations are seconds.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Final
from urllib.parse import urlparse

from ads_operator.models.run import LOG_CURSOR_IDS, LOG_TAIL_LINES

PREFIX: Final = "ADS_OPERATOR_"
#: Where Kubernetes projects a pod's ServiceAccount token (a path, not a secret).
SERVICE_ACCOUNT_TOKEN: Final = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105


class AuthMode(StrEnum):
    """How the operator authenticates to OCI when a resource names no ``authSecretRef``."""

    API_KEY = "api_key"
    INSTANCE_PRINCIPAL = "instance_principal"
    RESOURCE_PRINCIPAL = "resource_principal"
    OKE_WORKLOAD_IDENTITY = "oke_workload_identity"


class SettingsError(ValueError):
    """A setting has a value the operator cannot work with; the message names it."""


@dataclass(frozen=True)
class Settings:
    """All operator settings. Field ``foo_bar`` is read from ``ADS_OPERATOR_FOO_BAR``."""

    #: Default credentials: an OCI config file (api_key) or a principal type.
    auth: AuthMode = AuthMode.API_KEY
    #: The OCI config file and profile used when ``auth`` is ``api_key``.
    oci_config_file: str = "~/.oci/config"
    oci_profile: str = "DEFAULT"
    #: The projected ServiceAccount token exchanged for OCI session tokens when ``auth``
    #: is ``oke_workload_identity`` (re-read at every exchange: the kubelet rotates it).
    #: The CA and proxymux host come from the SDK's own variables
    #: (``OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH``, ``KUBERNETES_SERVICE_HOST``).
    service_account_token_file: str = SERVICE_ACCOUNT_TOKEN
    #: Region when neither the resource nor the credentials name one.
    region: str = ""
    #: Send every OCI call to this endpoint instead of the regional ones (the emulator).
    oci_endpoint: str = ""
    #: An endpoint override must be loopback unless this is set: a typo must not send
    #: signed requests to an arbitrary host.
    allow_remote_endpoint: bool = False
    #: Written into the provenance tags of every OCI job and run; tells clusters apart
    #: when several share one compartment.
    cluster_id: str = "default"
    #: How often a run's state is read while it is not terminal (ADS's ``watch`` uses 3 s).
    poll_interval: float = 3.0
    #: Batch state polls into one ListJobRuns per compartment when at least this many runs
    #: are polled within ``run_batch_window`` seconds (1 turns batching off).
    run_batch_min: int = 5
    run_batch_window: float = 0.2
    #: How often a job's OCI state, retired jobs and run summary are refreshed.
    job_resync_interval: float = 30.0
    #: Keep reading logs this long after a run finished; OCI Logging delivers late
    #: (ADS waits 90 s).
    log_grace: float = 90.0
    #: A log record is read once it is this old: OCI Logging makes records searchable
    #: some seconds after their time. Each search ends this far before now and the next
    #: starts where it ended, so every record is read once (a record later than this is
    #: missed unless ``log_overlap`` reaches it). Lines appear this much later.
    log_settle: float = 10.0
    #: A live run's log is read at the pass nearest to this long after its last read (a
    #: terminal run's at every pass until its log is complete). Reading at every pass
    #: cost, at a thousand runs, ~250 status patches a second (the cursor) and most of
    #: the Logging budget, for lines that are ``log_settle`` late anyway. 0: every pass.
    log_read_interval: float = 10.0
    #: Extra re-read depth for records later than ``log_settle`` (ADS re-reads 180 s).
    #: Each second costs reads on every poll: records read per poll = new lines + overlap
    #: x lines per second, and the ids re-read are kept in the status for de-duplication.
    log_overlap: float = 0.0
    #: At most this many record ids are remembered in the status cursor for de-duplication
    #: (the CRD allows 512).
    log_cursor_max_ids: int = 512
    #: Lines kept in ``status.logTail`` (the CRD allows 50).
    log_tail_lines: int = 50
    #: Log-line Events per run per minute, and for the whole operator per minute.
    log_events_per_minute_per_run: int = 30
    log_events_per_minute: int = 300
    #: Largest Event message; Kubernetes tooling truncates beyond 1 KiB.
    log_event_max_bytes: int = 1024
    #: OCI calls per second per tenancy (a token bucket shared by all its calls), below
    #: what OCI allows the tenancy.
    oci_requests_per_second: float = 10.0
    #: Threads for blocking calls (OCI SDK, Kubernetes client); bounds concurrent OCI calls.
    worker_threads: int = 32
    #: kopf workers handling object events at once (idle ones leave after 0.5 s); bounds
    #: the memory of a first start over many resources.
    object_workers: int = 200
    #: Connect and read timeouts of OCI calls.
    oci_connect_timeout: float = 10.0
    oci_read_timeout: float = 60.0
    #: A run waits at most this long for its job to be Ready (the job missing, or not yet
    #: ACTIVE), then fails with reason JobNotFound or JobNotReady; a job that can never
    #: run (Terminal) fails its runs at once. Long enough for a job's artifact upload.
    job_wait_timeout: float = 600.0
    #: Retry delay after 401 / NotAuthorizedOrNotFound: a person must fix a policy first.
    auth_retry_delay: float = 300.0
    #: First and largest backoff for throttling, conflicts and 5xx without retry-after.
    backoff_initial: float = 5.0
    backoff_max: float = 300.0
    #: kopf's finalizer on our resources.
    finalizer: str = "ads.oci.dev/finalizer"
    #: Serve Prometheus metrics on this port at ``/metrics`` (0: off). The chart sets it
    #: from ``metrics.port`` when ``metrics.enabled``.
    metrics_port: int = 0
    #: Address the metrics endpoint binds: loopback unless told otherwise, so a process
    #: on a shared network (a laptop, a host-network pod) exposes nothing by default. The
    #: chart sets 0.0.0.0 on the pod network, where the metrics Service must reach it.
    metrics_address: str = "127.0.0.1"
    #: Testing only: read "now" for job schedules from this file (an ISO time) instead
    #: of the wall clock, so tests can move time without waiting for it.
    schedule_clock_file: str = ""
    #: At most this many runs per namespace have an active OCI run (0: no cap); the rest
    #: wait in Pending (reason WaitingForCapacity) and start in creation order.
    max_active_runs_per_namespace: int = 0

    def __post_init__(self) -> None:
        if self.oci_endpoint and not self.allow_remote_endpoint:
            host = urlparse(self.oci_endpoint).hostname or ""
            if not _is_loopback(host):
                raise SettingsError(
                    f"{PREFIX}OCI_ENDPOINT={self.oci_endpoint!r} is not a loopback address;"
                    f" set {PREFIX}ALLOW_REMOTE_ENDPOINT=true if that is intended"
                )
        for name, bounds in BOUNDS.items():
            value = getattr(self, name)
            if not bounds.admits(value):
                raise SettingsError(
                    f"{PREFIX}{name.upper()}={value!r} is out of range: it must be"
                    f" {bounds.describe()}"
                )


#: Numbers below this are finite and fit every duration type the operator uses
#: (``timedelta``, ``asyncio.sleep``); every number setting stays below it.
NUMBER_LIMIT: Final = 10**9


@dataclass(frozen=True)
class Bounds:
    """The values a setting accepts: numbers within limits, or strings of a length.

    One source of truth: the operator checks these at startup, and ``make crds`` writes
    the same limits into the Helm chart's ``values.schema.json``
    (:mod:`ads_operator.commands.chartschema`), so ``helm install`` refuses what the operator
    would refuse with a crash loop.
    """

    at_least: float | None = None
    #: Exclusive lower limit.
    above: float | None = None
    at_most: float | None = None
    #: Exclusive upper limit.
    below: float | None = None
    #: For strings: the length limits.
    min_length: int | None = None
    max_length: int | None = None

    def admits(self, value: object) -> bool:
        if isinstance(value, str):
            low, high = self.min_length or 0, self.max_length
            return len(value) >= low and (high is None or len(value) <= high)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if value != value:  # nan compares false with everything
            return False
        return (
            (self.at_least is None or value >= self.at_least)
            and (self.above is None or value > self.above)
            and (self.at_most is None or value <= self.at_most)
            and (self.below is None or value < self.below)
        )

    def describe(self) -> str:
        """The limits in words, for error messages and the chart schema."""
        if self.min_length is not None or self.max_length is not None:
            return f"{self.min_length or 0} to {self.max_length} characters long"
        parts = []
        if self.at_least is not None:
            parts.append(f"at least {_number(self.at_least)}")
        if self.above is not None:
            parts.append(f"above {_number(self.above)}")
        if self.at_most is not None:
            parts.append(f"at most {_number(self.at_most)}")
        if self.below is not None:
            parts.append(f"below {_number(self.below)}")
        return " and ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


#: A number that is 0 or more (a duration, a count that may be 0).
_NOT_NEGATIVE: Final = Bounds(at_least=0, below=NUMBER_LIMIT)
#: A number above 0 (an interval, a rate, a timeout).
_POSITIVE: Final = Bounds(above=0, below=NUMBER_LIMIT)
#: A count of at least one.
_ONE_OR_MORE: Final = Bounds(at_least=1, below=NUMBER_LIMIT)

#: The limits of every number setting and of the strings that have any (a unit test
#: checks that each number setting is listed).
BOUNDS: Final[Mapping[str, Bounds]] = {
    "cluster_id": Bounds(min_length=1, max_length=255),
    "poll_interval": _POSITIVE,
    "run_batch_min": _ONE_OR_MORE,
    "run_batch_window": _NOT_NEGATIVE,
    "job_resync_interval": _POSITIVE,
    "job_wait_timeout": _POSITIVE,
    "log_grace": _NOT_NEGATIVE,
    "log_settle": _NOT_NEGATIVE,
    "log_read_interval": _NOT_NEGATIVE,
    "log_overlap": _NOT_NEGATIVE,
    "log_cursor_max_ids": Bounds(at_least=1, at_most=LOG_CURSOR_IDS),
    "log_tail_lines": Bounds(at_least=0, at_most=LOG_TAIL_LINES),
    "log_events_per_minute_per_run": _NOT_NEGATIVE,
    "log_events_per_minute": _NOT_NEGATIVE,
    "log_event_max_bytes": Bounds(at_least=1, at_most=1024),
    "oci_requests_per_second": _POSITIVE,
    "worker_threads": _ONE_OR_MORE,
    "object_workers": _ONE_OR_MORE,
    "oci_connect_timeout": _POSITIVE,
    "oci_read_timeout": _POSITIVE,
    "auth_retry_delay": _NOT_NEGATIVE,
    "backoff_initial": _POSITIVE,
    "backoff_max": _POSITIVE,
    "metrics_port": Bounds(at_least=0, at_most=65535),
    "metrics_address": Bounds(min_length=1, max_length=255),
    "max_active_runs_per_namespace": _NOT_NEGATIVE,
}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _convert(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r} is not a boolean")
    try:
        if isinstance(default, AuthMode):
            return AuthMode(raw.strip())
        if isinstance(default, int):
            return _whole_number(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r}: {exc}") from None
    return raw


def _whole_number(raw: str) -> int:
    """An integer, also in the exponent form Helm renders a values file's numbers in
    (``1000000`` in a values file reaches the environment as ``1e+06``)."""
    try:
        return int(raw)
    except ValueError:
        number = float(raw)
        if not number.is_integer():
            raise ValueError(f"{raw!r} is not a whole number") from None
        return int(number)


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``ADS_OPERATOR_*`` variables; unset ones keep their defaults."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, object] = {}
    for field in fields(Settings):
        raw = env.get(PREFIX + field.name.upper())
        if raw is not None:
            values[field.name] = _convert(field.name, raw, getattr(defaults, field.name))
    return Settings(**values)  # type: ignore[arg-type]


def describe() -> list[tuple[str, str]]:
    """(variable, default) pairs, for ``docs/operator.md`` and ``--help``."""
    defaults = Settings()
    return [(PREFIX + f.name.upper(), str(getattr(defaults, f.name))) for f in fields(Settings)]
