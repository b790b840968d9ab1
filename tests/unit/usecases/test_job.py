"""The job use case over the fake ports: creation with its status, conditions and Events;
a crash between CreateJob and the status write; retries (OCI errors, a missing source,
an authorization failure that waits for the Secret to change); Terminal for a spec or a
schedule that cannot work, with no OCI call."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ads_operator.models import JOB_PLURAL
from ads_operator.models.oci_errors import NotAuthorizedError, RetryableError
from ads_operator.reconcile.conditions import get_condition
from ads_operator.settings import Settings
from ads_operator.usecases import job
from ads_operator.usecases.outcome import Done, Failed, RetryAfter
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort
from tests.fixtures.fake_operator import fake_operator

NS = "team-a"
SCRIPT = b"print('hello')\n"


def job_body(**spec_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceJob",
        "metadata": {"name": "hello", "namespace": NS},
        "spec": {
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
                "spec": {"scriptPathURI": "configmap://code/hello.py"},
            },
            **spec_extra,
        },
    }


def cluster(**spec_extra: Any) -> tuple[FakeKube, FakePort, dict[str, Any]]:
    kube, port = FakeKube(), FakePort()
    kube.configmaps[(NS, "code")] = {"hello.py": SCRIPT}
    stored = kube.add(JOB_PLURAL, job_body(**spec_extra))
    return kube, port, stored


def current(kube: FakeKube) -> dict[str, Any]:
    """The job as the apiserver has it now (what kopf hands the next call)."""
    return kube.objects[(JOB_PLURAL, NS, "hello")]


def condition(kube: FakeKube, type_: str) -> tuple[str, str]:
    cond = get_condition(kube.status_of(JOB_PLURAL, NS, "hello").get("conditions"), type_) or {}
    return (str(cond.get("status")), str(cond.get("reason")))


async def test_a_new_job_is_created_once_and_shows_ready_with_its_events() -> None:
    kube, port, _ = cluster()
    op = fake_operator(kube, port)
    assert await job.reconcile(op, current(kube), retry=0) == Done()
    status = kube.status_of(JOB_PLURAL, NS, "hello")
    (made,) = port.jobs.values()
    assert (status["ocid"], status["lifecycleState"]) == (made.id, "ACTIVE")
    assert status["observedGeneration"] == 1
    assert status["artifact"]["fileName"] == "hello.py"
    assert condition(kube, "Ready") == ("True", "Active")
    assert condition(kube, "Synced") == ("True", "Synced")
    assert condition(kube, "Terminal") == ("False", "Valid")
    assert kube.reasons() == ["Created", "Ready"]
    # The OCID was written on its own first, before the artifact upload.
    assert kube.patches[0][2]["ocid"] == made.id
    # The next pass, with the stored status, changes nothing in OCI and says Ready once.
    assert await job.reconcile(op, current(kube), retry=0) == Done()
    assert (port.calls["create_job"], port.calls["create_job_artifact"]) == (1, 1)
    assert kube.reasons() == ["Created", "Ready"]


async def test_a_crash_between_create_job_and_the_status_write_makes_no_second_job() -> None:
    kube, port, _ = cluster()
    op = fake_operator(kube, port)
    await job.reconcile(op, current(kube), retry=0)
    (made,) = port.jobs.values()
    # The status write was lost: the job is back to CREATING without its artifact.
    port.jobs[made.id] = port.answers[made.id]
    del port.artifacts[made.id]
    current(kube).pop("status")
    assert await job.reconcile(op, current(kube), retry=0) == Done()
    assert len(port.jobs) == 1
    assert port.calls["create_job"] == 1  # found by its tags, not created again
    assert kube.status_of(JOB_PLURAL, NS, "hello")["ocid"] == made.id


async def test_an_invalid_spec_is_terminal_without_any_oci_call() -> None:
    kube, port, _ = cluster(runtime={"kind": "runtime", "type": "script", "spec": {}})
    op = fake_operator(kube, port)
    outcome = await job.reconcile(op, current(kube), retry=0)
    assert isinstance(outcome, Failed)
    assert condition(kube, "Terminal") == ("True", "InvalidSpec")
    assert condition(kube, "Ready") == ("False", "InvalidSpec")
    assert kube.reasons() == ["InvalidSpec"]
    assert not port.calls


async def test_a_schedule_that_cannot_work_is_terminal_until_fixed_without_oci() -> None:
    kube, port, _ = cluster(schedule={"cron": "0 2 * * *", "timeZone": "Mars/Olympus"})
    op = fake_operator(kube, port)
    outcome = await job.reconcile(op, current(kube), retry=0)
    assert isinstance(outcome, Failed)
    assert "spec.schedule" in outcome.message
    assert condition(kube, "ScheduleValid") == ("False", "InvalidSchedule")
    assert condition(kube, "Terminal") == ("True", "InvalidSchedule")
    assert not port.calls
    # Fixed: the job is made, ScheduleValid turns True and Terminal False.
    current(kube)["spec"]["schedule"] = {"cron": "0 2 * * *", "timeZone": "Europe/Berlin"}
    assert await job.reconcile(op, current(kube), retry=0) == Done()
    assert condition(kube, "ScheduleValid") == ("True", "Valid")
    assert condition(kube, "Terminal") == ("False", "Valid")
    # Removing the schedule removes its condition.
    del current(kube)["spec"]["schedule"]
    await job.reconcile(op, current(kube), retry=0)
    assert condition(kube, "ScheduleValid") == ("None", "None")


async def test_a_missing_source_waits_and_retries_without_creating() -> None:
    kube, port, _ = cluster()
    kube.configmaps.clear()
    op = fake_operator(kube, port, Settings(poll_interval=2.0))
    outcome = await job.reconcile(op, current(kube), retry=0)
    assert outcome == RetryAfter(10.0, "ConfigMap 'code' not found in namespace 'team-a'")
    assert condition(kube, "Synced") == ("False", "SourceNotFound")
    assert port.calls["create_job"] == 0


async def test_a_retryable_oci_error_backs_off_and_the_next_pass_succeeds() -> None:
    kube, port, _ = cluster()
    op = fake_operator(kube, port)
    port.fail_next["create_job"] = RetryableError("busy", status=503, code="ServiceUnavailable")
    first = await job.reconcile(op, current(kube), retry=0)
    assert isinstance(first, RetryAfter)
    assert first.delay > 0
    assert condition(kube, "Synced")[0] == "False"
    assert kube.events[-1].type == "Warning"
    assert await job.reconcile(op, current(kube), retry=1) == Done()
    assert condition(kube, "Synced") == ("True", "Synced")


class ChangingSecret(FakeKube):
    """The Secret is fixed by a person after the operator has read it ``reads`` times."""

    def __init__(self, reads: int) -> None:
        super().__init__()
        self.reads_left = reads

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        self.reads_left -= 1
        if self.reads_left == 0:
            self.secrets[(namespace, name)] = {"config": b"fixed"}
        return await super().read_secret(namespace, name)


async def test_an_authorization_failure_waits_for_the_secret_and_retries_at_once() -> None:
    kube, port = ChangingSecret(reads=3), FakePort()
    kube.configmaps[(NS, "code")] = {"hello.py": SCRIPT}
    kube.secrets[(NS, "oci")] = {"config": b"wrong"}
    kube.add(JOB_PLURAL, job_body(authSecretRef={"name": "oci"}))
    op = fake_operator(kube, port, Settings(poll_interval=0.01))
    port.fail_next["list_jobs"] = NotAuthorizedError("401 NotAuthenticated")
    outcome = await job.reconcile(op, current(kube), retry=0)
    # The Secret changed on the second look: the retry is now, not in 300 s.
    assert isinstance(outcome, RetryAfter)
    assert outcome.delay == 0.0
    assert kube.calls["read_secret"] == 3  # the port's read, then two looks
    assert condition(kube, "Synced")[0] == "False"
    assert port.calls["create_job"] == 0
    assert await job.reconcile(op, current(kube), retry=1) == Done()


async def test_a_job_still_creating_in_oci_is_retried_with_a_growing_delay() -> None:
    kube, port = FakeKube(), FakePort()
    outside = await port.create_job(
        details={"compartmentId": COMPARTMENT, "projectId": PROJECT}, retry_token="outside"
    )
    kube.add(JOB_PLURAL, {**job_body(), "spec": {"id": outside.id}})
    op = fake_operator(kube, port, Settings(poll_interval=3.0))
    first = await job.reconcile(op, current(kube), retry=0)
    later = await job.reconcile(op, current(kube), retry=3)
    assert isinstance(first, RetryAfter)
    assert isinstance(later, RetryAfter)
    assert later.delay > first.delay
    assert condition(kube, "Ready") == ("False", "Creating")
    port.jobs[outside.id] = replace(port.jobs[outside.id], lifecycle_state="ACTIVE")
    assert await job.reconcile(op, current(kube), retry=0) == Done()
    assert kube.reasons() == ["Ready"]


async def test_a_condition_another_manager_added_during_a_pass_is_kept() -> None:
    """Another field manager adds its own condition while a pass runs (after kopf handed
    the pass the job): the pass's conditions write, computed from the older list, keeps it
    (issue 20; the adapter's JSON patch test and rebase, as FakeKube models them)."""
    kube, port, _ = cluster()
    op = fake_operator(kube, port)
    audited = {"type": "Audited", "status": "True", "reason": "Reviewed", "message": "ok"}
    body = {**current(kube), "status": {}}  # what kopf handed the pass

    def audit_tool_applies(plural: str, namespace: str, name: str) -> None:
        status = kube.objects[(plural, namespace, name)].setdefault("status", {})
        conditions = status.setdefault("conditions", [])
        if audited not in conditions:  # once, before the pass's first status write
            conditions.append(audited)

    kube.before_patch = audit_tool_applies
    assert await job.reconcile(op, body, retry=0) == Done()
    assert condition(kube, "Ready") == ("True", "Active")
    assert condition(kube, "Audited") == ("True", "Reviewed")
