"""Editing a job's spec back and forth: every revision that needs a new OCI job gets a
live one, and the records of finished runs outlive the revision that made them.

Real kube-apiserver + etcd, the OCI emulator (which replays a CreateJob answer for a
repeated ``opc-retry-token``, as OCI does), ``ads-operator run`` as a process.
"""

from __future__ import annotations

from collections.abc import Container

from oci_emulator.testing import DEFAULT_REGION
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import Kube, job_run, scripted_job


def live_job_other_than(kube: Kube, job: str, old: Container[object]) -> str | None:
    """The job's OCID once it is ACTIVE and none of ``old``."""
    status = kube.status("dsjob", job)
    ocid = status.get("ocid")
    ok = ocid is not None and ocid not in old and status.get("lifecycleState") == "ACTIVE"
    return str(ocid) if ok else None


def test_reverting_the_spec_after_the_old_job_was_deleted_creates_a_live_job(
    kube: Kube, operator: OperatorProcess, log_group: str, oci_clients: OciClients
) -> None:
    """Issue 17, bug 1: the revert reused the first revision's retry token, OCI replayed
    its answer naming the DELETED job, and the resource stayed CREATING forever."""
    ds = oci_clients.data_science
    revision = {
        v: scripted_job("rev", "print('rev')\n", log_group=log_group, env={"V": v}) for v in "12"
    }
    kube.apply(*revision["1"])
    first = str(kube.wait("dsjob/rev", "Ready", timeout=60)["ocid"])
    kube.apply(*revision["2"])

    def replaced() -> str | None:
        ocid = kube.status("dsjob", "rev").get("ocid")
        return str(ocid) if ocid not in (None, first) else None

    second = kube.wait_until(replaced, "a new OCI job for V=2")
    kube.wait_until(
        lambda: ds.get_job(first).data.lifecycle_state == "DELETED",
        "the retired first job to be deleted (no run refers to it)",
    )
    kube.apply(*revision["1"])
    third = kube.wait_until(
        lambda: live_job_other_than(kube, "rev", (first, second)),
        "a live OCI job for the reverted spec",
    )
    assert ds.get_job(third).data.lifecycle_state == "ACTIVE"
    assert ds.get_job(first).data.lifecycle_state == "DELETED"
    kube.wait("dsjob/rev", "Ready", timeout=30)
    created = [e for e in kube.events("rev") if e.get("reason") == "Created"]
    assert len(created) == 3, [e.get("message") for e in created]
    # No spec.region and no operator setting: the console link names the credentials'
    # region (issue 17: it named none).
    url = kube.status("dsjob", "rev")["consoleUrl"]
    assert url == f"https://cloud.oracle.com/data-science/jobs/{third}?region={DEFAULT_REGION}"


def test_reverting_while_a_finished_run_refers_to_the_old_job_makes_it_current_again(
    kube: Kube, operator: OperatorProcess, log_group: str, oci_clients: OciClients
) -> None:
    """Issue 17's own steps: a job and a run, an edit that needs a new OCI job, the run
    finishes, the original manifest again. The old job is kept for the run resource that
    refers to it (its OCI run is that resource's record), so the revert uses it again."""
    ds = oci_clients.data_science
    revision = {
        v: scripted_job("back", "print('back')\n", log_group=log_group, env={"V": v}) for v in "12"
    }
    kube.apply(*revision["1"], job_run("back-run", "back"))
    run_ocid = str(kube.wait("dsjobrun/back-run", timeout=90)["ocid"])
    first = str(kube.status("dsjob", "back")["ocid"])
    kube.apply(*revision["2"])
    second = kube.wait_until(lambda: live_job_other_than(kube, "back", (first,)), "the V=2 job")
    kube.apply(*revision["1"])
    kube.wait_until(
        lambda: live_job_other_than(kube, "back", (second,)) == first,
        "the first job to be current again",
    )
    # The V=2 job, retired now and referred to by no run, goes.
    kube.wait_until(
        lambda: ds.get_job(second).data.lifecycle_state == "DELETED",
        "the retired V=2 job to be deleted",
    )
    kube.wait_until(
        lambda: not kube.status("dsjob", "back").get("retiredOcids"),
        "status.retiredOcids to be emptied",
        timeout=30,
    )
    assert ds.get_job(first).data.lifecycle_state == "ACTIVE"
    assert ds.get_job_run(run_ocid).data.lifecycle_state == "SUCCEEDED"
    created = [e for e in kube.events("back") if e.get("reason") == "Created"]
    assert len(created) == 2, [e.get("message") for e in created]
