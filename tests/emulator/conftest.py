"""Emulator tier: every test here is marked ``emulator`` and gets helpers for jobs and runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import oci
import pytest

from tests.fixtures.emulator import OciClients
from tests.fixtures.waiting import wait_for

models = oci.data_science.models
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED", "DELETED")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/emulator/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.emulator)


@pytest.fixture
def compartment() -> str:
    """A compartment of its own per test, so lists see only the test's resources."""
    return f"ocid1.compartment.oc1..aaaa{uuid.uuid4().hex}"


@pytest.fixture
def project() -> str:
    return f"ocid1.datascienceproject.oc1.iad.aaaa{uuid.uuid4().hex}"


def infra(**overrides: Any) -> Any:
    values: dict[str, Any] = {"shape_name": "VM.Standard2.1", "block_storage_size_in_gbs": 50}
    values.update(overrides)
    return models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails(**values)


def job_config(**values: Any) -> Any:
    return models.DefaultJobConfigurationDetails(**values)


JobFactory = Callable[..., Any]


@pytest.fixture
def make_job(oci_clients: OciClients, compartment: str, project: str) -> JobFactory:
    """Create a job; with ``artifact=(name, bytes)`` also upload it (the job becomes ACTIVE)."""

    def create(
        *,
        artifact: tuple[str, bytes] | None = None,
        env: dict[str, str] | None = None,
        args: str | None = None,
        max_minutes: int | None = None,
        log_group: str | None = None,
        log_id: str | None = None,
        container: Any = None,
        infrastructure: Any = None,
        display_name: str = "test-job",
    ) -> Any:
        log_config = None
        if log_group:
            log_config = models.JobLogConfigurationDetails(
                enable_logging=True,
                enable_auto_log_creation=log_id is None,
                log_group_id=log_group,
                log_id=log_id,
            )
        details = models.CreateJobDetails(
            project_id=project,
            compartment_id=compartment,
            display_name=display_name,
            job_configuration_details=job_config(
                environment_variables=env,
                command_line_arguments=args,
                maximum_runtime_in_minutes=max_minutes,
            ),
            job_infrastructure_configuration_details=infrastructure or infra(),
            job_log_configuration_details=log_config,
            job_environment_configuration_details=container,
        )
        job = oci_clients.data_science.create_job(details).data
        if artifact is not None:
            name, data = artifact
            oci_clients.data_science.create_job_artifact(
                job.id, data, content_disposition=f"attachment; filename={name}"
            )
            job = oci_clients.data_science.get_job(job.id).data
        return job

    return create


@pytest.fixture
def start_run(oci_clients: OciClients, compartment: str, project: str) -> Callable[..., Any]:
    def start(job: Any, **details: Any) -> Any:
        return oci_clients.data_science.create_job_run(
            models.CreateJobRunDetails(
                project_id=project, compartment_id=compartment, job_id=job.id, **details
            )
        ).data

    return start


@pytest.fixture
def wait_run(oci_clients: OciClients) -> Callable[..., Any]:
    """Poll GetJobRun until the run reaches one of ``states`` (terminal by default)."""

    def wait(run_id: str, states: tuple[str, ...] = TERMINAL, timeout: float = 60) -> Any:
        def probe() -> Any:
            run = oci_clients.data_science.get_job_run(run_id).data
            return run if run.lifecycle_state in states else None

        return wait_for(probe, timeout=timeout, what=f"job run {run_id} in {states}")

    return wait


@pytest.fixture
def make_log_group(oci_clients: OciClients, compartment: str) -> Callable[..., str]:
    """Create a log group through its work request and return its OCID."""

    def create(name: str = "test-log-group") -> str:
        client = oci_clients.logging
        response = client.create_log_group(
            oci.logging.models.CreateLogGroupDetails(compartment_id=compartment, display_name=name)
        )
        wr_id = response.headers["opc-work-request-id"]
        done = wait_for(
            lambda: (wr := client.get_work_request(wr_id).data).status == "SUCCEEDED" and wr,
            timeout=30,
            what="CreateLogGroup work request",
        )
        return str(done.resources[0].identifier)

    return create


def search_all(
    oci_clients: OciClients, query: str, *, minutes_back: int = 60, limit: int = 1000
) -> list[dict[str, Any]]:
    """Every result of a search, following ``opc-next-page`` until it is absent."""
    now = time.time()
    details = oci.loggingsearch.models.SearchLogsDetails(
        time_start=_dt(now - minutes_back * 60), time_end=_dt(now + 60), search_query=query
    )
    results: list[dict[str, Any]] = []
    page = None
    while True:
        kwargs: dict[str, Any] = {"limit": limit}
        if page:
            kwargs["page"] = page
        response = oci_clients.log_search.search_logs(details, **kwargs)
        results.extend(r.data for r in response.data.results)
        page = response.next_page
        if page is None:
            return results


def _dt(epoch: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC)
