"""Per-run overrides through the operator: a run overridden to another shape runs on it
in OCI (the emulator), and a run whose override its job cannot take fails Terminal
without an OCI run."""

from __future__ import annotations

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import (
    OperatorProcess,
    apply,
    condition_of,
    job_run,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for

SHAPE = {
    "jobInfrastructureType": "ME_STANDALONE",
    "shapeName": "VM.Standard2.4",
    "blockStorageSizeInGBs": 80,
}
NODES = {
    "jobNodeType": "MULTI_NODE",
    "jobNodeGroupConfigurationDetailsList": [{"name": "node-group", "replicas": 2}],
}


def _wait_finished(cluster: Cluster, namespace: str, run: str, operator: OperatorProcess) -> None:
    waited = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Finished",
        f"dsjobrun/{run}",
        "--timeout=120s",
        check=False,
        timeout=150,
    )
    assert waited.returncode == 0, f"{waited.stderr}\n{operator.log[-3000:]}"


def _creates(emulator: EmulatorHandle) -> int:
    counters = emulator.requests(limit=0)["counters"]
    return int(counters.get("CreateJobRun", {}).get("total", 0))


def test_overridden_shape_runs_and_an_override_the_job_cannot_take_is_terminal(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
    oci_clients: OciClients,
) -> None:
    before = _creates(emulator)
    apply(
        cluster,
        namespace,
        script_configmap("sized", {"hello.py": "print('sized run')\n"}),
        script_job("sized", script="hello.py", log_group=log_group),  # E4.Flex, 1 OCPU
        job_run("bigger", "sized", jobInfrastructureConfigurationOverrideDetails=SHAPE),
        job_run("nodes", "sized", jobNodeConfigurationOverrideDetails=NODES),
    )
    _wait_finished(cluster, namespace, "bigger", operator)
    _wait_finished(cluster, namespace, "nodes", operator)

    bigger = status_of(cluster, namespace, "dsjobrun", "bigger")
    assert bigger["phase"] == "Succeeded", bigger
    run = oci_clients.data_science.get_job_run(str(bigger["ocid"])).data
    effective = run.job_infrastructure_configuration_details
    assert (effective.shape_name, effective.block_storage_size_in_gbs) == ("VM.Standard2.4", 80)
    assert run.job_infrastructure_configuration_override_details.shape_name == "VM.Standard2.4"

    def mirrored() -> list[str] | None:  # log lines are read once settled, after the end
        tail = status_of(cluster, namespace, "dsjobrun", "bigger").get("logTail") or []
        lines = [line["message"] for line in tail]  # type: ignore[attr-defined]
        return lines if "sized run" in lines else None

    lines = wait_for(mirrored, timeout=30, what="the run's lines in status.logTail")
    assert "overrides the job's infrastructure: shape VM.Standard2.4" in lines[0], lines

    nodes = status_of(cluster, namespace, "dsjobrun", "nodes")
    assert nodes["phase"] == "Failed"
    terminal = condition_of(nodes, "Terminal")
    assert (terminal["status"], terminal["reason"]) == ("True", "OverrideNotApplicable")
    assert "jobNodeConfigurationOverrideDetails is for multi-node jobs" in terminal["message"]
    assert "ocid" not in nodes
    assert _creates(emulator) == before + 1  # the bigger run's only
