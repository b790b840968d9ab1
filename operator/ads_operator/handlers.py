"""Every kopf decorator of the operator, and the only module that imports kopf.

Each handler takes the few arguments it uses from kopf, by name and type, and calls one
use case (:mod:`ads_operator.usecases.job`, :mod:`~ads_operator.usecases.run`,
:mod:`~ads_operator.usecases.schedule`). Use cases return an outcome; :func:`raise_for`
is the one place it becomes kopf's retry semantics. Handlers return None: kopf would
store return values under ``status.<handler>``. Settings are read from the environment
when this module is imported (:func:`ads_operator.settings.from_env`), because kopf needs
timer intervals then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from ads_operator import metrics
from ads_operator.kube import config as kube_config
from ads_operator.models import GROUP, JOB_PLURAL, RUN_PLURAL, VERSION
from ads_operator.oci.factory import PortFactory
from ads_operator.oci.log_counts import LogCountBatcher
from ads_operator.oci.logreader import LogSearchBatcher
from ads_operator.oci.poller import RunStateReader
from ads_operator.reconcile.events import COMPONENT, LogEventLimiter, RepeatLimiter
from ads_operator.settings import Settings, from_env
from ads_operator.usecases import job as job_handling
from ads_operator.usecases import job_delete, job_resync
from ads_operator.usecases import run as run_handling
from ads_operator.usecases import schedule as scheduling
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import Failed, Outcome, RetryAfter

SETTINGS: Settings = from_env()


def raise_for(outcome: Outcome | None) -> None:
    """The one mapping of a use case's outcome to kopf: a retry after the delay, a
    permanent failure (no retry until the resource changes), or nothing to do."""
    if isinstance(outcome, RetryAfter):
        raise kopf.TemporaryError(outcome.message, delay=outcome.delay)
    if isinstance(outcome, Failed):
        raise kopf.PermanentError(outcome.message)


def operator_of(memo: kopf.Memo) -> Operator:
    """The operator object :func:`configure` put into kopf's memo."""
    op = getattr(memo, "ads", None)
    if not isinstance(op, Operator):
        raise kopf.TemporaryError("operator state not initialised yet", delay=1)
    return op


class KopfEventFilter(logging.Filter):
    """Applies the operator's :class:`RepeatLimiter` to the Events kopf posts from its
    object log (reason ``Logging``): e.g. "Handler ... failed temporarily", once per
    retry otherwise."""

    def __init__(self, limiter: RepeatLimiter) -> None:
        super().__init__()
        self.limiter = limiter

    def filter(self, record: logging.LogRecord) -> bool:
        ref = getattr(record, "k8s_ref", None) or {}
        uid = str(ref.get("uid") or ref.get("name") or "")
        return self.limiter.allow(uid, f"kopf:{record.levelname}")


def limit_kopf_events(limiter: RepeatLimiter) -> None:
    """Put :class:`KopfEventFilter` on kopf's Event poster (the handler kopf adds to its
    ``kopf.objects`` logger, found by its class name ``K8sPoster``); its stderr log stays
    complete."""
    for handler in logging.getLogger("kopf.objects").handlers:
        if type(handler).__name__ == "K8sPoster" and not any(
            isinstance(f, KopfEventFilter) for f in handler.filters
        ):
            handler.addFilter(KopfEventFilter(limiter))


def run_operator(
    *,
    standalone: bool,
    peering_name: str | None,
    priority: int,
    clusterwide: bool,
    namespaces: list[str],
    liveness_endpoint: str | None,
) -> None:
    """Run kopf with the handlers of this module until the process is stopped."""
    kopf.run(
        standalone=standalone,
        peering_name=peering_name,
        priority=priority,
        clusterwide=clusterwide,
        namespaces=namespaces,
        liveness_endpoint=liveness_endpoint,
    )


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: object) -> None:
    """kopf settings for this operator, and the operator object every handler uses."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    settings.persistence.finalizer = SETTINGS.finalizer
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = COMPONENT
    settings.watching.server_timeout = 600
    settings.watching.client_timeout = 660
    settings.networking.request_timeout = 120
    # kopf starts one worker per object with pending events, without a limit: at the
    # first start over 10,000 runs that is 10,000 finalizer patches in flight at once
    # (gigabytes of buffers the process keeps). A bounded pool whose idle workers leave
    # quickly serves the same events with a flat memory profile.
    settings.queueing.worker_limit = SETTINGS.object_workers
    settings.queueing.idle_timeout = 0.5
    # The SDK and the kubernetes client block; their calls run in the loop's default
    # executor, whose stock size (CPUs + 4) would queue OCI calls behind each other.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=SETTINGS.worker_threads, thread_name_prefix="ads-io")
    )
    client = await asyncio.to_thread(kube_config.configure, SETTINGS.worker_threads)
    if SETTINGS.metrics_port:
        metrics.serve(SETTINGS.metrics_port, SETTINGS.metrics_address)
    reader = RunStateReader(min_batch=SETTINGS.run_batch_min, window=SETTINGS.run_batch_window)
    batch_window = SETTINGS.run_batch_window if SETTINGS.run_batch_min > 1 else 0
    logs = LogSearchBatcher(window=batch_window, longest_settle=SETTINGS.log_settle)
    counts = LogCountBatcher(window=batch_window)
    factory = PortFactory(SETTINGS, reader=reader, logs=logs, counts=counts)
    logs.mode.headroom = lambda: factory.headroom("SearchLogs")
    metrics.log_settle_from(logs.settle.seconds)
    op = Operator(
        SETTINGS,
        client,
        factory,
        LogEventLimiter(SETTINGS.log_events_per_minute_per_run, SETTINGS.log_events_per_minute),
        reader,
        headroom=factory.headroom,
        log_fresh=logs.mode.fresh,
        log_settle=logs.settle.seconds,
    )
    limit_kopf_events(op.repeats)  # kopf's own Events (handler retries): the same budget
    memo.ads = op


@kopf.on.resume(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
@kopf.on.create(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
@kopf.on.update(GROUP, VERSION, JOB_PLURAL, field="spec", backoff=10.0)
async def reconcile_job(body: kopf.Body, retry: int, memo: kopf.Memo, **_: object) -> None:
    """Create, adopt, update or replace the OCI job until it is ACTIVE and matches."""
    raise_for(await job_handling.reconcile(operator_of(memo), body, retry=retry))


@kopf.timer(
    GROUP,
    VERSION,
    JOB_PLURAL,
    interval=SETTINGS.job_resync_interval,
    initial_delay=SETTINGS.job_resync_interval / 2,
    idle=SETTINGS.job_resync_interval / 2,
)
async def resync_job(body: kopf.Body, memo: kopf.Memo, **_: object) -> None:
    """Refresh OCI state, delete retired jobs once nothing uses them, count runs."""
    await job_resync.resync(operator_of(memo), body)


def _has_schedule(spec: Mapping[str, Any], **_: object) -> bool:
    """kopf's ``when`` filter: a daemon runs only for jobs with a schedule."""
    return scheduling.has_schedule(spec)


@kopf.daemon(
    GROUP,
    VERSION,
    JOB_PLURAL,
    when=_has_schedule,
    cancellation_timeout=10.0,
    backoff=5.0,
)
async def schedule_job(
    body: kopf.Body, stopped: kopf.DaemonStopped, memo: kopf.Memo, **_: object
) -> None:
    """spec.schedule: create DataScienceJobRuns at the cron times (as CronJob does)."""
    await scheduling.watch(operator_of(memo), body, stopped)


@kopf.on.delete(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
async def delete_job(body: kopf.Body, retry: int, memo: kopf.Memo, **_: object) -> None:
    """Per deletionPolicy: cancel active runs, delete the OCI jobs with their runs."""
    raise_for(await job_delete.delete(operator_of(memo), body, retry=retry))


@kopf.daemon(GROUP, VERSION, RUN_PLURAL, cancellation_timeout=10.0, backoff=5.0)
async def watch_run(
    body: kopf.Body, stopped: kopf.DaemonStopped, memo: kopf.Memo, **_: object
) -> None:
    """Create the OCI run once, then mirror its lifecycle and logs until there is no more."""
    await run_handling.watch(operator_of(memo), body, stopped)


@kopf.on.delete(GROUP, VERSION, RUN_PLURAL, backoff=10.0)
async def delete_run(body: kopf.Body, retry: int, memo: kopf.Memo, **_: object) -> None:
    """Cancel the OCI run if it is active, then delete it (unless the policy orphans it)."""
    raise_for(await run_handling.delete(operator_of(memo), body, retry=retry))
