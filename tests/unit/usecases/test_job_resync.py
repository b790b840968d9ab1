"""The job's timer and its deletion over the fake ports: the OCI state and run counts
written only when they moved, retired jobs deleted once no run resource names them (the
retired list written onto the version read, again after a 409), history limits, and the
deletion policies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.models.oci_errors import InvalidRequestError, NotAuthorizedError, NotFoundError
from ads_operator.reconcile.conditions import get_condition
from ads_operator.settings import Settings
from ads_operator.usecases import job_delete, job_resync
from ads_operator.usecases.outcome import Done, RetryAfter
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort
from tests.fixtures.fake_operator import fake_operator

NS = "team-a"
#: A compartment a run resource puts its OCI run in (``spec.compartmentId``): not the job's.
ELSEWHERE = "ocid1.compartment.oc1..elsewhere"


async def oci_job(
    port: FakePort, token: str, state: str = "ACTIVE", compartment: str = COMPARTMENT
) -> str:
    made = await port.create_job(
        details={"compartmentId": compartment, "projectId": PROJECT}, retry_token=token
    )
    port.jobs[made.id] = replace(port.jobs[made.id], lifecycle_state=state)
    return made.id


def job(kube: FakeKube, status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return kube.add(
        JOB_PLURAL,
        {
            "apiVersion": "ads.oci.dev/v1alpha1",
            "kind": "DataScienceJob",
            "metadata": {"name": "hello", "namespace": NS},
            "spec": {"infrastructure": {"spec": {"compartmentId": COMPARTMENT}}, **spec},
            "status": status,
        },
    )


def run(
    kube: FakeKube, name: str, phase: str, created: str, job_ocid: str = "", **spec: Any
) -> None:
    status: dict[str, Any] = {"phase": phase}
    if job_ocid:
        status["jobOcid"] = job_ocid
    kube.add(
        RUN_PLURAL,
        {
            "metadata": {"name": name, "namespace": NS, "creationTimestamp": created},
            "spec": {"jobRef": {"name": "hello"}, **spec},
            "status": status,
        },
    )


async def oci_run(port: FakePort, job_ocid: str, compartment: str) -> str:
    made = await port.create_job_run(
        details={"jobId": job_ocid, "compartmentId": compartment, "projectId": PROJECT},
        retry_token=f"run-{len(port.runs)}",
    )
    return made.id


def stored(kube: FakeKube) -> dict[str, Any]:
    return kube.objects[(JOB_PLURAL, NS, "hello")]


async def test_the_state_and_run_counts_are_written_only_when_they_moved() -> None:
    kube, port = FakeKube(), FakePort()
    ocid = await oci_job(port, "a", "ACTIVE")
    job(kube, {"ocid": ocid, "lifecycleState": "CREATING"})
    run(kube, "r1", "Succeeded", "2026-11-26T09:00:00Z")
    run(kube, "r2", "Running", "2026-11-26T09:01:00Z")
    op = fake_operator(kube, port)
    await job_resync.resync(op, stored(kube))
    status = kube.status_of(JOB_PLURAL, NS, "hello")
    assert status["lifecycleState"] == "ACTIVE"
    assert status["runs"] == {
        "total": 2,
        "active": 1,
        "succeeded": 1,
        "failed": 0,
        "lastRun": "r2",
    }
    ready = get_condition(status["conditions"], "Ready") or {}
    assert (ready["status"], ready["reason"]) == ("True", "Active")
    writes = kube.calls["patch_status"]
    await job_resync.resync(op, stored(kube))
    assert kube.calls["patch_status"] == writes  # nothing moved, nothing written


async def test_an_unusable_schedule_keeps_ready_false_whatever_oci_says() -> None:
    kube, port = FakeKube(), FakePort()
    ocid = await oci_job(port, "a", "ACTIVE")
    invalid = {"type": "ScheduleValid", "status": "False", "reason": "InvalidSchedule"}
    not_ready = {"type": "Ready", "status": "False", "reason": "InvalidSchedule"}
    job(kube, {"ocid": ocid, "lifecycleState": "CREATING", "conditions": [invalid, not_ready]})
    await job_resync.resync(fake_operator(kube, port), stored(kube))
    status = kube.status_of(JOB_PLURAL, NS, "hello")
    assert status["lifecycleState"] == "ACTIVE"
    assert (get_condition(status["conditions"], "Ready") or {})["status"] == "False"


async def test_a_retired_job_goes_once_no_run_resource_names_it() -> None:
    kube, port = FakeKube(), FakePort()
    current, old = await oci_job(port, "a"), await oci_job(port, "b")
    job(kube, {"ocid": current, "lifecycleState": "ACTIVE", "retiredOcids": [old]})
    run(kube, "r1", "Succeeded", "2026-11-26T09:00:00Z", job_ocid=old)
    op = fake_operator(kube, port)
    await job_resync.resync(op, stored(kube))
    assert port.jobs[old].lifecycle_state == "ACTIVE"  # r1 still shows its OCI run
    del kube.objects[(RUN_PLURAL, NS, "r1")]
    await job_resync.resync(op, stored(kube))
    assert port.jobs[old].lifecycle_state == "DELETED"
    assert "retiredOcids" not in kube.status_of(JOB_PLURAL, NS, "hello")
    assert kube.reasons() == ["Retired"]


async def test_a_retired_job_waits_for_its_runs_in_the_compartments_its_runs_name() -> None:
    """The old job's run went to the compartment its resource overrode (the resource is
    gone, a later run names the same compartment): the job stays while that run is active,
    and the pass still writes the status."""
    kube, port = FakeKube(), FakePort()
    current, old = await oci_job(port, "a"), await oci_job(port, "b")
    active = await oci_run(port, old, ELSEWHERE)
    job(kube, {"ocid": current, "lifecycleState": "CREATING", "retiredOcids": [old]})
    run(kube, "later", "Running", "2026-11-26T09:00:00Z", current, compartmentId=ELSEWHERE)
    op = fake_operator(kube, port)
    await job_resync.resync(op, stored(kube))
    assert port.jobs[old].lifecycle_state == "ACTIVE"
    assert port.calls["delete_job"] == 0
    assert kube.status_of(JOB_PLURAL, NS, "hello")["retiredOcids"] == [old]
    assert kube.status_of(JOB_PLURAL, NS, "hello")["lifecycleState"] == "ACTIVE"
    port.move(active, "SUCCEEDED")
    await job_resync.resync(op, stored(kube))
    assert port.jobs[old].lifecycle_state == "DELETED"


async def test_a_job_retired_by_a_new_compartment_waits_for_its_runs_in_the_old_one() -> None:
    kube, port = FakeKube(), FakePort()
    current, old = await oci_job(port, "a"), await oci_job(port, "b", compartment=ELSEWHERE)
    active = await oci_run(port, old, ELSEWHERE)
    job(kube, {"ocid": current, "lifecycleState": "ACTIVE", "retiredOcids": [old]})
    op = fake_operator(kube, port)
    await job_resync.resync(op, stored(kube))
    assert port.jobs[old].lifecycle_state == "ACTIVE"
    assert port.calls["delete_job"] == 0
    port.move(active, "CANCELED")
    await job_resync.resync(op, stored(kube))
    assert port.jobs[old].lifecycle_state == "DELETED"


async def test_a_retired_job_oci_refuses_for_a_run_nobody_names_is_kept_for_later() -> None:
    """No run resource names the compartment of the old job's active run: DeleteJob's 409
    keeps the job listed, and the rest of the pass (the state, the counts) is written."""
    kube, port = FakeKube(), FakePort()
    current, old = await oci_job(port, "a"), await oci_job(port, "b")
    await oci_run(port, old, ELSEWHERE)
    job(kube, {"ocid": current, "lifecycleState": "CREATING", "retiredOcids": [old]})
    await job_resync.resync(fake_operator(kube, port), stored(kube))
    assert port.calls["delete_job"] == 1
    assert port.jobs[old].lifecycle_state == "ACTIVE"
    status = kube.status_of(JOB_PLURAL, NS, "hello")
    assert (status["retiredOcids"], status["lifecycleState"]) == ([old], "ACTIVE")


async def test_the_retired_list_is_written_onto_the_version_read_and_read_again_on_409() -> None:
    """The reconcile handler changes the retired list while the timer works from an older
    copy: a job the spec returned to is not deleted, and jobs retired meanwhile stay
    listed (the list is read fresh and written onto the version read)."""
    kube, port = FakeKube(), FakePort()
    a, b, c, d = [await oci_job(port, t) for t in "abcd"]
    # The timer began with b current; since, the spec went back to a, and b is retired.
    job(kube, {"ocid": a, "retiredOcids": [b]})
    first_write = True

    def reconcile_handler_writes(plural: str, namespace: str, name: str) -> None:
        nonlocal first_write
        if first_write:  # c and d retired between the timer's read and its write
            first_write = False
            obj = kube.objects[(plural, namespace, name)]
            obj["status"]["retiredOcids"] = [b, c, d]
            obj["metadata"]["resourceVersion"] += "x"

    kube.before_patch = reconcile_handler_writes
    op = fake_operator(kube, port)
    notes = await job_resync.retire(op, port, NS, "hello", runs=[])
    assert port.jobs[a].lifecycle_state != "DELETED"
    assert port.jobs[b].lifecycle_state == "DELETED"
    assert kube.status_of(JOB_PLURAL, NS, "hello")["retiredOcids"] == [c, d]
    assert kube.calls["patch_status"] == 2  # the 409, then the write onto the new version
    assert notes == [("Retired", f"Deleted retired OCI job {b}")]


async def test_finished_runs_beyond_the_history_limits_are_deleted_newest_kept() -> None:
    kube, port = FakeKube(), FakePort()
    ocid = await oci_job(port, "a")
    job(kube, {"ocid": ocid, "lifecycleState": "ACTIVE"}, successfulRunsHistoryLimit=1)
    run(kube, "old", "Succeeded", "2026-11-26T09:00:00Z")
    run(kube, "new", "Succeeded", "2026-11-26T09:05:00Z")
    run(kube, "failed", "Failed", "2026-11-26T09:01:00Z")
    await job_resync.resync(fake_operator(kube, port), stored(kube))
    assert sorted(n for (p, _, n) in kube.objects if p == RUN_PLURAL) == ["failed", "new"]
    assert kube.status_of(JOB_PLURAL, NS, "hello")["runs"]["total"] == 2
    assert kube.reasons() == ["HistoryLimit"]


async def test_an_oci_failure_in_the_timer_writes_nothing_and_waits_for_the_next_tick() -> None:
    kube, port = FakeKube(), FakePort()
    ocid = await oci_job(port, "a")
    job(kube, {"ocid": ocid, "lifecycleState": "CREATING"})
    port.fail_next["get_job"] = NotAuthorizedError("401")
    await job_resync.resync(fake_operator(kube, port), stored(kube))
    assert kube.calls["patch_status"] == 0


async def test_orphan_leaves_oci_alone() -> None:
    kube, port = FakeKube(), FakePort()
    ocid = await oci_job(port, "a")
    job(kube, {"ocid": ocid}, deletionPolicy="Orphan")
    assert await job_delete.delete(fake_operator(kube, port), stored(kube), retry=0) == Done()
    assert port.jobs[ocid].lifecycle_state == "ACTIVE"
    assert port.calls["delete_job"] == 0


async def test_delete_cancels_active_runs_then_deletes_every_job_until_gone() -> None:
    kube, port = FakeKube(), FakePort()
    current, retired = await oci_job(port, "a"), await oci_job(port, "b")
    active = await port.create_job_run(
        details={"jobId": current, "compartmentId": COMPARTMENT, "projectId": PROJECT},
        retry_token="r",
    )
    job(kube, {"ocid": current, "retiredOcids": [retired]})
    op = fake_operator(kube, port, Settings(poll_interval=2.0))
    first = await job_delete.delete(op, stored(kube), retry=0)
    assert first == RetryAfter(2.0, "waiting for OCI to cancel runs and delete the job")
    assert port.runs[active.id].lifecycle_state == "CANCELING"
    assert port.jobs[current].lifecycle_state == "ACTIVE"
    port.move(active.id, "CANCELED")
    # DeleteJob for both; the next pass sees them DELETED.
    assert isinstance(await job_delete.delete(op, stored(kube), retry=0), RetryAfter)
    assert await job_delete.delete(op, stored(kube), retry=0) == Done()
    assert port.jobs[current].lifecycle_state == port.jobs[retired].lifecycle_state == "DELETED"
    assert "CancelingRun" in kube.reasons()


async def test_delete_cancels_the_runs_in_the_compartments_their_resources_override() -> None:
    kube, port = FakeKube(), FakePort()
    current = await oci_job(port, "a")
    far = await oci_run(port, current, ELSEWHERE)
    job(kube, {"ocid": current})
    run(kube, "far", "Running", "2026-11-26T09:00:00Z", current, compartmentId=ELSEWHERE)
    op = fake_operator(kube, port, Settings(poll_interval=2.0))
    first = await job_delete.delete(op, stored(kube), retry=0)
    assert first == RetryAfter(2.0, "waiting for OCI to cancel runs and delete the job")
    assert port.runs[far].lifecycle_state == "CANCELING"
    assert port.calls["delete_job"] == 0
    port.move(far, "CANCELED")
    assert isinstance(await job_delete.delete(op, stored(kube), retry=0), RetryAfter)
    assert await job_delete.delete(op, stored(kube), retry=0) == Done()
    assert port.jobs[current].lifecycle_state == port.runs[far].lifecycle_state == "DELETED"


async def test_a_compartment_a_run_names_but_oci_refuses_to_list_does_not_end_the_delete() -> None:
    kube, port = FakeKube(), FakePort()
    current = await oci_job(port, "a")
    job(kube, {"ocid": current})
    run(kube, "refused", "Failed", "2026-11-26T09:00:00Z", compartmentId=ELSEWHERE)
    real_list = port.list_job_runs

    async def listing(*, compartment_id: str, job_id: str) -> list[Any]:
        if compartment_id == ELSEWHERE:
            raise NotFoundError("404", status=404, code="NotAuthorizedOrNotFound")
        return await real_list(compartment_id=compartment_id, job_id=job_id)

    port.list_job_runs = listing  # type: ignore[method-assign]
    op = fake_operator(kube, port)
    assert isinstance(await job_delete.delete(op, stored(kube), retry=0), RetryAfter)
    assert await job_delete.delete(op, stored(kube), retry=0) == Done()
    assert port.jobs[current].lifecycle_state == "DELETED"


async def test_a_terminal_oci_error_on_delete_is_retried_slowly_never_given_up() -> None:
    kube, port = FakeKube(), FakePort()
    ocid = await oci_job(port, "a")
    job(kube, {"ocid": ocid})
    port.fail_next["get_job"] = InvalidRequestError("400 bad", status=400)
    outcome = await job_delete.delete(fake_operator(kube, port), stored(kube), retry=0)
    assert outcome == RetryAfter(job_delete.TERMINAL_DELETE_RETRY, outcome.message)
