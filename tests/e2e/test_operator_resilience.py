"""Deletion, replacement and a crash: what must never happen is a duplicate or a leftover
OCI job or run, or a lost or doubled log line. Checked in the emulator through the SDK."""

from __future__ import annotations

from oci_emulator.testing import DEFAULT_REGION, EmulatorHandle
from tests.fixtures.emulator import OciClients, request_count
from tests.fixtures.operator import OperatorFactory, OperatorProcess
from tests.fixtures.resources import COMPARTMENT, Kube, job_run, script_job, scripted_job
from tests.fixtures.waiting import wait_for

SLOW = "import time\nprint('started', flush=True)\ntime.sleep(120)\n"


def test_deleting_a_job_cancels_its_active_run_and_leaves_nothing_in_oci(
    kube: Kube, operator: OperatorProcess, log_group: str, oci_clients: OciClients
) -> None:
    kube.apply(*scripted_job("slow", SLOW, log_group=log_group), job_run("slow-run", "slow"))
    run_ocid = str(kube.wait_phase("slow-run", "Running")["ocid"])
    job_ocid = str(kube.status("dsjob", "slow")["ocid"])
    kube.kubectl("delete", "dsjob", "slow", "--wait=false")
    kube.wait_until(
        lambda: not kube.exists("dsjob", "slow"), "the DataScienceJob to be deleted", timeout=90
    )
    ds = oci_clients.data_science
    assert ds.get_job(job_ocid).data.lifecycle_state == "DELETED"
    assert ds.get_job_run(run_ocid).data.lifecycle_state == "DELETED"
    assert all(
        r.lifecycle_state == "DELETED" for r in ds.list_job_runs(COMPARTMENT, job_id=job_ocid).data
    )
    kube.wait_phase("slow-run", "Canceled", timeout=30)  # the run records the cancellation


def test_sigkill_right_after_create_job_run_gives_one_run_and_every_line_once(
    kube: Kube,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
    oci_clients: OciClients,
) -> None:
    script = "import time\ntime.sleep(2)\nfor i in range(20):\n    print(f'line {i}', flush=True)\n"
    kube.apply(*scripted_job("crash", script, log_group=log_group))
    job_ocid = str(kube.wait("dsjob/crash", "Ready", timeout=60)["ocid"])

    before = request_count(emulator, "CreateJobRun")
    kube.apply(job_run("crash-run", "crash"))
    wait_for(
        lambda: request_count(emulator, "CreateJobRun") > before,
        timeout=60,
        interval=0.01,
        what="CreateJobRun to reach the emulator",
    )
    operator.kill()
    operator.start()
    kube.wait("dsjobrun/crash-run")
    runs = oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=job_ocid).data
    assert len(runs) == 1, [r.id for r in runs]
    expected = [f"line {i}" for i in range(20)]

    def mirrored() -> list[str] | None:
        lines = kube.log_lines("crash-run")
        return lines if len(lines) >= len(expected) else None

    lines = wait_for(mirrored, timeout=30, what="all 20 lines as Events")
    assert lines == expected
    tail = kube.status("dsjobrun", "crash-run")["logTail"]
    assert [x["message"] for x in tail] == expected


def test_editing_the_runtime_makes_a_new_job_and_retires_the_old_once_no_run_refers_to_it(
    kube: Kube, operator: OperatorProcess, log_group: str, oci_clients: OciClients
) -> None:
    """The old OCI job (and so the OCI records of its runs) stays while a run resource
    refers to it, finished or not (issue 17: editing a job erased its runs' records)."""
    script = "import os, time\ntime.sleep(float(os.environ['NAP']))\nprint('done')\n"
    kube.apply(
        *scripted_job("edit", script, log_group=log_group, env={"NAP": "4"}),
        job_run("edit-run-1", "edit"),
    )
    old_run = str(kube.wait_phase("edit-run-1", "Running")["ocid"])
    old = str(kube.status("dsjob", "edit")["ocid"])
    kube.apply(*scripted_job("edit", script, log_group=log_group, env={"NAP": "0"}))

    def replaced() -> str | None:
        status = kube.status("dsjob", "edit")
        return str(status["ocid"]) if status.get("ocid") not in (None, old) else None

    new = wait_for(replaced, timeout=60, what="a new OCI job for the edited runtime")
    ds = oci_clients.data_science
    assert ds.get_job(old).data.lifecycle_state == "ACTIVE"  # its run is still going
    assert old in kube.status("dsjob", "edit")["retiredOcids"]
    # the first run finishes and reads its last lines
    kube.wait_reason("dsjobrun", "edit-run-1", "Logging", reason="Complete", timeout=90)
    assert kube.phase("edit-run-1") == "Succeeded"
    kube.apply(job_run("edit-run-2", "edit"))
    run2 = kube.wait("dsjobrun/edit-run-2", timeout=90)
    assert run2["jobOcid"] == new
    assert str(run2["consoleUrl"]).endswith(f"?region={DEFAULT_REGION}")  # the config's
    # A resync that saw both runs finished (it counts them) kept the old job and its run.
    kube.wait_until(
        lambda: (kube.status("dsjob", "edit").get("runs") or {}).get("succeeded") == 2,
        "the job's run summary to count both finished runs",
        timeout=30,
    )
    assert ds.get_job(old).data.lifecycle_state == "ACTIVE"
    assert ds.get_job_run(old_run).data.lifecycle_state == "SUCCEEDED"
    assert old in kube.status("dsjob", "edit")["retiredOcids"]
    # Once the run resource is gone (by hand here; history limits and TTLs do the same),
    # the retired job goes too.
    kube.kubectl("delete", "dsjobrun", "edit-run-1", "--timeout=60s")
    wait_for(
        lambda: ds.get_job(old).data.lifecycle_state == "DELETED",
        timeout=60,
        what="the retired job to be deleted once no run resource refers to it",
    )
    kube.wait_until(
        lambda: not kube.status("dsjob", "edit").get("retiredOcids"),
        "status.retiredOcids to be emptied",
        timeout=30,
    )
    assert ds.get_job(new).data.lifecycle_state == "ACTIVE"


def test_renaming_a_job_updates_it_in_place(
    kube: Kube, operator: OperatorProcess, log_group: str, oci_clients: OciClients
) -> None:
    kube.apply(*scripted_job("named", "print(1)\n", log_group=log_group))
    ocid = str(kube.wait("dsjob/named", "Ready", timeout=60)["ocid"])
    renamed = script_job("named", script="main.py", log_group=log_group)
    renamed["spec"]["name"] = "named-v2"
    renamed["spec"]["infrastructure"]["spec"]["shapeConfigDetails"]["memoryInGBs"] = 32
    kube.apply(renamed)
    ds = oci_clients.data_science
    kube.wait_until(
        lambda: ds.get_job(ocid).data.display_name == "named-v2", "UpdateJob to rename the OCI job"
    )
    job = ds.get_job(ocid).data
    assert job.job_infrastructure_configuration_details.job_shape_config_details.memory_in_gbs == 32
    assert kube.status("dsjob", "named")["ocid"] == ocid
    assert not kube.status("dsjob", "named").get("retiredOcids")


def test_concurrent_runs_are_polled_in_batches_and_all_complete(
    kube: Kube, operator_with: OperatorFactory, log_group: str, emulator: EmulatorHandle
) -> None:
    operator = operator_with(ADS_OPERATOR_RUN_BATCH_MIN="2")
    script = "import sys, time\ntime.sleep(3)\nprint('batch ' + sys.argv[1])\n"
    kube.apply(*scripted_job("many", script, log_group=log_group))
    kube.wait("dsjob/many", "Ready", timeout=60)

    before = request_count(emulator, "ListJobRuns")
    kube.apply(*(job_run(f"many-{i}", "many", args=str(i)) for i in range(4)))
    for i in range(4):
        kube.wait(f"dsjobrun/many-{i}")
    for i in range(4):
        line = wait_for(lambda i=i: kube.log_lines(f"many-{i}"), timeout=30, what=f"run {i}'s line")  # type: ignore[misc]
        assert line == [f"batch {i}"]
    # Four runs created ListJobRuns calls of their own (the tag lookup); batching adds
    # list calls in place of GetJobRun polls.
    assert request_count(emulator, "ListJobRuns") > before + 4, operator.log[-2000:]
