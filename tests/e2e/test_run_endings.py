"""Every run ends, so one ``kubectl wait --for=condition=Finished`` is all CI needs: a
run whose job is missing waits at most ``JOB_WAIT_TIMEOUT`` and fails, a run whose job
can never run (Terminal) fails at once with the job's reason, and either way no OCI run
is created."""

from __future__ import annotations

import pytest

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import (
    OperatorFactory,
    OperatorProcess,
    apply,
    condition_of,
    events_of,
    job_run,
    script_configmap,
    script_job,
    status_of,
)

#: Short enough for a test, long enough that a job being created is still waited for.
WAIT = "4"


@pytest.fixture
def impatient(operator_with: OperatorFactory) -> OperatorProcess:
    return operator_with(ADS_OPERATOR_JOB_WAIT_TIMEOUT=WAIT)


def _wait_finished(cluster: Cluster, namespace: str, run: str, operator: OperatorProcess) -> None:
    waited = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Finished",
        f"dsjobrun/{run}",
        "--timeout=90s",
        check=False,
        timeout=120,
    )
    assert waited.returncode == 0, f"{waited.stderr}\n{operator.log}"


def _creates(emulator: EmulatorHandle) -> int:
    counters = emulator.requests(limit=0)["counters"]
    return int(counters.get("CreateJobRun", {}).get("total", 0))


def test_a_run_of_a_missing_job_fails_after_the_job_wait_timeout(
    cluster: Cluster, namespace: str, impatient: OperatorProcess, emulator: EmulatorHandle
) -> None:
    before = _creates(emulator)
    apply(cluster, namespace, job_run("orphan-run", "no-such-job"))
    _wait_finished(cluster, namespace, "orphan-run", impatient)
    status = status_of(cluster, namespace, "dsjobrun", "orphan-run")
    assert status["phase"] == "Failed"
    failed = condition_of(status, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "JobNotFound")
    assert "'no-such-job' not found" in failed["message"]
    assert f"gave up after waiting {WAIT}s" in failed["message"]
    assert condition_of(status, "Finished")["reason"] == "Failed"
    assert condition_of(status, "Succeeded")["status"] == "False"
    reasons = [e["reason"] for e in events_of(cluster, namespace, "orphan-run")]
    assert reasons.count("JobNotFound") == 1
    assert _creates(emulator) == before


@pytest.mark.parametrize(
    ("broken", "reason"),
    [("no-project", "InvalidSpec"), ("no-shape", "OciValidationError")],
)
def test_a_run_of_a_job_that_can_never_run_fails_with_the_jobs_reason(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
    broken: str,
    reason: str,
) -> None:
    job = script_job(broken, script="x.py", log_group=log_group)
    infra = job["spec"]["infrastructure"]["spec"]
    if broken == "no-project":  # the operator refuses it: no projectId to create the job in
        del infra["projectId"]
    else:  # OCI refuses it: CreateJob answers 400
        infra["shapeName"] = "VM.Standard.NoSuchShape"
        del infra["shapeConfigDetails"]
    before = _creates(emulator)
    # The default JOB_WAIT_TIMEOUT (10 minutes) is not what ends these runs.
    apply(
        cluster,
        namespace,
        script_configmap(broken, {"x.py": "print(1)\n"}),
        job,
        job_run(f"{broken}-run", broken),
    )
    _wait_finished(cluster, namespace, f"{broken}-run", operator)
    status = status_of(cluster, namespace, "dsjobrun", f"{broken}-run")
    assert status["phase"] == "Failed"
    failed = condition_of(status, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", reason)
    assert f"DataScienceJob '{broken}' cannot run" in failed["message"]
    assert condition_of(status, "Terminal")["status"] == "True"
    assert _creates(emulator) == before
