"""A 2-replica pyTorchDistributed DataScienceJob, applied with kubectl, runs to Succeeded:
the operator creates the multi-node OCI job and its run, the emulator starts one process
per node with OCI's cluster variables, the driver exports the main node's address, and
the nodes meet over loopback (no torch); every node's lines reach the run's Events."""

from __future__ import annotations

from tests.fixtures.cluster import Cluster
from tests.fixtures.multinode import MEET_SCRIPT, met_lines, pytorch_job
from tests.fixtures.operator import (
    COMPARTMENT,
    PROJECT,
    OperatorProcess,
    apply,
    condition_of,
    events_of,
    job_run,
    log_lines,
    script_configmap,
    status_of,
)
from tests.fixtures.waiting import wait_for

REPLICAS = 2


def test_two_replica_pytorch_job_succeeds(
    cluster: Cluster, namespace: str, operator: OperatorProcess, log_group: str
) -> None:
    apply(
        cluster,
        namespace,
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
    waited = cluster.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Finished",
        "dsjobrun/ddp-run",
        "--timeout=120s",
        check=False,
        timeout=150,
    )
    assert waited.returncode == 0, f"{waited.stderr}\n{operator.log}"
    status = status_of(cluster, namespace, "dsjobrun", "ddp-run")
    lines = log_lines(events_of(cluster, namespace, "ddp-run"))
    assert status["phase"] == "Succeeded", (status, lines)
    assert condition_of(status, "Succeeded")["status"] == "True"

    def every_node_met() -> list[str] | None:
        found = log_lines(events_of(cluster, namespace, "ddp-run"))
        met = all(any(line.startswith(p) for line in found) for p in met_lines(REPLICAS))
        return found if met else None

    lines = wait_for(every_node_met, timeout=30, what="every node's meeting lines as Events")
    seen = [line for line in lines if ", main node " in line]
    assert sorted(line.split(" of ")[0] for line in seen) == [
        f"rank {r}" for r in range(REPLICAS)
    ], lines
