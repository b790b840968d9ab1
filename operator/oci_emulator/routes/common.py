"""Helpers every route module shares: JSON bodies, responses, query parameters, the caller."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from oci_emulator.backend.context import Caller
from oci_emulator.backend.listing import paginate, parse_limit, parse_page, public, sort_docs
from oci_emulator.errors import CannotParseRequest, InvalidParameter, MissingParameter

if TYPE_CHECKING:
    from oci_emulator.emulator import Emulator

Doc = dict[str, Any]

EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("emulator")
CALLER_KEY: web.RequestKey[Caller] = web.RequestKey("caller", Caller)


def emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR_KEY]


def caller(request: web.Request) -> Caller:
    return request.get(CALLER_KEY) or Caller()


async def json_body(request: web.Request) -> Doc:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CannotParseRequest(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise CannotParseRequest("The request body must be a JSON object.")
    return body


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def doc_response(doc: Doc, *, status: int = 200) -> web.Response:
    """A resource with its ETag header (Get, Create and Update responses)."""
    headers = {"etag": str(doc["_etag"])} if "_etag" in doc else {}
    return json_response(public(doc), status=status, headers=headers)


def accepted(work_request_id: str | None = None, *, status: int = 202) -> web.Response:
    headers = {"opc-work-request-id": work_request_id} if work_request_id else {}
    return web.Response(status=status, headers=headers)


def list_response(
    request: web.Request,
    docs: list[Doc],
    *,
    fields: Sequence[str],
    sort_fields: Sequence[str] | None = ("timeCreated", "displayName"),
    time_field: str = "timeCreated",
    default_limit: int = 100,
    max_limit: int = 1000,
) -> web.Response:
    """Sort, page and project a list as a bare JSON array with ``opc-next-page``."""
    query = request.query
    if sort_fields:
        docs = sort_docs(
            docs,
            sort_by=query.get("sortBy"),
            sort_order=query.get("sortOrder"),
            allowed=sort_fields,
            time_field=time_field,
        )
    chunk, next_page = paginate(
        docs,
        limit=parse_limit(query.get("limit"), default=default_limit, maximum=max_limit),
        page=parse_page(query.get("page")),
    )
    headers = {"opc-next-page": next_page} if next_page else {}
    return json_response([{k: d[k] for k in fields if k in d} for d in chunk], headers=headers)


def required_query(request: web.Request, name: str) -> str:
    value = request.query.get(name)
    if not value:
        raise MissingParameter(f"The query parameter {name} is required.")
    return value


def bool_query(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise InvalidParameter(f"{name} must be true or false, got {value!r}.")
    return value.lower() == "true"


def enum_query(request: web.Request, name: str, allowed: frozenset[str]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise InvalidParameter(f"{name} must be one of {sorted(allowed)}, got {value!r}.")
    return value
