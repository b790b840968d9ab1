"""Resource Search 20180409: free-text ``SearchResources`` (what ADS uses to resolve a
File Storage mount given as ``<IP>:<export path>``)."""

from __future__ import annotations

from aiohttp import web

from oci_emulator.errors import InvalidParameter
from oci_emulator.routes.common import caller, emulator, json_body, json_response

SEARCH = "/20180409"


async def search_resources(request: web.Request) -> web.Response:
    body = await json_body(request)
    if body.get("type") != "FreeText":
        raise InvalidParameter("The emulator answers only FreeText searches (type FreeText).")
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise InvalidParameter("text (a non-empty string) is required.")
    items = emulator(request).search.free_text(caller(request), text)
    return json_response({"items": items})


def register(app: web.Application) -> None:
    app.router.add_route("POST", SEARCH + "/resources", search_resources, name="SearchResources")
