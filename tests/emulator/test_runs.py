"""Job run lifecycle and real execution on the host, through the real DataScienceClient."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import oci
import pytest

from tests.emulator.conftest import JobFactory, job_config, models, search_all
from tests.fixtures.emulator import OciClients
from tests.fixtures.waiting import wait_for

ACCEPTED_DETAILS = {
    "Infrastructure provisioning.",
    "Infrastructure provisioned.",
    "Job run bootstrap starting.",
    "Job run bootstrap complete. Artifact execution starting.",
}


def _run_lines(oci_clients: OciClients, compartment: str, run: Any) -> list[str]:
    details = run.log_details
    query = (
        f'search "{compartment}/{details.log_group_id}/{details.log_id}" '
        f"| where source = '*{run.id}' | sort by datetime asc"
    )
    return [r["logContent"]["data"]["message"] for r in search_all(oci_clients, query)]


def test_run_lifecycle_to_success(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any, wait_run: Any
) -> None:
    job = make_job(artifact=("slowish.py", b"import time\ntime.sleep(1.5)\nprint('ok')\n"))
    run = start_run(job, display_name="first")
    assert run.lifecycle_state == "ACCEPTED"
    assert run.lifecycle_details == "Infrastructure provisioning."
    assert run.time_accepted is not None
    assert run.time_started is None
    assert isinstance(run.job_configuration_override_details, models.DefaultJobConfigurationDetails)
    assert run.job_infrastructure_configuration_details.shape_name == "VM.Standard2.1"
    seen: set[tuple[str, str]] = set()

    def in_progress() -> Any:
        current = oci_clients.data_science.get_job_run(run.id).data
        seen.add((current.lifecycle_state, current.lifecycle_details))
        return current if current.lifecycle_state == "IN_PROGRESS" else None

    started = wait_for(in_progress, timeout=30, what="IN_PROGRESS", interval=0.05)
    assert started.lifecycle_details == "Job run artifact execution in progress."
    assert started.time_started is not None
    assert {d for s, d in seen if s == "ACCEPTED"} <= ACCEPTED_DETAILS
    done = wait_run(run.id)
    assert done.lifecycle_state == "SUCCEEDED"
    assert done.lifecycle_details == (
        "Job run artifact execution succeeded. Infrastructure de-provisioning."
    )
    assert done.time_finished >= done.time_started >= done.time_accepted


def test_exit_code_failure(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any, wait_run: Any
) -> None:
    job = make_job(artifact=("fail.sh", b"echo about to fail\nexit 16\n"))
    done = wait_run(start_run(job).id)
    assert done.lifecycle_state == "FAILED"
    assert "failed with exit code 16" in done.lifecycle_details


def test_env_args_and_service_variables(
    oci_clients: OciClients,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
    make_log_group: Any,
    compartment: str,
    project: str,
) -> None:
    script = (
        b"import os, sys\n"
        b"print('ARGS', sys.argv[1:])\n"
        b"for k in ('A', 'B', 'JOB_RUN_OCID', 'JOB_OCID', 'PROJECT_OCID',"
        b" 'JOB_RUN_COMPARTMENT_OCID'):\n"
        b"    print(k, os.environ.get(k))\n"
        b"print('CWD', os.getcwd())\n"
    )
    job = make_job(
        artifact=("env.py", script),
        env={"A": "job", "B": "job"},
        args="one 'two words'",
        log_group=make_log_group(),
    )
    run = start_run(
        job,
        job_configuration_override_details=job_config(
            environment_variables={"B": "run"}, command_line_arguments="x --flag 'y z'"
        ),
    )
    assert run.job_configuration_override_details.environment_variables == {"A": "job", "B": "run"}
    done = wait_run(run.id)
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details
    lines = _run_lines(oci_clients, compartment, done)
    assert lines[0] == "ARGS ['x', '--flag', 'y z']"
    assert "A job" in lines
    assert "B run" in lines
    assert f"JOB_RUN_OCID {run.id}" in lines
    assert f"JOB_OCID {job.id}" in lines
    assert f"PROJECT_OCID {project}" in lines
    assert f"JOB_RUN_COMPARTMENT_OCID {compartment}" in lines
    assert any(line.startswith("CWD ") and "decompressed_artifact" in line for line in lines)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _targz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "pack"), [("code.zip", _zip), ("code.tar.gz", _targz)], ids=["zip", "tar.gz"]
)
def test_archive_with_entrypoint(
    oci_clients: OciClients,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
    make_log_group: Any,
    compartment: str,
    name: str,
    pack: Any,
) -> None:
    files = {
        "proj/main.sh": b'source "$(dirname "$0")/lib.sh"\ngreet\n',
        "proj/lib.sh": b"greet() { echo greetings from the archive; }\n",
    }
    job = make_job(
        artifact=(name, pack(files)),
        env={"JOB_RUN_ENTRYPOINT": "proj/main.sh"},
        log_group=make_log_group(),
    )
    done = wait_run(start_run(job).id)
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details
    assert _run_lines(oci_clients, compartment, done) == ["greetings from the archive"]


def test_archive_without_entrypoint_fails_in_bootstrap(
    make_job: JobFactory, start_run: Any, wait_run: Any
) -> None:
    job = make_job(artifact=("code.zip", _zip({"main.py": b"print(1)\n"})))
    done = wait_run(start_run(job).id)
    assert done.lifecycle_state == "FAILED"
    assert "JOB_RUN_ENTRYPOINT" in done.lifecycle_details


def test_conda_first_log_line(
    oci_clients: OciClients,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
    make_log_group: Any,
    compartment: str,
) -> None:
    job = make_job(
        artifact=("c.py", b"print('body')\n"),
        env={"CONDA_ENV_TYPE": "service", "CONDA_ENV_SLUG": "generalml_p311_cpu_x86_64_v1"},
        log_group=make_log_group(),
    )
    done = wait_run(start_run(job).id)
    lines = _run_lines(oci_clients, compartment, done)
    assert "generalml_p311_cpu_x86_64_v1" in lines[0]
    assert "run's own environment" in lines[0]
    assert lines[1:] == ["body"]


def test_container_job_runs_entrypoint_and_cmd_on_host(
    oci_clients: OciClients,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
    make_log_group: Any,
    compartment: str,
) -> None:
    container = models.OcirContainerJobEnvironmentConfigurationDetails(
        image="iad.ocir.io/ns/tool:2",
        entrypoint=["bash", "-c"],
        cmd=["echo from-container; exit 3"],
    )
    job = make_job(container=container, log_group=make_log_group())
    done = wait_run(start_run(job).id)
    assert done.lifecycle_state == "FAILED"
    assert "exit code 3" in done.lifecycle_details
    lines = _run_lines(oci_clients, compartment, done)
    assert "not pulled" in lines[0]
    assert "iad.ocir.io/ns/tool:2" in lines[0]
    assert lines[1:] == ["from-container"]


def test_cancel_kills_the_process_group(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any, wait_run: Any, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(120)\n"
    ).encode()
    job = make_job(artifact=("spawn.py", script))
    run = start_run(job)
    wait_for(pid_file.exists, timeout=30, what="the run's child process to start")
    child_pid = int(wait_for(lambda: pid_file.read_text().strip(), timeout=10, what="pid"))
    oci_clients.data_science.cancel_job_run(run.id)
    state = oci_clients.data_science.get_job_run(run.id).data.lifecycle_state
    assert state in ("CANCELING", "CANCELED")
    done = wait_run(run.id)
    assert done.lifecycle_state == "CANCELED"
    assert done.time_finished is not None

    def child_gone() -> bool:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return True
        # A killed child of a dead parent may linger as a zombie until reaped.
        status = Path(f"/proc/{child_pid}/status")
        return status.exists() and "zombie" in status.read_text()

    wait_for(child_gone, timeout=15, what="the run's child process to be killed")


def test_cancel_during_accepted(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any, wait_run: Any
) -> None:
    job = make_job(artifact=("x.py", b"print('never')\n"))
    run = start_run(job)
    oci_clients.data_science.cancel_job_run(run.id)
    done = wait_run(run.id)
    assert done.lifecycle_state == "CANCELED"
    assert done.time_started is None


def test_cancel_finished_run_is_incorrect_state(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any, wait_run: Any
) -> None:
    job = make_job(artifact=("x.py", b"pass\n"))
    run = wait_run(start_run(job).id)
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.cancel_job_run(run.id)
    assert (caught.value.status, caught.value.code) == (409, "IncorrectState")


def test_maximum_runtime_is_enforced(
    oci_clients: OciClients, emulator: Any, make_job: JobFactory, start_run: Any, wait_run: Any
) -> None:
    with emulator.overridden(runtime_minute_seconds=1.0):
        job = make_job(artifact=("forever.py", b"import time\ntime.sleep(300)\n"), max_minutes=1)
        done = wait_run(start_run(job).id)
    assert done.lifecycle_state == "FAILED"
    assert "maximum runtime of 1 minutes" in done.lifecycle_details


def test_run_on_job_without_artifact_is_refused(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any
) -> None:
    job = make_job()
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        start_run(job)
    assert (caught.value.status, caught.value.code) == (409, "IncorrectState")
    assert "artifact" in caught.value.message


def test_same_retry_token_gives_one_run(
    oci_clients: OciClients, make_job: JobFactory, compartment: str, project: str
) -> None:
    job = make_job(artifact=("x.py", b"pass\n"))
    details = models.CreateJobRunDetails(
        project_id=project, compartment_id=compartment, job_id=job.id
    )
    first = oci_clients.data_science.create_job_run(details, opc_retry_token="token-abc-123")
    second = oci_clients.data_science.create_job_run(details, opc_retry_token="token-abc-123")
    assert first.data.id == second.data.id
    assert first.request_id != second.request_id
    runs = oci_clients.data_science.list_job_runs(compartment_id=compartment, job_id=job.id).data
    assert [r.id for r in runs] == [first.data.id]
    third = oci_clients.data_science.create_job_run(details, opc_retry_token="token-other")
    assert third.data.id != first.data.id


def test_update_list_and_delete_runs(
    oci_clients: OciClients,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
    compartment: str,
) -> None:
    job = make_job(artifact=("x.py", b"pass\n"))
    runs = [start_run(job, display_name=f"run-{i}") for i in range(3)]
    for run in runs:
        wait_run(run.id)
    listed = oci.pagination.list_call_get_all_results(
        oci_clients.data_science.list_job_runs, compartment_id=compartment, job_id=job.id, limit=2
    ).data
    assert sorted(r.display_name for r in listed) == ["run-0", "run-1", "run-2"]
    assert all(isinstance(r, models.JobRunSummary) for r in listed)
    succeeded = oci_clients.data_science.list_job_runs(
        compartment_id=compartment, lifecycle_state="SUCCEEDED"
    ).data
    assert len(succeeded) == 3
    response = oci_clients.data_science.get_job_run(runs[0].id)
    updated = oci_clients.data_science.update_job_run(
        runs[0].id,
        models.UpdateJobRunDetails(display_name="renamed", freeform_tags={"k": "v"}),
        if_match=response.headers["etag"],
    ).data
    assert (updated.display_name, updated.freeform_tags) == ("renamed", {"k": "v"})
    oci_clients.data_science.delete_job_run(runs[1].id)
    assert oci_clients.data_science.get_job_run(runs[1].id).data.lifecycle_state == "DELETED"
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.delete_job_run(runs[1].id)
    assert caught.value.status == 404


def test_delete_active_run_is_incorrect_state(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any
) -> None:
    job = make_job(artifact=("slow.py", b"import time\ntime.sleep(60)\n"))
    run = start_run(job)
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.delete_job_run(run.id)
    assert (caught.value.status, caught.value.code) == (409, "IncorrectState")
    oci_clients.data_science.cancel_job_run(run.id)


def test_output_is_kept_in_the_work_directory(
    emulator: Any, make_job: JobFactory, start_run: Any, wait_run: Any, tmp_path: Path
) -> None:
    with emulator.overridden(work_root=str(tmp_path)):
        job = make_job(artifact=("say.sh", b"echo out-line\necho err-line >&2\n"))
        run = wait_run(start_run(job).id)
    assert run.lifecycle_state == "SUCCEEDED"
    [output] = list(tmp_path.glob("*/output.log"))
    assert sorted(output.read_text().splitlines()) == ["stderr: err-line", "stdout: out-line"]
    assert (output.parent / "decompressed_artifact" / "say.sh").is_file()
