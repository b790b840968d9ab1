"""Replicas with kopf peering: exactly one operator works, the others wait.

kopf pauses every peer whose priority is not the highest, *including equal ones*, so two
replicas started with the same arguments (a Deployment's) must still differ: each
``ads-operator run --peering`` picks a random priority.
"""

from __future__ import annotations

from tests.fixtures.operator import REPO, OperatorFactory
from tests.fixtures.resources import Kube, job_run, scripted_job, wait_for_condition
from tests.fixtures.waiting import wait_for

PAUSING = "Pausing operations in favour of"
RESUMING = "Resuming operations after the pause"


def test_two_peered_replicas_one_works_and_the_other_waits(
    kube: Kube, operator_with: OperatorFactory
) -> None:
    kube.cluster.kubectl("apply", "-f", str(REPO / "charts" / "ads-operator" / "crds"))
    wait_for_condition(kube.cluster, "crd/kopfpeerings.kopf.dev", "Established", timeout=60)
    peering = {
        "apiVersion": "kopf.dev/v1",
        "kind": "KopfPeering",
        "metadata": {"name": "ads-operator", "namespace": kube.namespace},
    }
    kube.apply(peering)
    replicas = [operator_with(extra_args=("--peering", "ads-operator")) for _ in range(2)]

    def peers() -> dict[str, object]:
        status = kube.status("kopfpeering", "ads-operator")
        return status if len(status) == 2 else {}

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
    kube.apply(
        *scripted_job("peer", "print('handled once')\n", log_group=None),
        job_run("peer-run", "peer"),
    )
    kube.wait_phase("peer-run", "Succeeded", timeout=120)
    waiting = replicas[flags.index(False)]
    assert "peer-run" not in waiting.log_file.read_text(errors="replace")
    assert active() == flags, "the working replica changed while nothing failed"
