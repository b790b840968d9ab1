"""Restarting the emulator on the same SQLite file loses nothing."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from oci_emulator.testing import ApiKey, EmulatorHandle, start_emulator, start_emulator_process
from tests.emulator.conftest import infra, job_config, models, search_all
from tests.fixtures.emulator import make_clients
from tests.fixtures.waiting import wait_for


@pytest.fixture
def handles() -> Iterator[list[EmulatorHandle]]:
    started: list[EmulatorHandle] = []
    yield started
    for handle in started:
        handle.stop()


def _poll_run(client: Any, run_id: str, states: tuple[str, ...]) -> Any:
    return wait_for(
        lambda: (r := client.get_job_run(run_id).data).lifecycle_state in states and r,
        timeout=60,
        what=f"run in {states}",
    )


def test_restart_keeps_everything(
    tmp_path: Path,
    emulator_api_key: ApiKey,
    handles: list[EmulatorHandle],
    compartment: str,
    project: str,
) -> None:
    db = str(tmp_path / "emulator.sqlite")
    first = start_emulator(keys=[emulator_api_key], db_path=db)
    handles.append(first)
    clients = make_clients(emulator_api_key.config, first.endpoint)
    ds = clients.data_science
    group_response = clients.logging.create_log_group(
        oci.logging.models.CreateLogGroupDetails(compartment_id=compartment, display_name="g")
    )
    wr_id = group_response.headers["opc-work-request-id"]
    group = (
        wait_for(
            lambda: (w := clients.logging.get_work_request(wr_id).data).status == "SUCCEEDED" and w,
            timeout=30,
            what="log group",
        )
        .resources[0]
        .identifier
    )
    job = ds.create_job(
        models.CreateJobDetails(
            project_id=project,
            compartment_id=compartment,
            job_configuration_details=job_config(environment_variables={"K": "V"}),
            job_infrastructure_configuration_details=infra(),
            job_log_configuration_details=models.JobLogConfigurationDetails(
                enable_logging=True, enable_auto_log_creation=True, log_group_id=group
            ),
        )
    ).data
    artifact = (
        b"import sys, time\nfor i in range(20): print('n', i)\ntime.sleep(int(sys.argv[1]))\n"
    )
    ds.create_job_artifact(job.id, artifact, content_disposition="attachment; filename=p.py")

    def run(args: str, token: str) -> Any:
        return ds.create_job_run(
            models.CreateJobRunDetails(
                project_id=project,
                compartment_id=compartment,
                job_id=job.id,
                job_configuration_override_details=job_config(command_line_arguments=args),
            ),
            opc_retry_token=token,
        ).data

    finished = _poll_run(ds, run("0", "tok-finished").id, ("SUCCEEDED",))
    running = _poll_run(ds, run("120", "tok-running").id, ("IN_PROGRESS",))
    namespace = clients.object_storage.get_namespace().data
    clients.object_storage.create_bucket(
        namespace,
        oci.object_storage.models.CreateBucketDetails(name="keep", compartment_id=compartment),
    )
    clients.object_storage.put_object(namespace, "keep", "out/result.json", b'{"ok": true}')
    query = f"search \"{compartment}/{group}\" | where source = '*{finished.id}'"
    before = search_all(clients, query)
    assert len(before) == 20
    job_before = ds.get_job(job.id).data
    first.stop()

    second = start_emulator(keys=[emulator_api_key], db_path=db)
    handles.append(second)
    clients = make_clients(emulator_api_key.config, second.endpoint)
    ds = clients.data_science
    assert ds.get_job(job.id).data == job_before
    assert ds.get_job_artifact_content(job.id).data.content == artifact
    assert ds.get_job_run(finished.id).data == finished
    lost = ds.get_job_run(running.id).data
    assert lost.lifecycle_state == "FAILED"
    assert "emulator restarted" in lost.lifecycle_details
    assert lost.time_finished is not None
    assert search_all(clients, query) == before
    assert clients.object_storage.get_object(namespace, "keep", "out/result.json").data.content == (
        b'{"ok": true}'
    )
    assert clients.logging.get_work_request(wr_id).data.status == "SUCCEEDED"
    assert clients.logging.get_log_group(group).data.display_name == "g"
    replay = run("0", "tok-finished")
    assert replay.id == finished.id
    listed = ds.list_job_runs(compartment_id=compartment, job_id=job.id).data
    assert {r.id for r in listed} == {finished.id, running.id}


def test_pending_work_requests_finish_after_restart(
    tmp_path: Path,
    emulator_api_key: ApiKey,
    handles: list[EmulatorHandle],
    compartment: str,
    project: str,
) -> None:
    db = str(tmp_path / "emulator.sqlite")
    first = start_emulator(
        keys=[emulator_api_key], db_path=db, settings={"work_request_seconds": 3600}
    )
    handles.append(first)
    ds = make_clients(emulator_api_key.config, first.endpoint).data_science
    job = ds.create_job(
        models.CreateJobDetails(
            project_id=project,
            compartment_id=compartment,
            job_configuration_details=job_config(),
            job_infrastructure_configuration_details=infra(),
        )
    ).data
    wr_id = ds.delete_job(job.id).headers["opc-work-request-id"]
    assert ds.get_work_request(wr_id).data.status == "ACCEPTED"
    first.stop()

    second = start_emulator(keys=[emulator_api_key], db_path=db)
    handles.append(second)
    ds = make_clients(emulator_api_key.config, second.endpoint).data_science
    done = wait_for(
        lambda: (w := ds.get_work_request(wr_id).data).status == "SUCCEEDED" and w,
        timeout=30,
        what="the resumed JOB_DELETE work request",
    )
    assert done.resources[0].identifier == job.id
    assert ds.get_job(job.id).data.lifecycle_state == "DELETED"


def test_crash_leaves_no_run_process_behind(
    tmp_path: Path, emulator_api_key: ApiKey, compartment: str, project: str
) -> None:
    """SIGKILL the emulator mid-run: the next one kills the orphaned run and fails it."""
    db = str(tmp_path / "emulator.sqlite")
    pid_file = tmp_path / "run.pid"
    script = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
    script += "time.sleep(300)\n"
    first = start_emulator_process(keys=[emulator_api_key], db_path=db)
    try:
        ds = make_clients(emulator_api_key.config, first.endpoint).data_science
        job = ds.create_job(
            models.CreateJobDetails(
                project_id=project,
                compartment_id=compartment,
                job_configuration_details=job_config(),
                job_infrastructure_configuration_details=infra(),
            )
        ).data
        ds.create_job_artifact(
            job.id, script.encode(), content_disposition="attachment; filename=sleep.py"
        )
        run = ds.create_job_run(
            models.CreateJobRunDetails(
                project_id=project, compartment_id=compartment, job_id=job.id
            )
        ).data
        orphan = int(
            wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=60, what="pid")
        )
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(30)
        os.kill(orphan, 0)  # still alive: nothing killed it yet
    finally:
        first.stop()
    second = start_emulator_process(keys=[emulator_api_key], db_path=db)
    try:
        ds = make_clients(emulator_api_key.config, second.endpoint).data_science
        lost = ds.get_job_run(run.id).data
        assert lost.lifecycle_state == "FAILED"
        assert "emulator restarted" in lost.lifecycle_details
        wait_for(lambda: _gone(orphan), timeout=30, what="the orphaned run process to die")
    finally:
        second.stop()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" in status.read_text()
