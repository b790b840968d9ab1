"""Logging Management 20200531 and Logging Search 20190909 routes (oci-api.md §4)."""

from __future__ import annotations

from aiohttp import web

from oci_emulator import ids
from oci_emulator.backend.listing import apply_filters, parse_limit, public
from oci_emulator.backend.logmanagement import LOG_GROUP_SUMMARY_FIELDS, LOG_SUMMARY_FIELDS
from oci_emulator.backend.search import search
from oci_emulator.errors import InvalidParameter, MissingParameter
from oci_emulator.routes.common import (
    accepted,
    caller,
    doc_response,
    emulator,
    json_body,
    json_response,
    list_response,
    required_query,
)
from oci_emulator.routes.datascience import WORK_REQUEST_FIELDS

MANAGEMENT = "/20200531"
SEARCH = "/20190909"


async def create_log_group(request: web.Request) -> web.Response:
    body = await json_body(request)
    return accepted(emulator(request).logging.create_log_group(caller(request), body))


async def list_log_groups(request: web.Request) -> web.Response:
    compartment = required_query(request, "compartmentId")
    docs = emulator(request).logging.list_log_groups(compartment, request.query.get("displayName"))
    return list_response(request, docs, fields=LOG_GROUP_SUMMARY_FIELDS)


async def get_log_group(request: web.Request) -> web.Response:
    return doc_response(emulator(request).logging.get_log_group(request.match_info["logGroupId"]))


async def delete_log_group(request: web.Request) -> web.Response:
    return accepted(emulator(request).logging.delete_log_group(request.match_info["logGroupId"]))


async def create_log(request: web.Request) -> web.Response:
    body = await json_body(request)
    wr_id = emulator(request).logging.create_log(
        caller(request), request.match_info["logGroupId"], body
    )
    return accepted(wr_id)


async def list_logs(request: web.Request) -> web.Response:
    docs = emulator(request).logging.list_logs(
        request.match_info["logGroupId"],
        {
            "logType": request.query.get("logType"),
            "displayName": request.query.get("displayName"),
            "lifecycleState": request.query.get("lifecycleState"),
        },
    )
    return list_response(request, docs, fields=LOG_SUMMARY_FIELDS)


async def get_log(request: web.Request) -> web.Response:
    doc = emulator(request).logging.get_log(
        request.match_info["logGroupId"], request.match_info["logId"]
    )
    return doc_response(doc)


async def delete_log(request: web.Request) -> web.Response:
    wr_id = emulator(request).logging.delete_log(
        request.match_info["logGroupId"], request.match_info["logId"]
    )
    return accepted(wr_id)


async def get_work_request(request: web.Request) -> web.Response:
    doc = emulator(request).logging.work_requests.get(request.match_info["workRequestId"])
    headers = {"etag": ids.new_etag()}
    if doc["status"] in ("ACCEPTED", "IN_PROGRESS"):
        headers["retry-after"] = "1"
    return json_response(public(doc), headers=headers)


async def list_work_requests(request: web.Request) -> web.Response:
    compartment = required_query(request, "compartmentId")
    docs = apply_filters(
        emulator(request).logging.work_requests.list_in(compartment),
        {
            "status": request.query.get("status"),
            "operationType": request.query.get("operationType"),
        },
    )
    return list_response(request, docs, fields=WORK_REQUEST_FIELDS, sort_fields=None)


async def search_logs(request: web.Request) -> web.Response:
    body = await json_body(request)
    for key in ("timeStart", "timeEnd", "searchQuery"):
        if not body.get(key):
            raise MissingParameter(f"{key} is required.")
    try:
        time_start = ids.parse_time(str(body["timeStart"]))
        time_end = ids.parse_time(str(body["timeEnd"]))
    except ValueError:
        raise InvalidParameter("timeStart and timeEnd must be RFC 3339 timestamps.") from None
    emu = emulator(request)
    page = search(
        emu.store,
        query_text=str(body["searchQuery"]),
        time_start=time_start,
        time_end=time_end,
        limit=parse_limit(request.query.get("limit"), default=100, maximum=1000),
        page=request.query.get("page"),
        visibility_delay_seconds=emu.settings.log_visibility_delay,
        ties_reversed=emu.settings.log_tie_order == "reversed",
    )
    data: dict[str, object] = {
        "results": [{"data": doc} for doc in page.results],
        "summary": {"resultCount": len(page.results), "fieldCount": 0},
    }
    if body.get("isReturnFieldInfo"):
        data["fields"] = [
            {"fieldName": "datetime", "fieldType": "NUMBER"},
            {"fieldName": "logContent", "fieldType": "STRING"},
        ]
        data["summary"] = {"resultCount": len(page.results), "fieldCount": 2}
    headers = {"opc-next-page": page.next_page} if page.next_page else {}
    return json_response(data, headers=headers)


def register(app: web.Application) -> None:
    routes = [
        ("POST", "/logGroups", create_log_group, "CreateLogGroup"),
        ("GET", "/logGroups", list_log_groups, "ListLogGroups"),
        ("GET", "/logGroups/{logGroupId}", get_log_group, "GetLogGroup"),
        ("DELETE", "/logGroups/{logGroupId}", delete_log_group, "DeleteLogGroup"),
        ("POST", "/logGroups/{logGroupId}/logs", create_log, "CreateLog"),
        ("GET", "/logGroups/{logGroupId}/logs", list_logs, "ListLogs"),
        ("GET", "/logGroups/{logGroupId}/logs/{logId}", get_log, "GetLog"),
        ("DELETE", "/logGroups/{logGroupId}/logs/{logId}", delete_log, "DeleteLog"),
        ("GET", "/workRequests", list_work_requests, "ListLoggingWorkRequests"),
        ("GET", "/workRequests/{workRequestId}", get_work_request, "GetLoggingWorkRequest"),
    ]
    for method, path, handler, name in routes:
        app.router.add_route(method, MANAGEMENT + path, handler, name=name)
    app.router.add_route("POST", SEARCH + "/search", search_logs, name="SearchLogs")
