"""Replicas with kopf peering: exactly one operator works, the others wait.

kopf pauses every peer whose priority is not the highest, *including equal ones*, so two
replicas started with the same arguments (a Deployment's) must still differ: each
``ads-operator run --peering`` picks a random priority.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import (
    OperatorProcess,
    apply,
    job_run,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
PAUSING = "Pausing operations in favour of"
RESUMING = "Resuming operations after the pause"


def test_two_peered_replicas_one_works_and_the_other_waits(
    cluster: Cluster, namespace: str, operator_crds: None, operator_env: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    cluster.kubectl("apply", "-f", str(REPO / "charts" / "ads-operator" / "crds"))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/kopfpeerings.kopf.dev"
    )
    peering = {
        "apiVersion": "kopf.dev/v1",
        "kind": "KopfPeering",
        "metadata": {"name": "ads-operator", "namespace": namespace},
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(peering))
    replicas = [
        OperatorProcess(
            (namespace,),
            dict(operator_env),
            tmp_path / f"replica-{i}.log",
            extra_args=("--peering", "ads-operator"),
        )
        for i in range(2)
    ]
    try:
        for replica in replicas:
            replica.start()

        def peers() -> dict[str, object]:
            status = cluster.get("kopfpeering", "ads-operator", namespace).get("status") or {}
            return status if len(status) == 2 else {}  # type: ignore[arg-type]

        seen = wait_for(peers, timeout=60, what="two peers in the peering object")
        priorities = [p["priority"] for p in seen.values()]  # type: ignore[index]
        assert priorities[0] != priorities[1], priorities

        def active() -> list[bool]:
            # kopf starts paused; a replica works once it logs RESUMING and has not paused
            # again since. Exactly one may work.
            logs = [r.log_file.read_text(errors="replace") for r in replicas]
            flags = [log.rfind(RESUMING) > log.rfind(PAUSING) for log in logs]
            return flags if sum(flags) == 1 else []

        flags = wait_for(active, timeout=60, what="exactly one replica to work")
        working = replicas[flags.index(True)]

        apply(
            cluster,
            namespace,
            script_configmap("peer", {"peer.py": "print('handled once')\n"}),
            script_job("peer", script="peer.py", log_group=None),
            job_run("peer-run", "peer"),
        )
        wait_for(
            lambda: (
                status_of(cluster, namespace, "dsjobrun", "peer-run").get("phase") == "Succeeded"
            ),
            timeout=120,
            what=f"the run to succeed\n{working.log}",
        )
        waiting = replicas[flags.index(False)]
        assert "peer-run" not in waiting.log_file.read_text(errors="replace")
        assert active() == flags, "the working replica changed while nothing failed"
    finally:
        for replica in replicas:
            replica.stop()
