"""DataScienceJobRun handling behind the kopf handlers: the per-run watch loop (wired to
Kubernetes here, decided in :mod:`ads_operator.usecases.run_executor`) and deletion."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ads_operator import metrics
from ads_operator.kube.events import reference
from ads_operator.kube.port import KubeError, error_text
from ads_operator.models import (
    DataScienceJobRunSpec,
    RunPolicy,
)
from ads_operator.models.oci_errors import OciError
from ads_operator.models.run_wire import RunStatusWire, run_status
from ads_operator.oci import cadence
from ads_operator.oci.poller import LIVE_STATES
from ads_operator.oci.ticks import aligned_delay
from ads_operator.reconcile import outcomes
from ads_operator.reconcile.lifecycle import run_finished
from ads_operator.usecases import tenancy
from ads_operator.usecases.credentials import is_auth_wait, wait_for_fix
from ads_operator.usecases.failures import report_run, validation_text
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import RetryAfter, Stopping
from ads_operator.usecases.run_end import delete, expire
from ads_operator.usecases.run_executor import RunContext, run_once
from ads_operator.usecases.run_job import build_context, run_policy_of, secret_of_run

__all__ = ["delete", "watch"]

log = logging.getLogger(__name__)


async def watch(op: Operator, body: Mapping[str, Any], stopped: Stopping) -> None:
    """Create the OCI run once, then mirror its lifecycle and logs until there is no more.

    ``body`` is the run as it is now (kopf's live view): each pass reads it anew."""
    namespace, name, uid = (body["metadata"][k] for k in ("namespace", "name", "uid"))
    status = run_status(body.get("status"))
    metrics.record_run(uid, namespace, status)
    if run_finished(status):
        await expire(op, body, status, namespace, name, uid, stopped)
        return
    involved = reference(body)
    attempt = 0
    last_reason: str | None = None  # the failure last reported (its Event posted once)
    ctx: RunContext | None = None
    rules: RunPolicy | None = None
    rules_for: tuple[RunPolicy | None] | None = None
    try:
        while not stopped:
            started = time.time()
            try:
                spec = DataScienceJobRunSpec.model_validate(dict(body.get("spec") or {}))
            except ValidationError as exc:
                await report_run(
                    op,
                    body,
                    status,
                    outcomes.Terminal("InvalidSpec", validation_text(exc)),
                    body["metadata"],
                )
                return
            launched = (ctx.status if ctx else status).get("ocid")
            try:
                if not launched and await tenancy.refused_run(op, body, status, spec):
                    return  # the tenancy policy refuses it: Terminal, and no OCI call
                if ctx is None or not status.get("ocid"):
                    # Until the OCI run exists, rebuild: the job (and so the credentials and
                    # region the run inherits) may appear or change while the run waits.
                    since = ctx.memory.waiting_since if ctx is not None else None
                    ctx = await build_context(
                        op, body, spec, status, namespace, name, uid, involved
                    )
                    ctx.memory.waiting_since = since  # the wait for the job goes on
                ctx.spec = spec
                ctx.generation = body["metadata"].get("generation")
                if rules_for != (spec.run_policy,):  # the job's defaults: read once per daemon
                    rules, rules_for = await run_policy_of(op, spec, namespace), (spec.run_policy,)
                ctx.run_policy = rules
                delay = await run_once(ctx)
                log.debug(
                    "run %s/%s: %s %s, next pass in %s s",
                    namespace,
                    name,
                    ctx.status.get("lifecycleState"),
                    ctx.status.get("phase"),
                    delay,
                )
                attempt = 0
            except KubeError as exc:  # retried by the adapter already: the next pass tries again
                delay = _api_trouble(op, namespace, name, exc).delay
            except OciError as exc:
                disposition = outcomes.disposition(exc, attempt=attempt, settings=op.settings)
                attempt += 1
                last_reason = await report_run(
                    op, body, status, disposition, body["metadata"], last_reason
                )
                if isinstance(disposition, outcomes.Terminal):
                    return
                delay = disposition.delay
                if is_auth_wait(disposition):  # retried at once when its Secret is fixed

                    async def stopping() -> bool:
                        return bool(stopped)

                    secret = await secret_of_run(op, spec, namespace)
                    delay = await wait_for_fix(
                        op, namespace, secret, delay, pause=stopped.wait, give_up=stopping
                    )
            if delay is None:
                op.limiter.forget(uid)
                op.reservations.release(namespace, uid)
                known = (rules,) if rules_for is not None else None  # read at the start
                await expire(
                    op, body, ctx.status if ctx else status, namespace, name, uid, stopped, known
                )
                return
            if delay == op.settings.poll_interval:  # polls of all runs on common ticks: batchable
                state, running = _in_progress(ctx.status if ctx else status, op.now())
                interval = cadence.state_interval(delay, state, running, op.headroom(None))
                delay = aligned_delay(
                    interval,
                    time.time(),
                    jitter=op.settings.run_batch_window / 2,
                    # Spending headroom, a pass's own time must not skip a tick; on the
                    # batched schedule a long pass does (fewer calls, as before).
                    started=started if interval < delay else None,
                )
            await _pause(op, ctx.status if ctx else status, stopped, delay)
    finally:
        if ctx is not None:
            ctx.stop()  # a log step in flight ends with the daemon
        ocid = (ctx.status if ctx else status).get("ocid")
        if ocid:
            op.reader.forget(str(ocid))  # no wake, no page kept for it
    metrics.forget_run(uid)  # deleted (or the operator stops): the run no longer counts
    op.reservations.release(namespace, uid)


def _api_trouble(op: Operator, namespace: str, name: str, exc: KubeError) -> RetryAfter:
    """A pass the API server failed (after the adapter's retries): said in one line, and
    the whole pass is tried again (what it saved is idempotent, what it did not is redone)."""
    retry = RetryAfter(
        max(op.settings.poll_interval, exc.retry_after or 0.0),
        f"the Kubernetes API failed ({error_text(exc)})",
    )
    log.warning("run %s/%s: %s; next pass in %s s", namespace, name, retry.message, retry.delay)
    return retry


async def _pause(op: Operator, status: RunStatusWire, stopped: Stopping, delay: float) -> None:
    """Sleeps until the next pass; a live run is woken early when a state read for other
    runs shows it moved on (see :meth:`RunStateReader.follow`): a long run polls every
    6 s, but its list is read every 3 s while other runs start or end around it."""
    ocid, state = status.get("ocid"), status.get("lifecycleState")
    # Only a run in a live list, read in batches (its log ids known), is seen on pages.
    if not ocid or state not in LIVE_STATES or not status.get("logId"):
        await stopped.wait(delay)
        return
    woken = asyncio.Event()
    op.reader.follow(str(ocid), str(state), woken.set)
    waits = [asyncio.ensure_future(stopped.wait(delay)), asyncio.ensure_future(woken.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        op.reader.unfollow(str(ocid))


def _in_progress(status: RunStatusWire, now: datetime) -> tuple[str | None, float | None]:
    """The run's OCI state and, while IN_PROGRESS, for how many seconds it has been."""
    state = status.get("lifecycleState")
    started = status.get("timeStarted")
    if state != "IN_PROGRESS" or not started:
        return state, None
    try:
        since = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
    except ValueError:
        return state, None
    return state, (now - since).total_seconds()
