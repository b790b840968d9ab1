"""The operator end to end: real kube-apiserver + etcd, the OCI emulator executing the
scripts, ``ads-operator run`` as a process; driven with kubectl as a user would."""

from __future__ import annotations

import subprocess
import sys

from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import (
    Kube,
    condition_of,
    job_run,
    oci_job_details,
    run_of_ocid,
    scripted_job,
)
from tests.fixtures.waiting import wait_for

# The script runs ~2 s so the 0.5 s poll sees IN_PROGRESS (the run's own duration, not a
# test waiting for something).
HELLO = """import os, sys, time
time.sleep(2)
print("Hello, " + (sys.argv[1] if len(sys.argv) > 1 else "world") + "!")
for i in range(5):
    print(f"{os.environ['GREETING']} line {i}")
"""


def test_hello_world_succeeds_with_transition_and_log_events(
    kube: Kube, operator: OperatorProcess, log_group: str
) -> None:
    kube.apply(
        *scripted_job(
            "hello", HELLO, file="hello.py", log_group=log_group, env={"GREETING": "Howdy"}
        ),
        job_run("hello-run", "hello", args="Kubernetes"),
    )
    status = kube.wait("dsjobrun/hello-run")
    assert status["phase"] == "Succeeded"
    assert status["lifecycleState"] == "SUCCEEDED"
    finished = condition_of(status, "Finished")
    assert (finished["status"], finished["reason"]) == ("True", "Succeeded")
    assert status["exitCode"] == 0
    assert str(status["ocid"]).startswith("ocid1.datasciencejobrun.")
    expected = ["Hello, Kubernetes!", *[f"Howdy line {i}" for i in range(5)]]

    def all_lines_mirrored() -> list[str] | None:
        lines = kube.log_lines("hello-run")
        return lines if len(lines) >= len(expected) else None

    lines = wait_for(all_lines_mirrored, timeout=30, what="the script's lines as Events")
    assert [line for line in lines if line in expected] == expected
    assert len(lines) == len(set(lines)), f"a line was mirrored twice: {lines}"
    reasons = kube.reasons("hello-run")
    transitions = [r for r in reasons if r in ("ACCEPTED", "IN_PROGRESS", "SUCCEEDED")]
    assert transitions[0] == "ACCEPTED"
    assert transitions[-1] == "SUCCEEDED"
    assert "IN_PROGRESS" in transitions
    # Lines are read once settled, after the transition: the tail as of now (the status
    # is saved before the Events it accounts for are created).
    tail = [x["message"] for x in kube.status("dsjobrun", "hello-run")["logTail"]]
    assert [line for line in tail if line in expected] == expected
    described = kube.kubectl("describe", "dsjobrun", "hello-run").stdout
    shown = described.split("\nEvents:", 1)[1]
    for line in expected:
        assert shown.count(line) == 1, shown
    positions = [shown.index(line) for line in expected]
    assert positions == sorted(positions), shown
    job = kube.status("dsjob", "hello")
    assert job["lifecycleState"] == "ACTIVE"
    assert job["artifact"]["fileName"] == "hello.py"


def test_exit_code_3_fails_with_the_code_in_status_and_reason(
    kube: Kube, operator: OperatorProcess, log_group: str
) -> None:
    fail = "import sys\nprint('bad input')\nsys.exit(3)\n"
    kube.apply(*scripted_job("fail", fail, log_group=log_group), job_run("fail-run", "fail"))
    status = kube.wait("dsjobrun/fail-run", "Finished")  # true for every ending: one wait
    assert status["phase"] == "Failed"
    assert status["exitCode"] == 3
    failed = condition_of(status, "Failed")
    assert failed["reason"] == "ExitCode3"
    assert "exit code 3" in failed["message"]


def test_cancel_ends_canceled(kube: Kube, operator: OperatorProcess, log_group: str) -> None:
    script = "import time\nprint('started', flush=True)\ntime.sleep(120)\n"
    kube.apply(*scripted_job("slow", script, log_group=log_group), job_run("slow-run", "slow"))
    kube.wait_phase("slow-run", "Running")
    kube.kubectl("patch", "dsjobrun", "slow-run", "--type=merge", "-p", '{"spec":{"cancel":true}}')
    status = kube.wait_phase("slow-run", "Canceled")
    assert status["lifecycleState"] == "CANCELED"
    reasons = kube.reasons("slow-run")
    assert "CancelRequested" in reasons
    assert "CANCELED" in reasons


def test_logs_command_prints_the_runs_lines_in_order(
    kube: Kube, operator: OperatorProcess, log_group: str, operator_env: dict[str, str]
) -> None:
    script = "for i in range(12):\n    print(f'row {i}')\n"
    kube.apply(*scripted_job("rows", script, log_group=log_group), job_run("rows-run", "rows"))
    kube.wait("dsjobrun/rows-run")
    result = subprocess.run(
        [sys.executable, "-m", "ads_operator.cli", "logs", "rows-run", "-n", kube.namespace, "-f"],
        env=operator_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pairs = [line.split(" - ", 1) for line in result.stdout.splitlines()]
    stamps, printed = [p[0] for p in pairs], [p[1] for p in pairs]
    assert [p for p in printed if p.startswith("row ")] == [f"row {i}" for i in range(12)]
    # The states at the times OCI recorded them, in time order with the lines: the run's
    # whole story, its end last (it had finished before the command started).
    assert printed[:2] == ["Job Run ACCEPTED", "Job Run IN_PROGRESS"]
    assert printed[-1].startswith("Job Run SUCCEEDED")
    assert stamps == sorted(stamps)


def test_adopted_and_unmanaged_jobs_run_and_orphan_policy_keeps_oci(
    kube: Kube, operator: OperatorProcess, oci_clients: OciClients
) -> None:
    ds = oci_clients.data_science
    created = ds.create_job(oci_job_details("made-outside")).data
    ds.create_job_artifact(
        created.id, b"print('outside')\n", content_disposition="attachment; filename=outside.py"
    )
    wait_for(
        lambda: ds.get_job(created.id).data.lifecycle_state == "ACTIVE",
        timeout=30,
        what="the outside job to be ACTIVE",
    )
    # The minimal form docs/model.md gives: no infrastructure, no runtime (issue 17).
    adopted = {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceJob",
        "metadata": {"name": "adopted"},
        "spec": {"id": created.id, "deletionPolicy": "Orphan"},
    }
    kube.apply(adopted, job_run("via-ref", "adopted"), run_of_ocid("via-id", created.id))
    for run in ("via-ref", "via-id"):
        assert kube.wait(f"dsjobrun/{run}")["jobOcid"] == created.id
    assert kube.status("dsjob", "adopted")["ocid"] == created.id
    # The job has no logging: the runs say so instead of showing nothing.
    logging = kube.condition("dsjobrun", "via-id", "Logging")
    assert logging["reason"] == "LoggingNotConfigured"
    # The job's run summary (the Runs printer column) counts the run that names it.
    kube.wait_until(
        lambda: (kube.status("dsjob", "adopted").get("runs") or {}).get("succeeded") == 1,
        "the job's run summary",
        timeout=30,
    )
    # Leaving spec.id out makes a job of the resource's own; the adopted one is not taken
    # for it, nor retired, nor deleted with the resource (deletionPolicy Delete now).
    kube.apply(*scripted_job("adopted", "print('own')\n", file="outside.py", log_group=None))

    def own_job() -> str | None:
        status = kube.status("dsjob", "adopted")
        ocid = status.get("ocid")
        if ocid in (None, created.id) or status.get("lifecycleState") != "ACTIVE":
            return None
        return str(ocid)

    own = kube.wait_until(own_job, "a job of the resource's own")
    assert not kube.status("dsjob", "adopted").get("retiredOcids")
    kube.kubectl("delete", "dsjob", "adopted", "--timeout=60s", timeout=90)
    assert ds.get_job(own).data.lifecycle_state == "DELETED"
    assert ds.get_job(created.id).data.lifecycle_state == "ACTIVE"
