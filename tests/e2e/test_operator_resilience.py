"""Deletion, replacement and a crash: what must never happen is a duplicate or a leftover
OCI job or run, or a lost or doubled log line. Checked in the emulator through the SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oci_emulator.testing import DEFAULT_REGION, EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import (
    COMPARTMENT,
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

SLOW = "import time\nprint('started', flush=True)\ntime.sleep(120)\n"


def _phase(cluster: Cluster, namespace: str, run: str) -> object:
    return status_of(cluster, namespace, "dsjobrun", run).get("phase")


def test_deleting_a_job_cancels_its_active_run_and_leaves_nothing_in_oci(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    oci_clients: OciClients,
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("slow", {"slow.py": SLOW}),
        script_job("slow", script="slow.py", log_group=log_group),
        job_run("slow-run", "slow"),
    )
    wait_for(
        lambda: _phase(cluster, namespace, "slow-run") == "Running",
        timeout=90,
        what="the run to be Running",
    )
    job_ocid = str(status_of(cluster, namespace, "dsjob", "slow")["ocid"])
    run_ocid = str(status_of(cluster, namespace, "dsjobrun", "slow-run")["ocid"])
    cluster.kubectl("delete", "dsjob", "slow", "-n", namespace, "--wait=false")
    wait_for(
        lambda: (
            cluster.kubectl("get", "dsjob", "slow", "-n", namespace, check=False).returncode != 0
        ),
        timeout=90,
        what=f"the DataScienceJob to be deleted\n{operator.log[-2000:]}",
    )
    ds = oci_clients.data_science
    assert ds.get_job(job_ocid).data.lifecycle_state == "DELETED"
    assert ds.get_job_run(run_ocid).data.lifecycle_state == "DELETED"
    assert all(
        r.lifecycle_state == "DELETED" for r in ds.list_job_runs(COMPARTMENT, job_id=job_ocid).data
    )
    wait_for(
        lambda: _phase(cluster, namespace, "slow-run") == "Canceled",
        timeout=30,
        what="the run resource to record the cancellation",
    )


def test_sigkill_right_after_create_job_run_gives_one_run_and_every_line_once(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
    oci_clients: OciClients,
) -> None:
    script = "import time\ntime.sleep(2)\nfor i in range(20):\n    print(f'line {i}', flush=True)\n"
    apply(
        cluster,
        namespace,
        script_configmap("crash", {"crash.py": script}),
        script_job("crash", script="crash.py", log_group=log_group),
    )
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", "dsjob/crash", "--timeout=60s"
    )
    job_ocid = str(status_of(cluster, namespace, "dsjob", "crash")["ocid"])

    def creates() -> int:
        counters = emulator.requests(limit=0)["counters"]
        return int(counters.get("CreateJobRun", {}).get("total", 0))

    before = creates()
    apply(cluster, namespace, job_run("crash-run", "crash"))
    wait_for(
        lambda: creates() > before,
        timeout=60,
        interval=0.01,
        what="CreateJobRun to reach the emulator",
    )
    operator.kill()
    operator.start()
    waited = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Succeeded",
        "dsjobrun/crash-run",
        "--timeout=120s",
        check=False,
        timeout=150,
    )
    assert waited.returncode == 0, f"{waited.stderr}\n{operator.log}"
    runs = oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=job_ocid).data
    assert len(runs) == 1, [r.id for r in runs]
    expected = [f"line {i}" for i in range(20)]

    def mirrored() -> list[str] | None:
        lines = log_lines(events_of(cluster, namespace, "crash-run"))
        return lines if len(lines) >= len(expected) else None

    lines = wait_for(mirrored, timeout=30, what="all 20 lines as Events")
    assert lines == expected
    tail = status_of(cluster, namespace, "dsjobrun", "crash-run")["logTail"]
    assert [x["message"] for x in tail] == expected  # type: ignore[attr-defined]


def test_editing_the_runtime_makes_a_new_job_and_retires_the_old_once_no_run_refers_to_it(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    oci_clients: OciClients,
) -> None:
    """The old OCI job (and so the OCI records of its runs) stays while a run resource
    refers to it, finished or not (issue 17: editing a job erased its runs' records)."""
    script = "import os, time\ntime.sleep(float(os.environ['NAP']))\nprint('done')\n"
    apply(
        cluster,
        namespace,
        script_configmap("edit", {"edit.py": script}),
        script_job("edit", script="edit.py", log_group=log_group, env={"NAP": "4"}),
        job_run("edit-run-1", "edit"),
    )
    wait_for(
        lambda: _phase(cluster, namespace, "edit-run-1") == "Running",
        timeout=90,
        what="the first run to be Running",
    )
    old = str(status_of(cluster, namespace, "dsjob", "edit")["ocid"])
    old_run = str(status_of(cluster, namespace, "dsjobrun", "edit-run-1")["ocid"])
    apply(
        cluster,
        namespace,
        script_job("edit", script="edit.py", log_group=log_group, env={"NAP": "0"}),
    )

    def replaced() -> str | None:
        status = status_of(cluster, namespace, "dsjob", "edit")
        return str(status["ocid"]) if status.get("ocid") not in (None, old) else None

    new = wait_for(replaced, timeout=60, what="a new OCI job for the edited runtime")
    ds = oci_clients.data_science
    assert ds.get_job(old).data.lifecycle_state == "ACTIVE"  # its run is still going
    assert old in status_of(cluster, namespace, "dsjob", "edit")["retiredOcids"]  # type: ignore[operator]

    def logging_done() -> bool:
        conds: Any = status_of(cluster, namespace, "dsjobrun", "edit-run-1").get("conditions")
        return any(c["type"] == "Logging" and c["reason"] == "Complete" for c in conds or ())

    wait_for(logging_done, timeout=90, what="the first run to finish and read its last lines")
    assert _phase(cluster, namespace, "edit-run-1") == "Succeeded"
    apply(cluster, namespace, job_run("edit-run-2", "edit"))
    cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Succeeded",
        "dsjobrun/edit-run-2",
        "--timeout=90s",
        timeout=120,
    )
    run2 = status_of(cluster, namespace, "dsjobrun", "edit-run-2")
    assert run2["jobOcid"] == new
    assert str(run2["consoleUrl"]).endswith(f"?region={DEFAULT_REGION}")  # the config's
    # A resync that saw both runs finished (it counts them) kept the old job and its run.
    wait_for(
        lambda: (
            (status_of(cluster, namespace, "dsjob", "edit").get("runs") or {}).get(  # type: ignore[union-attr]
                "succeeded"
            )
            == 2
        ),
        timeout=30,
        what="the job's run summary to count both finished runs",
    )
    assert ds.get_job(old).data.lifecycle_state == "ACTIVE"
    assert ds.get_job_run(old_run).data.lifecycle_state == "SUCCEEDED"
    assert old in status_of(cluster, namespace, "dsjob", "edit")["retiredOcids"]  # type: ignore[operator]
    # Once the run resource is gone (by hand here; history limits and TTLs do the same),
    # the retired job goes too.
    cluster.kubectl("delete", "dsjobrun", "edit-run-1", "-n", namespace, "--timeout=60s")
    wait_for(
        lambda: ds.get_job(old).data.lifecycle_state == "DELETED",
        timeout=60,
        what="the retired job to be deleted once no run resource refers to it",
    )
    wait_for(
        lambda: not status_of(cluster, namespace, "dsjob", "edit").get("retiredOcids"),
        timeout=30,
        what="status.retiredOcids to be emptied",
    )
    assert ds.get_job(new).data.lifecycle_state == "ACTIVE"


def test_renaming_a_job_updates_it_in_place(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    oci_clients: OciClients,
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("named", {"n.py": "print(1)\n"}),
        script_job("named", script="n.py", log_group=log_group),
    )
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", "dsjob/named", "--timeout=60s", timeout=90
    )
    ocid = str(status_of(cluster, namespace, "dsjob", "named")["ocid"])
    renamed = script_job("named", script="n.py", log_group=log_group)
    renamed["spec"]["name"] = "named-v2"
    renamed["spec"]["infrastructure"]["spec"]["shapeConfigDetails"]["memoryInGBs"] = 32
    apply(cluster, namespace, renamed)
    ds = oci_clients.data_science
    wait_for(
        lambda: ds.get_job(ocid).data.display_name == "named-v2",
        timeout=60,
        what=f"UpdateJob to rename the OCI job\n{operator.log[-3000:]}",
    )
    job = ds.get_job(ocid).data
    assert job.job_infrastructure_configuration_details.job_shape_config_details.memory_in_gbs == 32
    assert status_of(cluster, namespace, "dsjob", "named")["ocid"] == ocid
    assert not status_of(cluster, namespace, "dsjob", "named").get("retiredOcids")


def test_concurrent_runs_are_polled_in_batches_and_all_complete(
    cluster: Cluster,
    namespace: str,
    operator_crds: None,
    operator_env: dict[str, str],
    log_group: str,
    emulator: EmulatorHandle,
    tmp_path: Path,
) -> None:
    env = {**operator_env, "ADS_OPERATOR_RUN_BATCH_MIN": "2"}
    operator = OperatorProcess((namespace,), env, tmp_path / "op.log")
    operator.start()
    try:
        script = "import sys, time\ntime.sleep(3)\nprint('batch ' + sys.argv[1])\n"
        apply(
            cluster,
            namespace,
            script_configmap("many", {"many.py": script}),
            script_job("many", script="many.py", log_group=log_group),
        )
        cluster.kubectl(
            "wait",
            "-n",
            namespace,
            "--for=condition=Ready",
            "dsjob/many",
            "--timeout=60s",
            timeout=90,
        )

        def lists() -> int:
            counters = emulator.requests(limit=0)["counters"]
            return int(counters.get("ListJobRuns", {}).get("total", 0))

        before = lists()
        apply(cluster, namespace, *(job_run(f"many-{i}", "many", args=str(i)) for i in range(4)))
        for i in range(4):
            cluster.kubectl(
                "wait",
                "-n",
                namespace,
                "--for=condition=Succeeded",
                f"dsjobrun/many-{i}",
                "--timeout=120s",
                timeout=150,
            )

        def mirrored(i: int) -> list[str] | None:
            lines = log_lines(events_of(cluster, namespace, f"many-{i}"))
            return lines or None

        for i in range(4):
            assert wait_for(
                lambda i=i: mirrored(i),
                timeout=30,  # type: ignore[misc]
                what=f"run {i}'s line",
            ) == [f"batch {i}"]
        # Four runs created ListJobRuns calls of their own (the tag lookup); batching adds
        # list calls in place of GetJobRun polls.
        assert lists() > before + 4, operator.log[-2000:]
    finally:
        operator.stop()
