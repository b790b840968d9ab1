"""``/_emulator/...``: control of the emulator itself, outside every OCI path.

Unauthenticated by design (it binds to loopback); tests and benchmarks use it to inject
faults, change timing, register API keys and read the request log, and ``make demo`` to
seed the log group the examples name.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from oci_emulator.errors import InvalidParameter
from oci_emulator.routes.common import emulator, json_body, json_response

ADMIN_PREFIX = "/_emulator"


async def health(request: web.Request) -> web.Response:
    emu = emulator(request)
    return json_response({"status": "ok", "db": emu.store.path, "auth": emu.auth_enabled})


async def get_settings(request: web.Request) -> web.Response:
    return json_response(emulator(request).settings.to_wire())


async def put_settings(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        emulator(request).settings.update(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"Unknown or invalid setting: {exc}") from None
    return json_response(emulator(request).settings.to_wire())


async def get_faults(request: web.Request) -> web.Response:
    return json_response(emulator(request).faults.to_wire())


async def put_faults(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        emulator(request).faults.configure(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"Invalid fault configuration: {exc}") from None
    return json_response(emulator(request).faults.to_wire())


async def get_requests(request: web.Request) -> web.Response:
    limit = int(request.query.get("limit", "1000"))
    return json_response(emulator(request).request_log.snapshot(limit=limit))


async def reset_requests(request: web.Request) -> web.Response:
    emulator(request).request_log.reset()
    return web.Response(status=204)


async def add_key(request: web.Request) -> web.Response:
    body: dict[str, Any] = await json_body(request)
    pem = body.get("publicKeyPem")
    if not isinstance(pem, str):
        raise InvalidParameter("publicKeyPem (a PEM string) is required.")
    try:
        fingerprint = emulator(request).keys.add_pem(
            pem.encode(), tenancy=body.get("tenancy"), user=body.get("user")
        )
    except ValueError as exc:
        raise InvalidParameter(f"Not a usable RSA public key: {exc}") from None
    return json_response({"fingerprint": fingerprint})


async def list_keys(request: web.Request) -> web.Response:
    return json_response({"fingerprints": emulator(request).keys.fingerprints()})


async def seed_log_group(request: web.Request) -> web.Response:
    body: dict[str, Any] = await json_body(request)
    values = {key: body.get(key) for key in ("id", "compartmentId", "displayName", "tenancy")}
    missing = [key for key, value in values.items() if not isinstance(value, str) or not value]
    if missing:
        raise InvalidParameter(f"{', '.join(missing)} (strings) are required.")
    doc = emulator(request).logging.seed_log_group(
        group_id=str(values["id"]),
        compartment=str(values["compartmentId"]),
        name=str(values["displayName"]),
        tenancy=str(values["tenancy"]),
    )
    return json_response({k: v for k, v in doc.items() if not k.startswith("_")})


async def seed_log_records(request: web.Request) -> web.Response:
    """Append records to a log in the order given (their ingestion order), at the times
    given: e.g. a burst of lines of one millisecond, to test how readers order ties."""
    body: dict[str, Any] = await json_body(request)
    emu = emulator(request)
    log = emu.logging.find_log(str(body.get("logId") or ""))
    if log is None:
        raise InvalidParameter("logId must name an existing log.")
    source, records = body.get("source"), body.get("records")
    if not isinstance(source, str) or not isinstance(records, list):
        raise InvalidParameter("source (a string) and records (a list) are required.")
    try:
        lines = [
            (int(r["datetime"]), str(r.get("stream", "stdout")), str(r["message"])) for r in records
        ]
    except (KeyError, TypeError, ValueError):
        raise InvalidParameter("each record needs datetime (ms) and message.") from None
    return json_response({"count": emu.logging.append_lines(log, source=source, lines=lines)})


async def seed_file_system(request: web.Request) -> web.Response:
    """A File Storage mount target at an IP with an export at a path, for Resource Search
    to find (ADS's ``<IP>:<export path>`` mounts); answers their OCIDs."""
    body: dict[str, Any] = await json_body(request)
    keys = ("compartmentId", "ipAddress", "exportPath", "tenancy")
    values = {key: body.get(key) for key in keys}
    missing = [key for key, value in values.items() if not isinstance(value, str) or not value]
    if missing:
        raise InvalidParameter(f"{', '.join(missing)} (strings) are required.")
    return json_response(
        emulator(request).search.seed_file_system(
            tenancy=str(values["tenancy"]),
            compartment=str(values["compartmentId"]),
            ip_address=str(values["ipAddress"]),
            export_path=str(values["exportPath"]),
        )
    )


def register(app: web.Application) -> None:
    add = app.router.add_route
    add("GET", ADMIN_PREFIX + "/health", health, name="Admin.Health")
    add("GET", ADMIN_PREFIX + "/settings", get_settings, name="Admin.GetSettings")
    add("PUT", ADMIN_PREFIX + "/settings", put_settings, name="Admin.PutSettings")
    add("GET", ADMIN_PREFIX + "/faults", get_faults, name="Admin.GetFaults")
    add("PUT", ADMIN_PREFIX + "/faults", put_faults, name="Admin.PutFaults")
    add("GET", ADMIN_PREFIX + "/requests", get_requests, name="Admin.GetRequests")
    add("DELETE", ADMIN_PREFIX + "/requests", reset_requests, name="Admin.ResetRequests")
    add("GET", ADMIN_PREFIX + "/keys", list_keys, name="Admin.ListKeys")
    add("POST", ADMIN_PREFIX + "/keys", add_key, name="Admin.AddKey")
    add("POST", ADMIN_PREFIX + "/log-groups", seed_log_group, name="Admin.SeedLogGroup")
    add("POST", ADMIN_PREFIX + "/log-records", seed_log_records, name="Admin.SeedLogRecords")
    add("POST", ADMIN_PREFIX + "/file-systems", seed_file_system, name="Admin.SeedFileSystem")
