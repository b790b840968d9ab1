"""runPolicy end to end: retries as new OCI runs, the deadline, the TTL, and a job's
history limits, against the local control plane, the emulator and the operator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import COMPARTMENT, Kube, condition_of, job_run, scripted_job

#: Fails the first time (it leaves a marker file), succeeds the second. The emulator runs
#: scripts on this machine, so a file is how attempt 2 can know attempt 1 happened.
FLAKY = """import os, sys
marker = os.environ["MARKER"]
if not os.path.exists(marker):
    open(marker, "w").close()
    print("first attempt: failing")
    sys.exit(1)
print("second attempt: fine")
"""
FAILS = "import sys\nprint('always failing')\nsys.exit(2)\n"
SLOW = "import time\nprint('starting', flush=True)\ntime.sleep(120)\n"
QUICK = "print('done')\n"


def oci_runs(oci_clients: OciClients, job_ocid: str) -> list[Any]:
    return list(oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=job_ocid).data)


@pytest.fixture
def flaky(log_group: str, tmp_path: Path) -> Callable[..., list[dict[str, Any]]]:
    """``flaky(**job_options)``: the job "flaky" running FLAKY, its marker in ``tmp_path``."""

    def manifests(**job: Any) -> list[dict[str, Any]]:
        marker = {"MARKER": str(tmp_path / "attempted")}
        return scripted_job("flaky", FLAKY, log_group=log_group, env=marker, **job)

    return manifests


def test_a_failed_attempt_is_retried_as_a_new_oci_run(
    kube: Kube, operator: OperatorProcess, flaky: Callable[..., Any], oci_clients: OciClients
) -> None:
    kube.apply(
        *flaky(extra_spec={"runPolicy": {"backoffLimit": 2, "backoffSeconds": 1}}),
        job_run("flaky-run", "flaky"),
    )
    status = kube.wait("dsjobrun/flaky-run")
    assert status["attempt"] == 2
    attempts: list[dict[str, Any]] = status["attempts"]
    assert len(attempts) == 1
    assert attempts[0]["lifecycleState"] == "FAILED"
    assert attempts[0]["exitCode"] == 1
    assert attempts[0]["ocid"] != status["ocid"]
    runs = oci_runs(oci_clients, str(status["jobOcid"]))
    assert sorted(r.lifecycle_state for r in runs) == ["FAILED", "SUCCEEDED"]
    reasons = kube.reasons("flaky-run")
    assert reasons.count("Retrying") == 1
    assert reasons.count("Created") == 2
    # Deleting the run deletes both of its OCI runs (deletionPolicy Delete).
    kube.kubectl("delete", "dsjobrun/flaky-run", "--timeout=60s")

    def all_deleted() -> bool:
        return all(
            r.lifecycle_state == "DELETED" for r in oci_runs(oci_clients, str(status["jobOcid"]))
        )

    kube.wait_until(all_deleted, "both attempts' OCI runs deleted", timeout=30)


def run_until_failed(kube: Kube, job: str, code: str, log_group: str, **policy: int) -> Any:
    """Run ``code`` as ``<job>-run`` with this runPolicy; its status once Failed."""
    kube.apply(
        *scripted_job(job, code, log_group=log_group),
        job_run(f"{job}-run", job, runPolicy=policy),
    )
    return kube.wait(f"dsjobrun/{job}-run", "Failed")


def test_backoff_limit_exhausted_fails_the_run_after_the_last_attempt(
    kube: Kube, operator: OperatorProcess, log_group: str
) -> None:
    status = run_until_failed(kube, "fails", FAILS, log_group, backoffLimit=1, backoffSeconds=0)
    assert status["phase"] == "Failed"
    assert status["attempt"] == 2
    assert len(status["attempts"]) == 1
    assert condition_of(status, "Failed")["reason"] == "ExitCode2"


def test_the_deadline_cancels_the_run_with_a_reason(
    kube: Kube, operator: OperatorProcess, log_group: str
) -> None:
    status = run_until_failed(
        kube, "slow", SLOW, log_group, activeDeadlineSeconds=3, backoffLimit=3
    )
    assert condition_of(status, "Failed")["reason"] == "DeadlineExceeded"
    assert status["lifecycleState"] == "CANCELED"
    assert "attempts" not in status  # a deadline is never retried
    assert "DeadlineExceeded" in kube.reasons("slow-run")


def test_ttl_deletes_the_finished_run_and_its_oci_run(
    kube: Kube, operator: OperatorProcess, oci_clients: OciClients
) -> None:
    kube.apply(
        # the TTL comes from the job's defaults; the run sets none of its own
        *scripted_job(
            "quick", QUICK, log_group=None, extra_spec={"runPolicy": {"ttlSecondsAfterFinished": 2}}
        ),
        job_run("quick-run", "quick"),
    )
    job_ocid = str(kube.wait("dsjobrun/quick-run")["jobOcid"])
    kube.wait_until(lambda: not kube.exists("dsjobrun", "quick-run"), "the run deleted by its TTL")
    runs = oci_runs(oci_clients, job_ocid)
    assert [r.lifecycle_state for r in runs] == ["DELETED"]


def test_history_limits_keep_the_newest_finished_runs(
    kube: Kube, operator: OperatorProcess
) -> None:
    history = {"successfulRunsHistoryLimit": 1}
    kube.apply(*scripted_job("quick", QUICK, log_group=None, extra_spec=history))
    for n in range(3):
        kube.apply(job_run(f"quick-{n}", "quick"))
        kube.wait(f"dsjobrun/quick-{n}")

    def only_newest() -> list[str] | None:
        listed = kube.kubectl("get", "dsjobrun", "-o", "name").stdout.split()
        return listed if listed == ["datasciencejobrun.ads.oci.dev/quick-2"] else None

    kube.wait_until(only_newest, "older runs removed")

    def summarised() -> dict[str, Any] | None:
        runs: dict[str, Any] = kube.status("dsjob", "quick").get("runs") or {}
        return runs if runs.get("total") == 1 else None

    runs = kube.wait_until(summarised, "the run summary after cleanup", timeout=30)
    assert runs["lastRun"] == "quick-2"
    assert runs["succeeded"] == 1


def test_a_crash_while_a_retry_waits_neither_loses_nor_doubles_an_attempt(
    kube: Kube, operator: OperatorProcess, flaky: Callable[..., Any], oci_clients: OciClients
) -> None:
    kube.apply(
        *flaky(),
        job_run("flaky-run", "flaky", runPolicy={"backoffLimit": 3, "backoffSeconds": 5}),
    )

    def retry_pending() -> bool:
        status = kube.status("dsjobrun", "flaky-run")
        return status.get("lifecycleState") == "FAILED" and status.get("phase") == "Pending"

    kube.wait_until(retry_pending, "the first attempt to fail")
    operator.kill()  # SIGKILL while the retry waits for its backoff
    operator.start()
    status = kube.wait("dsjobrun/flaky-run")
    assert status["attempt"] == 2
    runs = oci_runs(oci_clients, str(status["jobOcid"]))
    assert sorted(r.lifecycle_state for r in runs) == ["FAILED", "SUCCEEDED"]
