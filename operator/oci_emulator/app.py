"""The HTTP layer: one aiohttp application serving every service on one port.

The middleware does what every OCI endpoint does before and after an operation: echo or
mint ``opc-request-id``, verify the signature, apply rate limits and injected faults,
replay ``opc-retry-token`` duplicates, turn errors into ``{code, message}`` bodies and
record the request. Route modules hold no business logic.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from oci_emulator import access, auth, ids
from oci_emulator.emulator import Emulator
from oci_emulator.errors import (
    ApiError,
    InternalServerError,
    InvalidatedRetryToken,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
    TooManyRequests,
    error_body,
)
from oci_emulator.faults import family_of
from oci_emulator.requestlog import Entry
from oci_emulator.routes import admin, datascience, objectstorage, resourcesearch
from oci_emulator.routes import logging as logging_routes
from oci_emulator.routes.common import CALLER_KEY, EMULATOR_KEY, json_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Creates that replay their first response for a repeated ``opc-retry-token``.
IDEMPOTENT_OPERATIONS = frozenset(
    {"CreateJob", "CreateJobRun", "CreateJobArtifact", "CreateLogGroup", "CreateLog"}
)
#: Raw uploads sign only ``date (request-target) host`` (oci-api.md §3.1).
UPLOAD_OPERATIONS = datascience.UPLOAD_OPERATIONS | objectstorage.UPLOAD_OPERATIONS
#: Largest accepted request body (artifacts and objects).
MAX_BODY_BYTES = 512 * 1024 * 1024


def operation_of(request: web.Request) -> str:
    route = request.match_info.route
    name = route.name or "Unknown"
    return name.removesuffix("Slash")


@web.middleware
async def oci_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    emu = request.app[EMULATOR_KEY]
    started = time.perf_counter()
    request_id = request.headers.get("opc-request-id") or ids.new_request_id()
    operation = operation_of(request)
    try:
        response = await _serve(request, handler, emu, operation)
    except ApiError as error:
        response = json_response(error_body(error), status=error.status, headers=error.headers)
    except web.HTTPException as exc:
        mapped = _http_error(exc, request)
        response = json_response(error_body(mapped), status=mapped.status)
    except Exception:
        log.exception("unhandled error in %s", operation)
        internal = InternalServerError("The emulator hit an unexpected error; see its log.")
        response = json_response(error_body(internal), status=internal.status)
    response.headers["opc-request-id"] = request_id
    client_request_id = request.headers.get("opc-client-request-id")
    if client_request_id:  # Object Storage echoes the caller's own id as well
        response.headers["opc-client-request-id"] = client_request_id
    if operation.startswith("Admin."):
        return response  # the log describes OCI traffic only
    # Known once the signature was verified, also when the call then failed (faults, 4xx).
    tenancy: str | None = getattr(request.get(CALLER_KEY), "tenancy", None)
    emu.request_log.record(
        Entry(
            time=ids.now_iso(),
            operation=operation,
            method=request.method,
            path=request.path,
            status=response.status,
            requestId=request_id,
            tenancy=tenancy,
            durationMs=round((time.perf_counter() - started) * 1000, 3),
        )
    )
    return response


def _http_error(exc: web.HTTPException, request: web.Request) -> ApiError:
    if exc.status == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {request.path}.")
    if exc.status == 413:
        return PayloadTooLarge(f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    return RouteNotFound(f"No operation matches {request.method} {request.path}.")


async def _serve(
    request: web.Request, handler: Handler, emu: Emulator, operation: str
) -> web.StreamResponse:
    if operation.startswith("Admin.") or request.match_info.http_exception is not None:
        return await handler(request)
    body = await request.read()
    if emu.auth_enabled:
        caller = auth.verify_request(
            emu.keys,
            method=request.method,
            target=request.raw_path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            body_signed=request.method in ("POST", "PUT", "PATCH")
            and operation not in UPLOAD_OPERATIONS,
            max_skew_seconds=emu.settings.max_clock_skew,
            tokens=emu.tokens,
        )
        request[CALLER_KEY] = caller
        if caller.workload is not None:
            access.check(
                emu,
                caller,
                operation=operation,
                query=request.query,
                path_ids=request.match_info,
                body=None if operation in UPLOAD_OPERATIONS else _json_or_none(body),
            )
    tenancy = getattr(request.get(CALLER_KEY), "tenancy", "anonymous")
    wait = emu.faults.take_token(tenancy, family_of(request.method, operation))
    if wait is not None:
        raise TooManyRequests(
            f"Rate limit exceeded for {operation} in tenancy {tenancy}.",
            headers={"retry-after": str(max(1, round(wait)))},
        )
    latency = emu.faults.latency_seconds(operation)
    if latency > 0:
        await asyncio.sleep(latency)  # injected latency, by configuration
    injected = emu.faults.injected_error(operation)
    if injected is not None:
        raise injected
    token = request.headers.get("opc-retry-token")
    if token and operation in IDEMPOTENT_OPERATIONS:
        # The path is part of the scope: one token may be reused for artifacts of two jobs.
        scope = f"{tenancy}:{operation}:{request.path}"
        return await _idempotent(request, handler, emu, scope, token, body)
    return await handler(request)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None  # the operation reports the malformed body itself


async def _idempotent(
    request: web.Request, handler: Handler, emu: Emulator, scope: str, token: str, body: bytes
) -> web.StreamResponse:
    """Serve once per (scope, token); repeats get the first response replayed."""
    key = f"{scope}:{token}"
    lock = emu.retry_locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            return await _serve_once(request, handler, emu, scope, token, body)
    finally:
        # The stored response, not the lock, is what dedupes later repeats: drop idle locks.
        if not lock.locked() and emu.retry_locks.get(key) is lock:
            del emu.retry_locks[key]


async def _serve_once(
    request: web.Request, handler: Handler, emu: Emulator, scope: str, token: str, body: bytes
) -> web.StreamResponse:
    """The first response for a token, or its replay (409 if the body differs)."""
    body_hash = hashlib.sha256(body).hexdigest()
    stored = emu.store.get_retry(scope, token)
    if stored is not None:
        first_hash, status, headers, payload = stored
        if first_hash != body_hash:
            raise InvalidatedRetryToken(
                "The opc-retry-token was already used for a different request."
            )
        return web.Response(status=status, headers=headers, body=payload)
    response = await handler(request)
    if isinstance(response, web.Response) and 200 <= response.status < 300:
        kept = {
            k: v
            for k, v in response.headers.items()
            if k.lower() in ("etag", "content-type", "opc-work-request-id", "location")
        }
        payload = response.body if isinstance(response.body, bytes) else b""
        emu.store.put_retry(scope, token, body_hash, response.status, kept, payload, ids.now_ms())
    return response


def create_app(emu: Emulator) -> web.Application:
    app = web.Application(middlewares=[oci_middleware], client_max_size=MAX_BODY_BYTES)
    app[EMULATOR_KEY] = emu
    datascience.register(app)
    logging_routes.register(app)
    objectstorage.register(app)
    resourcesearch.register(app)
    admin.register(app)

    async def on_startup(_: web.Application) -> None:
        await emu.start()
        if emu.proxymux is not None:  # the OKE workload identity exchange, on its own port
            await emu.proxymux.start(emu.request_log)

    async def on_cleanup(_: web.Application) -> None:
        if emu.proxymux is not None:
            await emu.proxymux.stop()
        await emu.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
