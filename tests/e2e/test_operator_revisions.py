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
    job_run,
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


def test_reverting_while_a_finished_run_refers_to_the_old_job_makes_it_current_again(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    log_group: str,
    oci_clients: OciClients,
) -> None:
    """Issue 17's own steps: a job and a run, an edit that needs a new OCI job, the run
    finishes, the original manifest again. The old job is kept for the run resource that
    refers to it (its OCI run is that resource's record), so the revert uses it again."""
    ds = oci_clients.data_science
    apply(
        cluster,
        namespace,
        script_configmap("back", {"back.py": "print('back')\n"}),
        script_job("back", script="back.py", log_group=log_group, env={"V": "1"}),
        job_run("back-run", "back"),
    )
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Succeeded", "dsjobrun/back-run",
        "--timeout=90s", timeout=120,
    )  # fmt: skip
    first = str(status_of(cluster, namespace, "dsjob", "back")["ocid"])
    run_ocid = str(status_of(cluster, namespace, "dsjobrun", "back-run")["ocid"])
    apply(
        cluster,
        namespace,
        script_job("back", script="back.py", log_group=log_group, env={"V": "2"}),
    )

    def ocid_other_than(old: str) -> str | None:
        status = status_of(cluster, namespace, "dsjob", "back")
        ocid = status.get("ocid")
        ok = ocid not in (None, old) and status.get("lifecycleState") == "ACTIVE"
        return str(ocid) if ok else None

    second = wait_for(lambda: ocid_other_than(first), timeout=60, what="the V=2 job")
    apply(
        cluster,
        namespace,
        script_job("back", script="back.py", log_group=log_group, env={"V": "1"}),
    )
    wait_for(
        lambda: ocid_other_than(second) == first,
        timeout=60,
        what=f"the first job to be current again\n{operator.log}",
    )
    # The V=2 job, retired now and referred to by no run, goes.
    wait_for(
        lambda: ds.get_job(second).data.lifecycle_state == "DELETED",
        timeout=60,
        what="the retired V=2 job to be deleted",
    )
    wait_for(
        lambda: not status_of(cluster, namespace, "dsjob", "back").get("retiredOcids"),
        timeout=30,
        what="status.retiredOcids to be emptied",
    )
    assert ds.get_job(first).data.lifecycle_state == "ACTIVE"
    assert ds.get_job_run(run_ocid).data.lifecycle_state == "SUCCEEDED"
    created = [e for e in events_of(cluster, namespace, "back") if e.get("reason") == "Created"]
    assert len(created) == 2, [e.get("message") for e in created]
