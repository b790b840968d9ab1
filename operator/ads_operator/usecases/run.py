"""DataScienceJobRun handling behind the kopf handlers: the per-run watch loop (wired to
Kubernetes here, decided in :mod:`ads_operator.usecases.run_executor`) and deletion."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ads_operator import metrics
from ads_operator.kube import client as kube
from ads_operator.kube import events
from ads_operator.kube.port import ObjectReference
from ads_operator.models import (
    JOB_PLURAL,
    RUN_PLURAL,
    DataScienceJobRunSpec,
    DataScienceJobSpec,
    DeletionPolicy,
    RunPolicy,
)
from ads_operator.models.oci_errors import NotFoundError, OciError
from ads_operator.models.oci_records import LogRecord, OciJob
from ads_operator.oci.poller import LIVE_STATES, aligned_delay, state_interval
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import admission, outcomes, policy
from ads_operator.reconcile.conditions import get_condition, is_true
from ads_operator.reconcile.identity import foreign_owner
from ads_operator.reconcile.lifecycle import RUN_ACTIVE, RUN_CANCELING, RUN_DELETED
from ads_operator.reconcile.log_batches import PendingEvent
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import Done, Outcome, RetryAfter, Stopping
from ads_operator.usecases.run_executor import URGENT_KEYS, JobInfo, RunContext, Waiting, run_once
from ads_operator.usecases.shared import (
    is_auth_wait,
    port_for,
    raw_secret,
    report_run,
    run_finished,
    utcnow,
    validation_text,
    wait_for_fix,
)

log = logging.getLogger(__name__)


async def watch(op: Operator, body: Mapping[str, Any], stopped: Stopping) -> None:
    """Create the OCI run once, then mirror its lifecycle and logs until there is no more.

    ``body`` is the run as it is now (kopf's live view): each pass reads it anew."""
    namespace, name, uid = (body["metadata"][k] for k in ("namespace", "name", "uid"))
    status = dict(body.get("status") or {})
    metrics.record_run(uid, namespace, status)
    if run_finished(status):
        await expire(op, body, status, namespace, name, uid, stopped)
        return
    involved = events.reference(body)
    attempt = 0
    ctx: RunContext | None = None
    rules: RunPolicy | None = None
    rules_for: tuple[RunPolicy | None] | None = None
    try:
        while not stopped:
            try:
                spec = DataScienceJobRunSpec.model_validate(dict(body.get("spec") or {}))
            except ValidationError as exc:
                await report_run(
                    body,
                    status,
                    outcomes.Terminal("InvalidSpec", validation_text(exc)),
                    body["metadata"],
                )
                return
            try:
                if ctx is None or not status.get("ocid"):
                    # Until the OCI run exists, rebuild: the job (and so the credentials and
                    # region the run inherits) may appear or change while the run waits.
                    since = ctx.waiting_since if ctx is not None else None
                    ctx = await run_context(op, body, spec, status, namespace, name, uid, involved)
                    ctx.waiting_since = since  # the wait for the job goes on
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
            except OciError as exc:
                disposition = outcomes.disposition(exc, attempt=attempt, settings=op.settings)
                attempt += 1
                await report_run(body, status, disposition, body["metadata"])
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
                delay = aligned_delay(
                    state_interval(delay, *_in_progress(ctx.status if ctx else status)),
                    time.time(),
                    jitter=op.settings.run_batch_window / 2,
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


async def _pause(op: Operator, status: dict[str, Any], stopped: Stopping, delay: float) -> None:
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


def _in_progress(status: dict[str, Any]) -> tuple[str | None, float | None]:
    """The run's OCI state and, while IN_PROGRESS, for how many seconds it has been."""
    state = status.get("lifecycleState")
    started = status.get("timeStarted")
    if state != "IN_PROGRESS" or not started:
        return state, None
    try:
        since = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
    except ValueError:
        return state, None
    return state, (utcnow() - since).total_seconds()


async def secret_of_run(op: Operator, spec: DataScienceJobRunSpec, namespace: str) -> str | None:
    """The Secret a run's credentials come from: its own authSecretRef, else its job's."""
    if spec.auth_secret_ref is not None:
        return spec.auth_secret_ref.name
    if spec.job_ref is None:
        return None
    job = await job_body(op, namespace, spec.job_ref.name)
    return raw_secret(dict((job or {}).get("spec") or {}))


async def run_policy_of(
    op: Operator, spec: DataScienceJobRunSpec, namespace: str
) -> RunPolicy | None:
    """The run's runPolicy over its job's defaults; None when neither sets one."""
    defaults: RunPolicy | None = None
    if spec.job_ref is not None:
        job = await job_body(op, namespace, spec.job_ref.name)
        raw = ((job or {}).get("spec") or {}).get("runPolicy")
        if raw:
            try:
                defaults = RunPolicy.model_validate(raw)
            except ValidationError:
                defaults = None  # the job reports its own invalid spec
    if spec.run_policy is None and defaults is None:
        return None
    return policy.effective(spec.run_policy, defaults)


async def expire(
    op: Operator,
    body: Any,
    status: dict[str, Any],
    namespace: str,
    name: str,
    uid: str,
    stopped: Stopping,
    known: tuple[RunPolicy | None] | None = None,
) -> None:
    """ttlSecondsAfterFinished: wait for the expiry, then delete the resource (its
    deletionPolicy then decides about the OCI run, as for any delete).

    ``known``: the effective policy the watch loop already read; without it the job is
    read again (a thousand runs ending together were a thousand reads of one job)."""
    try:
        spec = DataScienceJobRunSpec.model_validate(dict(body.get("spec") or {}))
    except ValidationError:
        return
    rules = known[0] if known is not None else await run_policy_of(op, spec, namespace)
    when = policy.expires_at(rules, status) if rules is not None else None
    if rules is None or when is None:
        return
    wait = (when - utcnow()).total_seconds()
    if wait > 0:
        await stopped.wait(wait)
        if stopped:
            return
    try:
        deleted = await kube.delete_resource(RUN_PLURAL, namespace, name, uid)
    except Exception as exc:  # e.g. the operator's role lacks delete: say so, once
        why = f"{getattr(exc, 'status', '')} {getattr(exc, 'reason', '') or type(exc).__name__}"
        await events.post(
            events.reference(body),
            reason="ExpiryFailed",
            message=(
                "runPolicy.ttlSecondsAfterFinished passed but the run could not be deleted"
                f" ({why.strip()}); the operator needs the delete right on datasciencejobruns"
            ),
            warning=True,
        )
        return
    if deleted:
        log.info("run %s/%s: ttlSecondsAfterFinished passed, deleted", namespace, name)
        await events.post(
            events.reference(body),
            reason="Expired",
            message=f"runPolicy.ttlSecondsAfterFinished ({rules.ttl_seconds_after_finished}s)"
            " passed since the run finished: deleting this resource",
        )


async def run_context(
    op: Operator,
    body: Any,
    spec: DataScienceJobRunSpec,
    status: dict[str, Any],
    namespace: str,
    name: str,
    uid: str,
    involved: ObjectReference,
) -> RunContext:
    job = None
    if spec.job_ref is not None:
        job = await job_body(op, namespace, spec.job_ref.name)
    job_spec = dict((job or {}).get("spec") or {})
    secret = spec.auth_secret_ref.name if spec.auth_secret_ref else raw_secret(job_spec)
    region = spec.region or job_spec.get("region")
    port = await port_for(op, namespace, secret, region)

    async def post(reason: str, message: str, warning: bool) -> None:
        await events.post(involved, reason=reason, message=message, warning=warning)

    def plan_lines(records: Sequence[LogRecord]) -> list[PendingEvent]:
        planned, dropped = events.plan_named_events(
            records, run_name=name, run_uid=uid, limiter=op.limiter, settings=op.settings
        )
        metrics.log_lines(
            mirrored=metrics.lines_in(
                tuple(e.message for e in planned if e.reason == events.LOG_REASON)
            ),
            dropped=dropped,
        )
        return planned

    async def post_events(pending: Sequence[PendingEvent]) -> list[PendingEvent]:
        return [e for e in pending if not await events.post_named(involved, e)]

    async def resolve() -> JobInfo | Waiting:
        return await resolve_job(op, port, spec, namespace)

    async def admit() -> Waiting | None:
        cap = op.settings.max_active_runs_per_namespace
        async with op.admission_lock:  # one decision at a time: each sees the last one's slot
            runs = await kube.list_resources(RUN_PLURAL, namespace)
            ready = {
                j["metadata"]["name"]
                for j in await kube.list_resources(JOB_PLURAL, namespace)
                if is_true((j.get("status") or {}).get("conditions"), "Ready")
            }
            booked = op.reservations.of(namespace)
            decision = admission.admit(runs, uid=uid, cap=cap, reserved=booked, ready_jobs=ready)
            if decision.allowed:
                booked.add(uid)
                return None
        return Waiting(admission.REASON, decision.message(cap))

    async def persist(patch: dict[str, Any]) -> None:
        await kube.patch_status(
            RUN_PLURAL,
            namespace,
            name,
            {k: v for k, v in patch.items() if not k.startswith("_")},
            urgent=not URGENT_KEYS.isdisjoint(patch),  # a new state: ahead of log cursors
        )
        metrics.record_run(uid, namespace, status)  # the whole status: patches are partial
        metrics.state_written(patch, status)

    return RunContext(
        namespace=namespace,
        name=name,
        uid=uid,
        generation=body["metadata"].get("generation"),
        spec=spec,
        status=status,
        settings=op.settings,
        port=port,
        persist=persist,
        post=post,
        plan_lines=plan_lines,
        post_events=post_events,
        resolve_job=resolve,
        admit=admit if op.settings.max_active_runs_per_namespace > 0 else None,
        now=utcnow,
        region=region or op.settings.region,
    )


async def resolve_job(
    op: Operator, port: OciPort, spec: DataScienceJobRunSpec, namespace: str
) -> JobInfo | Waiting:
    """The job to run: a DataScienceJob of this namespace that is Ready, or an OCI job by
    OCID that no other namespace of this cluster owns."""
    if spec.job_ref is not None:
        ref = spec.job_ref.name
        job = await job_body(op, namespace, ref)
        if job is None:
            return Waiting("JobNotFound", f"DataScienceJob {ref!r} not found in {namespace!r}")
        jstatus = job.get("status") or {}
        broken = _terminal_now(job)
        if broken is not None:
            return Waiting(
                str(broken.get("reason") or "JobTerminal"),
                f"DataScienceJob {ref!r} cannot run: {broken.get('message') or 'Terminal'}",
                terminal=True,
            )
        if not jstatus.get("ocid") or not is_true(jstatus.get("conditions"), "Ready"):
            ready = get_condition(jstatus.get("conditions"), "Ready") or {}
            why = f" ({ready['reason']}: {ready.get('message') or ''})" if ready else ""
            return Waiting("WaitingForJob", f"DataScienceJob {ref!r} is not Ready yet{why}")
        try:
            job_spec = DataScienceJobSpec.model_validate(job.get("spec") or {})
        except ValidationError:
            return Waiting("WaitingForJob", f"DataScienceJob {ref!r} has an invalid spec")
        infra = job_spec.infrastructure.spec if job_spec.infrastructure else None
        oci_job = await _shared_job(op, port, str(jstatus["ocid"]))
        return JobInfo(
            ocid=oci_job.id,
            compartment_id=(infra and infra.compartment_id) or oci_job.compartment_id,
            project_id=(infra and infra.project_id) or oci_job.project_id,
            spec=job_spec,
            display_name=oci_job.display_name or None,
        )
    assert spec.job_id is not None
    oci_job = await _shared_job(op, port, spec.job_id)
    owner = foreign_owner(
        oci_job.freeform_tags, namespace=namespace, cluster_id=op.settings.cluster_id
    )
    if owner is not None:
        return Waiting(
            "JobOfOtherNamespace",
            f"OCI job {spec.job_id} belongs to a DataScienceJob in namespace {owner!r};"
            " a run may only use jobs of its own namespace",
            terminal=True,
        )
    if oci_job.lifecycle_state != "ACTIVE":
        return Waiting("WaitingForJob", f"OCI job {spec.job_id} is {oci_job.lifecycle_state}")
    return JobInfo(
        ocid=oci_job.id,
        compartment_id=oci_job.compartment_id,
        project_id=oci_job.project_id,
        display_name=oci_job.display_name or None,
    )


def _terminal_now(job: dict[str, Any]) -> Mapping[str, Any] | None:
    """The job's ``Terminal=True`` condition when it is about the job's current spec.

    A condition written for an older generation may be about a spec that was just fixed
    (job and run applied together): the job's handler has yet to look at the new one."""
    cond = get_condition((job.get("status") or {}).get("conditions"), "Terminal")
    if cond is None or cond.get("status") != "True":
        return None
    generation = (job.get("metadata") or {}).get("generation")
    if generation is not None and cond.get("observedGeneration") != generation:
        return None
    return cond


async def job_body(op: Operator, namespace: str, name: str) -> dict[str, Any] | None:
    """The DataScienceJob a run names, read once for all the runs that ask within a
    moment (a run's start reads it three times, and a thousand runs start together).
    The body is shared: callers never change it."""
    return await op.job_bodies.get(
        (namespace, name), lambda: kube.get_resource(JOB_PLURAL, namespace, name)
    )


async def _shared_job(op: Operator, port: OciPort, job_ocid: str) -> OciJob:
    """GetJob, asked once for all the runs of a job that are created together."""
    return await op.jobs.get((id(port), job_ocid), lambda: port.get_job(job_id=job_ocid))


async def delete(op: Operator, body: Mapping[str, Any], *, retry: int) -> Outcome:
    """Cancel the OCI run if it is active, then delete it (unless the policy orphans it)."""
    namespace = body["metadata"]["namespace"]
    raw = dict(body.get("spec") or {})
    status = dict(body.get("status") or {})
    metrics.forget_run(str(body["metadata"].get("uid")))
    ocid = status.get("ocid")
    earlier = [str(a["ocid"]) for a in status.get("attempts") or [] if a.get("ocid")]
    if raw.get("deletionPolicy") == DeletionPolicy.ORPHAN or not (ocid or earlier):
        return Done()
    job_spec: dict[str, Any] = {}
    ref = (raw.get("jobRef") or {}).get("name")
    if ref:
        job_spec = dict(
            ((await kube.get_resource(JOB_PLURAL, namespace, ref)) or {}).get("spec") or {}
        )
    secret = raw_secret(raw) or raw_secret(job_spec)
    try:
        port = await port_for(op, namespace, secret, raw.get("region") or job_spec.get("region"))
        for done in earlier:  # earlier attempts are finished: delete, never cancel
            with contextlib.suppress(NotFoundError):
                if (await port.get_job_run(run_id=done)).lifecycle_state not in RUN_DELETED:
                    await port.delete_job_run(run_id=done)
        if not ocid:
            return Done()
        run = await port.get_job_run(run_id=ocid)
        if run.lifecycle_state in RUN_ACTIVE:
            if run.lifecycle_state not in RUN_CANCELING:
                await port.cancel_job_run(run_id=ocid)
                await events.post(
                    events.reference(body),
                    reason="CancelRequested",
                    message=f"Deleting: canceling OCI job run {ocid}",
                )
            return RetryAfter(op.settings.poll_interval, "waiting for the run to be canceled")
        if run.lifecycle_state not in RUN_DELETED:
            await port.delete_job_run(run_id=ocid)
    except NotFoundError:
        return Done()
    except OciError as exc:
        d = outcomes.disposition(exc, attempt=retry, settings=op.settings)
        return RetryAfter(getattr(d, "delay", 60), d.message)
    return Done()
