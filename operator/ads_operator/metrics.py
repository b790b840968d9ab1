"""The operator's Prometheus metrics, in one registry of its own.

Why a private registry: the default one also carries the process and platform
collectors of whatever imported prometheus_client first; a registry of our own keeps
``/metrics`` to what is documented in ``docs/guide/metrics.md`` and lets unit tests read
values without a global reset.

Recording functions never raise: a metric is worth less than the reconcile step that
records it. This module imports nothing from the operator, so every layer may call it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREFIX: Final = "ads_operator"
#: The normalised run phases (``models.Phase``), repeated here so that every phase has a
#: series from the start (a dashboard should see 0, not "no data").
PHASES: Final = ("Pending", "Running", "Succeeded", "Failed", "Canceled")
_TERMINAL: Final = frozenset({"Succeeded", "Failed", "Canceled"})
#: Data Science runs take minutes to hours; the default buckets stop at 10 s.
DURATION_BUCKETS: Final = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400)

REGISTRY: Final = CollectorRegistry(auto_describe=True)


class RunPhases(Collector):
    """How many runs the operator knows in each phase, per namespace.

    A gauge computed at scrape time from the last phase each run reported, so a run
    counts once however often it is patched, and a deleted run stops counting at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[str, str]] = {}

    def set(self, uid: str, namespace: str, phase: str) -> str | None:
        """Record ``phase`` for a run; returns the phase recorded before (None: first)."""
        with self._lock:
            before = self._runs.get(uid)
            self._runs[uid] = (namespace, phase)
        return before[1] if before else None

    def forget(self, uid: str) -> None:
        with self._lock:
            self._runs.pop(uid, None)

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            values = list(self._runs.values())
        out: dict[tuple[str, str], int] = {}
        for key in values:
            out[key] = out.get(key, 0) + 1
        return out

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            f"{PREFIX}_runs",
            "DataScienceJobRuns known to this operator, by namespace and phase.",
            labels=["namespace", "phase"],
        )
        counts = self.counts()
        namespaces = {ns for ns, _ in counts}
        for ns in sorted(namespaces):
            for phase in PHASES:
                family.add_metric([ns, phase], counts.get((ns, phase), 0))
        for (ns, phase), n in sorted(counts.items()):
            if phase not in PHASES:
                family.add_metric([ns, phase], n)
        yield family


RUNS: Final = RunPhases()
REGISTRY.register(RUNS)

RUN_DURATION: Final = Histogram(
    f"{PREFIX}_run_duration_seconds",
    "Run time (OCI timeStarted to timeFinished) of runs seen finishing, by final phase.",
    ["phase"],
    buckets=DURATION_BUCKETS,
    registry=REGISTRY,
)
_TERMINAL_STATES: Final = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "NEEDS_ATTENTION"})
STATUS_LAG: Final = Histogram(
    f"{PREFIX}_status_lag_seconds",
    "Seconds from a run starting or finishing in OCI (its own timestamps) to the status"
    " patch that shows it: how far behind OCI `.status` and `kubectl wait` are.",
    ["change"],
    buckets=(1, 2, 5, 10, 15, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
OCI_REQUESTS: Final = Counter(
    f"{PREFIX}_oci_requests",
    "OCI API calls by operation and result code (HTTP status, or 'network').",
    ["operation", "code"],
    registry=REGISTRY,
)
OCI_ERRORS: Final = Counter(
    f"{PREFIX}_oci_errors",
    "Failed OCI API calls by operation, HTTP status and OCI service error code.",
    ["operation", "status", "code"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS: Final = Counter(
    f"{PREFIX}_oci_rate_limit_waits",
    "OCI calls that waited for the operator's token bucket (OCI_REQUESTS_PER_SECOND).",
    registry=REGISTRY,
)
RATE_LIMIT_WAIT_SECONDS: Final = Counter(
    f"{PREFIX}_oci_rate_limit_wait_seconds",
    "Seconds OCI calls spent waiting for the operator's token bucket.",
    registry=REGISTRY,
)
LOG_LINES_MIRRORED: Final = Counter(
    f"{PREFIX}_log_lines_mirrored",
    "Run log lines posted as Kubernetes Events.",
    registry=REGISTRY,
)
LOG_LINES_DROPPED: Final = Counter(
    f"{PREFIX}_log_lines_dropped",
    "Run log lines that got no Event because a log-Event rate limit was exhausted.",
    registry=REGISTRY,
)
RECONCILE_ERRORS: Final = Counter(
    f"{PREFIX}_reconcile_errors",
    "Reconcile passes that ended in an error condition, by kind and reason.",
    ["kind", "reason"],
    registry=REGISTRY,
)


def _seconds(start: Any, end: Any) -> float | None:
    def parse(value: Any) -> datetime | None:
        if isinstance(value, datetime):
            return value
        if isinstance(value, str) and value:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return None

    try:
        a, b = parse(start), parse(end)
    except ValueError:
        return None
    if a is None or b is None:
        return None
    return max(0.0, (b - a).total_seconds())


def record_run(uid: str, namespace: str, status: Mapping[str, Any]) -> None:
    """Note a run's (patched) status: its phase, and its duration once seen finishing.

    The duration is observed only on a change from a non-terminal phase this process saw
    to a terminal one, so a restart or a repeated patch never counts a run twice.
    """
    phase = status.get("phase")
    if not phase:
        return
    before = RUNS.set(uid, namespace, str(phase))
    if before is None or before in _TERMINAL or phase not in _TERMINAL:
        return
    seconds = _seconds(status.get("timeStarted"), status.get("timeFinished"))
    if seconds is not None:
        RUN_DURATION.labels(phase=str(phase)).observe(seconds)


def state_written(patch: Mapping[str, Any], status: Mapping[str, Any]) -> None:
    """A status patch was written: if it shows the run started or finished, observe how
    long after OCI's own timestamp of that change."""
    state = patch.get("lifecycleState")
    if state == "IN_PROGRESS":
        change, since = "started", status.get("timeStarted")
    elif state in _TERMINAL_STATES:
        change, since = "finished", status.get("timeFinished")
    else:
        return
    lag = _seconds(since, datetime.now(UTC))
    if lag is not None:
        STATUS_LAG.labels(change=change).observe(lag)


def forget_run(uid: str) -> None:
    RUNS.forget(uid)


def oci_call(operation: str, *, status: int | None, code: str | None, ok: bool) -> None:
    """One OCI call: counted by result; a failure also by status and service code."""
    result = str(status) if status else ("200" if ok else "network")
    OCI_REQUESTS.labels(operation=operation, code=result).inc()
    if not ok:
        OCI_ERRORS.labels(operation=operation, status=result, code=code or "").inc()


LOG_SETTLE: Final = Gauge(
    f"{PREFIX}_log_settle_seconds",
    "How long before now settled log reads end: the longest ingest delay records showed"
    " lately, plus a margin, between 2 s and LOG_SETTLE.",
    registry=REGISTRY,
)


def log_settle_from(source: Callable[[], float]) -> None:
    """Read the settle time from ``source`` at each scrape."""
    LOG_SETTLE.set_function(source)


def rate_limit_wait(seconds: float) -> None:
    RATE_LIMIT_WAITS.inc()
    RATE_LIMIT_WAIT_SECONDS.inc(max(0.0, seconds))


def log_lines(*, mirrored: int, dropped: int) -> None:
    if mirrored:
        LOG_LINES_MIRRORED.inc(mirrored)
    if dropped:
        LOG_LINES_DROPPED.inc(dropped)


def reconcile_error(kind: str, reason: str) -> None:
    RECONCILE_ERRORS.labels(kind=kind, reason=reason).inc()


def lines_in(messages: Iterable[str]) -> int:
    """How many log lines a batch of newline-joined Event messages carries."""
    return sum(m.count("\n") + 1 for m in messages)


def serve(port: int, address: str) -> None:
    """Serve ``/metrics`` from a daemon thread (the scrape never waits for kopf's loop)."""
    start_http_server(port, addr=address, registry=REGISTRY)
    log.info("serving Prometheus metrics on %s:%d/metrics", address, port)
