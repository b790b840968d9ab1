"""The job plan and its executor against an in-memory port: exactly-once creation,
recovery after a lost status, update in place versus replacement, retirement, deletion."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ads_operator.ads.artifacts import Artifact, SourceFiles
from ads_operator.ads.sources import Source
from ads_operator.models import DataScienceJobSpec, DataScienceJobStatus
from ads_operator.models.oci_errors import RetryableError
from ads_operator.models.oci_records import OciJob
from ads_operator.reconcile.identity import TAG_NAMESPACE, TAG_SPEC, TAG_UID
from ads_operator.reconcile.job import JobStep, desired_job, plan_job
from ads_operator.settings import Settings
from ads_operator.usecases.job_delete import delete_jobs
from ads_operator.usecases.job_executor import (
    MAX_REPLAYS,
    JobContext,
    JobOutcome,
    adopt_job,
    desired_for,
    ensure_job,
)
from ads_operator.usecases.job_resync import referenced_jobs, retire_jobs
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, T0, FakePort

SCRIPT = b"print('hello')\n"


class Files:
    def __init__(self, content: bytes = SCRIPT) -> None:
        self.content = content

    async def read(self, source: Source) -> SourceFiles:
        return SourceFiles(name="hello.py", files={"hello.py": self.content}, is_folder=False)


def job_spec(**runtime_extra: Any) -> DataScienceJobSpec:
    return DataScienceJobSpec.model_validate(
        {
            "name": "hello",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": COMPARTMENT,
                    "projectId": PROJECT,
                    "shapeName": "VM.Standard2.1",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "script",
                "spec": {"scriptPathURI": "configmap://code/hello.py", **runtime_extra},
            },
        }
    )


class Saved:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    async def __call__(self, patch: dict[str, Any]) -> None:
        self.patches.append(dict(patch))


def context(
    port: FakePort,
    spec: DataScienceJobSpec,
    status: DataScienceJobStatus | dict[str, Any] | None = None,
    files: Files | None = None,
) -> tuple[JobContext, Saved]:
    saved = Saved()
    ctx = JobContext(
        namespace="team-a",
        name="hello",
        uid="uid-1",
        spec=spec,
        status=(
            status
            if isinstance(status, DataScienceJobStatus)
            else DataScienceJobStatus.parse(status)
        ),
        settings=Settings(),
        port=port,
        sources=files or Files(),
        persist=saved,
        created=T0,
    )
    return ctx, saved


async def test_creates_the_job_and_uploads_the_artifact_once() -> None:
    port = FakePort()
    ctx, saved = context(port, job_spec())
    outcome = await ensure_job(ctx, await desired_for(ctx))
    assert outcome is JobOutcome.READY
    assert port.calls["create_job"] == 1
    assert port.calls["create_job_artifact"] == 1
    (job,) = port.jobs.values()
    assert port.artifacts[job.id] == ("hello.py", SCRIPT)
    # The OCID was persisted in the first patch, before the artifact upload.
    assert saved.patches[0]["ocid"] == job.id
    assert job.freeform_tags[TAG_UID] == "uid-1"
    assert job.freeform_tags[TAG_NAMESPACE] == "team-a"
    # A second pass with the saved status changes nothing in OCI.
    again, _ = context(port, job_spec(), ctx.status)
    assert await ensure_job(again, await desired_for(again)) is JobOutcome.READY
    assert port.calls["create_job"] == 1
    assert port.calls["create_job_artifact"] == 1


async def test_a_lost_status_finds_the_job_by_its_tags_instead_of_creating_another() -> None:
    port = FakePort()
    ctx, _ = context(port, job_spec())
    desired = await desired_for(ctx)
    # A crash right after CreateJob: the job exists (CREATING, no artifact), status is empty.
    await port.create_job(details=desired.details, retry_token="from-an-earlier-life")
    fresh, _ = context(port, job_spec())
    assert await ensure_job(fresh, desired) is JobOutcome.READY
    assert len(port.jobs) == 1
    assert port.calls["create_job"] == 1
    assert port.calls["create_job_artifact"] == 1


async def test_new_script_content_replaces_the_job_and_retires_the_old_one() -> None:
    port = FakePort()
    ctx, _ = context(port, job_spec())
    await ensure_job(ctx, await desired_for(ctx))
    old = ctx.status.ocid
    changed, _ = context(port, job_spec(), ctx.status, files=Files(b"print('bye')\n"))
    assert await ensure_job(changed, await desired_for(changed)) is JobOutcome.READY
    assert changed.status.ocid != old
    assert changed.status.retired_ocids == [old]
    assert len(port.jobs) == 2
    assert (
        port.jobs[changed.status.ocid].freeform_tags[TAG_SPEC]
        != port.jobs[old].freeform_tags[TAG_SPEC]
    )


async def test_a_display_name_change_updates_in_place() -> None:
    port = FakePort()
    ctx, _ = context(port, job_spec())
    await ensure_job(ctx, await desired_for(ctx))
    renamed_spec = job_spec()
    renamed_spec.name = "hello-renamed"
    renamed, _ = context(port, renamed_spec, ctx.status)
    assert await ensure_job(renamed, await desired_for(renamed)) is JobOutcome.READY
    assert port.calls["update_job"] == 1
    assert port.calls["create_job"] == 1
    assert renamed.status.ocid == ctx.status.ocid


async def test_retired_jobs_wait_for_their_active_runs() -> None:
    port = FakePort()
    job = await port.create_job(
        details={"compartmentId": COMPARTMENT, "projectId": PROJECT}, retry_token="x"
    )
    run = await port.create_job_run(
        details={"jobId": job.id, "compartmentId": COMPARTMENT, "projectId": PROJECT},
        retry_token="r",
    )
    kept, _ = await retire_jobs(port, [job.id])
    assert kept == [job.id]
    assert port.jobs[job.id].lifecycle_state == "CREATING"
    port.move(run.id, "SUCCEEDED")
    kept, notes = await retire_jobs(port, [job.id])
    assert kept == []
    assert port.jobs[job.id].lifecycle_state == "DELETED"
    assert notes[0][0] == "Retired"


async def test_deleting_cancels_active_runs_first_then_deletes_job_and_runs() -> None:
    port = FakePort()
    job = await port.create_job(
        details={"compartmentId": COMPARTMENT, "projectId": PROJECT}, retry_token="x"
    )
    run = await port.create_job_run(
        details={"jobId": job.id, "compartmentId": COMPARTMENT, "projectId": PROJECT},
        retry_token="r",
    )
    done, _ = await delete_jobs(port, [job.id])
    assert not done
    assert port.runs[run.id].lifecycle_state == "CANCELING"
    assert port.calls["delete_job"] == 0
    port.move(run.id, "CANCELED")
    done, _ = await delete_jobs(port, [job.id])
    assert not done  # DeleteJob accepted; gone only once OCI says so
    done, _ = await delete_jobs(port, [job.id])
    assert done
    assert port.runs[run.id].lifecycle_state == "DELETED"
    assert port.calls["delete_job"] == 1


def test_plan_waits_while_creating_and_reports_failed_jobs() -> None:
    artifact = Artifact.of("a.py", b"x")
    desired = desired_job({"compartmentId": COMPARTMENT, "projectId": PROJECT}, artifact, {})
    creating = OciJob("j", "CREATING", COMPARTMENT, PROJECT)
    failed = OciJob("j", "FAILED", COMPARTMENT, PROJECT)
    kw: dict[str, Any] = {"desired": desired, "recorded_hash": desired.spec_hash}
    assert plan_job(observed=None, artifact_uploaded=False, **kw) is JobStep.CREATE
    assert plan_job(observed=creating, artifact_uploaded=False, **kw) is JobStep.UPLOAD
    assert plan_job(observed=creating, artifact_uploaded=True, **kw) is JobStep.WAIT
    assert plan_job(observed=failed, artifact_uploaded=True, **kw) is JobStep.FAILED
    gone = OciJob("j", "DELETED", COMPARTMENT, PROJECT)
    assert plan_job(observed=gone, artifact_uploaded=True, **kw) is JobStep.CREATE


async def test_a_retired_job_followed_by_a_run_resource_is_kept() -> None:
    port = FakePort()
    job = await port.create_job(
        details={"compartmentId": COMPARTMENT, "projectId": PROJECT}, retry_token="x"
    )
    kept, _ = await retire_jobs(port, [job.id], COMPARTMENT, in_use={job.id})
    assert kept == [job.id]
    assert port.calls["delete_job"] == 0


async def _revise(
    port: FakePort,
    status: DataScienceJobStatus | dict[str, Any],
    env: str,
    generation: int,
    name: str = "hello",
) -> tuple[JobContext, JobOutcome]:
    spec = job_spec(env=[{"name": "V", "value": env}])
    spec.name = name
    ctx, _ = context(port, spec, status)
    ctx.generation = generation
    return ctx, await ensure_job(ctx, await desired_for(ctx))


async def test_reverting_to_a_spec_whose_job_was_deleted_creates_a_live_job() -> None:
    """Issue 17, bug 1: the revert's CreateJob must not be answered with the dead job."""
    port = FakePort()
    first, _ = await _revise(port, {}, "1", generation=1)
    a = first.status.ocid
    second, _ = await _revise(port, first.status, "2", generation=2)
    kept, _ = await retire_jobs(port, second.status.retired_ocids, COMPARTMENT)
    assert kept == []
    assert port.jobs[a].lifecycle_state == "DELETED"
    status = second.status.updated(retired_ocids=None)
    third, outcome = await _revise(port, status, "1", generation=3)
    assert outcome is JobOutcome.READY
    assert third.status.ocid not in (a, second.status.ocid)
    assert port.jobs[third.status.ocid].lifecycle_state == "ACTIVE"
    assert [r for r, _ in third.events].count("Created") == 1


async def test_a_replayed_answer_naming_a_deleted_job_moves_the_token_on() -> None:
    """Within one generation too (the job deleted behind the operator's back): the dead
    job's replay is followed by a create under a token derived from it, the same one on
    every attempt, so a crash in between still makes one job."""
    port = FakePort()
    first, _ = await _revise(port, {}, "1", generation=1)
    a = first.status.ocid
    await port.delete_job(job_id=a, delete_related_job_runs=True)
    again, outcome = await _revise(port, first.status, "1", generation=1)
    assert outcome is JobOutcome.READY
    b = again.status.ocid
    assert b != a
    # A crash before the new OCID was saved: the next attempt finds the same job.
    port.jobs[b] = port.answers[b]  # back to CREATING, as right after the create
    del port.artifacts[b]
    retried, _ = await _revise(port, first.status, "1", generation=1)
    assert retried.status.ocid == b
    assert port.calls["create_job"] == 3  # a, the replay of a, b (the lookup found b)


async def test_a_create_that_only_ever_answers_deleted_jobs_is_a_retryable_error() -> None:
    port = FakePort()
    ctx, _ = context(port, job_spec())
    real_create = port.create_job

    async def dead_on_arrival(*, details: dict[str, Any], retry_token: str) -> OciJob:
        job = await real_create(details=details, retry_token=retry_token)
        await port.delete_job(job_id=job.id, delete_related_job_runs=True)
        return job

    port.create_job = dead_on_arrival  # type: ignore[method-assign]
    with pytest.raises(RetryableError) as caught:
        await ensure_job(ctx, await desired_for(ctx))
    assert caught.value.code == "ReplayedDeletedJob"
    assert port.calls["create_job"] == MAX_REPLAYS


async def test_a_create_with_another_display_name_does_not_reuse_the_token() -> None:
    """Same replace hash and generation, another body (a display name is updatable):
    OCI would refuse the first token with a 409."""
    port = FakePort()
    first, _ = await _revise(port, {}, "1", generation=1, name="a")
    second, _ = await _revise(port, first.status, "2", generation=2, name="a")
    await retire_jobs(port, second.status.retired_ocids, COMPARTMENT)
    status = second.status.updated(retired_ocids=None)
    _, outcome = await _revise(port, status, "1", generation=1, name="b")
    assert outcome is JobOutcome.READY


async def test_reverting_while_the_old_job_is_still_kept_makes_it_current_again() -> None:
    port = FakePort()
    first, _ = await _revise(port, {}, "1", generation=1)
    a = first.status.ocid
    second, _ = await _revise(port, first.status, "2", generation=2)
    b = second.status.ocid
    assert second.status.retired_ocids == [a]
    third, outcome = await _revise(port, second.status, "1", generation=3)
    assert outcome is JobOutcome.READY
    assert third.status.ocid == a
    assert third.status.retired_ocids == [b]
    assert port.calls["create_job"] == 2


def test_every_run_resource_naming_a_job_keeps_it_finished_or_not() -> None:
    """Issue 17: a retired job was deleted (with its runs' OCI records) once its runs
    finished, while their DataScienceJobRuns still showed them."""
    runs: list[dict[str, Any]] = [
        {"status": {"jobOcid": "j-running", "phase": "Running"}},
        {"status": {"jobOcid": "j-done", "phase": "Succeeded"}},
        {"status": {"phase": "Pending"}},
        {},
    ]
    assert referenced_jobs(runs) == {"j-running", "j-done"}


async def test_the_console_link_names_the_credentials_region_without_a_spec_region() -> None:
    """Issue 17: without ``spec.region`` (and no operator setting) the link had none."""
    port = FakePort()
    port.region = "eu-frankfurt-1"
    ctx, _ = context(port, job_spec())
    await ensure_job(ctx, await desired_for(ctx))
    assert ctx.status.console_url.endswith(f"{ctx.status.ocid}?region=eu-frankfurt-1")
    ctx.region = "us-phoenix-1"  # spec.region (or the operator's setting) wins
    assert ctx.console_region == "us-phoenix-1"


def _adopting(ocid: str) -> DataScienceJobSpec:
    return DataScienceJobSpec.model_validate({"id": ocid, "deletionPolicy": "Orphan"})


async def test_adopting_retires_the_job_the_resource_made_before() -> None:
    port = FakePort()
    outside = await port.create_job(
        details={"compartmentId": COMPARTMENT, "projectId": PROJECT}, retry_token="outside"
    )
    port.jobs[outside.id] = replace(port.jobs[outside.id], lifecycle_state="ACTIVE")
    ctx, _ = context(port, job_spec())
    await ensure_job(ctx, await desired_for(ctx))
    own = ctx.status.ocid
    adopting, _ = context(port, _adopting(outside.id), ctx.status)
    assert await adopt_job(adopting) is JobOutcome.READY
    assert adopting.status.ocid == outside.id
    assert adopting.status.retired_ocids == [own]
    assert adopting.status.spec_hash is None


async def test_leaving_spec_id_out_again_makes_a_job_of_its_own() -> None:
    """The adopted job is not taken for the resource's own, nor retired (deleted)."""
    port = FakePort()
    outside = await port.create_job(
        details={"compartmentId": COMPARTMENT, "projectId": PROJECT}, retry_token="outside"
    )
    adopting, _ = context(port, _adopting(outside.id))
    await adopt_job(adopting)
    managed, _ = context(port, job_spec(), adopting.status)
    assert await ensure_job(managed, await desired_for(managed)) is JobOutcome.READY
    assert managed.status.ocid != outside.id
    assert not managed.status.retired_ocids
    assert port.jobs[outside.id].lifecycle_state == "CREATING"  # untouched
    assert port.calls["create_job"] == 2  # the outside job, and the resource's own
