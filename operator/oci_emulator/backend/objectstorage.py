"""Object Storage: namespace, buckets and objects, enough for ``oci://`` sources and outputs.

Any namespace name is accepted (each is its own space), so job YAML written for a real
tenancy works unchanged; GetNamespace answers the configured one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oci_emulator import ids
from oci_emulator.backend.context import Caller
from oci_emulator.backend.store import Store, StoredBlob
from oci_emulator.errors import (
    BucketAlreadyExists,
    BucketNotFound,
    Conflict,
    InvalidParameter,
    NoEtagMatch,
    ObjectNotFound,
)
from oci_emulator.validation import check_tags, require_str

Doc = dict[str, Any]

BUCKET = "os.bucket"
LIST_FIELDS = frozenset(
    {"name", "size", "etag", "md5", "timeCreated", "timeModified", "storageTier", "archivalState"}
)
BUCKET_SUMMARY_FIELDS = (
    "namespace",
    "name",
    "compartmentId",
    "createdBy",
    "timeCreated",
    "etag",
    "freeformTags",
    "definedTags",
)


@dataclass(frozen=True)
class ObjectListing:
    objects: list[Doc]
    prefixes: list[str]
    next_start_with: str | None


class ObjectStorageBackend:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create_bucket(self, caller: Caller, namespace: str, body: Doc) -> Doc:
        name = require_str(body, "name")
        compartment = require_str(body, "compartmentId")
        check_tags(body)
        if self._find_bucket(namespace, name) is not None:
            raise BucketAlreadyExists(f"Bucket {name!r} already exists in namespace {namespace}.")
        doc: Doc = {
            "id": ids.new_ocid("bucket"),
            "namespace": namespace,
            "name": name,
            "compartmentId": compartment,
            "metadata": body.get("metadata") or {},
            "createdBy": caller.user,
            "timeCreated": ids.now_iso(),
            "etag": ids.new_etag(),
            "publicAccessType": body.get("publicAccessType") or "NoPublicAccess",
            "storageTier": body.get("storageTier") or "Standard",
            "objectEventsEnabled": bool(body.get("objectEventsEnabled", False)),
            "freeformTags": body.get("freeformTags") or {},
            "definedTags": body.get("definedTags") or {},
            "versioning": "Disabled",
            "autoTiering": "Disabled",
        }
        return self._store.insert(BUCKET, doc, compartment=compartment, parent=namespace)

    def get_bucket(self, namespace: str, name: str) -> Doc:
        doc = self._find_bucket(namespace, name)
        if doc is None:
            raise BucketNotFound(
                f"Either the bucket named '{name}' does not exist in the "
                f"namespace '{namespace}' or you are not authorized to access it"
            )
        return doc

    def list_buckets(self, namespace: str, compartment: str) -> list[Doc]:
        return [
            b
            for b in self._store.query(BUCKET, parent=namespace)
            if b["compartmentId"] == compartment
        ]

    def delete_bucket(self, namespace: str, name: str) -> None:
        bucket = self.get_bucket(namespace, name)
        if next(self._store.list_objects(namespace, name, ""), None) is not None:
            raise Conflict(f"Bucket {name!r} is not empty.")
        self._store.delete(bucket["id"])

    def _find_bucket(self, namespace: str, name: str) -> Doc | None:
        for bucket in self._store.query(BUCKET, parent=namespace):
            if bucket["name"] == name:
                return bucket
        return None

    def put_object(
        self,
        namespace: str,
        bucket: str,
        name: str,
        data: bytes,
        *,
        content_type: str,
        meta: dict[str, str],
        if_match: str | None,
        if_none_match: str | None,
    ) -> StoredBlob:
        self.get_bucket(namespace, bucket)
        if not name:
            raise InvalidParameter("The object name must not be empty.")
        existing = self._store.get_object(namespace, bucket, name)
        if if_none_match == "*" and existing is not None:
            raise NoEtagMatch(f"Object {name!r} already exists (if-none-match: *).")
        if if_match and (existing is None or existing.etag != if_match):
            raise NoEtagMatch(f"The if-match ETag does not match object {name!r}.")
        blob = StoredBlob(
            name=name,
            data=data,
            md5=ids.md5_base64(data),
            etag=ids.new_etag(),
            time_ms=ids.now_ms(),
            content_type=content_type,
            meta=meta,
        )
        self._store.put_object(namespace, bucket, blob)
        return blob

    def get_object(self, namespace: str, bucket: str, name: str) -> StoredBlob:
        self.get_bucket(namespace, bucket)
        blob = self._store.get_object(namespace, bucket, name)
        if blob is None:
            raise ObjectNotFound(f"The object '{name}' was not found in the bucket '{bucket}'")
        return blob

    def delete_object(self, namespace: str, bucket: str, name: str) -> None:
        self.get_bucket(namespace, bucket)
        if not self._store.delete_object(namespace, bucket, name):
            raise ObjectNotFound(f"The object '{name}' was not found in the bucket '{bucket}'")

    def list_objects(
        self,
        namespace: str,
        bucket: str,
        *,
        prefix: str,
        start: str,
        end: str | None,
        start_after: str | None,
        limit: int,
        delimiter: str | None,
        fields: frozenset[str],
    ) -> ObjectListing:
        self.get_bucket(namespace, bucket)
        unknown = fields - LIST_FIELDS
        if unknown:
            raise InvalidParameter(
                f"Unknown fields {sorted(unknown)}; allowed {sorted(LIST_FIELDS)}."
            )
        if delimiter not in (None, "/"):
            raise InvalidParameter("Only '/' is supported as a delimiter.")
        objects: list[Doc] = []
        prefixes: list[str] = []
        count = 0
        begin = max(start, prefix)
        for blob in self._store.list_objects(namespace, bucket, begin):
            name = blob.name
            if start_after is not None and name <= start_after:
                continue
            if end is not None and name >= end:
                break
            if not name.startswith(prefix):
                if name > prefix:
                    break
                continue
            if count == limit:
                return ObjectListing(objects, prefixes, name)
            if delimiter:
                cut = name.find(delimiter, len(prefix))
                if cut >= 0:
                    folder = name[: cut + 1]
                    if folder not in prefixes:
                        prefixes.append(folder)
                        count += 1
                    continue
            objects.append(_summary(blob, fields))
            count += 1
        return ObjectListing(objects, prefixes, None)


def _summary(blob: StoredBlob, fields: frozenset[str]) -> Doc:
    full: Doc = {
        "name": blob.name,
        "size": blob.length,
        "md5": blob.md5,
        "etag": blob.etag,
        "timeCreated": ids.format_time(blob.time_ms),
        "timeModified": ids.format_time(blob.time_ms),
        "storageTier": "Standard",
    }
    return {k: v for k, v in full.items() if k == "name" or k in fields}
