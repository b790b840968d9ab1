"""The run plan, step by step: each decision of a pass as a pure function of what the
resource asks for and what the pass has observed (no port, no clock, no event loop)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from ads_operator.models import RunPolicy
from ads_operator.models.oci_records import OciJobRun
from ads_operator.reconcile.conditions import get_condition
from ads_operator.reconcile.run_plan import plan_run
from ads_operator.reconcile.run_step import (
    DesiredRun,
    JobInfo,
    ObservedRun,
    RunStep,
    RunStepKind,
    Waiting,
)
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, at

K = RunStepKind
JOB = JobInfo("ocid1.datasciencejob.oc1.iad.j0", COMPARTMENT, PROJECT)
DESIRED = DesiredRun(
    cancel=False,
    generation=1,
    rules=None,
    region="us-ashburn-1",
    poll_interval=3.0,
    job_wait_timeout=60.0,
)


def oci_run(state: str, details: str = "", **kw: Any) -> OciJobRun:
    fields: dict[str, Any] = {"log_group_id": "lg", "log_id": "l", "time_accepted": at(0)}
    fields.update(kw)
    return OciJobRun("run-1", JOB.ocid, state, COMPARTMENT, lifecycle_details=details, **fields)


def plan(
    status: dict[str, Any] | None = None, desired: DesiredRun = DESIRED, **seen: Any
) -> RunStep:
    return plan_run(desired, ObservedRun(status=status or {}, now=seen.pop("now", at(10)), **seen))


def cond(step: RunStep, kind: str) -> dict[str, Any]:
    assert step.patch is not None
    return dict(get_condition(step.patch["conditions"], kind) or {})


def test_a_new_run_looks_its_job_up_then_marks_then_creates() -> None:
    assert plan().kind is K.LOOK_UP_JOB
    create = plan(job=JOB)
    assert (create.kind, create.patch, create.adopt) == (K.CREATE, {"createRequested": 1}, False)
    # The marker of this attempt is set: an earlier pass may have created the run.
    adopt = plan({"createRequested": 1}, job=JOB)
    assert (adopt.kind, adopt.patch, adopt.adopt) == (K.CREATE, None, True)
    # A marker of an earlier attempt does not count.
    assert plan({"createRequested": 1, "attempt": 2}, job=JOB).patch == {"createRequested": 2}


def test_a_capped_namespace_asks_for_a_slot_and_waits_without_a_time_limit() -> None:
    capped = replace(DESIRED, capped=True)
    assert plan(desired=capped, job=JOB).kind is K.ADMIT
    full = Waiting("WaitingForCapacity", "3 of 3 runs active")
    step = plan(desired=capped, job=JOB, admission=full, now=at(10_000))
    assert (step.kind, step.delay) == (K.WAIT, 3.0)
    assert step.patch is not None
    assert step.patch["phase"] == "Pending"
    assert (cond(step, "Ready")["status"], cond(step, "Ready")["reason"]) == (
        "False",
        "WaitingForCapacity",
    )
    assert plan(desired=capped, job=JOB, admission=True).kind is K.CREATE


def test_a_missing_job_is_waited_for_until_the_job_wait_timeout() -> None:
    wait = Waiting("WaitingForJob", "DataScienceJob 'j' is not Ready")
    step = plan(job=wait, waiting_since=at(0), now=at(59))
    assert (step.kind, step.delay) == (K.WAIT, 3.0)
    assert "fails if not Ready by 2026-11-26T09:01:00Z" in cond(step, "Ready")["message"]
    over = plan(job=wait, waiting_since=at(0), now=at(60))
    assert (over.kind, over.delay) == (K.FINISH, None)
    assert over.patch is not None
    assert over.patch["phase"] == "Failed"
    assert (cond(over, "Failed")["reason"], cond(over, "Terminal")["status"]) == (
        "JobNotReady",
        "True",
    )
    assert over.event is not None
    assert over.event.reason == "JobNotReady"
    assert over.event.warning


def test_a_job_that_can_never_run_fails_the_run_at_once() -> None:
    step = plan(job=Waiting("JobOfOtherNamespace", "no", terminal=True), waiting_since=at(10))
    assert step.kind is K.FINISH
    assert cond(step, "Failed")["reason"] == "JobOfOtherNamespace"
    assert cond(step, "Finished")["status"] == "True"


def test_cancel_before_creation_ends_canceled_and_nothing_is_created_afterwards() -> None:
    step = plan(desired=replace(DESIRED, cancel=True))
    assert step.kind is K.FINISH
    assert step.patch is not None
    assert step.patch["phase"] == "Canceled"
    assert (cond(step, "Failed")["status"], cond(step, "Finished")["reason"]) == (
        "True",
        "Canceled",
    )
    ended = plan({"phase": "Canceled"})
    assert (ended.kind, ended.patch) == (K.FINISH, None)


def test_an_existing_run_is_read_then_a_new_state_is_saved_before_its_log() -> None:
    status = {"ocid": "run-1", "phase": "Pending", "lifecycleState": "ACCEPTED"}
    assert plan(status).kind is K.READ
    running = oci_run("IN_PROGRESS", "running", time_started=at(5))
    save = plan(status, run=running)
    assert save.kind is K.SAVE_STATE
    assert save.patch is not None
    assert save.patch["phase"] == "Running"
    assert save.event is not None
    assert save.event.reason == "IN_PROGRESS"
    saved = {**status, **save.patch}
    logs = plan(saved, run=running, done=frozenset({K.SAVE_STATE}))
    assert (logs.kind, logs.terminal, logs.duration) == (K.READ_LOGS, False, "5s")
    wait = plan(saved, run=running, done=frozenset({K.SAVE_STATE}), logs_complete=False)
    assert (wait.kind, wait.delay) == (K.WAIT, 3.0)
    assert wait.patch is not None
    assert "duration" not in wait.patch
    assert cond(wait, "Logging")["reason"] == "Mirroring"


def test_a_terminal_run_finishes_once_its_log_is_complete() -> None:
    done = oci_run("SUCCEEDED", "ok", time_started=at(1), time_finished=at(4))
    status = {"ocid": "run-1", "phase": "Succeeded", "lifecycleState": "SUCCEEDED"}
    status["lifecycleDetails"] = "ok"
    step = plan(status, run=done)
    assert (step.kind, step.terminal) == (K.READ_LOGS, True)
    assert plan(status, run=done, logs_complete=False).kind is K.WAIT
    finish = plan({**status, "logPending": [{"name": "e"}]}, run=done, logs_complete=True)
    assert finish.kind is K.FINISH
    assert finish.patch is not None
    assert finish.patch["logPending"] is None
    assert cond(finish, "Logging")["reason"] == "Complete"


def test_a_run_without_logging_needs_no_log_step() -> None:
    done = oci_run("SUCCEEDED", time_finished=at(4), log_group_id=None, log_id=None)
    status = {"ocid": "run-1", "phase": "Succeeded", "lifecycleState": "SUCCEEDED"}
    step = plan(status, run=done)
    assert step.kind is K.FINISH
    assert cond(step, "Logging")["reason"] == "LoggingNotConfigured"


def test_spec_cancel_cancels_an_active_run_once_per_pass() -> None:
    desired = replace(DESIRED, cancel=True)
    status = {"ocid": "run-1", "phase": "Running", "lifecycleState": "IN_PROGRESS"}
    running = oci_run("IN_PROGRESS", time_started=at(1))
    step = plan(status, desired, run=running)
    assert step.kind is K.CANCEL
    assert not step.deadline
    assert step.event is not None
    assert step.event.reason == "CancelRequested"
    assert plan(status, desired, run=running, done=frozenset({K.CANCEL})).kind is K.READ_LOGS
    canceling = {**status, "lifecycleState": "CANCELING"}
    assert plan(canceling, desired, run=oci_run("CANCELING")).kind is not K.CANCEL


def test_a_run_gone_from_oci_is_no_longer_synced() -> None:
    step = plan({"ocid": "run-1", "phase": "Running"}, gone=True)
    assert step.kind is K.FINISH
    assert (cond(step, "Synced")["status"], cond(step, "Synced")["reason"]) == (
        "False",
        "NotFound",
    )


def test_the_deadline_cancels_an_active_attempt_and_ends_one_not_started() -> None:
    rules = RunPolicy.model_validate({"activeDeadlineSeconds": 5})
    desired = replace(DESIRED, rules=rules)
    live = {
        "ocid": "run-1",
        "lifecycleState": "IN_PROGRESS",
        "timeAccepted": "2026-11-26T09:00:00Z",
    }
    step = plan(live, desired)
    assert (step.kind, step.deadline) == (K.CANCEL, True)
    assert step.event is not None
    assert step.event.reason == "DeadlineExceeded"
    assert plan(live, desired, done=frozenset({K.CANCEL})).kind is K.READ
    earlier = {"attempt": 2, "attempts": [{"attempt": 1, "timeAccepted": "2026-11-26T09:00:00Z"}]}
    final = plan(earlier, desired)
    assert final.kind is K.FINISH
    assert final.patch is not None
    assert final.patch["phase"] == "Failed"
    assert final.event is not None
    assert "before attempt 2 started" in final.event.message


def test_a_failed_attempt_waits_for_its_backoff_then_is_archived() -> None:
    rules = RunPolicy.model_validate({"backoffLimit": 1, "backoffSeconds": 10})
    desired = replace(DESIRED, rules=rules)
    failed = oci_run("FAILED", "exit code 1", time_finished=at(4), log_group_id=None, log_id=None)
    status = {
        "ocid": "run-1",
        "phase": "Pending",
        "lifecycleState": "FAILED",
        "lifecycleDetails": "exit code 1",
    }
    backoff = plan(status, desired, run=failed, now=at(5))
    assert backoff.kind is K.WAIT
    assert backoff.delay == (at(14) - at(5)).total_seconds()
    assert backoff.patch is not None
    assert backoff.patch["phase"] == "Pending"
    retry = plan(status, desired, run=failed, now=at(4) + timedelta(seconds=10))
    assert (retry.kind, retry.delay) == (K.RETRY, 0.0)
    assert retry.archive is not None
    assert (retry.archive["attempt"], retry.archive["ocid"]) == (2, None)
    assert retry.event is not None
    assert retry.event.reason == "Retrying"


def test_the_last_attempt_failing_finishes_the_run() -> None:
    rules = RunPolicy.model_validate({"backoffLimit": 1})
    failed = oci_run("FAILED", "exit code 1", time_finished=at(4), log_group_id=None, log_id=None)
    status = {"ocid": "run-1", "attempt": 2, "lifecycleState": "FAILED", "phase": "Failed"}
    status["lifecycleDetails"] = "exit code 1"
    step = plan(status, replace(DESIRED, rules=rules), run=failed)
    assert step.kind is K.FINISH
    assert cond(step, "Failed")["reason"] == "ExitCode1"


def test_a_new_state_carries_the_logging_condition_when_the_pass_reads_no_log() -> None:
    """A run not started yet has no log to read: its Logging condition goes with its new
    state, and the pass ends without a second write."""
    status = {"ocid": "run-1", "jobOcid": JOB.ocid}
    accepted = oci_run("ACCEPTED", "Infrastructure provisioning.")
    save = plan(status, run=accepted)
    assert save.kind is K.SAVE_STATE
    assert cond(save, "Logging") == {**cond(save, "Logging"), "reason": "Mirroring"}
    assert save.patch is not None
    wait = plan({**status, **save.patch}, run=accepted, done=frozenset({K.SAVE_STATE}))
    assert wait.kind is K.WAIT
    assert wait.patch is not None
    assert all(
        wait.patch.get(k) == v for k, v in {**status, **save.patch}.items() if k in wait.patch
    )
