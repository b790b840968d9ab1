"""Failures the operator must survive or report: throttling and outages (retry, honour
retry-after, no duplicates), invalid input (Terminal, no OCI call), OCI validation
errors (Terminal), deleting a live run, and log-Event rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.emulator import OciClients, request_count
from tests.fixtures.operator import OperatorFactory, OperatorProcess
from tests.fixtures.resources import COMPARTMENT, Kube, job_run, script_job, scripted_job
from tests.fixtures.waiting import wait_for


@pytest.fixture
def faults(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    yield emulator
    emulator.clear_faults()


def test_throttled_and_failing_creates_retry_into_exactly_one_job_and_run(
    kube: Kube,
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
    kube.apply(
        *scripted_job("flaky", "print('made it')\n", log_group=log_group),
        job_run("flaky-run", "flaky"),
    )
    kube.wait_reason("dsjob", "flaky", "Synced", reason="Throttled")  # the job reports it
    wait_for(
        lambda: request_count(faults, "CreateJob", status="429") >= 2,
        timeout=60,
        what="CreateJob to be retried after the 429",
    )
    faults.faults({"operations": {"CreateJobRun": {"rate503": 1.0}}})
    kube.wait("dsjob/flaky", "Ready", timeout=90)
    kube.wait_reason("dsjobrun", "flaky-run", "Synced", reason="OciUnavailable")  # the outage
    faults.clear_faults()
    kube.wait("dsjobrun/flaky-run")
    job_ocid = str(kube.status("dsjob", "flaky")["ocid"])
    jobs = [
        j
        for j in oci_clients.data_science.list_jobs(COMPARTMENT).data
        if (j.freeform_tags or {}).get("k8s-namespace") == kube.namespace
    ]
    assert [j.id for j in jobs] == [job_ocid]
    assert len(oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=job_ocid).data) == 1
    synced = kube.condition("dsjobrun", "flaky-run", "Synced")
    assert synced["status"] == "True"


def test_input_only_the_operator_can_judge_is_terminal_without_any_oci_call(
    kube: Kube, operator: OperatorProcess, log_group: str, emulator: EmulatorHandle
) -> None:
    before = request_count(emulator, "CreateJob")
    # ADS lets projectId come from the notebook session's environment; the operator has no
    # such environment, so it must say what is missing instead of calling OCI.
    job = script_job("local", script="x.py", log_group=log_group)
    del job["spec"]["infrastructure"]["spec"]["projectId"]
    kube.apply(job)
    cond = kube.wait_reason("dsjob", "local", "Terminal", status="True")  # for a local path
    assert cond["reason"] == "InvalidSpec"
    assert "projectId" in cond["message"]
    assert request_count(emulator, "CreateJob") == before


def test_oci_validation_errors_are_terminal(
    kube: Kube, operator: OperatorProcess, log_group: str, emulator: EmulatorHandle
) -> None:
    configmap, job = scripted_job("unknown-shape", "print(1)\n", log_group=log_group)
    infra = job["spec"]["infrastructure"]["spec"]
    infra["shapeName"] = "VM.Standard.NoSuchShape"
    del infra["shapeConfigDetails"]
    kube.apply(configmap, job)
    cond = kube.wait_reason("dsjob", "unknown-shape", "Terminal", status="True")  # OCI's 400
    assert cond["reason"] == "OciValidationError"
    assert "CreateJob 400" in cond["message"]
    attempts = request_count(emulator, "CreateJob", status="400")
    assert "OciValidationError" in kube.reasons("unknown-shape")
    # No retry: the count stays where it is while the operator keeps running.
    kube.wait("dsjob/unknown-shape", "Ready", status="False", timeout=10)
    assert request_count(emulator, "CreateJob", status="400") == attempts


def test_deleting_a_live_run_cancels_then_deletes_it(
    kube: Kube, operator: OperatorProcess, log_group: str, oci_clients: OciClients
) -> None:
    busy = "import time\ntime.sleep(120)\n"
    kube.apply(*scripted_job("busy", busy, log_group=log_group), job_run("busy-run", "busy"))
    run_ocid = str(kube.wait_phase("busy-run", "Running")["ocid"])
    kube.kubectl("delete", "dsjobrun", "busy-run", "--timeout=90s", timeout=120)
    assert oci_clients.data_science.get_job_run(run_ocid).data.lifecycle_state == "DELETED"
    job = kube.status("dsjob", "busy")
    assert job["lifecycleState"] == "ACTIVE"


def test_log_event_limits_say_so_once_and_keep_the_tail_complete(
    kube: Kube, operator_with: OperatorFactory, log_group: str
) -> None:
    operator_with(ADS_OPERATOR_LOG_EVENTS_PER_MINUTE_PER_RUN="2", ADS_OPERATOR_LOG_TAIL_LINES="20")
    script = "for i in range(400):\n    print(f'chatty line {i:03d} ' + 'x' * 40)\n"
    kube.apply(
        *scripted_job("chatty", script, log_group=log_group), job_run("chatty-run", "chatty")
    )
    kube.wait("dsjobrun/chatty-run")

    def tail_complete() -> list[str] | None:
        tail = kube.status("dsjobrun", "chatty-run").get("logTail") or []
        lines = [x["message"] for x in tail]
        return lines if lines and lines[-1].startswith("chatty line 399") else None

    lines = wait_for(tail_complete, timeout=30, what="the last line in status.logTail")
    assert [line[:15] for line in lines] == [f"chatty line {i:03d}" for i in range(380, 400)]
    events = kube.events("chatty-run")
    log_events = [e for e in events if e["reason"] == "LogLines"]
    limited = [e for e in events if e["reason"] == "LogEventsLimited"]
    assert len(log_events) == 2
    assert len(limited) == 1
    assert "status.logTail" in str(limited[0]["message"])
    assert all(len(str(e["message"]).encode()) <= 1024 for e in log_events)
