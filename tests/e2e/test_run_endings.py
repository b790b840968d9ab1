"""Every run ends, so one ``kubectl wait --for=condition=Finished`` is all CI needs: a
run whose job is missing waits at most ``JOB_WAIT_TIMEOUT`` and fails, a run whose job
can never run (Terminal) fails at once with the job's reason, and either way no OCI run
is created."""

from __future__ import annotations

import pytest

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.emulator import request_count
from tests.fixtures.operator import OperatorFactory, OperatorProcess
from tests.fixtures.resources import Kube, condition_of, job_run, scripted_job

#: Short enough for a test, long enough that a job being created is still waited for.
WAIT = "4"


@pytest.fixture
def impatient(operator_with: OperatorFactory) -> OperatorProcess:
    return operator_with(ADS_OPERATOR_JOB_WAIT_TIMEOUT=WAIT)


def test_a_run_of_a_missing_job_fails_after_the_job_wait_timeout(
    kube: Kube, impatient: OperatorProcess, emulator: EmulatorHandle
) -> None:
    before = request_count(emulator, "CreateJobRun")
    kube.apply(job_run("orphan-run", "no-such-job"))
    status = kube.wait("dsjobrun/orphan-run", "Finished", timeout=90)
    assert status["phase"] == "Failed"
    failed = condition_of(status, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "JobNotFound")
    assert "'no-such-job' not found" in failed["message"]
    assert f"gave up after waiting {WAIT}s" in failed["message"]
    assert condition_of(status, "Finished")["reason"] == "Failed"
    assert condition_of(status, "Succeeded")["status"] == "False"
    assert kube.reasons("orphan-run").count("JobNotFound") == 1
    assert request_count(emulator, "CreateJobRun") == before


@pytest.mark.parametrize(
    ("broken", "reason"),
    [("no-project", "InvalidSpec"), ("no-shape", "OciValidationError")],
)
def test_a_run_of_a_job_that_can_never_run_fails_with_the_jobs_reason(
    kube: Kube,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
    broken: str,
    reason: str,
) -> None:
    configmap, job = scripted_job(broken, "print(1)\n", log_group=log_group)
    infra = job["spec"]["infrastructure"]["spec"]
    if broken == "no-project":  # the operator refuses it: no projectId to create the job in
        del infra["projectId"]
    else:  # OCI refuses it: CreateJob answers 400
        infra["shapeName"] = "VM.Standard.NoSuchShape"
        del infra["shapeConfigDetails"]
    before = request_count(emulator, "CreateJobRun")
    # The default JOB_WAIT_TIMEOUT (10 minutes) is not what ends these runs.
    kube.apply(configmap, job, job_run(f"{broken}-run", broken))
    status = kube.wait(f"dsjobrun/{broken}-run", "Finished", timeout=90)
    assert status["phase"] == "Failed"
    failed = condition_of(status, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", reason)
    assert f"DataScienceJob '{broken}' cannot run" in failed["message"]
    assert condition_of(status, "Terminal")["status"] == "True"
    assert request_count(emulator, "CreateJobRun") == before
