"""DataScienceJob handling behind the kopf handlers: create/adopt/update, resync
(state, retired jobs, run summary) and deletion, over :mod:`ads_operator.reconcile`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from ads_operator.ads.artifacts import ArtifactError
from ads_operator.ads.sources import SourceError
from ads_operator.ads.translate import TranslationError
from ads_operator.kube import client as kube
from ads_operator.kube import events
from ads_operator.models import (
    JOB_PLURAL,
    RUN_PLURAL,
    DataScienceJobSpec,
    DeletionPolicy,
)
from ads_operator.models.oci_errors import NotFoundError, OciError
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import history, outcomes, schedule
from ads_operator.reconcile.conditions import get_condition, is_true, set_condition
from ads_operator.usecases.job_executor import (
    JobContext,
    JobOutcome,
    adopt_job,
    delete_jobs,
    desired_for,
    ensure_job,
    retire_jobs,
)
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import Done, Failed, Outcome, RetryAfter
from ads_operator.usecases.shared import (
    created,
    is_auth_wait,
    persister,
    port_for,
    raw_secret,
    report,
    run_summary,
    secret_of,
    utcnow,
    validation_text,
    wait_for_fix,
)
from ads_operator.usecases.sources import ClusterSourceReader, MissingSourceError

log = logging.getLogger(__name__)
#: The job's condition about ``spec.schedule`` (present only while it has one).
SCHEDULE_VALID: Final = "ScheduleValid"


async def reconcile(op: Operator, body: Mapping[str, Any], *, retry: int) -> Outcome:
    """Create, adopt, update or replace the OCI job until it is ACTIVE and matches.
    ``retry``: how many times in a row this was retried (kopf counts)."""
    meta = body["metadata"]
    namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
    status = dict(body.get("status") or {})
    generation = meta.get("generation")
    try:
        model = DataScienceJobSpec.model_validate(dict(body.get("spec") or {}))
    except ValidationError as exc:
        return await report(
            JOB_PLURAL,
            body,
            status,
            outcomes.Terminal("InvalidSpec", validation_text(exc)),
            generation,
        )
    status["conditions"], unusable = _schedule_condition(
        status.get("conditions"), model, generation, utcnow()
    )
    if unusable is not None:  # only the operator can tell: Terminal, and no OCI call
        return await report(
            JOB_PLURAL, body, status, outcomes.Terminal("InvalidSchedule", unusable), generation
        )
    try:
        port = await port_for(op, namespace, secret_of(model), model.region)
        ctx = JobContext(
            namespace=namespace,
            name=name,
            uid=uid,
            spec=model,
            status=status,
            settings=op.settings,
            port=port,
            sources=ClusterSourceReader(namespace=namespace, port=port),
            persist=persister(JOB_PLURAL, namespace, name),
            created=created(meta),
            region=model.region or op.settings.region,
            generation=generation,
        )
        if model.id:
            outcome = await adopt_job(ctx)
        else:
            outcome = await ensure_job(ctx, await desired_for(ctx))
    except MissingSourceError as exc:
        return await report(
            JOB_PLURAL,
            body,
            status,
            outcomes.Retry(op.settings.poll_interval * 5, "SourceNotFound", str(exc)),
            generation,
        )
    except (TranslationError, ArtifactError, SourceError) as exc:
        return await report(
            JOB_PLURAL, body, status, outcomes.Terminal("InvalidSpec", str(exc)), generation
        )
    except OciError as exc:
        disposition = outcomes.disposition(exc, attempt=retry, settings=op.settings)
        wait = None
        if is_auth_wait(disposition):
            wait = _secret_fix_wait(op, namespace, name, secret_of(model), generation)
        return await report(JOB_PLURAL, body, status, disposition, generation, wait=wait)
    for reason, message in ctx.events:
        await events.post(events.reference(body), reason=reason, message=message)
    now = utcnow()
    state = str(ctx.status.get("lifecycleState") or "")
    ready = outcome is JobOutcome.READY
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
            "region": ctx.console_region or None,
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
        # Backs off as it keeps waiting: a job that stays CREATING is not polled every tick.
        delay = outcomes.pending_delay(retry, op.settings)
        return RetryAfter(delay, "the OCI job is being created")
    if outcome is JobOutcome.FAILED:
        return Failed(f"the OCI job is {state}")
    return Done()


def _secret_fix_wait(
    op: Operator, namespace: str, name: str, secret: str | None, generation: int | None
) -> Callable[[float], Awaitable[float]]:
    """The ``wait`` for :func:`report` after an authorization failure: ends early when the
    job's Secret changes, and gives up when the job moved on (a new spec or its deletion,
    which kopf hands to a new call of this handler)."""

    async def moved_on() -> bool:
        now = await kube.get_resource(JOB_PLURAL, namespace, name)
        meta = (now or {}).get("metadata") or {}
        return bool(
            now is None or meta.get("deletionTimestamp") or meta.get("generation") != generation
        )

    async def wait(delay: float) -> float:
        return await wait_for_fix(
            op, namespace, secret, delay, pause=asyncio.sleep, give_up=moved_on
        )

    return wait


def _schedule_condition(
    conditions: list[dict[str, Any]] | None,
    model: DataScienceJobSpec,
    generation: int | None,
    now: datetime,
) -> tuple[list[dict[str, Any]], str | None]:
    """``ScheduleValid`` for a job with ``spec.schedule`` (none without one), and why the
    schedule cannot work, if it cannot. A schedule that cannot work makes the job
    Terminal (reason InvalidSchedule) until the spec is fixed, unlike the scheduler's
    Event, which expires."""
    if model.schedule is None:
        return [dict(c) for c in conditions or () if c.get("type") != SCHEDULE_VALID], None
    unusable = schedule.problem(model.schedule.cron, model.schedule.time_zone, now=now)
    conds = set_condition(
        conditions,
        type=SCHEDULE_VALID,
        status=unusable is None,
        reason="InvalidSchedule" if unusable else "Valid",
        message=f"spec.schedule: {unusable}" if unusable else "The schedule can start runs",
        generation=generation,
        now=now,
    )
    return conds, f"spec.schedule: {unusable}" if unusable else None


async def resync(op: Operator, body: Mapping[str, Any]) -> None:
    """Refresh OCI state, delete retired jobs once their runs finished, count runs."""
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    status = dict(body.get("status") or {})
    if not status.get("ocid"):
        return
    raw = dict(body.get("spec") or {})
    notes: list[tuple[str, str]] = []
    try:
        port = await port_for(op, namespace, raw_secret(raw), raw.get("region"))
        job = await port.get_job(job_id=status["ocid"])
        patch: dict[str, Any] = {
            "lifecycleState": job.lifecycle_state,
            "lifecycleDetails": job.lifecycle_details or None,
        }
        runs = await kube.list_resources(RUN_PLURAL, namespace)
        if status.get("retiredOcids"):
            notes = await _retire(port, namespace, name, job.compartment_id, runs)
        runs, pruned = await _prune_history(raw, runs, namespace, name)
        notes.extend(pruned)
        patch["runs"] = run_summary(runs, name)
        valid = get_condition(status.get("conditions"), SCHEDULE_VALID)
        if (
            job.lifecycle_state != status.get("lifecycleState")
            and (valid or {}).get("status") != "False"
        ):  # an unusable schedule keeps Ready False until the spec is fixed
            patch["conditions"] = set_condition(
                status.get("conditions"),
                type="Ready",
                status=job.lifecycle_state == "ACTIVE",
                reason=job.lifecycle_state,
                message=job.lifecycle_details or f"OCI job {job.lifecycle_state}",
                now=utcnow(),
            )
        if any(status.get(k) != v for k, v in patch.items()):  # no write when nothing moved
            await kube.patch_status(JOB_PLURAL, namespace, name, patch)
    except OciError as exc:
        log.warning("resync of %s/%s: %s", namespace, name, exc.summary())
        return
    for reason, message in notes:
        await events.post(events.reference(body), reason=reason, message=message)


async def _retire(
    port: OciPort, namespace: str, name: str, compartment_id: str, runs: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Delete the retired jobs no run resource refers to any more; their Events.

    Any run resource naming a retired job keeps it: deleting the job deletes its runs in
    OCI, the records (state, logs, console links) the run resources show. Their history
    limits and TTLs decide when they go, then the job goes.

    The reconcile handler may retire another job, or make a retired one current again
    (a spec edited back), while this timer runs: the list is read fresh just before, a
    job current again is never deleted, and the list is written back only onto the
    version it was read from (read again after a conflict).
    """
    fresh = await _fresh_status(namespace, name)
    retired = [o for o in fresh.get("retiredOcids") or [] if o != fresh.get("ocid")]
    kept, notes = await retire_jobs(port, retired, compartment_id, in_use=referenced_jobs(runs))
    gone = set(retired) - set(kept)
    for _ in range(3):
        if not gone:
            break
        obj = await kube.get_resource(JOB_PLURAL, namespace, name)
        if obj is None:
            break
        listed = (obj.get("status") or {}).get("retiredOcids") or []
        try:
            await kube.patch_status(
                JOB_PLURAL,
                namespace,
                name,
                {"retiredOcids": [o for o in listed if o not in gone] or None},
                resource_version=str(obj["metadata"]["resourceVersion"]),
            )
            break
        except Exception as exc:
            if getattr(exc, "status", None) != 409:
                raise
    return notes


async def _fresh_status(namespace: str, name: str) -> dict[str, Any]:
    obj = await kube.get_resource(JOB_PLURAL, namespace, name)
    return dict((obj or {}).get("status") or {})


def referenced_jobs(runs: list[dict[str, Any]]) -> set[str]:
    """The OCI jobs that run resources (finished or not) refer to."""
    return {str(ocid) for r in runs if (ocid := (r.get("status") or {}).get("jobOcid"))}


async def _prune_history(
    raw: Mapping[str, Any], runs: list[dict[str, Any]], namespace: str, name: str
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Delete finished runs beyond the job's history limits; the runs left, and Events."""
    victims = history.to_delete(
        runs,
        name,
        successful_limit=raw.get("successfulRunsHistoryLimit"),
        failed_limit=raw.get("failedRunsHistoryLimit"),
    )
    notes: list[tuple[str, str]] = []
    gone: set[str] = set()
    for victim in victims:
        try:
            deleted = await kube.delete_resource(RUN_PLURAL, namespace, victim.name, victim.uid)
        except Exception as exc:  # e.g. no delete right: the summary must still be written
            log.warning(
                "history limit: could not delete run %s/%s: %s", namespace, victim.name, exc
            )
            continue
        if deleted:
            notes.append(
                (
                    "HistoryLimit",
                    f"Deleted {victim.phase} run {victim.name}: over the history limit",
                )
            )
        gone.add(victim.uid)
    return [r for r in runs if r["metadata"].get("uid") not in gone], notes


async def delete(op: Operator, body: Mapping[str, Any], *, retry: int) -> Outcome:
    """Per deletionPolicy: cancel active runs, delete the OCI jobs with their runs."""
    namespace = body["metadata"]["namespace"]
    raw = dict(body.get("spec") or {})
    status = dict(body.get("status") or {})
    if raw.get("deletionPolicy") == DeletionPolicy.ORPHAN:
        return Done()
    ocids = [o for o in [status.get("ocid"), *(status.get("retiredOcids") or [])] if o]
    if not ocids:
        return Done()
    compartment = ((raw.get("infrastructure") or {}).get("spec") or {}).get("compartmentId")
    try:
        port = await port_for(op, namespace, raw_secret(raw), raw.get("region"))
        if not compartment:
            compartment = (await port.get_job(job_id=ocids[0])).compartment_id
        done, notes = await delete_jobs(port, ocids, compartment)
    except NotFoundError:
        return Done()
    except OciError as exc:
        d = outcomes.disposition(exc, attempt=retry, settings=op.settings)
        return RetryAfter(_delete_retry_delay(d), d.message)
    for reason, message in notes:
        await events.post(events.reference(body), reason=reason, message=message)
    if not done:
        return RetryAfter(
            op.settings.poll_interval, "waiting for OCI to cancel runs and delete the job"
        )
    return Done()


#: The retry delay of a delete whose OCI error is terminal (e.g. a 400): the resource
#: keeps its finalizer, so kopf must try again, but no sooner than a person could have
#: changed something (the credentials, a policy, OCI's state).
TERMINAL_DELETE_RETRY: Final = 60.0


def _delete_retry_delay(disposition: outcomes.Disposition) -> float:
    """A deletion is never given up: a terminal error is retried too, slowly."""
    if isinstance(disposition, outcomes.Retry):
        return disposition.delay
    return TERMINAL_DELETE_RETRY
