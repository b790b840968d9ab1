"""Per-run overrides through the API server and the operator: every override field as
recorded from ADS is accepted and kept as written, a run overridden to another shape
runs on it in OCI (the emulator), a run whose override its job cannot take fails
Terminal without an OCI run, and deleting a job cancels a run it put in another
compartment before OCI deletes the job."""

from __future__ import annotations

import json
from pathlib import Path

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.emulator import OciClients, request_count
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import COMPARTMENT, Kube, condition_of, job_run, scripted_job

GOLDEN = Path(__file__).parents[1] / "unit/ads/golden/ads_run_overrides.json"
SHAPE = {
    "jobInfrastructureType": "ME_STANDALONE",
    "shapeName": "VM.Standard2.4",
    "blockStorageSizeInGBs": 80,
}
ELSEWHERE = "ocid1.compartment.oc1..aaaaaaaaelsewhere"
NODES = {
    "jobNodeType": "MULTI_NODE",
    "jobNodeGroupConfigurationDetailsList": [{"name": "node-group", "replicas": 2}],
}


def test_every_recorded_override_is_accepted_and_kept_as_written(
    kube: Kube, operator_crds: None
) -> None:
    cases = json.loads(GOLDEN.read_text())["cases"]
    for case, recorded in sorted(cases.items()):
        run = job_run(f"ok-{case}", "sized")
        run["spec"] = {**run["spec"], **recorded["run"]}  # type: ignore[dict-item]
        applied = kube.kubectl(
            "apply", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(run), check=False
        )
        assert applied.returncode == 0, (case, applied.stderr)
        assert json.loads(applied.stdout)["spec"] == run["spec"], case
    explained = kube.cluster.kubectl(
        "explain", "dsjobrun.spec.jobInfrastructureConfigurationOverrideDetails.shapeName"
    )
    assert "Compute shape for this run" in explained.stdout


def test_overridden_shape_runs_and_an_override_the_job_cannot_take_is_terminal(
    kube: Kube,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
    oci_clients: OciClients,
) -> None:
    before = request_count(emulator, "CreateJobRun")
    kube.apply(
        *scripted_job("sized", "print('sized run')\n", log_group=log_group),  # E4.Flex, 1 OCPU
        job_run("bigger", "sized", jobInfrastructureConfigurationOverrideDetails=SHAPE),
        job_run("nodes", "sized", jobNodeConfigurationOverrideDetails=NODES),
    )
    bigger = kube.wait("dsjobrun/bigger", "Finished", timeout=120)
    nodes = kube.wait("dsjobrun/nodes", "Finished", timeout=120)

    assert bigger["phase"] == "Succeeded", bigger
    run = oci_clients.data_science.get_job_run(str(bigger["ocid"])).data
    effective = run.job_infrastructure_configuration_details
    assert (effective.shape_name, effective.block_storage_size_in_gbs) == ("VM.Standard2.4", 80)
    assert run.job_infrastructure_configuration_override_details.shape_name == "VM.Standard2.4"

    def mirrored() -> list[str] | None:  # log lines are read once settled, after the end
        tail = kube.status("dsjobrun", "bigger").get("logTail") or []
        lines = [line["message"] for line in tail]
        return lines if "sized run" in lines else None

    lines = kube.wait_until(mirrored, "the run's lines in status.logTail", timeout=30)
    assert "overrides the job's infrastructure: shape VM.Standard2.4" in lines[0], lines

    assert nodes["phase"] == "Failed"
    terminal = condition_of(nodes, "Terminal")
    assert (terminal["status"], terminal["reason"]) == ("True", "OverrideNotApplicable")
    assert "jobNodeConfigurationOverrideDetails is for multi-node jobs" in terminal["message"]
    assert "ocid" not in nodes
    assert request_count(emulator, "CreateJobRun") == before + 1  # the bigger run's only


def test_deleting_a_job_cancels_its_run_in_another_compartment_then_deletes_it(
    kube: Kube, operator: OperatorProcess, log_group: str, oci_clients: OciClients
) -> None:
    script = "import time\nprint('started', flush=True)\ntime.sleep(600)\n"
    kube.apply(
        *scripted_job("far", script, log_group=log_group),
        job_run("far-run", "far", compartmentId=ELSEWHERE),
    )
    running = kube.wait_phase("far-run", "Running")
    ds = oci_clients.data_science
    oci_run = ds.get_job_run(str(running["ocid"])).data
    assert oci_run.compartment_id == ELSEWHERE
    job = ds.get_job(str(kube.status("dsjob", "far")["ocid"])).data
    assert job.compartment_id == COMPARTMENT
    # OCI refuses to delete a job with an active run: the operator must find it elsewhere.
    deleted = kube.kubectl("delete", "dsjob", "far", "--timeout=60s", timeout=90, check=False)
    assert deleted.returncode == 0, deleted.stderr
    assert ds.get_job(job.id).data.lifecycle_state == "DELETED"
    assert ds.get_job_run(oci_run.id).data.lifecycle_state in ("CANCELED", "DELETED")
    assert "CancelingRun" in kube.reasons("far")
