"""The operator end to end: real kube-apiserver + etcd, the OCI emulator executing the
scripts, ``ads-operator run`` as a process; driven with kubectl as a user would."""

from __future__ import annotations

import subprocess
import sys

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import (
    COMPARTMENT,
    PROJECT,
    OperatorProcess,
    apply,
    events_of,
    job_run,
    log_lines,
    script_configmap,
    script_job,
    status_of,
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
    cluster: Cluster, namespace: str, operator: OperatorProcess, log_group: str
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("hello", {"hello.py": HELLO}),
        script_job("hello", script="hello.py", log_group=log_group, env={"GREETING": "Howdy"}),
        job_run("hello-run", "hello", args="Kubernetes"),
    )
    waited = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Succeeded",
        "dsjobrun/hello-run",
        "--timeout=120s",
        check=False,
        timeout=150,
    )
    assert waited.returncode == 0, f"{waited.stderr}\n{operator.log}"
    status = status_of(cluster, namespace, "dsjobrun", "hello-run")
    assert status["phase"] == "Succeeded"
    assert status["lifecycleState"] == "SUCCEEDED"
    finished = next(c for c in status["conditions"] if c["type"] == "Finished")  # type: ignore[attr-defined]
    assert (finished["status"], finished["reason"]) == ("True", "Succeeded")
    assert status["exitCode"] == 0
    assert str(status["ocid"]).startswith("ocid1.datasciencejobrun.")
    expected = ["Hello, Kubernetes!", *[f"Howdy line {i}" for i in range(5)]]

    def all_lines_mirrored() -> list[str] | None:
        lines = log_lines(events_of(cluster, namespace, "hello-run"))
        return lines if len(lines) >= len(expected) else None

    lines = wait_for(all_lines_mirrored, timeout=30, what="the script's lines as Events")
    assert [line for line in lines if line in expected] == expected
    assert len(lines) == len(set(lines)), f"a line was mirrored twice: {lines}"
    reasons = [e["reason"] for e in events_of(cluster, namespace, "hello-run")]
    transitions = [r for r in reasons if r in ("ACCEPTED", "IN_PROGRESS", "SUCCEEDED")]
    assert transitions[0] == "ACCEPTED"
    assert transitions[-1] == "SUCCEEDED"
    assert "IN_PROGRESS" in transitions
    # Lines are read once settled, after the transition: the tail as of now (the status
    # is saved before the Events it accounts for are created).
    status = status_of(cluster, namespace, "dsjobrun", "hello-run")
    tail = [x["message"] for x in status["logTail"]]  # type: ignore[attr-defined]
    assert [line for line in tail if line in expected] == expected
    described = cluster.kubectl("describe", "dsjobrun", "hello-run", "-n", namespace).stdout
    shown = described.split("\nEvents:", 1)[1]
    for line in expected:
        assert shown.count(line) == 1, shown
    positions = [shown.index(line) for line in expected]
    assert positions == sorted(positions), shown
    job = status_of(cluster, namespace, "dsjob", "hello")
    assert job["lifecycleState"] == "ACTIVE"
    assert job["artifact"]["fileName"] == "hello.py"  # type: ignore[index]


def test_exit_code_3_fails_with_the_code_in_status_and_reason(
    cluster: Cluster, namespace: str, operator: OperatorProcess, log_group: str
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("fail", {"fail.py": "import sys\nprint('bad input')\nsys.exit(3)\n"}),
        script_job("fail", script="fail.py", log_group=log_group),
        job_run("fail-run", "fail"),
    )
    waited = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Finished",  # true for every ending: one wait is enough
        "dsjobrun/fail-run",
        "--timeout=120s",
        check=False,
        timeout=150,
    )
    assert waited.returncode == 0, f"{waited.stderr}\n{operator.log}"
    status = status_of(cluster, namespace, "dsjobrun", "fail-run")
    assert status["phase"] == "Failed"
    assert status["exitCode"] == 3
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")  # type: ignore[attr-defined]
    assert failed["reason"] == "ExitCode3"
    assert "exit code 3" in failed["message"]


def test_cancel_ends_canceled(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
) -> None:
    script = "import time\nprint('started', flush=True)\ntime.sleep(120)\n"
    apply(
        cluster,
        namespace,
        script_configmap("slow", {"slow.py": script}),
        script_job("slow", script="slow.py", log_group=log_group),
        job_run("slow-run", "slow"),
    )
    wait_for(
        lambda: status_of(cluster, namespace, "dsjobrun", "slow-run").get("phase") == "Running",
        timeout=90,
        what="the run to be Running",
    )
    cluster.kubectl(
        "patch",
        "dsjobrun",
        "slow-run",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"cancel":true}}',
    )
    wait_for(
        lambda: status_of(cluster, namespace, "dsjobrun", "slow-run").get("phase") == "Canceled",
        timeout=90,
        what="the run to be Canceled",
    )
    status = status_of(cluster, namespace, "dsjobrun", "slow-run")
    assert status["lifecycleState"] == "CANCELED"
    reasons = [e["reason"] for e in events_of(cluster, namespace, "slow-run")]
    assert "CancelRequested" in reasons
    assert "CANCELED" in reasons


def test_logs_command_prints_the_runs_lines_in_order(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    operator_env: dict[str, str],
) -> None:
    script = "for i in range(12):\n    print(f'row {i}')\n"
    apply(
        cluster,
        namespace,
        script_configmap("rows", {"rows.py": script}),
        script_job("rows", script="rows.py", log_group=log_group),
        job_run("rows-run", "rows"),
    )
    cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Succeeded",
        "dsjobrun/rows-run",
        "--timeout=120s",
        timeout=150,
    )
    result = subprocess.run(
        [sys.executable, "-m", "ads_operator.cli", "logs", "rows-run", "-n", namespace, "-f"],
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
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    oci_clients: OciClients,
) -> None:
    ds = oci_clients.data_science
    created = ds.create_job(
        {
            "projectId": PROJECT,
            "compartmentId": COMPARTMENT,
            "displayName": "made-outside",
            "jobConfigurationDetails": {"jobType": "DEFAULT"},
            "jobInfrastructureConfigurationDetails": {
                "jobInfrastructureType": "ME_STANDALONE",
                "shapeName": "VM.Standard.E4.Flex",
                "jobShapeConfigDetails": {"ocpus": 1, "memoryInGBs": 16},
                "blockStorageSizeInGBs": 50,
            },
        }
    ).data
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
    apply(
        cluster,
        namespace,
        adopted,
        job_run("via-ref", "adopted"),
        {
            "apiVersion": "ads.oci.dev/v1alpha1",
            "kind": "DataScienceJobRun",
            "metadata": {"name": "via-id"},
            "spec": {"jobId": created.id},
        },
    )
    for run in ("via-ref", "via-id"):
        cluster.kubectl(
            "wait",
            "-n",
            namespace,
            "--for=condition=Succeeded",
            f"dsjobrun/{run}",
            "--timeout=120s",
            timeout=150,
        )
        assert status_of(cluster, namespace, "dsjobrun", run)["jobOcid"] == created.id
    assert status_of(cluster, namespace, "dsjob", "adopted")["ocid"] == created.id
    # The job has no logging: the runs say so instead of showing nothing.
    logging = next(
        c
        for c in status_of(cluster, namespace, "dsjobrun", "via-id")["conditions"]  # type: ignore[attr-defined]
        if c["type"] == "Logging"
    )
    assert logging["reason"] == "LoggingNotConfigured"
    # The job's run summary (the Runs printer column) counts the run that names it.
    wait_for(
        lambda: (
            (status_of(cluster, namespace, "dsjob", "adopted").get("runs") or {}).get("succeeded")
            == 1
        ),
        timeout=30,
        what="the job's run summary",
    )
    # Leaving spec.id out makes a job of the resource's own; the adopted one is not taken
    # for it, nor retired, nor deleted with the resource (deletionPolicy Delete now).
    apply(
        cluster,
        namespace,
        script_configmap("adopted", {"outside.py": "print('own')\n"}),
        script_job("adopted", script="outside.py", log_group=None),
    )

    def own_job() -> str | None:
        status = status_of(cluster, namespace, "dsjob", "adopted")
        ocid = status.get("ocid")
        if ocid in (None, created.id) or status.get("lifecycleState") != "ACTIVE":
            return None
        return str(ocid)

    own = wait_for(own_job, timeout=60, what=f"a job of the resource's own\n{operator.log}")
    assert not status_of(cluster, namespace, "dsjob", "adopted").get("retiredOcids")
    cluster.kubectl("delete", "dsjob", "adopted", "-n", namespace, "--timeout=60s", timeout=90)
    assert ds.get_job(own).data.lifecycle_state == "DELETED"
    assert ds.get_job(created.id).data.lifecycle_state == "ACTIVE"
