"""Failures the operator must survive or report: throttling and outages (retry, honour
retry-after, no duplicates), invalid input (Terminal, no OCI call), OCI validation
errors (Terminal), deleting a live run, and log-Event rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import (
    COMPARTMENT,
    OperatorProcess,
    apply,
    condition_of,
    events_of,
    job_run,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for


def _count(emulator: EmulatorHandle, operation: str, status: str = "total") -> int:
    counters = emulator.requests(limit=0)["counters"]
    return int(counters.get(operation, {}).get(status, 0))


@pytest.fixture
def faults(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    yield emulator
    emulator.clear_faults()


def test_throttled_and_failing_creates_retry_into_exactly_one_job_and_run(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    faults: EmulatorHandle,
    oci_clients: OciClients,
) -> None:
    faults.faults(
        {
            "operations": {
                "CreateJob": {"rate429": 1.0, "retryAfter": 1},
                "CreateJobRun": {"rate503": 1.0},
            }
        }
    )
    apply(
        cluster,
        namespace,
        script_configmap("flaky", {"flaky.py": "print('made it')\n"}),
        script_job("flaky", script="flaky.py", log_group=log_group),
        job_run("flaky-run", "flaky"),
    )

    def throttled() -> dict[str, str] | None:
        synced = condition_of(status_of(cluster, namespace, "dsjob", "flaky"), "Synced")
        return synced if synced.get("reason") == "Throttled" else None

    wait_for(throttled, timeout=60, what="the job to report throttling")
    wait_for(
        lambda: _count(faults, "CreateJob", "429") >= 2,
        timeout=60,
        what="CreateJob to be retried after the 429",
    )
    faults.faults({"operations": {"CreateJobRun": {"rate503": 1.0}}})
    cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Ready",
        "dsjob/flaky",
        "--timeout=90s",
        timeout=120,
    )

    def unavailable() -> dict[str, str] | None:
        synced = condition_of(status_of(cluster, namespace, "dsjobrun", "flaky-run"), "Synced")
        return synced if synced.get("reason") == "OciUnavailable" else None

    wait_for(unavailable, timeout=60, what="the run to report the outage")
    faults.clear_faults()
    waited = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Succeeded",
        "dsjobrun/flaky-run",
        "--timeout=120s",
        check=False,
        timeout=150,
    )
    assert waited.returncode == 0, f"{waited.stderr}\n{operator.log}"
    job_ocid = str(status_of(cluster, namespace, "dsjob", "flaky")["ocid"])
    jobs = [
        j
        for j in oci_clients.data_science.list_jobs(COMPARTMENT).data
        if (j.freeform_tags or {}).get("k8s-namespace") == namespace
    ]
    assert [j.id for j in jobs] == [job_ocid]
    assert len(oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=job_ocid).data) == 1
    synced = condition_of(status_of(cluster, namespace, "dsjobrun", "flaky-run"), "Synced")
    assert synced["status"] == "True"


def test_input_only_the_operator_can_judge_is_terminal_without_any_oci_call(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
) -> None:
    before = _count(emulator, "CreateJob")
    # ADS lets projectId come from the notebook session's environment; the operator has no
    # such environment, so it must say what is missing instead of calling OCI.
    job = script_job("local", script="x.py", log_group=log_group)
    del job["spec"]["infrastructure"]["spec"]["projectId"]
    apply(cluster, namespace, job)

    def terminal() -> dict[str, str] | None:
        cond = condition_of(status_of(cluster, namespace, "dsjob", "local"), "Terminal")
        return cond if cond.get("status") == "True" else None

    cond = wait_for(terminal, timeout=60, what="a Terminal condition for a local path")
    assert cond["reason"] == "InvalidSpec"
    assert "projectId" in cond["message"]
    assert _count(emulator, "CreateJob") == before


def test_oci_validation_errors_are_terminal(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
) -> None:
    job = script_job("unknown-shape", script="x.py", log_group=log_group)
    infra = job["spec"]["infrastructure"]["spec"]
    infra["shapeName"] = "VM.Standard.NoSuchShape"
    del infra["shapeConfigDetails"]
    apply(cluster, namespace, script_configmap("unknown-shape", {"x.py": "print(1)\n"}), job)

    def terminal() -> dict[str, str] | None:
        cond = condition_of(status_of(cluster, namespace, "dsjob", "unknown-shape"), "Terminal")
        return cond if cond.get("status") == "True" else None

    cond = wait_for(terminal, timeout=60, what="a Terminal condition from OCI's 400")
    assert cond["reason"] == "OciValidationError"
    assert "CreateJob 400" in cond["message"]
    attempts = _count(emulator, "CreateJob", "400")
    reasons = [e["reason"] for e in events_of(cluster, namespace, "unknown-shape")]
    assert "OciValidationError" in reasons
    # No retry: the count stays where it is while the operator keeps running.
    cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Ready=False",
        "dsjob/unknown-shape",
        "--timeout=10s",
    )
    assert _count(emulator, "CreateJob", "400") == attempts


def test_deleting_a_live_run_cancels_then_deletes_it(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    oci_clients: OciClients,
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("busy", {"busy.py": "import time\ntime.sleep(120)\n"}),
        script_job("busy", script="busy.py", log_group=log_group),
        job_run("busy-run", "busy"),
    )
    wait_for(
        lambda: status_of(cluster, namespace, "dsjobrun", "busy-run").get("phase") == "Running",
        timeout=90,
        what="the run to be Running",
    )
    run_ocid = str(status_of(cluster, namespace, "dsjobrun", "busy-run")["ocid"])
    cluster.kubectl("delete", "dsjobrun", "busy-run", "-n", namespace, "--timeout=90s", timeout=120)
    assert oci_clients.data_science.get_job_run(run_ocid).data.lifecycle_state == "DELETED"
    job = status_of(cluster, namespace, "dsjob", "busy")
    assert job["lifecycleState"] == "ACTIVE"


def test_log_event_limits_say_so_once_and_keep_the_tail_complete(
    cluster: Cluster,
    namespace: str,
    operator_crds: None,
    operator_env: dict[str, str],
    log_group: str,
    tmp_path: Path,
) -> None:
    env = {
        **operator_env,
        "ADS_OPERATOR_LOG_EVENTS_PER_MINUTE_PER_RUN": "2",
        "ADS_OPERATOR_LOG_TAIL_LINES": "20",
    }
    operator = OperatorProcess((namespace,), env, tmp_path / "op.log")
    operator.start()
    try:
        script = "for i in range(400):\n    print(f'chatty line {i:03d} ' + 'x' * 40)\n"
        apply(
            cluster,
            namespace,
            script_configmap("chatty", {"chatty.py": script}),
            script_job("chatty", script="chatty.py", log_group=log_group),
            job_run("chatty-run", "chatty"),
        )
        cluster.kubectl(
            "wait",
            "-n",
            namespace,
            "--for=condition=Succeeded",
            "dsjobrun/chatty-run",
            "--timeout=120s",
            timeout=150,
        )

        def tail_complete() -> list[str] | None:
            tail = status_of(cluster, namespace, "dsjobrun", "chatty-run").get("logTail") or []
            assert isinstance(tail, list)
            lines = [x["message"] for x in tail]
            return lines if lines and lines[-1].startswith("chatty line 399") else None

        lines = wait_for(tail_complete, timeout=30, what="the last line in status.logTail")
        assert [line[:15] for line in lines] == [f"chatty line {i:03d}" for i in range(380, 400)]
        events = events_of(cluster, namespace, "chatty-run")
        log_events = [e for e in events if e["reason"] == "LogLines"]
        limited = [e for e in events if e["reason"] == "LogEventsLimited"]
        assert len(log_events) == 2
        assert len(limited) == 1
        assert "status.logTail" in str(limited[0]["message"])
        assert all(len(str(e["message"]).encode()) <= 1024 for e in log_events)
    finally:
        operator.stop()
