"""Resource Search finds seeded File Storage the way ADS looks it up for an
``<IP>:<export path>`` mount: IP -> private IP, private IP -> mount target, path -> export."""

from __future__ import annotations

import uuid

import oci
import pytest

from oci_emulator.testing import EmulatorHandle

FreeText = oci.resource_search.models.FreeTextSearchDetails


@pytest.fixture
def search(
    oci_config: dict[str, str], emulator: EmulatorHandle
) -> oci.resource_search.ResourceSearchClient:
    return oci.resource_search.ResourceSearchClient(
        oci_config,
        service_endpoint=emulator.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )


def _items(client: oci.resource_search.ResourceSearchClient, text: str) -> list[object]:
    found = client.search_resources(FreeText(text=text, matching_context_type="NONE"))
    return list(found.data.items)


def test_ads_three_searches_resolve_an_ip_and_export_path(
    search: oci.resource_search.ResourceSearchClient, emulator: EmulatorHandle, compartment: str
) -> None:
    ip = f"10.{uuid.uuid4().int % 250}.7.9"
    path = f"/exports/{uuid.uuid4().hex[:8]}"
    seeded = emulator.seed_file_system(compartment=compartment, ip_address=ip, export_path=path)

    by_ip = _items(search, ip)
    assert [(r.resource_type, r.identifier) for r in by_ip] == [
        ("PrivateIp", seeded["privateIpId"])
    ]
    assert by_ip[0].time_created is not None
    by_private_ip = [
        r for r in _items(search, by_ip[0].identifier) if r.resource_type == "MountTarget"
    ]
    assert [r.identifier for r in by_private_ip] == [seeded["mountTargetId"]]
    exports = [r for r in _items(search, path) if r.resource_type == "Export"]
    assert [r.identifier for r in exports] == [seeded["exportId"]]
    assert exports[0].compartment_id == compartment


def test_search_finds_nothing_unknown_and_refuses_structured_queries(
    search: oci.resource_search.ResourceSearchClient,
) -> None:
    assert _items(search, "192.0.2.1") == []
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        search.search_resources(
            oci.resource_search.models.StructuredSearchDetails(query="query all resources")
        )
    assert refused.value.status == 400
