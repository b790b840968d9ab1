"""A 2-replica pyTorchDistributed DataScienceJob, applied with kubectl, runs to Succeeded:
the operator creates the multi-node OCI job and its run, the emulator starts one process
per node with OCI's cluster variables, the driver exports the main node's address, and
the nodes meet over loopback (no torch); every node's lines reach the run's Events."""

from __future__ import annotations

from tests.fixtures.multinode import MEET_SCRIPT, met_lines, pytorch_job
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import (
    COMPARTMENT,
    PROJECT,
    Kube,
    condition_of,
    job_run,
    script_configmap,
)
from tests.fixtures.waiting import wait_for

REPLICAS = 2


def test_two_replica_pytorch_job_succeeds(
    kube: Kube, operator: OperatorProcess, log_group: str
) -> None:
    kube.apply(
        script_configmap("meet", {"meet.py": MEET_SCRIPT}),
        pytorch_job(
            "ddp",
            configmap="meet",
            script="meet.py",
            replicas=REPLICAS,
            compartment=COMPARTMENT,
            project=PROJECT,
            log_group=log_group,
        ),
        job_run("ddp-run", "ddp"),
    )
    status = kube.wait("dsjobrun/ddp-run", "Finished")
    lines = kube.log_lines("ddp-run")
    assert status["phase"] == "Succeeded", (status, lines)
    assert condition_of(status, "Succeeded")["status"] == "True"

    def every_node_met() -> list[str] | None:
        found = kube.log_lines("ddp-run")
        met = all(any(line.startswith(p) for line in found) for p in met_lines(REPLICAS))
        return found if met else None

    lines = wait_for(every_node_met, timeout=30, what="every node's meeting lines as Events")
    seen = [line for line in lines if ", main node " in line]
    assert sorted(line.split(" of ")[0] for line in seen) == [
        f"rank {r}" for r in range(REPLICAS)
    ], lines
