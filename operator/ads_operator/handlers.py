"""Every kopf decorator of the operator; each handler is a thin adapter.

A handler parses the resource into the pydantic model, gets an OCI port for the
resource's credentials and region, calls into :mod:`ads_operator.reconcile`, and turns
the outcome into status (patched directly, at once), Events, and kopf's retry semantics.
Handlers return None: kopf would store return values under ``status.<handler>``.
Settings are read from the environment when this module is imported
(:func:`ads_operator.settings.from_env`), because kopf needs timer intervals then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from ads_operator import events, kube
from ads_operator.ads.artifacts import ArtifactError
from ads_operator.ads.sources import SourceError
from ads_operator.ads.translate import TranslationError
from ads_operator.models import (
    GROUP,
    JOB_PLURAL,
    RUN_PLURAL,
    VERSION,
    DataScienceJobRunSpec,
    DataScienceJobSpec,
    DeletionPolicy,
)
from ads_operator.oci.errors import NotAuthorizedError, NotFoundError, OciError
from ads_operator.oci.factory import PortFactory
from ads_operator.oci.poller import RunStateReader
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import outcomes
from ads_operator.reconcile.conditions import is_true, set_condition
from ads_operator.reconcile.identity import foreign_owner
from ads_operator.reconcile.job_executor import (
    JobContext,
    JobOutcome,
    adopt_job,
    delete_jobs,
    desired_for,
    ensure_job,
    retire_jobs,
)
from ads_operator.reconcile.lifecycle import RUN_ACTIVE, RUN_CANCELING, RUN_DELETED
from ads_operator.reconcile.run_executor import JobInfo, RunContext, Waiting, run_once
from ads_operator.settings import Settings, from_env
from ads_operator.sources import ClusterSourceReader, MissingSourceError

SETTINGS: Settings = from_env()
log = logging.getLogger(__name__)


@dataclass
class Operator:
    """What every handler shares (kept in kopf's memo)."""

    settings: Settings
    factory: PortFactory
    limiter: events.LogEventLimiter
    reader: RunStateReader


def _op(memo: Any) -> Operator:
    op = getattr(memo, "ads", None)
    if not isinstance(op, Operator):
        raise kopf.TemporaryError("operator state not initialised yet", delay=1)
    return op


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    settings.persistence.finalizer = SETTINGS.finalizer
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = events.COMPONENT
    settings.watching.server_timeout = 600
    settings.watching.client_timeout = 660
    settings.networking.request_timeout = 120
    # The SDK and the kubernetes client block; their calls run in the loop's default
    # executor, whose stock size (CPUs + 4) would queue OCI calls behind each other.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=SETTINGS.worker_threads, thread_name_prefix="ads-io")
    )
    await asyncio.to_thread(kube.configure)
    memo.ads = Operator(
        SETTINGS,
        PortFactory(SETTINGS),
        events.LogEventLimiter(
            SETTINGS.log_events_per_minute_per_run, SETTINGS.log_events_per_minute
        ),
        RunStateReader(min_batch=SETTINGS.run_batch_min, window=SETTINGS.run_batch_window),
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def _port(
    op: Operator, namespace: str, secret_name: str | None, region: str | None
) -> OciPort:
    """The port for a resource: its own Secret (same namespace only) or the default."""
    secret = None
    if secret_name:
        secret = await kube.read_secret(namespace, secret_name)
        if secret is None:
            raise NotAuthorizedError(f"Secret {secret_name!r} not found in namespace {namespace!r}")
    try:
        return op.factory.port(secret=secret, secret_name=secret_name, region=region)
    except OciError:
        raise
    except Exception as exc:  # the SDK refusing the config (never echo its values)
        raise NotAuthorizedError(f"unusable OCI credentials: {type(exc).__name__}") from None


def _persister(plural: str, namespace: str, name: str) -> Any:
    async def persist(patch: dict[str, Any]) -> None:
        await kube.patch_status(plural, namespace, name, patch)

    return persist


async def _report(
    plural: str,
    body: Any,
    status: Mapping[str, Any],
    disposition: outcomes.Disposition,
    generation: int | None,
) -> None:
    """Write the failure into conditions and an Event; raise kopf's retry semantics."""
    meta = body["metadata"]
    now = _now()
    conds = set_condition(
        status.get("conditions"),
        type="Synced",
        status=False,
        reason=disposition.reason,
        message=disposition.message,
        generation=generation,
        now=now,
    )
    if isinstance(disposition, outcomes.Terminal):
        conds = set_condition(
            conds,
            type="Ready",
            status=False,
            reason=disposition.reason,
            message=disposition.message,
            generation=generation,
            now=now,
        )
        conds = set_condition(
            conds,
            type="Terminal",
            status=True,
            reason=disposition.reason,
            message=disposition.message,
            generation=generation,
            now=now,
        )
    await kube.patch_status(plural, meta["namespace"], meta["name"], {"conditions": conds})
    await events.post(
        events.reference(body), reason=disposition.reason, message=disposition.message, warning=True
    )
    if isinstance(disposition, outcomes.Terminal):
        raise kopf.PermanentError(disposition.message)
    raise kopf.TemporaryError(disposition.message, delay=disposition.delay)


# --- DataScienceJob -----------------------------------------------------------------------


@kopf.on.resume(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
@kopf.on.create(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
@kopf.on.update(GROUP, VERSION, JOB_PLURAL, field="spec", backoff=10.0)
async def reconcile_job(
    body: kopf.Body,
    spec: kopf.Spec,
    meta: kopf.Meta,
    namespace: Any,
    name: str,
    uid: str,
    retry: int,
    memo: Any,
    **_: Any,
) -> None:
    op = _op(memo)
    status = dict(body.get("status") or {})
    generation = meta.get("generation")
    try:
        model = DataScienceJobSpec.model_validate(dict(spec))
    except ValidationError as exc:
        await _report(
            JOB_PLURAL,
            body,
            status,
            outcomes.Terminal("InvalidSpec", _validation_text(exc)),
            generation,
        )
        return
    try:
        port = await _port(op, namespace, _secret_name(model), model.region)
        ctx = JobContext(
            namespace=namespace,
            name=name,
            uid=uid,
            spec=model,
            status=status,
            settings=op.settings,
            port=port,
            sources=ClusterSourceReader(namespace=namespace, port=port),
            persist=_persister(JOB_PLURAL, namespace, name),
            created=_created(meta),
            region=model.region or op.settings.region,
        )
        if model.id:
            outcome = await adopt_job(ctx)
        else:
            outcome = await ensure_job(ctx, await desired_for(ctx))
    except MissingSourceError as exc:
        await _report(
            JOB_PLURAL,
            body,
            status,
            outcomes.Retry(op.settings.poll_interval * 5, "SourceNotFound", str(exc)),
            generation,
        )
        return
    except (TranslationError, ArtifactError, SourceError) as exc:
        await _report(
            JOB_PLURAL, body, status, outcomes.Terminal("InvalidSpec", str(exc)), generation
        )
        return
    except OciError as exc:
        await _report(
            JOB_PLURAL,
            body,
            status,
            outcomes.disposition(exc, attempt=retry, settings=op.settings),
            generation,
        )
        return
    for reason, message in ctx.events:
        await events.post(events.reference(body), reason=reason, message=message)
    now = _now()
    ready = outcome is JobOutcome.READY
    state = str(ctx.status.get("lifecycleState") or "")
    conds = set_condition(
        ctx.status.get("conditions"),
        type="Ready",
        status=ready,
        reason=state or str(outcome),
        message=str(ctx.status.get("lifecycleDetails") or f"OCI job {state}"),
        generation=generation,
        now=now,
    )
    conds = set_condition(
        conds,
        type="Synced",
        status=True,
        reason="Synced",
        message="The OCI job matches the spec",
        generation=generation,
        now=now,
    )
    conds = set_condition(
        conds, type="Terminal", status=False, reason="Valid", generation=generation, now=now
    )
    was_ready = is_true(status.get("conditions"), "Ready")
    await ctx.save(
        {
            "conditions": conds,
            "observedGeneration": generation,
            "region": ctx.region or None,
            "lastSynced": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    if ready and not was_ready:
        await events.post(
            events.reference(body),
            reason="Ready",
            message=f"OCI job {ctx.status.get('ocid')} is ACTIVE",
        )
    if outcome is JobOutcome.PENDING:
        raise kopf.TemporaryError("the OCI job is being created", delay=op.settings.poll_interval)
    if outcome is JobOutcome.FAILED:
        raise kopf.PermanentError(f"the OCI job is {state}")


@kopf.timer(
    GROUP,
    VERSION,
    JOB_PLURAL,
    interval=SETTINGS.job_resync_interval,
    initial_delay=SETTINGS.job_resync_interval / 2,
    idle=SETTINGS.job_resync_interval / 2,
)
async def resync_job(
    body: kopf.Body,
    spec: kopf.Spec,
    namespace: Any,
    name: str,
    uid: str,
    memo: Any,
    **_: Any,
) -> None:
    """Refresh OCI state, delete retired jobs once their runs finished, count runs."""
    op = _op(memo)
    status = dict(body.get("status") or {})
    if not status.get("ocid"):
        return
    raw = dict(spec)
    notes: list[tuple[str, str]] = []
    try:
        port = await _port(op, namespace, _raw_secret(raw), raw.get("region"))
        job = await port.get_job(job_id=status["ocid"])
        patch: dict[str, Any] = {
            "lifecycleState": job.lifecycle_state,
            "lifecycleDetails": job.lifecycle_details or None,
        }
        runs = await kube.list_resources(RUN_PLURAL, namespace)
        if status.get("retiredOcids"):
            # A run resource still watching a retired job keeps it: deleting the job would
            # delete the run in OCI before its final state and late log lines were read.
            watched = {
                str((r.get("status") or {}).get("jobOcid"))
                for r in runs
                if not _finished(r.get("status") or {})
            }
            kept, notes = await retire_jobs(
                port, status["retiredOcids"], job.compartment_id, in_use=watched
            )
            patch["retiredOcids"] = kept or None
        patch["runs"] = _run_summary(runs, name)
        if job.lifecycle_state != status.get("lifecycleState"):
            patch["conditions"] = set_condition(
                status.get("conditions"),
                type="Ready",
                status=job.lifecycle_state == "ACTIVE",
                reason=job.lifecycle_state,
                message=job.lifecycle_details or f"OCI job {job.lifecycle_state}",
                now=_now(),
            )
        if any(status.get(k) != v for k, v in patch.items()):  # no write when nothing moved
            await kube.patch_status(JOB_PLURAL, namespace, name, patch)
    except OciError as exc:
        log.warning("resync of %s/%s: %s", namespace, name, exc.summary())
        return
    for reason, message in notes:
        await events.post(events.reference(body), reason=reason, message=message)


def _run_summary(runs: list[dict[str, Any]], job_name: str) -> dict[str, Any]:
    items = [r for r in runs if (r.get("spec", {}).get("jobRef") or {}).get("name") == job_name]
    phases = [str((r.get("status") or {}).get("phase") or "Pending") for r in items]
    latest = max(items, key=lambda r: r["metadata"]["creationTimestamp"], default=None)
    return {
        "total": len(items),
        "active": sum(p in ("Pending", "Running") for p in phases),
        "succeeded": phases.count("Succeeded"),
        "failed": phases.count("Failed") + phases.count("Canceled"),
        "lastRun": latest["metadata"]["name"] if latest else None,
    }


@kopf.on.delete(GROUP, VERSION, JOB_PLURAL, backoff=10.0)
async def delete_job(
    body: kopf.Body, spec: kopf.Spec, namespace: Any, retry: int, memo: Any, **_: Any
) -> None:
    op = _op(memo)
    raw = dict(spec)
    status = dict(body.get("status") or {})
    if raw.get("deletionPolicy") == DeletionPolicy.ORPHAN:
        return
    ocids = [o for o in [status.get("ocid"), *(status.get("retiredOcids") or [])] if o]
    if not ocids:
        return
    compartment = ((raw.get("infrastructure") or {}).get("spec") or {}).get("compartmentId")
    try:
        port = await _port(op, namespace, _raw_secret(raw), raw.get("region"))
        if not compartment:
            compartment = (await port.get_job(job_id=ocids[0])).compartment_id
        done, notes = await delete_jobs(port, ocids, compartment)
    except NotFoundError:
        return
    except OciError as exc:
        d = outcomes.disposition(exc, attempt=retry, settings=op.settings)
        raise kopf.TemporaryError(d.message, delay=getattr(d, "delay", 60)) from None
    for reason, message in notes:
        await events.post(events.reference(body), reason=reason, message=message)
    if not done:
        raise kopf.TemporaryError(
            "waiting for OCI to cancel runs and delete the job", delay=op.settings.poll_interval
        )


# --- DataScienceJobRun --------------------------------------------------------------------


@kopf.daemon(GROUP, VERSION, RUN_PLURAL, cancellation_timeout=10.0, backoff=5.0)
async def watch_run(
    body: kopf.Body,
    meta: kopf.Meta,
    namespace: Any,
    name: str,
    uid: str,
    stopped: kopf.DaemonStopped,
    memo: Any,
    **_: Any,
) -> None:
    """Create the OCI run once, then mirror its lifecycle and logs until there is no more."""
    op = _op(memo)
    status = dict(body.get("status") or {})
    if _finished(status):
        return
    involved = events.reference(body)
    attempt = 0
    ctx: RunContext | None = None
    while not stopped:
        try:
            spec = DataScienceJobRunSpec.model_validate(dict(body.get("spec") or {}))
        except ValidationError as exc:
            await _report_run(
                body, status, outcomes.Terminal("InvalidSpec", _validation_text(exc)), meta
            )
            return
        try:
            if ctx is None:
                ctx = await _run_context(op, body, spec, status, namespace, name, uid, involved)
            ctx.spec = spec
            ctx.generation = meta.get("generation")
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
            await _report_run(body, status, disposition, meta)
            if isinstance(disposition, outcomes.Terminal):
                return
            delay = disposition.delay
        if delay is None:
            op.limiter.forget(uid)
            return
        await stopped.wait(delay)


def _finished(status: Mapping[str, Any]) -> bool:
    """Terminal and nothing more to read: no need to start watching again."""
    conds = status.get("conditions") or []
    logging_done = any(
        c.get("type") == "Logging" and c.get("reason") in ("Complete", "LoggingNotConfigured")
        for c in conds
    )
    terminal = status.get("phase") in ("Succeeded", "Failed", "Canceled")
    return (terminal and (logging_done or not status.get("ocid"))) or is_true(conds, "Terminal")


async def _report_run(
    body: Any, status: dict[str, Any], disposition: outcomes.Disposition, meta: Any
) -> None:
    now = _now()
    generation = meta.get("generation")
    conds = set_condition(
        status.get("conditions"),
        type="Synced",
        status=False,
        reason=disposition.reason,
        message=disposition.message,
        generation=generation,
        now=now,
    )
    if isinstance(disposition, outcomes.Terminal):
        conds = set_condition(
            conds,
            type="Terminal",
            status=True,
            reason=disposition.reason,
            message=disposition.message,
            generation=generation,
            now=now,
        )
        if not status.get("ocid"):
            conds = set_condition(
                conds,
                type="Ready",
                status=False,
                reason=disposition.reason,
                message=disposition.message,
                generation=generation,
                now=now,
            )
    status["conditions"] = conds
    meta_ = body["metadata"]
    try:
        await kube.patch_status(
            RUN_PLURAL, meta_["namespace"], meta_["name"], {"conditions": conds}
        )
    except Exception as exc:
        log.warning("could not patch status of %s: %s", meta_["name"], exc)
    if status.get("_last_reason") != disposition.reason:
        await events.post(
            events.reference(body),
            reason=disposition.reason,
            message=disposition.message,
            warning=True,
        )
    status["_last_reason"] = disposition.reason


async def _run_context(
    op: Operator,
    body: Any,
    spec: DataScienceJobRunSpec,
    status: dict[str, Any],
    namespace: str,
    name: str,
    uid: str,
    involved: dict[str, Any],
) -> RunContext:
    job_body = None
    if spec.job_ref is not None:
        job_body = await kube.get_resource(JOB_PLURAL, namespace, spec.job_ref.name)
    job_spec = dict((job_body or {}).get("spec") or {})
    secret = spec.auth_secret_ref.name if spec.auth_secret_ref else _raw_secret(job_spec)
    region = spec.region or job_spec.get("region")
    port = await _port(op, namespace, secret, region)

    async def post(reason: str, message: str, warning: bool) -> None:
        await events.post(involved, reason=reason, message=message, warning=warning)

    async def post_lines(lines: Sequence[str]) -> None:
        plan = events.plan_log_events(
            lines, run_uid=uid, limiter=op.limiter, max_bytes=op.settings.log_event_max_bytes
        )
        for message in plan.messages:
            await events.post(involved, reason=events.LOG_REASON, message=message)
        if plan.announce_limit:
            await events.post(
                involved,
                reason=events.LIMIT_REASON,
                message=events.limit_message(plan.dropped_lines, op.settings),
                warning=True,
            )

    async def resolve_job() -> JobInfo | Waiting:
        return await _resolve_job(op, port, spec, namespace)

    async def persist(patch: dict[str, Any]) -> None:
        await kube.patch_status(
            RUN_PLURAL, namespace, name, {k: v for k, v in patch.items() if not k.startswith("_")}
        )

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
        post_lines=post_lines,
        resolve_job=resolve_job,
        now=_now,
        region=region or op.settings.region,
        reader=op.reader,
    )


async def _resolve_job(
    op: Operator, port: OciPort, spec: DataScienceJobRunSpec, namespace: str
) -> JobInfo | Waiting:
    """The job to run: a DataScienceJob of this namespace that is Ready, or an OCI job by
    OCID that no other namespace of this cluster owns."""
    if spec.job_ref is not None:
        ref = spec.job_ref.name
        job = await kube.get_resource(JOB_PLURAL, namespace, ref)
        if job is None:
            return Waiting("JobNotFound", f"DataScienceJob {ref!r} not found in {namespace!r}")
        jstatus = job.get("status") or {}
        if not jstatus.get("ocid") or not is_true(jstatus.get("conditions"), "Ready"):
            return Waiting("WaitingForJob", f"DataScienceJob {ref!r} is not Ready yet")
        try:
            job_spec = DataScienceJobSpec.model_validate(job.get("spec") or {})
        except ValidationError:
            return Waiting("WaitingForJob", f"DataScienceJob {ref!r} has an invalid spec")
        infra = job_spec.infrastructure.spec
        oci_job = await port.get_job(job_id=jstatus["ocid"])
        return JobInfo(
            ocid=oci_job.id,
            compartment_id=infra.compartment_id or oci_job.compartment_id,
            project_id=infra.project_id or oci_job.project_id,
            spec=job_spec,
            display_name=oci_job.display_name or None,
        )
    assert spec.job_id is not None
    oci_job = await port.get_job(job_id=spec.job_id)
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


@kopf.on.delete(GROUP, VERSION, RUN_PLURAL, backoff=10.0)
async def delete_run(
    body: kopf.Body, spec: kopf.Spec, namespace: Any, retry: int, memo: Any, **_: Any
) -> None:
    """Cancel the OCI run if it is active, then delete it (unless the policy orphans it)."""
    op = _op(memo)
    raw = dict(spec)
    status = dict(body.get("status") or {})
    ocid = status.get("ocid")
    if not ocid or raw.get("deletionPolicy") == DeletionPolicy.ORPHAN:
        return
    job_spec: dict[str, Any] = {}
    ref = (raw.get("jobRef") or {}).get("name")
    if ref:
        job_spec = dict(
            ((await kube.get_resource(JOB_PLURAL, namespace, ref)) or {}).get("spec") or {}
        )
    secret = _raw_secret(raw) or _raw_secret(job_spec)
    try:
        port = await _port(op, namespace, secret, raw.get("region") or job_spec.get("region"))
        run = await port.get_job_run(run_id=ocid)
        if run.lifecycle_state in RUN_ACTIVE:
            if run.lifecycle_state not in RUN_CANCELING:
                await port.cancel_job_run(run_id=ocid)
                await events.post(
                    events.reference(body),
                    reason="CancelRequested",
                    message=f"Deleting: canceling OCI job run {ocid}",
                )
            raise kopf.TemporaryError(
                "waiting for the run to be canceled", delay=op.settings.poll_interval
            )
        if run.lifecycle_state not in RUN_DELETED:
            await port.delete_job_run(run_id=ocid)
    except NotFoundError:
        return
    except OciError as exc:
        d = outcomes.disposition(exc, attempt=retry, settings=op.settings)
        raise kopf.TemporaryError(d.message, delay=getattr(d, "delay", 60)) from None


# --- helpers ------------------------------------------------------------------------------


def _secret_name(spec: DataScienceJobSpec) -> str | None:
    return spec.auth_secret_ref.name if spec.auth_secret_ref else None


def _raw_secret(spec: Mapping[str, Any]) -> str | None:
    ref = spec.get("authSecretRef") or {}
    return str(ref["name"]) if ref.get("name") else None


def _created(meta: Mapping[str, Any]) -> datetime:
    raw = meta.get("creationTimestamp")
    if raw:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return _now()


def _validation_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"spec.{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts)
