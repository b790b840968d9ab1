"""Editing a job's spec back and forth: every revision that needs a new OCI job gets a
live one, and the records of finished runs outlive the revision that made them.

Real kube-apiserver + etcd, the OCI emulator (which replays a CreateJob answer for a
repeated ``opc-retry-token``, as OCI does), ``ads-operator run`` as a process.
"""

from __future__ import annotations

from oci_emulator.testing import DEFAULT_REGION
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import (
    OperatorProcess,
    apply,
    events_of,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for


def test_reverting_the_spec_after_the_old_job_was_deleted_creates_a_live_job(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    oci_clients: OciClients,
) -> None:
    """Issue 17, bug 1: the revert reused the first revision's retry token, OCI replayed
    its answer naming the DELETED job, and the resource stayed CREATING forever."""
    ds = oci_clients.data_science
    apply(
        cluster,
        namespace,
        script_configmap("rev", {"rev.py": "print('rev')\n"}),
        script_job("rev", script="rev.py", log_group=log_group, env={"V": "1"}),
    )
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", "dsjob/rev", "--timeout=60s", timeout=90
    )
    first = str(status_of(cluster, namespace, "dsjob", "rev")["ocid"])
    apply(
        cluster, namespace, script_job("rev", script="rev.py", log_group=log_group, env={"V": "2"})
    )

    def replaced() -> str | None:
        status = status_of(cluster, namespace, "dsjob", "rev")
        ocid = status.get("ocid")
        return str(ocid) if ocid not in (None, first) else None

    second = wait_for(replaced, timeout=60, what=f"a new OCI job for V=2\n{operator.log}")
    wait_for(
        lambda: ds.get_job(first).data.lifecycle_state == "DELETED",
        timeout=60,
        what="the retired first job to be deleted (no run refers to it)",
    )
    apply(
        cluster, namespace, script_job("rev", script="rev.py", log_group=log_group, env={"V": "1"})
    )

    def live_third() -> str | None:
        status = status_of(cluster, namespace, "dsjob", "rev")
        ocid = status.get("ocid")
        if ocid in (None, first, second) or status.get("lifecycleState") != "ACTIVE":
            return None
        return str(ocid)

    third = wait_for(
        live_third, timeout=60, what=f"a live OCI job for the reverted spec\n{operator.log}"
    )
    assert ds.get_job(third).data.lifecycle_state == "ACTIVE"
    assert ds.get_job(first).data.lifecycle_state == "DELETED"
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", "dsjob/rev", "--timeout=30s", timeout=60
    )
    created = [e for e in events_of(cluster, namespace, "rev") if e.get("reason") == "Created"]
    assert len(created) == 3, [e.get("message") for e in created]
    # No spec.region and no operator setting: the console link names the credentials'
    # region (issue 17: it named none).
    url = status_of(cluster, namespace, "dsjob", "rev")["consoleUrl"]
    assert url == f"https://cloud.oracle.com/data-science/jobs/{third}?region={DEFAULT_REGION}"
