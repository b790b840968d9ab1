"""Every kopf decorator of the operator; each handler is a thin adapter.

The work happens in :mod:`ads_operator.usecases.job` and :mod:`ads_operator.usecases.run`
(which parse the resource, get an OCI port for its credentials and region, and call
:mod:`ads_operator.reconcile`), with shared plumbing in :mod:`ads_operator.usecases.shared`.
Handlers return None: kopf would store return values under ``status.<handler>``.
Settings are read from the environment when this module is imported
(:func:`ads_operator.settings.from_env`), because kopf needs timer intervals then.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from ads_operator import metrics
from ads_operator.kube import client as kube
from ads_operator.kube import events
from ads_operator.models import GROUP, JOB_PLURAL, RUN_PLURAL, VERSION
from ads_operator.oci.factory import PortFactory
from ads_operator.oci.logreader import LogSearchBatcher
from ads_operator.oci.poller import RunStateReader
from ads_operator.settings import Settings, from_env
from ads_operator.usecases import job as job_handling
from ads_operator.usecases import run as run_handling
from ads_operator.usecases import schedule as scheduling
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.shared import operator_of

SETTINGS: Settings = from_env()


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    """kopf settings for this operator, and the shared state every handler uses."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    settings.persistence.finalizer = SETTINGS.finalizer
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = events.COMPONENT
    events.limit_kopf_events()  # kopf's own Events (handler retries) get the same budget
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
    client = await asyncio.to_thread(kube.configure, SETTINGS.worker_threads)
    if SETTINGS.metrics_port:
        metrics.serve(SETTINGS.metrics_port, SETTINGS.metrics_address)
    reader = RunStateReader(min_batch=SETTINGS.run_batch_min, window=SETTINGS.run_batch_window)
    logs = LogSearchBatcher(window=SETTINGS.run_batch_window if SETTINGS.run_batch_min > 1 else 0)
    memo.ads = Operator(
        SETTINGS,
        client,
        PortFactory(SETTINGS, reader=reader, logs=logs),
        events.LogEventLimiter(
            SETTINGS.log_events_per_minute_per_run, SETTINGS.log_events_per_minute
        ),
        reader,
    )


@kopf.on.resume(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
@kopf.on.create(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
@kopf.on.update(GROUP, VERSION, JOB_PLURAL, field="spec", backoff=10.0)
async def reconcile_job(memo: Any, **kwargs: Any) -> None:
    """Create, adopt, update or replace the OCI job until it is ACTIVE and matches."""
    await job_handling.reconcile(op=operator_of(memo), **kwargs)


@kopf.timer(
    GROUP,
    VERSION,
    JOB_PLURAL,
    interval=SETTINGS.job_resync_interval,
    initial_delay=SETTINGS.job_resync_interval / 2,
    idle=SETTINGS.job_resync_interval / 2,
)
async def resync_job(memo: Any, **kwargs: Any) -> None:
    """Refresh OCI state, delete retired jobs once nothing uses them, count runs."""
    await job_handling.resync(op=operator_of(memo), **kwargs)


@kopf.daemon(
    GROUP,
    VERSION,
    JOB_PLURAL,
    when=scheduling.has_schedule,
    cancellation_timeout=10.0,
    backoff=5.0,
)
async def schedule_job(memo: Any, **kwargs: Any) -> None:
    """spec.schedule: create DataScienceJobRuns at the cron times (as CronJob does)."""
    await scheduling.watch(op=operator_of(memo), **kwargs)


@kopf.on.delete(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
async def delete_job(memo: Any, **kwargs: Any) -> None:
    """Per deletionPolicy: cancel active runs, delete the OCI jobs with their runs."""
    await job_handling.delete(op=operator_of(memo), **kwargs)


@kopf.daemon(GROUP, VERSION, RUN_PLURAL, cancellation_timeout=10.0, backoff=5.0)
async def watch_run(memo: Any, **kwargs: Any) -> None:
    """Create the OCI run once, then mirror its lifecycle and logs until there is no more."""
    await run_handling.watch(op=operator_of(memo), **kwargs)


@kopf.on.delete(GROUP, VERSION, RUN_PLURAL, backoff=10.0)
async def delete_run(memo: Any, **kwargs: Any) -> None:
    """Cancel the OCI run if it is active, then delete it (unless the policy orphans it)."""
    await run_handling.delete(op=operator_of(memo), **kwargs)
