"""runPolicy end to end: retries as new OCI runs, the deadline, the TTL, and a job's
history limits, against the local control plane, the emulator and the operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import oci

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import (
    COMPARTMENT,
    OperatorProcess,
    apply,
    events_of,
    job_run,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for

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


def wait_condition(cluster: Cluster, namespace: str, run: str, condition: str, op: Any) -> None:
    waited = cluster.kubectl(
        "wait", "-n", namespace, f"--for=condition={condition}", f"dsjobrun/{run}",
        "--timeout=120s", check=False, timeout=150,
    )  # fmt: skip
    assert waited.returncode == 0, f"{waited.stderr}\n{op.log}"


def oci_runs(oci_config: dict[str, str], emulator: EmulatorHandle, job_ocid: str) -> list[Any]:
    client = oci.data_science.DataScienceClient(oci_config, service_endpoint=emulator.endpoint)
    return list(client.list_job_runs(COMPARTMENT, job_id=job_ocid).data)


def test_a_failed_attempt_is_retried_as_a_new_oci_run(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    tmp_path: Path,
    emulator: EmulatorHandle,
    oci_config: dict[str, str],
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("flaky", {"flaky.py": FLAKY}),
        script_job(
            "flaky",
            script="flaky.py",
            log_group=log_group,
            env={"MARKER": str(tmp_path / "attempted")},
            extra_spec={"runPolicy": {"backoffLimit": 2, "backoffSeconds": 1}},
        ),
        job_run("flaky-run", "flaky"),
    )
    wait_condition(cluster, namespace, "flaky-run", "Succeeded", operator)
    status = status_of(cluster, namespace, "dsjobrun", "flaky-run")
    assert status["attempt"] == 2
    attempts: list[dict[str, Any]] = status["attempts"]  # type: ignore[assignment]
    assert len(attempts) == 1
    assert attempts[0]["lifecycleState"] == "FAILED"
    assert attempts[0]["exitCode"] == 1
    assert attempts[0]["ocid"] != status["ocid"]
    runs = oci_runs(oci_config, emulator, str(status["jobOcid"]))
    assert sorted(r.lifecycle_state for r in runs) == ["FAILED", "SUCCEEDED"]
    reasons = [e["reason"] for e in events_of(cluster, namespace, "flaky-run")]
    assert reasons.count("Retrying") == 1
    assert reasons.count("Created") == 2
    # Deleting the run deletes both of its OCI runs (deletionPolicy Delete).
    cluster.kubectl("delete", "-n", namespace, "dsjobrun/flaky-run", "--timeout=60s")

    def all_deleted() -> bool:
        return all(
            r.lifecycle_state == "DELETED"
            for r in oci_runs(oci_config, emulator, str(status["jobOcid"]))
        )

    wait_for(all_deleted, timeout=30, what="both attempts' OCI runs deleted")


def test_backoff_limit_exhausted_fails_the_run_after_the_last_attempt(
    cluster: Cluster, namespace: str, operator: OperatorProcess, log_group: str
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("fails", {"fails.py": FAILS}),
        script_job("fails", script="fails.py", log_group=log_group),
        job_run("fails-run", "fails", runPolicy={"backoffLimit": 1, "backoffSeconds": 0}),
    )
    wait_condition(cluster, namespace, "fails-run", "Failed", operator)
    status = status_of(cluster, namespace, "dsjobrun", "fails-run")
    assert status["phase"] == "Failed"
    assert status["attempt"] == 2
    assert len(status["attempts"]) == 1  # type: ignore[arg-type]
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")  # type: ignore[attr-defined]
    assert failed["reason"] == "ExitCode2"


def test_the_deadline_cancels_the_run_with_a_reason(
    cluster: Cluster, namespace: str, operator: OperatorProcess, log_group: str
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("slow", {"slow.py": SLOW}),
        script_job("slow", script="slow.py", log_group=log_group),
        job_run("slow-run", "slow", runPolicy={"activeDeadlineSeconds": 3, "backoffLimit": 3}),
    )
    wait_condition(cluster, namespace, "slow-run", "Failed", operator)
    status = status_of(cluster, namespace, "dsjobrun", "slow-run")
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")  # type: ignore[attr-defined]
    assert failed["reason"] == "DeadlineExceeded"
    assert status["lifecycleState"] == "CANCELED"
    assert "attempts" not in status  # a deadline is never retried
    reasons = [e["reason"] for e in events_of(cluster, namespace, "slow-run")]
    assert "DeadlineExceeded" in reasons


def test_ttl_deletes_the_finished_run_and_its_oci_run(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    emulator: EmulatorHandle,
    oci_config: dict[str, str],
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("quick", {"quick.py": QUICK}),
        # the TTL comes from the job's defaults; the run sets none of its own
        script_job(
            "quick",
            script="quick.py",
            log_group=None,
            extra_spec={"runPolicy": {"ttlSecondsAfterFinished": 2}},
        ),
        job_run("quick-run", "quick"),
    )
    wait_condition(cluster, namespace, "quick-run", "Succeeded", operator)
    job_ocid = str(status_of(cluster, namespace, "dsjobrun", "quick-run")["jobOcid"])

    def gone() -> bool:
        listed = cluster.kubectl("get", "dsjobrun", "-n", namespace, "-o", "name").stdout
        return "quick-run" not in listed

    wait_for(gone, timeout=60, what=f"the run deleted by its TTL ({operator.log})")
    runs = oci_runs(oci_config, emulator, job_ocid)
    assert [r.lifecycle_state for r in runs] == ["DELETED"]


def test_history_limits_keep_the_newest_finished_runs(
    cluster: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("quick", {"quick.py": QUICK}),
        script_job(
            "quick",
            script="quick.py",
            log_group=None,
            extra_spec={"successfulRunsHistoryLimit": 1},
        ),
    )
    for n in range(3):
        apply(cluster, namespace, job_run(f"quick-{n}", "quick"))
        wait_condition(cluster, namespace, f"quick-{n}", "Succeeded", operator)

    def only_newest() -> list[str] | None:
        listed = cluster.kubectl("get", "dsjobrun", "-n", namespace, "-o", "name").stdout.split()
        return listed if listed == ["datasciencejobrun.ads.oci.dev/quick-2"] else None

    wait_for(only_newest, timeout=60, what=f"older runs removed ({operator.log})")

    def summarised() -> dict[str, Any] | None:
        runs: dict[str, Any] = status_of(cluster, namespace, "dsjob", "quick").get("runs") or {}  # type: ignore[assignment]
        return runs if runs.get("total") == 1 else None

    runs = wait_for(summarised, timeout=30, what="the run summary after cleanup")
    assert runs["lastRun"] == "quick-2"
    assert runs["succeeded"] == 1


def test_a_crash_while_a_retry_waits_neither_loses_nor_doubles_an_attempt(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    tmp_path: Path,
    emulator: EmulatorHandle,
    oci_config: dict[str, str],
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("flaky", {"flaky.py": FLAKY}),
        script_job(
            "flaky",
            script="flaky.py",
            log_group=log_group,
            env={"MARKER": str(tmp_path / "attempted")},
        ),
        job_run("flaky-run", "flaky", runPolicy={"backoffLimit": 3, "backoffSeconds": 5}),
    )

    def retry_pending() -> bool:
        status = status_of(cluster, namespace, "dsjobrun", "flaky-run")
        return status.get("lifecycleState") == "FAILED" and status.get("phase") == "Pending"

    wait_for(retry_pending, timeout=60, what=f"the first attempt to fail ({operator.log})")
    operator.kill()  # SIGKILL while the retry waits for its backoff
    operator.start()
    wait_condition(cluster, namespace, "flaky-run", "Succeeded", operator)
    status = status_of(cluster, namespace, "dsjobrun", "flaky-run")
    assert status["attempt"] == 2
    runs = oci_runs(oci_config, emulator, str(status["jobOcid"]))
    assert sorted(r.lifecycle_state for r in runs) == ["FAILED", "SUCCEEDED"]
