"""Object Storage routes (no version prefix: ``/n/...``, oci-api.md §5)."""

from __future__ import annotations

from email.utils import formatdate
from urllib.parse import unquote

from aiohttp import web

from oci_emulator.backend.listing import parse_limit, public
from oci_emulator.backend.objectstorage import BUCKET_SUMMARY_FIELDS
from oci_emulator.backend.store import StoredBlob
from oci_emulator.routes.common import (
    caller,
    emulator,
    json_body,
    json_response,
    list_response,
    required_query,
)
from oci_emulator.routes.datascience import ranged_body

UPLOAD_OPERATIONS = frozenset({"PutObject"})


def _object_name(request: web.Request) -> str:
    """Everything after ``/o/`` in the raw path, percent-decoded (names may contain ``/``)."""
    raw = request.raw_path.split("?", 1)[0]
    return unquote(raw.split("/o/", 1)[1])


def _blob_headers(blob: StoredBlob) -> dict[str, str]:
    headers = {
        "etag": blob.etag,
        "content-md5": blob.md5,
        "last-modified": formatdate(blob.time_ms / 1000, usegmt=True),
        "storage-tier": "Standard",
        "archival-state": "Available",
    }
    for key, value in (blob.meta or {}).items():
        headers[f"opc-meta-{key}"] = value
    return headers


async def get_namespace(request: web.Request) -> web.Response:
    return json_response(emulator(request).settings.namespace)


async def create_bucket(request: web.Request) -> web.Response:
    body = await json_body(request)
    doc = emulator(request).objects.create_bucket(
        caller(request), request.match_info["namespaceName"], body
    )
    return json_response(public(doc), headers={"etag": doc["etag"]})


async def list_buckets(request: web.Request) -> web.Response:
    docs = emulator(request).objects.list_buckets(
        request.match_info["namespaceName"], required_query(request, "compartmentId")
    )
    return list_response(
        request, docs, fields=BUCKET_SUMMARY_FIELDS, sort_fields=None, default_limit=1000
    )


async def get_bucket(request: web.Request) -> web.Response:
    doc = emulator(request).objects.get_bucket(
        request.match_info["namespaceName"], request.match_info["bucketName"]
    )
    return json_response(public(doc), headers={"etag": doc["etag"]})


async def delete_bucket(request: web.Request) -> web.Response:
    emulator(request).objects.delete_bucket(
        request.match_info["namespaceName"], request.match_info["bucketName"]
    )
    return web.Response(status=204)


async def put_object(request: web.Request) -> web.Response:
    data = await request.read()
    meta = {
        key[len("opc-meta-") :]: value
        for key, value in request.headers.items()
        if key.lower().startswith("opc-meta-")
    }
    blob = emulator(request).objects.put_object(
        request.match_info["namespaceName"],
        request.match_info["bucketName"],
        _object_name(request),
        data,
        content_type=request.headers.get("content-type", "application/octet-stream"),
        meta=meta,
        if_match=request.headers.get("if-match"),
        if_none_match=request.headers.get("if-none-match"),
    )
    return web.Response(
        status=200,
        headers={
            "etag": blob.etag,
            "opc-content-md5": blob.md5,
            "last-modified": formatdate(blob.time_ms / 1000, usegmt=True),
        },
    )


async def get_object(request: web.Request) -> web.Response:
    blob = emulator(request).objects.get_object(
        request.match_info["namespaceName"], request.match_info["bucketName"], _object_name(request)
    )
    response = ranged_body(request, blob.data, _blob_headers(blob))
    response.content_type = blob.content_type
    return response


async def head_object(request: web.Request) -> web.Response:
    blob = emulator(request).objects.get_object(
        request.match_info["namespaceName"], request.match_info["bucketName"], _object_name(request)
    )
    headers = _blob_headers(blob)
    headers["content-length"] = str(len(blob.data))
    headers["content-type"] = blob.content_type
    return web.Response(status=200, headers=headers)


async def delete_object(request: web.Request) -> web.Response:
    emulator(request).objects.delete_object(
        request.match_info["namespaceName"], request.match_info["bucketName"], _object_name(request)
    )
    return web.Response(status=204)


async def list_objects(request: web.Request) -> web.Response:
    query = request.query
    fields = frozenset(f for f in (query.get("fields") or "name").split(",") if f)
    listing = emulator(request).objects.list_objects(
        request.match_info["namespaceName"],
        request.match_info["bucketName"],
        prefix=query.get("prefix", ""),
        start=query.get("start", ""),
        end=query.get("end"),
        start_after=query.get("startAfter"),
        limit=parse_limit(query.get("limit"), default=1000),
        delimiter=query.get("delimiter"),
        fields=fields,
    )
    data: dict[str, object] = {"objects": listing.objects, "prefixes": listing.prefixes}
    if listing.next_start_with is not None:
        data["nextStartWith"] = listing.next_start_with
    return json_response(data)


def register(app: web.Application) -> None:
    add = app.router.add_route
    add("GET", "/n", get_namespace, name="GetNamespace")
    add("GET", "/n/", get_namespace, name="GetNamespaceSlash")
    add("POST", "/n/{namespaceName}/b", create_bucket, name="CreateBucket")
    add("POST", "/n/{namespaceName}/b/", create_bucket, name="CreateBucketSlash")
    add("GET", "/n/{namespaceName}/b", list_buckets, name="ListBuckets")
    add("GET", "/n/{namespaceName}/b/", list_buckets, name="ListBucketsSlash")
    add("GET", "/n/{namespaceName}/b/{bucketName}", get_bucket, name="GetBucket")
    add("GET", "/n/{namespaceName}/b/{bucketName}/", get_bucket, name="GetBucketSlash")
    add("DELETE", "/n/{namespaceName}/b/{bucketName}", delete_bucket, name="DeleteBucket")
    add("DELETE", "/n/{namespaceName}/b/{bucketName}/", delete_bucket, name="DeleteBucketSlash")
    add("GET", "/n/{namespaceName}/b/{bucketName}/o", list_objects, name="ListObjects")
    add("GET", "/n/{namespaceName}/b/{bucketName}/o/", list_objects, name="ListObjectsSlash")
    obj = "/n/{namespaceName}/b/{bucketName}/o/{objectName:.+}"
    add("PUT", obj, put_object, name="PutObject")
    add("GET", obj, get_object, name="GetObject")
    add("HEAD", obj, head_object, name="HeadObject")
    add("DELETE", obj, delete_object, name="DeleteObject")
