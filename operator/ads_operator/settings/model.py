"""``Settings``: every knob of the operator, with its reason and its default.

Field ``foo_bar`` is read from ``ADS_OPERATOR_FOO_BAR`` (:mod:`.environment`); the limits
each value must keep are in :mod:`.limits`. Durations are seconds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlparse

from ads_operator.settings.limits import BOUNDS

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
    #: How often a run's state is read while it is not terminal (ADS's ``watch`` uses 3 s)
    #: when the OCI budget is busy; down to a quarter of it with headroom (oci/cadence.py).
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
    #: The longest settle: a log record is read once it is this old at most. OCI Logging
    #: makes records searchable some seconds after their time. Each search ends the
    #: settle before now and the next starts where it ended, so every record is read
    #: once (a record later than that is found by the sweeps, ``log_late_bound``). The
    #: operator settles for less when the records show they are ingested sooner
    #: (``ingestedtime``; oci/settle_time.py); lines appear that much later.
    log_settle: float = 10.0
    #: A live run's log is read at the pass nearest to this long after its last read (a
    #: terminal run's too, and at its first pass and its first pass past the log grace:
    #: cadence.log_read_due). Reading at every pass
    #: cost, at a thousand runs, ~250 status patches a second (the cursor) and most of
    #: the Logging budget, for lines that are ``log_settle`` late anyway. 0: every pass.
    #: With headroom in the OCI budget, down to 2 s (oci/cadence.py).
    log_read_interval: float = 10.0
    #: Extra re-read depth for records later than ``log_settle`` (ADS re-reads 180 s).
    #: Each second costs reads on every poll: records read per poll = new lines + overlap
    #: x lines per second, and the ids re-read are kept in the status for de-duplication.
    log_overlap: float = 0.0
    #: Records that become searchable up to this long after their own time are mirrored
    #: (once): sweeps read each stretch of a run's log again until it is this old (every
    #: third of it; see docs/scale.md). 0: no sweeps, a record later than ``log_settle``
    #: is missed. ADS re-reads 180 s.
    log_late_bound: float = 180.0
    #: At most this many record ids are remembered in the status cursor for de-duplication
    #: (the CRD allows 512).
    log_cursor_max_ids: int = 512
    #: Lines kept in ``status.logTail`` (the CRD allows 50). Every log step rewrites the
    #: tail, and the API server handles the whole object on each write: at a thousand
    #: runs 50 lines cost ~4 s of line lag and 27 MB of the operator's memory more
    #: than 20 (docs/scale.md).
    log_tail_lines: int = 20
    #: While log steps queue for the API server (a thousand runs), a run's log fields in
    #: ``.status`` (cursor, tail, progress) are written at most this often, in seconds;
    #: its log-line Events are not delayed (each step's first Event carries what the
    #: status would have, see reconcile/log_batches.py). Otherwise after every step. A
    #: run's status patch is the API server's costliest write (docs/scale.md). 0: after
    #: every step.
    log_status_interval: float = 30.0
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
    #: Networks (comma-separated CIDRs) an ``https://`` code source may be fetched from
    #: although they are not public. Loopback, private, link-local, carrier-grade NAT,
    #: multicast, reserved and cluster-internal addresses are refused otherwise, so that
    #: whoever may create a job cannot make the operator a proxy into the cluster, the
    #: cloud's metadata service or the company network (docs/security.md). The tests
    #: serve code from loopback and set ``127.0.0.0/8``; keep it as narrow as the one
    #: server it is for.
    source_allowed_networks: str = ""
    #: Multi-tenant mode: every job and run must be allowed by the DataScienceTenancyPolicy
    #: (docs/security.md), judged again here before any OCI call; a missing policy denies.
    #: The chart sets it from ``tenancy.mode``. Off: single-tenant, no policy read.
    multi_tenant: bool = False

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

    @property
    def source_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``source_allowed_networks`` parsed (host bits allowed: 10.1.2.3/8 is 10/8)."""
        entries = (e.strip() for e in self.source_allowed_networks.split(","))
        return tuple(ipaddress.ip_network(e, strict=False) for e in entries if e)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
