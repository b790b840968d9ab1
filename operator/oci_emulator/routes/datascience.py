"""Data Science 20190101 routes (oci-api.md §1.1)."""

from __future__ import annotations

import re
from email.utils import formatdate

from aiohttp import web

from oci_emulator import ids, lifecycle
from oci_emulator.backend.datascience import JOB_SUMMARY_FIELDS, RUN_SUMMARY_FIELDS
from oci_emulator.backend.listing import apply_filters, public
from oci_emulator.backend.store import StoredBlob
from oci_emulator.errors import InvalidParameter
from oci_emulator.routes.common import (
    accepted,
    bool_query,
    caller,
    doc_response,
    emulator,
    enum_query,
    json_body,
    json_response,
    list_response,
    required_query,
)
from oci_emulator.shapes import FAST_LAUNCH_CONFIGS, JOB_SHAPES

PREFIX = "/20190101"
WORK_REQUEST_FIELDS = (
    "id",
    "operationType",
    "status",
    "compartmentId",
    "percentComplete",
    "resources",
    "timeAccepted",
    "timeStarted",
    "timeFinished",
)
UPLOAD_OPERATIONS = frozenset({"CreateJobArtifact"})
#: Data Science list operations take 1..100 per page (the SDK documents the maximum).
DS_MAX_LIMIT = 100


async def create_job(request: web.Request) -> web.Response:
    body = await json_body(request)
    return doc_response(emulator(request).ds.create_job(caller(request), body))


async def list_jobs(request: web.Request) -> web.Response:
    compartment = required_query(request, "compartmentId")
    state = enum_query(request, "lifecycleState", lifecycle.JOB_STATES)
    docs = apply_filters(
        emulator(request).ds.list_jobs(compartment),
        {
            "projectId": request.query.get("projectId"),
            "id": request.query.get("id"),
            "displayName": request.query.get("displayName"),
            "lifecycleState": state,
            "createdBy": request.query.get("createdBy"),
        },
    )
    return list_response(request, docs, fields=JOB_SUMMARY_FIELDS, max_limit=DS_MAX_LIMIT)


async def get_job(request: web.Request) -> web.Response:
    return doc_response(emulator(request).ds.get_job(request.match_info["jobId"]))


async def update_job(request: web.Request) -> web.Response:
    body = await json_body(request)
    job = emulator(request).ds.update_job(
        request.match_info["jobId"], body, request.headers.get("if-match")
    )
    return doc_response(job)


async def delete_job(request: web.Request) -> web.Response:
    wr_id = emulator(request).ds.delete_job(
        request.match_info["jobId"],
        delete_runs=bool_query(request, "deleteRelatedJobRuns"),
        if_match=request.headers.get("if-match"),
    )
    return accepted(wr_id)


async def create_job_artifact(request: web.Request) -> web.Response:
    data = await request.read()
    blob = emulator(request).ds.create_artifact(
        request.match_info["jobId"], data, request.headers.get("content-disposition")
    )
    return web.Response(status=200, headers={"etag": blob.etag})


def _artifact_headers(blob: StoredBlob) -> dict[str, str]:
    return {
        "etag": blob.etag,
        "content-md5": blob.md5,
        "content-disposition": f"attachment; filename={blob.name}",
        "last-modified": _http_date(blob.time_ms),
    }


async def head_job_artifact(request: web.Request) -> web.Response:
    blob = emulator(request).ds.get_artifact(request.match_info["jobId"])
    headers = _artifact_headers(blob)
    headers["content-length"] = str(len(blob.data))
    return web.Response(status=200, headers=headers)


async def get_job_artifact_content(request: web.Request) -> web.Response:
    blob = emulator(request).ds.get_artifact(request.match_info["jobId"])
    return ranged_body(request, blob.data, _artifact_headers(blob))


def ranged_body(request: web.Request, data: bytes, headers: dict[str, str]) -> web.Response:
    """The body, or the single RFC 7233 byte range the ``range`` header asks for."""
    spec = request.headers.get("range")
    if not spec:
        return web.Response(body=data, headers=headers, content_type="application/octet-stream")
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", spec.strip())
    if not match or (not match.group(1) and not match.group(2)):
        raise InvalidParameter(f"Unsupported range header {spec!r}; use one byte range.")
    size = len(data)
    if match.group(1):
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else size - 1
    else:
        start, end = max(size - int(match.group(2)), 0), size - 1
    end = min(end, size - 1)
    if start > end:
        return web.Response(status=416, headers={"content-range": f"bytes */{size}"})
    headers = dict(headers, **{"content-range": f"bytes {start}-{end}/{size}"})
    return web.Response(
        status=206,
        body=data[start : end + 1],
        headers=headers,
        content_type="application/octet-stream",
    )


def _http_date(epoch_ms: int) -> str:
    return formatdate(epoch_ms / 1000, usegmt=True)


async def create_job_run(request: web.Request) -> web.Response:
    body = await json_body(request)
    return doc_response(emulator(request).ds.create_job_run(caller(request), body))


async def list_job_runs(request: web.Request) -> web.Response:
    compartment = required_query(request, "compartmentId")
    state = enum_query(request, "lifecycleState", lifecycle.RUN_STATES)
    docs = apply_filters(
        emulator(request).ds.list_job_runs(compartment),
        {
            "id": request.query.get("id"),
            "jobId": request.query.get("jobId"),
            "createdBy": request.query.get("createdBy"),
            "displayName": request.query.get("displayName"),
            "lifecycleState": state,
        },
    )
    return list_response(
        request,
        docs,
        fields=RUN_SUMMARY_FIELDS,
        time_field="timeAccepted",
        max_limit=DS_MAX_LIMIT,
    )


async def get_job_run(request: web.Request) -> web.Response:
    return doc_response(emulator(request).ds.get_job_run(request.match_info["jobRunId"]))


async def update_job_run(request: web.Request) -> web.Response:
    body = await json_body(request)
    run = emulator(request).ds.update_job_run(
        request.match_info["jobRunId"], body, request.headers.get("if-match")
    )
    return doc_response(run)


async def cancel_job_run(request: web.Request) -> web.Response:
    emulator(request).ds.cancel_job_run(
        request.match_info["jobRunId"], request.headers.get("if-match")
    )
    return accepted()


async def delete_job_run(request: web.Request) -> web.Response:
    emulator(request).ds.delete_job_run(
        request.match_info["jobRunId"], request.headers.get("if-match")
    )
    return web.Response(status=204)


async def list_job_shapes(request: web.Request) -> web.Response:
    required_query(request, "compartmentId")
    return list_response(
        request,
        list(JOB_SHAPES),
        fields=("name", "coreCount", "memoryInGBs", "shapeSeries"),
        sort_fields=None,
        max_limit=DS_MAX_LIMIT,
    )


async def list_fast_launch_job_configs(request: web.Request) -> web.Response:
    required_query(request, "compartmentId")
    return list_response(
        request,
        list(FAST_LAUNCH_CONFIGS),
        fields=(
            "name",
            "shapeName",
            "coreCount",
            "memoryInGBs",
            "shapeSeries",
            "managedEgressSupport",
        ),
        sort_fields=None,
        max_limit=DS_MAX_LIMIT,
    )


async def get_work_request(request: web.Request) -> web.Response:
    doc = emulator(request).ds.work_requests.get(request.match_info["workRequestId"])
    headers = {"etag": ids.new_etag()}
    if doc["status"] in ("ACCEPTED", "IN_PROGRESS"):
        headers["retry-after"] = "1"
    return json_response(public(doc), headers=headers)


async def list_work_requests(request: web.Request) -> web.Response:
    compartment = required_query(request, "compartmentId")
    docs = apply_filters(
        emulator(request).ds.work_requests.list_in(compartment),
        {
            "id": request.query.get("id"),
            "operationType": request.query.get("operationType"),
            "status": request.query.get("status"),
        },
    )
    resource = request.query.get("resourceId")
    if resource:
        docs = [d for d in docs if any(r["identifier"] == resource for r in d["resources"])]
    return list_response(
        request,
        docs,
        fields=WORK_REQUEST_FIELDS,
        sort_fields=("timeAccepted", "operationType", "status"),
        time_field="timeAccepted",
        max_limit=DS_MAX_LIMIT,
    )


async def list_work_request_errors(request: web.Request) -> web.Response:
    errors = emulator(request).ds.work_requests.errors(request.match_info["workRequestId"])
    return json_response(errors)


async def list_work_request_logs(request: web.Request) -> web.Response:
    doc = emulator(request).ds.work_requests.get(request.match_info["workRequestId"])
    entries = [
        {
            "message": f"Work request {doc['operationType']} accepted.",
            "timestamp": doc["timeAccepted"],
        }
    ]
    if doc.get("timeFinished"):
        entries.append(
            {"message": f"Work request {doc['status'].lower()}.", "timestamp": doc["timeFinished"]}
        )
    return json_response(entries)


def register(app: web.Application) -> None:
    routes = [
        ("POST", "/jobs", create_job, "CreateJob"),
        ("GET", "/jobs", list_jobs, "ListJobs"),
        ("GET", "/jobs/{jobId}", get_job, "GetJob"),
        ("PUT", "/jobs/{jobId}", update_job, "UpdateJob"),
        ("DELETE", "/jobs/{jobId}", delete_job, "DeleteJob"),
        ("POST", "/jobs/{jobId}/artifact", create_job_artifact, "CreateJobArtifact"),
        ("HEAD", "/jobs/{jobId}/artifact/content", head_job_artifact, "HeadJobArtifact"),
        (
            "GET",
            "/jobs/{jobId}/artifact/content",
            get_job_artifact_content,
            "GetJobArtifactContent",
        ),
        ("POST", "/jobRuns", create_job_run, "CreateJobRun"),
        ("GET", "/jobRuns", list_job_runs, "ListJobRuns"),
        ("GET", "/jobRuns/{jobRunId}", get_job_run, "GetJobRun"),
        ("PUT", "/jobRuns/{jobRunId}", update_job_run, "UpdateJobRun"),
        ("DELETE", "/jobRuns/{jobRunId}", delete_job_run, "DeleteJobRun"),
        ("POST", "/jobRuns/{jobRunId}/actions/cancelJobRun", cancel_job_run, "CancelJobRun"),
        ("GET", "/jobShapes", list_job_shapes, "ListJobShapes"),
        ("GET", "/fastLaunchJobConfigs", list_fast_launch_job_configs, "ListFastLaunchJobConfigs"),
        ("GET", "/workRequests", list_work_requests, "ListWorkRequests"),
        ("GET", "/workRequests/{workRequestId}", get_work_request, "GetWorkRequest"),
        (
            "GET",
            "/workRequests/{workRequestId}/errors",
            list_work_request_errors,
            "ListWorkRequestErrors",
        ),
        (
            "GET",
            "/workRequests/{workRequestId}/logs",
            list_work_request_logs,
            "ListWorkRequestLogs",
        ),
    ]
    for method, path, handler, name in routes:
        app.router.add_route(method, PREFIX + path, handler, name=name)
