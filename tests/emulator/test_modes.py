"""Simulate mode, and the emulator as a separate process (``python -m oci_emulator``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest
import requests

from oci_emulator.testing import (
    ApiKey,
    EmulatorHandle,
    start_emulator,
    start_emulator_process,
    write_api_key,
)
from tests.emulator.conftest import infra, job_config, models, search_all
from tests.fixtures.emulator import OciClients, make_clients
from tests.fixtures.waiting import wait_for


@pytest.fixture
def simulating(emulator_api_key: ApiKey) -> Iterator[EmulatorHandle]:
    handle = start_emulator(
        keys=[emulator_api_key],
        settings={
            "mode": "simulate",
            "simulate": {"run_seconds": 0.5, "exit_code": 0, "lines_per_second": 20},
        },
    )
    yield handle
    handle.stop()


def _job(clients: OciClients, compartment: str, project: str, group: str | None) -> Any:
    log_config = (
        models.JobLogConfigurationDetails(
            enable_logging=True, enable_auto_log_creation=True, log_group_id=group
        )
        if group
        else None
    )
    job = clients.data_science.create_job(
        models.CreateJobDetails(
            project_id=project,
            compartment_id=compartment,
            job_configuration_details=job_config(),
            job_infrastructure_configuration_details=infra(),
            job_log_configuration_details=log_config,
        )
    ).data
    clients.data_science.create_job_artifact(
        job.id, b"raise SystemExit(99)\n", content_disposition="attachment; filename=never.py"
    )
    return job


def _wait(clients: OciClients, run_id: str) -> Any:
    return wait_for(
        lambda: (
            (r := clients.data_science.get_job_run(run_id).data).lifecycle_state
            in ("SUCCEEDED", "FAILED", "CANCELED")
            and r
        ),
        timeout=60,
        what="simulated run to finish",
    )


def _log_group(clients: OciClients, compartment: str) -> str:
    response = clients.logging.create_log_group(
        oci.logging.models.CreateLogGroupDetails(compartment_id=compartment, display_name="sim")
    )
    wr_id = response.headers["opc-work-request-id"]
    return str(
        wait_for(
            lambda: (w := clients.logging.get_work_request(wr_id).data).status == "SUCCEEDED" and w,
            timeout=30,
            what="log group",
        )
        .resources[0]
        .identifier
    )


def test_simulate_mode_follows_the_script(
    simulating: EmulatorHandle, emulator_api_key: ApiKey, compartment: str, project: str
) -> None:
    clients = make_clients(emulator_api_key.config, simulating.endpoint)
    job = _job(clients, compartment, project, _log_group(clients, compartment))

    def start(env: dict[str, str] | None = None) -> Any:
        return clients.data_science.create_job_run(
            models.CreateJobRunDetails(
                project_id=project,
                compartment_id=compartment,
                job_id=job.id,
                job_configuration_override_details=job_config(environment_variables=env),
            )
        ).data

    ok = _wait(clients, start().id)
    assert ok.lifecycle_state == "SUCCEEDED"  # the artifact (exit 99) was not executed
    lines = search_all(clients, f"search \"{compartment}\" | where source = '*{ok.id}'")
    assert lines
    assert all(r["logContent"]["data"]["message"].startswith("simulated line") for r in lines)
    failed = _wait(clients, start({"EMULATOR_SIM_EXIT_CODE": "21"}).id)
    assert failed.lifecycle_state == "FAILED"
    assert "exit code 21" in failed.lifecycle_details
    slow = start({"EMULATOR_SIM_SECONDS": "60"})
    wait_for(
        lambda: clients.data_science.get_job_run(slow.id).data.lifecycle_state == "IN_PROGRESS",
        timeout=30,
        what="simulated run in progress",
    )
    clients.data_science.cancel_job_run(slow.id)
    assert _wait(clients, slow.id).lifecycle_state == "CANCELED"


def test_runs_executing_together_log_each_of_their_lines_once_in_order(
    simulating: EmulatorHandle, emulator_api_key: ApiKey, compartment: str, project: str
) -> None:
    """The lines of all executing runs are written together (one writer for all runs):
    each run's log holds its own lines, every one once, in the order printed."""
    clients = make_clients(emulator_api_key.config, simulating.endpoint)
    job = _job(clients, compartment, project, _log_group(clients, compartment))
    runs = [
        clients.data_science.create_job_run(
            models.CreateJobRunDetails(
                project_id=project,
                compartment_id=compartment,
                job_id=job.id,
                job_configuration_override_details=job_config(
                    environment_variables={"EMULATOR_SIM_SECONDS": "1.5"}
                ),
            )
        ).data
        for _ in range(4)
    ]
    for run in runs:
        assert _wait(clients, run.id).lifecycle_state == "SUCCEEDED"
    for run in runs:
        records = search_all(
            clients, f"search \"{compartment}\" | where source = '*{run.id}' | sort by datetime asc"
        )
        messages = [r["logContent"]["data"]["message"] for r in records]
        assert len(messages) >= 20, messages  # 1.5 s at 20 lines a second
        assert messages == [f"simulated line {i}" for i in range(1, len(messages) + 1)]
        assert {r["logContent"]["source"] for r in records} == {run.id}


def test_emulator_as_a_subprocess(tmp_path: Path, compartment: str, project: str) -> None:
    key = write_api_key(tmp_path / "oci")
    assert write_api_key(tmp_path / "oci").fingerprint == key.fingerprint  # reused, not new
    process = start_emulator_process(
        keys=[key],
        db_path=str(tmp_path / "emu.sqlite"),
        extra_args=["--accepted-seconds", "0.2", "--log-visibility-delay", "0"],
        log_file=tmp_path / "emulator.log",
    )
    try:
        config = oci.config.from_file(str(key.config_file))
        clients = make_clients(config, process.endpoint)
        job = _job(clients, compartment, project, None)
        assert job.lifecycle_state == "CREATING"
        assert clients.data_science.get_job(job.id).data.lifecycle_state == "ACTIVE"
        assert process.requests()["counters"]["CreateJobArtifact"]["total"] == 1
    finally:
        process.stop()
    assert process.process is None


def test_subprocess_without_auth_and_with_a_faults_file(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text('{"operations": {"GetNamespace": {"rate503": 1.0}}}')
    process = start_emulator_process(
        extra_args=["--no-auth", "--faults", str(faults), "--namespace", "otherns"],
        log_file=tmp_path / "emulator.log",
    )
    try:
        unsigned = requests.get(f"{process.endpoint}/n/otherns/b?compartmentId=c", timeout=10)
        assert unsigned.status_code == 200
        assert unsigned.json() == []
        failing = requests.get(f"{process.endpoint}/n", timeout=10)
        assert (failing.status_code, failing.json()["code"]) == (503, "ServiceUnavailable")
        assert process.admin("GET", "faults")["operations"]["GetNamespace"]["rate503"] == 1.0
    finally:
        process.stop()
