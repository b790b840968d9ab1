"""Runs job plans against the OCI port, persisting every OCID the moment it exists.

``persist`` is a direct status PATCH supplied by the handlers: kopf would apply a
handler's patch only when the handler returns, and a crash in between would lose the
OCID of an object that already exists in OCI. The provenance-tag lookup before every
create is the second line of defence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ads_operator.ads.translate import job_details
from ads_operator.models import DataScienceJobSpec
from ads_operator.models.oci_errors import NotFoundError, RetryableError
from ads_operator.models.oci_records import OciJob
from ads_operator.oci.port import OciPort
from ads_operator.reconcile.identity import provenance, retry_token
from ads_operator.reconcile.job import DesiredJob, JobStep, desired_job, pick_existing, plan_job
from ads_operator.reconcile.lifecycle import (
    JOB_CREATING,
    JOB_DELETING,
    JOB_GONE,
    RUN_ACTIVE,
    RUN_CANCELING,
)
from ads_operator.settings import Settings
from ads_operator.usecases.artifacts import SourceReader, build_artifact

Persist = Callable[[dict[str, Any]], Awaitable[None]]


class JobOutcome(StrEnum):
    READY = "ready"
    PENDING = "pending"  # OCI is still creating it
    FAILED = "failed"  # OCI says FAILED


@dataclass
class JobContext:
    namespace: str
    name: str
    uid: str
    spec: DataScienceJobSpec
    status: dict[str, Any]
    settings: Settings
    port: OciPort
    sources: SourceReader
    persist: Persist
    created: datetime
    region: str = ""
    #: metadata.generation: part of the CreateJob retry token (see :func:`_create`).
    generation: int | None = None
    events: list[tuple[str, str]] = field(default_factory=list)

    async def save(self, patch: dict[str, Any]) -> None:
        self.status.update(patch)
        await self.persist(patch)

    @property
    def console_region(self) -> str:
        """The region console links name: the job's, else the one its calls go to."""
        return self.region or self.port.region


def console_url(kind: str, ocid: str, region: str) -> str:
    suffix = f"?region={region}" if region else ""
    return f"https://cloud.oracle.com/data-science/{kind}/{ocid}{suffix}"


def job_state_fields(job: OciJob, region: str) -> dict[str, Any]:
    return {
        "ocid": job.id,
        "lifecycleState": job.lifecycle_state,
        "lifecycleDetails": job.lifecycle_details or None,
        "consoleUrl": console_url("jobs", job.id, region),
    }


async def _get_job(port: OciPort, ocid: str | None) -> OciJob | None:
    if not ocid:
        return None
    try:
        return await port.get_job(job_id=ocid)
    except NotFoundError:
        return None


async def desired_for(ctx: JobContext) -> DesiredJob:
    """Translate the spec and build the artifact (may read sources)."""
    details = job_details(ctx.spec, region=ctx.region or None, now=ctx.created)
    artifact = await build_artifact(ctx.spec, ctx.sources)
    tags = provenance(
        namespace=ctx.namespace, name=ctx.name, uid=ctx.uid, cluster_id=ctx.settings.cluster_id
    )
    return desired_job(details, artifact, tags)


async def adopt_job(ctx: JobContext) -> JobOutcome:
    """``spec.id`` names an existing OCI job: mirror it, change nothing in OCI.

    An adopted job has no ``specHash`` in status (that is how :func:`ensure_job` knows
    it is not this resource's own). A job this resource made before is retired, as a
    replaced one is: kept while runs refer to it, then deleted."""
    assert ctx.spec.id is not None
    job = await ctx.port.get_job(job_id=ctx.spec.id)
    patch = job_state_fields(job, ctx.console_region)
    own = ctx.status.get("ocid") if ctx.status.get("specHash") else None
    if own and own != job.id:
        retired = [o for o in ctx.status.get("retiredOcids") or [] if o not in (own, job.id)]
        patch["retiredOcids"] = [*retired, own]
        ctx.events.append(("Adopted", f"Adopted OCI job {job.id}; {own} is retired"))
    if ctx.status.get("specHash"):
        patch.update(specHash=None, artifact=None)
    await ctx.save(patch)
    return _outcome(job)


def _outcome(job: OciJob) -> JobOutcome:
    if job.lifecycle_state == "ACTIVE":
        return JobOutcome.READY
    if job.lifecycle_state in JOB_CREATING:
        return JobOutcome.PENDING
    return JobOutcome.FAILED


#: How many replayed answers naming a deleted job one create follows before giving up.
MAX_REPLAYS = 5


async def _create(ctx: JobContext, desired: DesiredJob) -> OciJob:
    """Find the job an interrupted attempt made, or create it (idempotent on the token).

    The ``opc-retry-token`` makes a CreateJob repeated after a crash or a lost answer
    return the first job instead of making a second. It is derived from the UID, the
    generation and the hash of the whole request (the same token with another body is a
    409 in OCI), so a later revision, even one that reverts the spec, sends a new token.
    OCI replays a token's first answer for 24 hours however the job has fared since; an
    answer naming a job that is DELETED or DELETING is therefore never taken for a new
    one: the token moves on to one derived from that job's OCID. The chain is the same on
    every attempt, so a crash anywhere in it still makes no duplicate.
    """
    details = desired.details
    existing = pick_existing(
        await ctx.port.list_jobs(
            compartment_id=details["compartmentId"], project_id=details.get("projectId")
        ),
        uid=ctx.uid,
        replace_hash=desired.replace_hash,
    )
    if existing is not None:
        return existing
    parts = ["job", ctx.uid, str(ctx.generation or 0), desired.spec_hash]
    for _ in range(MAX_REPLAYS):
        job = await ctx.port.create_job(details=details, retry_token=retry_token(*parts))
        current = await _get_job(ctx.port, job.id)
        if current is None or current.lifecycle_state not in JOB_GONE | JOB_DELETING:
            # Not readable yet (eventual consistency) is not gone: trust the answer.
            ctx.events.append(("Created", f"Created OCI job {job.id}"))
            return current or job
        parts.append(job.id)
    raise RetryableError(
        f"CreateJob answered {MAX_REPLAYS} times with a job that is already deleted",
        operation="create_job",
        code="ReplayedDeletedJob",
    )


async def ensure_job(ctx: JobContext, desired: DesiredJob) -> JobOutcome:
    """Drive the OCI job towards the desired one; returns where it stands."""
    # An OCID without a spec hash is a job adopted by spec.id, which has been removed
    # since: not this resource's to use, change or retire. It makes a job of its own.
    own = ctx.status.get("ocid") if ctx.status.get("specHash") else None
    observed = await _get_job(ctx.port, own)
    for _ in range(8):
        artifact_status = ctx.status.get("artifact") or {}
        uploaded = desired.artifact is None or (
            observed is not None
            and (
                artifact_status.get("sha256") == desired.artifact.sha256
                or observed.lifecycle_state not in JOB_CREATING
                or await ctx.port.has_job_artifact(job_id=observed.id)
            )
        )
        step = plan_job(
            desired=desired,
            recorded_hash=ctx.status.get("specHash"),
            observed=observed,
            artifact_uploaded=uploaded,
        )
        if step in (JobStep.CREATE, JobStep.REPLACE):
            old = ctx.status.get("ocid") if step is JobStep.REPLACE else None
            observed = await _create(ctx, desired)
            patch: dict[str, Any] = {
                **job_state_fields(observed, ctx.console_region),
                "specHash": desired.spec_hash,
                "artifact": None,
            }
            # A retired job the spec returned to (still kept for its runs) is current again.
            retired = [
                o for o in ctx.status.get("retiredOcids") or [] if o not in (old, observed.id)
            ]
            if old and old != observed.id:
                retired.append(old)
                ctx.events.append(("Replaced", f"New OCI job {observed.id}; {old} is retired"))
            if retired != (ctx.status.get("retiredOcids") or []):
                patch["retiredOcids"] = retired or None
            await ctx.save(patch)
        elif step is JobStep.UPLOAD:
            assert observed is not None
            assert desired.artifact is not None
            art = desired.artifact
            await ctx.port.create_job_artifact(
                job_id=observed.id,
                file_name=art.file_name,
                content=art.content,
                retry_token=retry_token("artifact", ctx.uid, observed.id, art.sha256),
            )
            await ctx.save(
                {"artifact": {"fileName": art.file_name, "sha256": art.sha256, "size": art.size}}
            )
            observed = await ctx.port.get_job(job_id=observed.id)
        elif step is JobStep.UPDATE:
            assert observed is not None
            observed = await ctx.port.update_job(
                job_id=observed.id, details=desired.update_details()
            )
            ctx.events.append(("Updated", f"Updated OCI job {observed.id} in place"))
            await ctx.save(
                {**job_state_fields(observed, ctx.console_region), "specHash": desired.spec_hash}
            )
        else:
            assert observed is not None
            await ctx.save(job_state_fields(observed, ctx.console_region))
            if step is JobStep.WAIT:
                return JobOutcome.PENDING
            if step is JobStep.FAILED:
                return JobOutcome.FAILED
            return JobOutcome.READY
    return JobOutcome.PENDING


async def retire_jobs(
    port: OciPort,
    retired: list[str],
    compartment_id: str,
    *,
    in_use: Collection[str] = (),
) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete retired OCI jobs without an active run; returns those kept.

    ``in_use`` are jobs that run resources refer to: their OCI runs are the records those
    resources show (state, logs, console links), so the job, whose deletion deletes its
    runs, stays until the last such resource is gone.
    """
    kept: list[str] = []
    notes: list[tuple[str, str]] = []
    for ocid in retired:
        if ocid in in_use:
            kept.append(ocid)
            continue
        try:
            runs = await port.list_job_runs(compartment_id=compartment_id, job_id=ocid)
            if any(r.lifecycle_state in RUN_ACTIVE for r in runs):
                kept.append(ocid)
                continue
            await port.delete_job(job_id=ocid, delete_related_job_runs=True)
            notes.append(("Retired", f"Deleted retired OCI job {ocid}"))
        except NotFoundError:
            continue
    return kept, notes


async def delete_jobs(
    port: OciPort, ocids: list[str], compartment_id: str
) -> tuple[bool, list[tuple[str, str]]]:
    """Cancel active runs, then delete each job with its runs. True once all are gone."""
    done = True
    events: list[tuple[str, str]] = []
    for ocid in ocids:
        job = await _get_job(port, ocid)
        if job is None or job.lifecycle_state in JOB_GONE:
            continue
        done = False
        if job.lifecycle_state == "DELETING":
            continue
        runs = await port.list_job_runs(compartment_id=compartment_id, job_id=ocid)
        active = [r for r in runs if r.lifecycle_state in RUN_ACTIVE]
        for run in active:
            if run.lifecycle_state not in RUN_CANCELING:
                try:
                    await port.cancel_job_run(run_id=run.id)
                    events.append(("CancelingRun", f"Canceling OCI run {run.id} of job {ocid}"))
                except NotFoundError:
                    pass
        if active:
            continue
        try:
            await port.delete_job(job_id=ocid, delete_related_job_runs=True)
            events.append(("Deleting", f"Deleting OCI job {ocid} and its runs"))
        except NotFoundError:
            continue
    return done, events
