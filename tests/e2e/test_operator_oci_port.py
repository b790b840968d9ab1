"""The SDK adapter (the operator's OCI port) through the real ``oci`` SDK against the
emulator: every port method, the error mapping on real wire errors, and retry tokens.
No cluster needed; this sits in the e2e tier because it talks to a server over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import oci
import pytest

from ads_operator.models.oci_errors import NotFoundError, ThrottledError
from ads_operator.models.oci_records import OciJobRun
from ads_operator.oci.factory import PortFactory
from ads_operator.oci.log_counts import run_count_query
from ads_operator.oci.port import OciPort
from ads_operator.oci.ratelimit import TenancyBudget
from ads_operator.oci.run_scan import RunScan
from ads_operator.oci.sdk_adapter import SdkOciPort
from ads_operator.reconcile.logs import search_query
from ads_operator.settings import Settings
from oci_emulator.testing import ApiKey, EmulatorHandle
from tests.fixtures.resources import COMPARTMENT, PROJECT, oci_job_details


@pytest.fixture
def port(emulator: EmulatorHandle, emulator_api_key: ApiKey) -> OciPort:
    settings = Settings(
        oci_endpoint=emulator.endpoint,
        oci_config_file=str(emulator_api_key.config_file),
        oci_requests_per_second=100,
    )
    return PortFactory(settings).port()


T = TypeVar("T")


async def _until(probe: Callable[[], Awaitable[T]], what: str, limit: float = 60.0) -> T:
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last {value!r}")
        await asyncio.sleep(0.1)  # poll interval, bounded by the deadline


def _job_details(log_group: str, name: str) -> dict[str, object]:
    return {**oci_job_details(name, log_group=log_group), "freeformTags": {"k8s-uid": name}}


async def test_every_port_method_against_the_emulator(port: OciPort, log_group: str) -> None:
    job = await port.create_job(details=_job_details(log_group, "port-job"), retry_token="pj-1")
    again = await port.create_job(details=_job_details(log_group, "port-job"), retry_token="pj-1")
    assert again.id == job.id
    assert not await port.has_job_artifact(job_id=job.id)
    script = b"for i in range(7):\n    print(f'p{i}')\n"
    await port.create_job_artifact(
        job_id=job.id, file_name="p.py", content=script, retry_token="pa-1"
    )
    assert await port.has_job_artifact(job_id=job.id)

    async def active() -> bool:
        return (await port.get_job(job_id=job.id)).lifecycle_state == "ACTIVE"

    await _until(active, "the job to be ACTIVE")
    listed = await port.list_jobs(compartment_id=COMPARTMENT, project_id=PROJECT)
    assert any(j.id == job.id and j.freeform_tags == {"k8s-uid": "port-job"} for j in listed)
    renamed = await port.update_job(job_id=job.id, details={"displayName": "port-job-2"})
    assert renamed.display_name == "port-job-2"

    run_details = {"projectId": PROJECT, "compartmentId": COMPARTMENT, "jobId": job.id}
    run = await port.create_job_run(details=run_details, retry_token="pr-1")
    assert (await port.create_job_run(details=run_details, retry_token="pr-1")).id == run.id
    assert [r.id for r in await port.list_job_runs(compartment_id=COMPARTMENT, job_id=job.id)] == [
        run.id
    ]

    async def finished() -> OciJobRun | None:
        current = await port.get_job_run(run_id=run.id)
        return current if current.lifecycle_state == "SUCCEEDED" else None

    done = await _until(finished, "the run to succeed")
    assert done is not None
    assert done.log_id
    assert done.log_group_id == log_group
    assert done.time_finished is not None
    compartment = await port.get_log_compartment(log_group_id=log_group, log_id=done.log_id)
    query = search_query(compartment, log_group, done.log_id, run.id)
    accepted = done.time_accepted
    assert accepted is not None
    since = accepted - timedelta(minutes=1)

    async def all_lines() -> list[str] | None:
        lines: list[str] = []
        page: str | None = None
        while True:  # pages of 3: the adapter must hand back the page token
            result = await port.search_logs(
                query=query,
                time_start=since,
                time_end=datetime.now(UTC) + timedelta(seconds=1),
                limit=3,
                page=page,
            )
            lines += [r.message for r in result.records]
            page = result.next_page
            if not page:
                return lines if len(lines) >= 7 else None

    assert await _until(all_lines, "the log lines") == [f"p{i}" for i in range(7)]
    counted = await port.count_logs(
        query=run_count_query(compartment, log_group, done.log_id, run.id),
        time_start=since,
        time_end=datetime.now(UTC) + timedelta(seconds=1),
    )
    assert counted == {run.id: 7}

    slow = await port.create_job_run(details=run_details, retry_token="pr-2")
    await port.cancel_job_run(run_id=slow.id)

    async def canceled() -> bool:
        return (await port.get_job_run(run_id=slow.id)).lifecycle_state == "CANCELED"

    await _until(canceled, "the second run to be canceled")
    await port.delete_job_run(run_id=slow.id)
    assert (await port.get_job_run(run_id=slow.id)).lifecycle_state == "DELETED"
    work_request = await port.delete_job(job_id=job.id, delete_related_job_runs=True)
    assert work_request

    async def deleted() -> bool:
        status = (await port.get_work_request(work_request_id=work_request)).status
        return status == "SUCCEEDED"

    await _until(deleted, "the delete work request")
    assert (await port.get_job(job_id=job.id)).lifecycle_state == "DELETED"


async def test_objects_are_read_for_oci_sources(
    port: OciPort, emulator: EmulatorHandle, oci_config: dict[str, str]
) -> None:
    client = oci.object_storage.ObjectStorageClient(oci_config, service_endpoint=emulator.endpoint)
    namespace = client.get_namespace().data
    client.create_bucket(
        namespace,
        oci.object_storage.models.CreateBucketDetails(name="port-src", compartment_id=COMPARTMENT),
    )
    client.put_object(namespace, "port-src", "code/a.py", b"print(1)\n")
    client.put_object(namespace, "port-src", "code/b.py", b"print(2)\n")
    names = await port.list_objects(namespace=namespace, bucket="port-src", prefix="code/")
    assert sorted(names) == ["code/a.py", "code/b.py"]
    assert (
        await port.get_object(namespace=namespace, bucket="port-src", name="code/b.py")
        == b"print(2)\n"
    )


async def test_wire_errors_map_to_the_hierarchy(port: OciPort, emulator: EmulatorHandle) -> None:
    with pytest.raises(NotFoundError) as missing:
        await port.get_job(job_id="ocid1.datasciencejob.oc1.iad.doesnotexist")
    assert missing.value.code == "NotAuthorizedOrNotFound"
    emulator.faults({"operations": {"GetJobRun": {"rate429": 1.0, "retryAfter": 7}}})
    try:
        with pytest.raises(ThrottledError) as throttled:
            await port.get_job_run(run_id="ocid1.datasciencejobrun.oc1.iad.any")
    finally:
        emulator.clear_faults()
    assert throttled.value.retry_after == 7
    # The cadence backs off: a 429 leaves the service's budget no headroom for a while.
    assert isinstance(port, SdkOciPort)
    assert port._limiter.headroom("GetJobRun") < 0.05
    assert port._limiter.headroom("SearchLogs") == 1.0


async def _finished_runs(port: OciPort, log_group: str, name: str, count: int) -> list[str]:
    job = await port.create_job(details=_job_details(log_group, name), retry_token=f"{name}-j")
    await port.create_job_artifact(
        job_id=job.id, file_name="q.py", content=b"print('q')\n", retry_token=f"{name}-a"
    )

    async def active() -> bool:
        return (await port.get_job(job_id=job.id)).lifecycle_state == "ACTIVE"

    await _until(active, "the job to be ACTIVE")
    details = {"projectId": PROJECT, "compartmentId": COMPARTMENT, "jobId": job.id}
    ids = [
        (await port.create_job_run(details=details, retry_token=f"{name}-r{i}")).id
        for i in range(count)
    ]

    async def all_succeeded() -> bool:
        states = [(await port.get_job_run(run_id=i)).lifecycle_state for i in ids]
        return states == ["SUCCEEDED"] * count

    await _until(all_succeeded, "the runs to succeed")
    return ids


def _queued_for_tokens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operations that go to the loop's queue for a token from now on (a scan's
    worker thread takes further tokens without it)."""
    queued: list[str] = []
    acquire = TenancyBudget.acquire

    async def counting(self: TenancyBudget, operation: str) -> None:
        queued.append(operation)
        await acquire(self, operation)

    monkeypatch.setattr(TenancyBudget, "acquire", counting)
    return queued


async def test_a_scan_reads_a_list_page_after_page_from_both_ends(
    port: OciPort, log_group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan reads its pages one after another in one worker thread per end of the list
    while the budget has tokens, and hands over the runs found page by page."""
    ids = await _finished_runs(port, log_group, "scan-job", 6)
    queued = _queued_for_tokens(monkeypatch)
    handed: list[list[str]] = []
    wanted = frozenset([ids[0], ids[-1], "ocid1.datasciencejobrun.oc1.iad.never"])
    scan = RunScan(wanted, "SUCCEEDED", max_pages=100, both_ends=True)
    await port.scan_job_runs(
        compartment_id=COMPARTMENT,
        scan=scan,
        page_size=2,
        found=lambda runs: handed.append([r.id for r in runs]),
    )
    assert scan.done()
    assert scan.found.keys() == {ids[0], ids[-1]}  # the newest and the oldest of this job
    assert all(r.lifecycle_state == "SUCCEEDED" and r.log_id is None for r in scan.found.values())
    assert handed[0] == [ids[-1]]  # the newest page, handed over on its own
    assert sorted(r for page in handed for r in page) == sorted([ids[0], ids[-1]])
    # The first page from the loop's queue, then one per end; each end took the tokens
    # of its further pages in its thread. (Earlier tests' runs share the compartment, so
    # the list is longer than this job's six.)
    assert queued == ["ListJobRuns"] * 3
    assert scan.pages >= 3


async def test_a_scan_places_runs_in_the_list_by_their_acceptance_times(
    port: OciPort, log_group: str
) -> None:
    """The service sorts a list by creation time: a run newer than the last one of the
    newest page would have been on it, and runs in the newer half of the list are looked
    for from the top only."""
    ids = await _finished_runs(port, log_group, "scan-placed", 4)
    accepted = {i: (await port.get_job_run(run_id=i)).time_accepted for i in ids}
    assert all(accepted.values())
    times = {i: t for i, t in accepted.items() if t is not None}
    first = RunScan({ids[0]}, "SUCCEEDED", max_pages=100, both_ends=True)
    await port.scan_job_runs(compartment_id=COMPARTMENT, scan=first, page_size=2, found=_none)
    assert first.list_oldest is not None
    assert first.list_oldest <= times[ids[0]]

    gone = "ocid1.datasciencejobrun.oc1.iad.gone"  # accepted after the newest run
    newest = RunScan(
        {ids[-1], gone},
        "SUCCEEDED",
        max_pages=100,
        both_ends=True,
        accepted={**times, gone: times[ids[-1]] + timedelta(milliseconds=1)},
    )
    await port.scan_job_runs(compartment_id=COMPARTMENT, scan=newest, page_size=2, found=_none)
    assert newest.done()
    assert newest.pages == 1
    assert newest.found.keys() == {ids[-1]}

    second = RunScan(
        {ids[-2]},
        "SUCCEEDED",
        max_pages=100,
        both_ends=True,
        accepted=times,
        oldest=first.list_oldest,
    )
    await port.scan_job_runs(compartment_id=COMPARTMENT, scan=second, page_size=1, found=_none)
    assert second.found.keys() == {ids[-2]}
    assert second.pages == 2  # two pages from the top, none from the bottom


def _none(runs: Sequence[OciJobRun]) -> None:
    return None


async def test_a_scan_without_free_tokens_waits_in_the_queue_for_each_page(
    port: OciPort,
    emulator: EmulatorHandle,
    emulator_api_key: ApiKey,
    log_group: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await _finished_runs(port, log_group, "scan-slow", 2)
    slow = Settings(  # a token every 2 s and none saved up: the second page must queue
        oci_endpoint=emulator.endpoint,
        oci_config_file=str(emulator_api_key.config_file),
        oci_requests_per_second=0.5,
    )
    slow_port = PortFactory(slow).port()
    queued = _queued_for_tokens(monkeypatch)
    scan = RunScan(frozenset(ids), "SUCCEEDED", max_pages=10, both_ends=False)
    await slow_port.scan_job_runs(
        compartment_id=COMPARTMENT, scan=scan, page_size=1, found=lambda runs: None
    )
    assert scan.found.keys() == set(ids)
    assert len(queued) == scan.pages == 2
