"""Jobs, artifacts, shapes and work requests through the real DataScienceClient."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import oci
import pytest

from tests.emulator.conftest import JobFactory, infra, job_config, models
from tests.fixtures.emulator import OciClients
from tests.fixtures.waiting import wait_for

STANDALONE_WITHOUT_SUBNET = models.StandaloneJobInfrastructureConfigurationDetails(
    shape_name="VM.Standard2.1", block_storage_size_in_gbs=50
)


def _create(oci_clients: OciClients, compartment: str, project: str, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "project_id": project,
        "compartment_id": compartment,
        "job_configuration_details": job_config(),
        "job_infrastructure_configuration_details": infra(),
    }
    values.update(fields)
    return oci_clients.data_science.create_job(models.CreateJobDetails(**values))


def test_script_job_is_creating_until_its_artifact_arrives(
    oci_clients: OciClients, make_job: JobFactory
) -> None:
    job = make_job()
    assert job.lifecycle_state == "CREATING"
    assert isinstance(job.job_configuration_details, models.DefaultJobConfigurationDetails)
    assert isinstance(
        job.job_infrastructure_configuration_details,
        models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails,
    )
    assert job.created_by.startswith("ocid1.user.")
    data = b"print('hi')\n"
    oci_clients.data_science.create_job_artifact(
        job.id, data, content_disposition="attachment; filename=hi.py"
    )
    assert oci_clients.data_science.get_job(job.id).data.lifecycle_state == "ACTIVE"
    head = oci_clients.data_science.head_job_artifact(job.id)
    assert head.headers["content-disposition"] == "attachment; filename=hi.py"
    assert head.headers["content-length"] == str(len(data))
    md5 = hashlib.md5(data).digest()  # noqa: S324 (the header's wire format)
    assert head.headers["content-md5"] == base64.b64encode(md5).decode()
    content = oci_clients.data_science.get_job_artifact_content(job.id)
    assert content.data.content == data
    partial = oci_clients.data_science.get_job_artifact_content(job.id, range="bytes=0-4")
    assert partial.status == 206
    assert partial.data.content == data[:5]


def test_second_artifact_is_a_conflict(oci_clients: OciClients, make_job: JobFactory) -> None:
    job = make_job(artifact=("a.py", b"pass\n"))
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.create_job_artifact(
            job.id, b"pass\n", content_disposition="attachment; filename=a.py"
        )
    assert (caught.value.status, caught.value.code) == (409, "Conflict")


def test_unsupported_artifact_type_is_rejected(
    oci_clients: OciClients, make_job: JobFactory
) -> None:
    job = make_job()
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.create_job_artifact(
            job.id, b"x", content_disposition="attachment; filename=notes.txt"
        )
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter")
    assert "unsupported type" in caught.value.message


def test_container_job_is_active_without_artifact(
    oci_clients: OciClients, make_job: JobFactory
) -> None:
    container = models.OcirContainerJobEnvironmentConfigurationDetails(
        image="iad.ocir.io/ns/app:1", entrypoint=["echo"], cmd=["hello"]
    )
    job = make_job(container=container)
    assert job.lifecycle_state == "ACTIVE"
    env = oci_clients.data_science.get_job(job.id).data.job_environment_configuration_details
    assert isinstance(env, models.OcirContainerJobEnvironmentConfigurationDetails)
    assert env.cmd == ["hello"]


@pytest.mark.parametrize(
    ("fields", "code", "fragment"),
    [
        (
            {"job_infrastructure_configuration_details": infra(block_storage_size_in_gbs=49)},
            "InvalidParameter",
            "at least 50 GB",
        ),
        (
            {
                "job_infrastructure_configuration_details": infra(
                    job_shape_config_details=models.JobShapeConfigDetails(ocpus=1, memory_in_gbs=8)
                )
            },
            "InvalidParameter",
            "not a Flex shape",
        ),
        (
            {"job_infrastructure_configuration_details": infra(shape_name="VM.Nope.1")},
            "InvalidParameter",
            "not a supported job shape",
        ),
        ({"job_configuration_details": None}, "MissingParameter", "jobConfigurationDetails"),
        (
            {"job_infrastructure_configuration_details": STANDALONE_WITHOUT_SUBNET},
            "MissingParameter",
            "subnetId",
        ),
        (
            {
                "job_log_configuration_details": models.JobLogConfigurationDetails(
                    enable_logging=True, log_group_id="ocid1.loggroup.oc1..missing"
                )
            },
            "RelatedResourceNotAuthorizedOrNotFound",
            "Log group",
        ),
    ],
)
def test_create_job_validation(
    oci_clients: OciClients,
    compartment: str,
    project: str,
    fields: dict[str, Any],
    code: str,
    fragment: str,
) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        _create(oci_clients, compartment, project, **fields)
    assert caught.value.status == 400
    assert caught.value.code == code
    assert fragment in caught.value.message
    assert caught.value.request_id


def test_flex_shape_config_is_echoed_with_default_baseline(
    oci_clients: OciClients, compartment: str, project: str
) -> None:
    shape_config = models.JobShapeConfigDetails(ocpus=2, memory_in_gbs=32)
    job = _create(
        oci_clients,
        compartment,
        project,
        job_infrastructure_configuration_details=infra(
            shape_name="VM.Standard.E4.Flex", job_shape_config_details=shape_config
        ),
    ).data
    config = job.job_infrastructure_configuration_details.job_shape_config_details
    assert (config.ocpus, config.memory_in_gbs, config.cpu_baseline) == (2, 32, "BASELINE_1_1")


def test_get_unknown_job_is_404(oci_clients: OciClients) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.get_job("ocid1.datasciencejob.oc1..doesnotexist")
    assert (caught.value.status, caught.value.code) == (404, "NotAuthorizedOrNotFound")


def test_update_job_with_etag(oci_clients: OciClients, make_job: JobFactory) -> None:
    job_response = oci_clients.data_science.get_job(make_job().id)
    etag = job_response.headers["etag"]
    updated = oci_clients.data_science.update_job(
        job_response.data.id,
        models.UpdateJobDetails(display_name="renamed", freeform_tags={"team": "ml"}),
        if_match=etag,
    )
    assert updated.data.display_name == "renamed"
    assert updated.data.freeform_tags == {"team": "ml"}
    assert updated.headers["etag"] != etag
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.update_job(
            job_response.data.id, models.UpdateJobDetails(display_name="again"), if_match=etag
        )
    assert (caught.value.status, caught.value.code) == (412, "NoEtagMatch")


def test_list_jobs_pages_filters_and_sorts(
    oci_clients: OciClients, make_job: JobFactory, compartment: str
) -> None:
    names = [f"job-{i}" for i in range(5)]
    for name in names:
        make_job(display_name=name)
    first = oci_clients.data_science.list_jobs(compartment_id=compartment, limit=2)
    assert len(first.data) == 2
    assert first.next_page is not None
    everything = oci.pagination.list_call_get_all_results(
        oci_clients.data_science.list_jobs,
        compartment_id=compartment,
        limit=2,
        sort_by="displayName",
        sort_order="ASC",
    )
    assert [j.display_name for j in everything.data] == names
    last = oci_clients.data_science.list_jobs(compartment_id=compartment, limit=10)
    assert last.next_page is None
    assert "opc-next-page" not in last.headers
    with pytest.raises(oci.exceptions.ServiceError) as too_many:
        oci_clients.data_science.list_jobs(compartment_id=compartment, limit=101)
    assert (too_many.value.status, too_many.value.code) == (400, "InvalidParameter")
    only = oci_clients.data_science.list_jobs(compartment_id=compartment, display_name="job-3")
    assert [j.display_name for j in only.data] == ["job-3"]
    assert isinstance(only.data[0], models.JobSummary)
    active = oci_clients.data_science.list_jobs(
        compartment_id=compartment, lifecycle_state="ACTIVE"
    )
    assert active.data == []


def test_delete_job_goes_through_a_work_request(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any, wait_run: Any
) -> None:
    job = make_job(artifact=("ok.py", b"print('done')\n"))
    run = start_run(job)
    wait_run(run.id)
    response = oci_clients.data_science.delete_job(job.id, delete_related_job_runs=True)
    assert response.status == 202
    wr_id = response.headers["opc-work-request-id"]
    assert oci_clients.data_science.get_job(job.id).data.lifecycle_state in ("DELETING", "DELETED")
    wr = wait_for(
        lambda: (
            (w := oci_clients.data_science.get_work_request(wr_id).data).status == "SUCCEEDED" and w
        ),
        timeout=30,
        what="JOB_DELETE work request",
    )
    assert wr.operation_type == "JOB_DELETE"
    assert wr.resources[0].identifier == job.id
    assert wr.resources[0].action_type == "DELETED"
    assert wr.percent_complete == 100.0
    assert oci_clients.data_science.get_job(job.id).data.lifecycle_state == "DELETED"
    assert oci_clients.data_science.get_job_run(run.id).data.lifecycle_state == "DELETED"


def test_delete_job_with_active_run_is_incorrect_state(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any
) -> None:
    job = make_job(artifact=("slow.py", b"import time\ntime.sleep(30)\n"))
    run = start_run(job)
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.delete_job(job.id)
    assert (caught.value.status, caught.value.code) == (409, "IncorrectState")
    oci_clients.data_science.cancel_job_run(run.id)


def test_delete_job_composite_waits_for_work_request(
    oci_clients: OciClients, make_job: JobFactory
) -> None:
    job = make_job(artifact=("ok.py", b"pass\n"))
    composite = oci.data_science.DataScienceClientCompositeOperations(oci_clients.data_science)
    result = composite.delete_job_and_wait_for_state(
        job.id, wait_for_states=["SUCCEEDED"], waiter_kwargs={"max_interval_seconds": 1}
    )
    assert result.data.status == "SUCCEEDED"


def test_shapes_and_fast_launch_configs(oci_clients: OciClients, compartment: str) -> None:
    shapes = oci.pagination.list_call_get_all_results(
        oci_clients.data_science.list_job_shapes, compartment_id=compartment, limit=4
    ).data
    names = {s.name for s in shapes}
    assert {"VM.Standard2.1", "VM.Standard.E4.Flex"} <= names
    assert all(s.shape_series != "UNKNOWN_ENUM_VALUE" for s in shapes)
    configs = oci_clients.data_science.list_fast_launch_job_configs(compartment_id=compartment)
    assert all(c.managed_egress_support != "UNKNOWN_ENUM_VALUE" for c in configs.data)
    assert configs.data


def test_unknown_work_request_is_404(oci_clients: OciClients) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.get_work_request("ocid1.datascienceworkrequest.oc1..nope")
    assert caught.value.status == 404
