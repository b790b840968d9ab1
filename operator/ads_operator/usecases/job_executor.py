"""Runs job plans against the OCI port, persisting every OCID the moment it exists.

``persist`` is a direct status PATCH supplied by the job use case: kopf would apply a
handler's patch only when the handler returns, and a crash in between would lose the
OCID of an object that already exists in OCI. The provenance-tag lookup before every
create is the second line of defence. Retired and deleted jobs: :mod:`.job_resync`,
:mod:`.job_delete`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from ads_operator.ads.translate import job_details
from ads_operator.kube.port import StatusPatch
from ads_operator.models import DataScienceJobSpec, DataScienceJobStatus
from ads_operator.models.oci_errors import NotFoundError, RetryableError
from ads_operator.models.oci_records import OciJob
from ads_operator.oci.port import OciPort
from ads_operator.reconcile.identity import provenance, retry_token
from ads_operator.reconcile.job import DesiredJob, JobStep, desired_job, pick_existing, plan_job
from ads_operator.reconcile.lifecycle import (
    JOB_CREATING,
    JOB_DELETING,
    JOB_GONE,
)
from ads_operator.settings import Settings
from ads_operator.usecases.artifacts import SourceReader, build_artifact

#: Writes a merge patch of the job's ``.status`` (see :meth:`JobContext.save`).
Persist = Callable[[StatusPatch], Awaitable[None]]


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
    status: DataScienceJobStatus
    settings: Settings
    port: OciPort
    sources: SourceReader
    persist: Persist
    created: datetime
    region: str = ""
    #: metadata.generation: part of the CreateJob retry token (see :func:`_create`).
    generation: int | None = None
    events: list[tuple[str, str]] = field(default_factory=list)

    async def save(self, **changes: Any) -> None:
        """Change status fields (by field name) and write what changed, at once."""
        after = self.status.updated(**changes)
        patch = after.patch_from(self.status)
        self.status = after
        if patch:
            await self.persist(patch)

    @property
    def console_region(self) -> str:
        """The region console links name: the job's, else the one its calls go to."""
        return self.region or self.port.region


def console_url(kind: str, ocid: str, region: str) -> str:
    suffix = f"?region={region}" if region else ""
    return f"https://cloud.oracle.com/data-science/{kind}/{ocid}{suffix}"


class JobStateFields(TypedDict):
    """The status fields that mirror the OCI job, by field name (for :meth:`JobContext.save`)."""

    ocid: str
    lifecycle_state: str
    lifecycle_details: str | None
    console_url: str


def job_state_fields(job: OciJob, region: str) -> JobStateFields:
    return {
        "ocid": job.id,
        "lifecycle_state": job.lifecycle_state,
        "lifecycle_details": job.lifecycle_details or None,
        "console_url": console_url("jobs", job.id, region),
    }


async def get_job_or_none(port: OciPort, ocid: str | None) -> OciJob | None:
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
    own = ctx.status.ocid if ctx.status.spec_hash else None
    retired = ctx.status.retired_ocids
    if own and own != job.id:
        retired = [*[o for o in retired or [] if o not in (own, job.id)], own]
        ctx.events.append(("Adopted", f"Adopted OCI job {job.id}; {own} is retired"))
    await ctx.save(
        **job_state_fields(job, ctx.console_region),
        retired_ocids=retired,
        # Not this resource's own job: no spec hash, no artifact of its own.
        spec_hash=None,
        artifact=None,
    )
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
        if existing.id not in (ctx.status.ocid, *(ctx.status.retired_ocids or ())):
            # Neither current nor a retired job the spec returned to: an earlier pass
            # created it and could not save its OCID (the API server failed, the
            # operator crashed). Its Event is this pass's to post, under a fixed name
            # (see usecases.job), so one that pass did post is not posted twice.
            ctx.events.append(("Created", f"Created OCI job {existing.id}"))
        return existing
    parts = ["job", ctx.uid, str(ctx.generation or 0), desired.spec_hash]
    for _ in range(MAX_REPLAYS):
        job = await ctx.port.create_job(details=details, retry_token=retry_token(*parts))
        current = await get_job_or_none(ctx.port, job.id)
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
    own = ctx.status.ocid if ctx.status.spec_hash else None
    observed = await get_job_or_none(ctx.port, own)
    for _ in range(8):
        uploaded = desired.artifact is None or (
            observed is not None
            and (
                (
                    ctx.status.artifact is not None
                    and ctx.status.artifact.sha256 == desired.artifact.sha256
                )
                or observed.lifecycle_state not in JOB_CREATING
                or await ctx.port.has_job_artifact(job_id=observed.id)
            )
        )
        step = plan_job(
            desired=desired,
            recorded_hash=ctx.status.spec_hash,
            observed=observed,
            artifact_uploaded=uploaded,
        )
        if step in (JobStep.CREATE, JobStep.REPLACE):
            old = ctx.status.ocid if step is JobStep.REPLACE else None
            observed = await _create(ctx, desired)
            # A retired job the spec returned to (still kept for its runs) is current again.
            retired = [o for o in ctx.status.retired_ocids or [] if o not in (old, observed.id)]
            if old and old != observed.id:
                retired.append(old)
                ctx.events.append(("Replaced", f"New OCI job {observed.id}; {old} is retired"))
            await ctx.save(
                **job_state_fields(observed, ctx.console_region),
                spec_hash=desired.spec_hash,
                artifact=None,
                retired_ocids=retired or None,
            )
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
                artifact={"file_name": art.file_name, "sha256": art.sha256, "size": art.size}
            )
            observed = await ctx.port.get_job(job_id=observed.id)
        elif step is JobStep.UPDATE:
            assert observed is not None
            observed = await ctx.port.update_job(
                job_id=observed.id, details=desired.update_details()
            )
            ctx.events.append(("Updated", f"Updated OCI job {observed.id} in place"))
            await ctx.save(
                **job_state_fields(observed, ctx.console_region), spec_hash=desired.spec_hash
            )
        else:
            assert observed is not None
            await ctx.save(**job_state_fields(observed, ctx.console_region))
            if step is JobStep.WAIT:
                return JobOutcome.PENDING
            if step is JobStep.FAILED:
                return JobOutcome.FAILED
            return JobOutcome.READY
    return JobOutcome.PENDING
