"""The remaining operations (work request listings, deletes, buckets), ETag checks on
deletes and cancels, run environment extras, and concurrent creates."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import oci
import pytest

from oci_emulator.testing import EmulatorHandle
from tests.emulator.conftest import JobFactory, models, search_all
from tests.fixtures.emulator import OciClients
from tests.fixtures.waiting import wait_for


def test_work_request_listings(
    oci_clients: OciClients, make_job: JobFactory, compartment: str
) -> None:
    job = make_job(artifact=("x.py", b"pass\n"))
    wr_id = oci_clients.data_science.delete_job(job.id).headers["opc-work-request-id"]
    wait_for(
        lambda: oci_clients.data_science.get_work_request(wr_id).data.status == "SUCCEEDED",
        timeout=30,
        what="JOB_DELETE",
    )
    listed = oci_clients.data_science.list_work_requests(
        compartment_id=compartment, resource_id=job.id
    ).data
    assert [w.id for w in listed] == [wr_id]
    assert isinstance(listed[0], oci.data_science.models.WorkRequestSummary)
    logs = oci_clients.data_science.list_work_request_logs(wr_id).data
    assert logs
    assert all(entry.message for entry in logs)
    assert oci_clients.data_science.list_work_request_errors(wr_id).data == []


def test_delete_log_group_and_logging_work_requests(
    oci_clients: OciClients, compartment: str, make_log_group: Any
) -> None:
    group = make_log_group("to-delete")
    wr_id = oci_clients.logging.delete_log_group(group).headers["opc-work-request-id"]
    wait_for(
        lambda: oci_clients.logging.get_work_request(wr_id).data.status == "SUCCEEDED",
        timeout=30,
        what="DELETE_LOG_GROUP",
    )
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.logging.get_log_group(group)
    assert caught.value.status == 404
    operations = {
        w.operation_type
        for w in oci_clients.logging.list_work_requests(compartment_id=compartment).data
    }
    assert operations == {"CREATE_LOG_GROUP", "DELETE_LOG_GROUP"}


def test_bucket_listing_and_deletes(oci_clients: OciClients, compartment: str) -> None:
    client = oci_clients.object_storage
    namespace = client.get_namespace().data
    name = f"b-{uuid.uuid4().hex[:8]}"
    client.create_bucket(
        namespace,
        oci.object_storage.models.CreateBucketDetails(name=name, compartment_id=compartment),
    )
    buckets = client.list_buckets(namespace, compartment).data
    assert [b.name for b in buckets] == [name]
    client.put_object(namespace, name, "x", b"1")
    with pytest.raises(oci.exceptions.ServiceError) as not_empty:
        client.delete_bucket(namespace, name)
    assert not_empty.value.status == 409
    client.delete_object(namespace, name, "x")
    client.delete_bucket(namespace, name)
    assert client.list_buckets(namespace, compartment).data == []


def test_etag_checks_on_delete_and_cancel(
    oci_clients: OciClients, make_job: JobFactory, start_run: Any
) -> None:
    job = make_job(artifact=("slow.py", b"import time\ntime.sleep(60)\n"))
    with pytest.raises(oci.exceptions.ServiceError) as on_delete:
        oci_clients.data_science.delete_job(job.id, if_match="stale")
    assert (on_delete.value.status, on_delete.value.code) == (412, "NoEtagMatch")
    run = start_run(job)
    with pytest.raises(oci.exceptions.ServiceError) as on_cancel:
        oci_clients.data_science.cancel_job_run(run.id, if_match="stale")
    assert on_cancel.value.status == 412

    def cancel_with_current_etag() -> bool:
        """A fresh ETag is accepted; the run may move ACCEPTED -> IN_PROGRESS between the
        read and the cancel (a new ETag, rightly a 412), so a 412 means "read again"."""
        etag = oci_clients.data_science.get_job_run(run.id).headers["etag"]
        try:
            oci_clients.data_science.cancel_job_run(run.id, if_match=etag)
        except oci.exceptions.ServiceError as exc:
            if exc.status != 412:
                raise
            return False
        return True

    wait_for(cancel_with_current_etag, timeout=30, what="a cancel with the current ETag")


def test_run_env_setting_reaches_runs(
    emulator: EmulatorHandle,
    oci_clients: OciClients,
    make_job: JobFactory,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
    compartment: str,
) -> None:
    with emulator.overridden(run_env={"OCI_OBJECT_STORAGE_ENDPOINT": emulator.endpoint}):
        job = make_job(
            artifact=("e.py", b"import os\nprint(os.environ['OCI_OBJECT_STORAGE_ENDPOINT'])\n"),
            log_group=make_log_group(),
        )
        run = wait_run(start_run(job).id)
    lines = search_all(oci_clients, f"search \"{compartment}\" | where source = '*{run.id}'")
    assert [r["logContent"]["data"]["message"] for r in lines] == [emulator.endpoint]


def test_concurrent_creates_are_all_served(
    oci_clients: OciClients, make_job: JobFactory, compartment: str, project: str
) -> None:
    job = make_job(artifact=("x.py", b"pass\n"))
    details = models.CreateJobRunDetails(
        project_id=project, compartment_id=compartment, job_id=job.id
    )
    with ThreadPoolExecutor(8) as pool:
        ids = list(
            pool.map(lambda _: oci_clients.data_science.create_job_run(details).data.id, range(24))
        )
    assert len(set(ids)) == 24
    listed = oci.pagination.list_call_get_all_results(
        oci_clients.data_science.list_job_runs, compartment_id=compartment, job_id=job.id
    ).data
    assert {r.id for r in listed} == set(ids)


def test_retry_token_reused_for_another_request_is_rejected(
    oci_clients: OciClients, make_job: JobFactory, compartment: str, project: str
) -> None:
    job = make_job(artifact=("x.py", b"pass\n"))

    def details(name: str) -> Any:
        return models.CreateJobRunDetails(
            project_id=project, compartment_id=compartment, job_id=job.id, display_name=name
        )

    token = f"tok-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(6) as pool:
        ids = set(
            pool.map(
                lambda _: (
                    oci_clients.data_science.create_job_run(
                        details("a"), opc_retry_token=token
                    ).data.id
                ),
                range(6),
            )
        )
    assert len(ids) == 1
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.data_science.create_job_run(details("b"), opc_retry_token=token)
    assert (caught.value.status, caught.value.code) == (409, "InvalidatedRetryToken")
