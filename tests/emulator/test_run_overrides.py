"""A run's CreateJobRunDetails overrides, honoured: another shape, another log, its own
storage mounts and startup probe, shown back by GetJobRun as OCI shows them."""

from __future__ import annotations

from typing import Any

import oci
import pytest

from tests.emulator.conftest import JobFactory, models, search_all
from tests.fixtures.emulator import OciClients

SCRIPT = ("hello.py", b"print('hello from the run')\n")


def _lines(oci_clients: OciClients, compartment: str, run: Any) -> list[str]:
    details = run.log_details
    query = (
        f'search "{compartment}/{details.log_group_id}/{details.log_id}" '
        f"| where source = '*{run.id}' | sort by datetime asc"
    )
    return [r["logContent"]["data"]["message"] for r in search_all(oci_clients, query)]


def test_a_run_overridden_to_another_shape_and_log_runs_and_logs_so(
    oci_clients: OciClients,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
    make_log_group: Any,
    compartment: str,
) -> None:
    job_group, run_group = make_log_group("job-logs"), make_log_group("run-logs")
    job = make_job(artifact=SCRIPT, log_group=job_group)  # VM.Standard2.1, 50 GB
    flex = models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails(
        shape_name="VM.Standard.E4.Flex",
        block_storage_size_in_gbs=120,
        job_shape_config_details=models.JobShapeConfigDetails(ocpus=2, memory_in_gbs=16),
    )
    logs = models.JobLogConfigurationDetails(
        enable_logging=True, enable_auto_log_creation=True, log_group_id=run_group
    )
    run = start_run(
        job,
        job_infrastructure_configuration_override_details=flex,
        job_log_configuration_override_details=logs,
    )
    done = wait_run(run.id)
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details
    for block in (
        done.job_infrastructure_configuration_override_details,
        done.job_infrastructure_configuration_details,  # the effective one
    ):
        assert block.shape_name == "VM.Standard.E4.Flex"
        assert block.block_storage_size_in_gbs == 120
        assert (
            block.job_shape_config_details.ocpus,
            block.job_shape_config_details.memory_in_gbs,
        ) == (2, 16)
    assert done.job_log_configuration_override_details.log_group_id == run_group
    assert done.log_details.log_group_id == run_group
    lines = _lines(oci_clients, compartment, done)
    assert lines[0].startswith(
        "oci_emulator: this run overrides the job's infrastructure: shape VM.Standard.E4.Flex"
        " (ocpus 2, memoryInGBs 16), 120 GB block storage"
    )
    assert "hello from the run" in lines
    plain = wait_run(start_run(job).id)  # the job itself is unchanged
    assert plain.job_infrastructure_configuration_details.shape_name == "VM.Standard2.1"
    assert plain.job_infrastructure_configuration_override_details is None
    assert plain.log_details.log_group_id == job_group
    assert not any(
        line.startswith("oci_emulator: this run")
        for line in _lines(oci_clients, compartment, plain)
    )


def test_storage_mounts_and_startup_probe_are_shown_back(
    make_job: JobFactory, start_run: Any, wait_run: Any
) -> None:
    job = make_job(artifact=SCRIPT)
    mount = models.ObjectStorageMountConfigurationDetails(
        namespace="ns", bucket="bkt", prefix="in/", destination_directory_name="data"
    )
    probe = models.JobExecProbeDetails(command=["true"], period_in_seconds=5)
    run = start_run(
        job,
        job_storage_mount_configuration_override_details_list=[mount],
        job_configuration_override_details=models.DefaultJobConfigurationDetails(
            startup_probe_details=probe
        ),
    )
    done = wait_run(run.id)
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details
    (shown,) = done.job_storage_mount_configuration_override_details_list
    assert (shown.storage_type, shown.bucket, shown.destination_directory_name) == (
        "OBJECT_STORAGE",
        "bkt",
        "data",
    )
    shown_probe = done.job_configuration_override_details.startup_probe_details
    assert (shown_probe.command, shown_probe.period_in_seconds) == (["true"], 5)


def test_a_shape_config_on_a_fixed_shape_override_is_refused(
    make_job: JobFactory, start_run: Any
) -> None:
    job = make_job(artifact=SCRIPT)
    fixed = models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails(
        shape_name="VM.Standard2.4",
        block_storage_size_in_gbs=50,
        job_shape_config_details=models.JobShapeConfigDetails(ocpus=2),
    )
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        start_run(job, job_infrastructure_configuration_override_details=fixed)
    assert refused.value.status == 400
    assert (
        "jobInfrastructureConfigurationOverrideDetails.jobShapeConfigDetails"
        in refused.value.message
    )


def _node_job(oci_clients: OciClients, compartment: str, project: str, replicas: int) -> Any:
    container = models.OcirContainerJobEnvironmentConfigurationDetails(
        image="iad.ocir.io/ns/trainer:1",
        entrypoint=["bash", "-c"],
        cmd=['echo "rank $NODE_RANK of $INITIAL_CLUSTER_SIZE"'],
    )
    group = models.JobNodeGroupConfigurationDetails(
        name="node-group",
        replicas=replicas,
        minimum_success_replicas=replicas,
        job_infrastructure_configuration_details=models.MultiNodeJobInfrastructureConfigurationDetails(
            shape_name="VM.Standard2.1", block_storage_size_in_gbs=50
        ),
        job_configuration_details=models.DefaultJobConfigurationDetails(),
        job_environment_configuration_details=container,
    )
    return oci_clients.data_science.create_job(
        models.CreateJobDetails(
            project_id=project,
            compartment_id=compartment,
            job_node_configuration_details=models.MultiNodeJobNodeConfigurationDetails(
                startup_order="IN_PARALLEL",
                job_network_configuration=models.JobDefaultNetworkConfiguration(),
                job_node_group_configuration_details_list=[group],
            ),
        )
    ).data


def _resized(replicas: int, minimum: int | None = None) -> Any:
    return models.MultiNodeJobNodeConfigurationDetails(
        job_node_group_configuration_details_list=[
            models.JobNodeGroupConfigurationDetails(
                name="node-group",
                replicas=replicas,
                minimum_success_replicas=minimum,
                job_infrastructure_configuration_details=models.MultiNodeJobInfrastructureConfigurationDetails(
                    shape_name="VM.Standard.E4.Flex",
                    block_storage_size_in_gbs=60,
                    job_shape_config_details=models.JobShapeConfigDetails(ocpus=2),
                ),
            )
        ]
    )


def test_a_node_override_resizes_the_group_and_moves_it_to_another_shape(
    oci_clients: OciClients, compartment: str, project: str, start_run: Any, wait_run: Any
) -> None:
    job = _node_job(oci_clients, compartment, project, replicas=2)
    run = start_run(job, job_node_configuration_override_details=_resized(3, 3))
    done = wait_run(run.id)
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details
    assert done.node_group_details_list[0].lifecycle_details == (
        "3 of 3 replicas succeeded (3 needed)."
    )
    (shown,) = (
        done.job_node_configuration_override_details.job_node_group_configuration_details_list
    )
    assert shown.replicas == 3
    assert shown.job_infrastructure_configuration_details.shape_name == "VM.Standard.E4.Flex"


def test_a_node_override_that_leaves_a_group_unsatisfiable_is_refused(
    oci_clients: OciClients, compartment: str, project: str, start_run: Any
) -> None:
    job = _node_job(oci_clients, compartment, project, replicas=3)  # needs 3 successes
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        start_run(job, job_node_configuration_override_details=_resized(2))
    assert refused.value.status == 400
    assert "'node-group' would need 3 successful replicas of 2" in refused.value.message
