"""Multi-node jobs (ADS's layout: one node group with container, config and infra)."""

from __future__ import annotations

from typing import Any

from tests.emulator.conftest import job_config, models, search_all
from tests.fixtures.emulator import OciClients

RANK_SCRIPT = (
    'echo "rank $NODE_RANK of $NODE_COUNT in $NODE_GROUP_NAME"; exit $(( NODE_RANK * FAIL ))'
)


def _multi_node_job(
    oci_clients: OciClients, compartment: str, project: str, group_id: str, fail: str
) -> Any:
    group = models.JobNodeGroupConfigurationDetails(
        name="node-group",
        replicas=2,
        minimum_success_replicas=2,
        job_infrastructure_configuration_details=models.MultiNodeJobInfrastructureConfigurationDetails(
            shape_name="VM.Standard.E4.Flex",
            block_storage_size_in_gbs=50,
            job_shape_config_details=models.JobShapeConfigDetails(ocpus=1, memory_in_gbs=16),
        ),
        job_configuration_details=job_config(environment_variables={"FAIL": fail}),
        job_environment_configuration_details=models.OcirContainerJobEnvironmentConfigurationDetails(
            image="iad.ocir.io/ns/trainer:1", entrypoint=["bash", "-c"], cmd=[RANK_SCRIPT]
        ),
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
            job_log_configuration_details=models.JobLogConfigurationDetails(
                enable_logging=True, enable_auto_log_creation=True, log_group_id=group_id
            ),
        )
    ).data


def test_multi_node_job_runs_every_replica(
    oci_clients: OciClients,
    compartment: str,
    project: str,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> None:
    group_id = make_log_group()
    job = _multi_node_job(oci_clients, compartment, project, group_id, fail="0")
    assert job.lifecycle_state == "ACTIVE"
    assert job.job_configuration_details.job_type == "EMPTY"
    assert job.job_infrastructure_configuration_details.job_infrastructure_type == "EMPTY"
    nodes = job.job_node_configuration_details
    assert isinstance(nodes, models.MultiNodeJobNodeConfigurationDetails)
    assert nodes.job_node_group_configuration_details_list[0].replicas == 2
    run = start_run(job)
    assert [g.lifecycle_state for g in run.node_group_details_list] == ["CREATING"]
    done = wait_run(run.id)
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details
    assert done.node_group_details_list[0].lifecycle_details.startswith("2 of 2")
    query = f"search \"{compartment}\" | where source = '*{run.id}'"
    lines = {r["logContent"]["data"]["message"] for r in search_all(oci_clients, query)}
    assert {"rank 0 of 2 in node-group", "rank 1 of 2 in node-group"} <= lines


def test_multi_node_run_fails_when_a_replica_fails(
    oci_clients: OciClients,
    compartment: str,
    project: str,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> None:
    job = _multi_node_job(oci_clients, compartment, project, make_log_group(), fail="7")
    done = wait_run(start_run(job).id)
    assert done.lifecycle_state == "FAILED"
    assert "exit code 7" in done.lifecycle_details
    assert done.node_group_details_list[0].lifecycle_state == "FAILED"


def test_run_override_of_a_node_group(
    oci_clients: OciClients,
    compartment: str,
    project: str,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> None:
    job = _multi_node_job(oci_clients, compartment, project, make_log_group(), fail="7")
    override = models.MultiNodeJobNodeConfigurationDetails(
        job_node_group_configuration_details_list=[
            models.JobNodeGroupConfigurationDetails(
                name="node-group",
                job_configuration_details=job_config(environment_variables={"FAIL": "0"}),
            )
        ]
    )
    done = wait_run(start_run(job, job_node_configuration_override_details=override).id)
    assert done.lifecycle_state == "SUCCEEDED", done.lifecycle_details
