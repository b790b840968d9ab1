"""Object Storage through the real ObjectStorageClient (``oci://bucket@namespace/path``)."""

from __future__ import annotations

import uuid
from typing import Any

import oci
import pytest

from tests.fixtures.emulator import OciClients

om = oci.object_storage.models


@pytest.fixture
def bucket(oci_clients: OciClients, compartment: str) -> tuple[str, str]:
    namespace = oci_clients.object_storage.get_namespace().data
    name = f"bucket-{uuid.uuid4().hex[:8]}"
    created = oci_clients.object_storage.create_bucket(
        namespace, om.CreateBucketDetails(name=name, compartment_id=compartment)
    ).data
    assert (created.name, created.namespace) == (name, namespace)
    return namespace, name


def test_namespace_is_a_bare_string(oci_clients: OciClients) -> None:
    assert oci_clients.object_storage.get_namespace().data == "emulatorns"


def test_put_get_head_roundtrip(oci_clients: OciClients, bucket: tuple[str, str]) -> None:
    namespace, name = bucket
    client = oci_clients.object_storage
    put = client.put_object(
        namespace, name, "dir/run me.sh", b"echo hi\n", opc_meta={"owner": "tests"}
    )
    assert put.headers["etag"]
    got = client.get_object(namespace, name, "dir/run me.sh", opc_client_request_id="mine-1")
    assert got.headers["opc-client-request-id"] == "mine-1"
    assert got.data.content == b"echo hi\n"
    assert got.headers["etag"] == put.headers["etag"]
    head = client.head_object(namespace, name, "dir/run me.sh")
    assert head.headers["content-length"] == "8"
    assert head.headers["opc-meta-owner"] == "tests"
    ranged = client.get_object(namespace, name, "dir/run me.sh", range="bytes=5-")
    assert ranged.data.content == b"hi\n"


def test_missing_object_and_bucket_codes(oci_clients: OciClients, bucket: tuple[str, str]) -> None:
    namespace, name = bucket
    with pytest.raises(oci.exceptions.ServiceError) as missing_object:
        oci_clients.object_storage.get_object(namespace, name, "nope")
    assert (missing_object.value.status, missing_object.value.code) == (404, "ObjectNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as missing_bucket:
        oci_clients.object_storage.put_object(namespace, "no-such-bucket", "x", b"x")
    assert (missing_bucket.value.status, missing_bucket.value.code) == (404, "BucketNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as head_missing:
        oci_clients.object_storage.head_object(namespace, name, "nope")
    assert head_missing.value.status == 404


def test_list_objects_prefix_delimiter_and_paging(
    oci_clients: OciClients, bucket: tuple[str, str]
) -> None:
    namespace, name = bucket
    client = oci_clients.object_storage
    names = ["a/1.txt", "a/2.txt", "a/sub/3.txt", "b/4.txt", "top.txt"]
    for object_name in names:
        client.put_object(namespace, name, object_name, object_name.encode())
    everything = client.list_objects(namespace, name, fields="name,size,md5,timeCreated").data
    assert [o.name for o in everything.objects] == names
    assert everything.objects[0].size == len(b"a/1.txt")
    assert everything.next_start_with is None
    folder = client.list_objects(namespace, name, prefix="a/", delimiter="/").data
    assert [o.name for o in folder.objects] == ["a/1.txt", "a/2.txt"]
    assert folder.prefixes == ["a/sub/"]
    collected: list[Any] = []
    start = None
    while True:
        kwargs: dict[str, Any] = {"limit": 2}
        if start:
            kwargs["start"] = start
        page = client.list_objects(namespace, name, **kwargs).data
        collected.extend(o.name for o in page.objects)
        start = page.next_start_with
        if start is None:
            break
    assert collected == names
    all_pages = oci.pagination.list_call_get_all_results(
        client.list_objects, namespace, name, limit=2
    ).data
    assert [o.name for o in all_pages.objects] == names


def test_duplicate_bucket_is_a_conflict(
    oci_clients: OciClients, bucket: tuple[str, str], compartment: str
) -> None:
    namespace, name = bucket
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.object_storage.create_bucket(
            namespace, om.CreateBucketDetails(name=name, compartment_id=compartment)
        )
    assert (caught.value.status, caught.value.code) == (409, "BucketAlreadyExists")
    got = oci_clients.object_storage.get_bucket(namespace, name).data
    assert got.compartment_id == compartment
