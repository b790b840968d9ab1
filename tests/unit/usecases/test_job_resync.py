"""The job's timer and its deletion over the fake ports: the OCI state and run counts
written only when they moved, retired jobs deleted once no run resource names them (the
retired list written onto the version read, again after a 409), history limits, and the
deletion policies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.models.oci_errors import InvalidRequestError, NotAuthorizedError
from ads_operator.reconcile.conditions import get_condition
from ads_operator.settings import Settings
from ads_operator.usecases import job_delete, job_resync
from ads_operator.usecases.outcome import Done, RetryAfter
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort
from tests.fixtures.fake_operator import fake_operator

NS = "team-a"


async def oci_job(port: FakePort, token: str, state: str = "ACTIVE") -> str:
    made = await port.create_job(
        details={"compartmentId": COMPARTMENT, "projectId": PROJECT}, retry_token=token
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


def run(kube: FakeKube, name: str, phase: str, created: str, job_ocid: str = "") -> None:
    status: dict[str, Any] = {"phase": phase}
    if job_ocid:
        status["jobOcid"] = job_ocid
    kube.add(
        RUN_PLURAL,
        {
            "metadata": {"name": name, "namespace": NS, "creationTimestamp": created},
            "spec": {"jobRef": {"name": "hello"}},
            "status": status,
        },
    )


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
    notes = await job_resync.retire(op, port, NS, "hello", COMPARTMENT, runs=[])
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


async def test_a_terminal_oci_error_on_delete_is_retried_slowly_never_given_up() -> None:
    kube, port = FakeKube(), FakePort()
    ocid = await oci_job(port, "a")
    job(kube, {"ocid": ocid})
    port.fail_next["get_job"] = InvalidRequestError("400 bad", status=400)
    outcome = await job_delete.delete(fake_operator(kube, port), stored(kube), retry=0)
    assert outcome == RetryAfter(job_delete.TERMINAL_DELETE_RETRY, outcome.message)
