"""File Storage mounts by address, resolved in ADS's three Resource Search steps."""

from __future__ import annotations

import pytest

from ads_operator.ads import mounts
from ads_operator.ads.mounts import Found

MT = "ocid1.mounttarget.oc1.iad.aaaa"
EX = "ocid1.export.oc1.iad.aaaa"
PIP_OLD = "ocid1.privateip.oc1.iad.old"
PIP_NEW = "ocid1.privateip.oc1.iad.new"


def searcher(answers: dict[str, list[Found]]) -> tuple[mounts.Search, list[str]]:
    asked: list[str] = []

    def search(text: str) -> list[Found]:
        asked.append(text)
        return answers.get(text, [])

    return search, asked


TENANCY = {
    "10.0.0.5": [
        Found("PrivateIp", PIP_NEW, "2026-02-01T00:00:00+00:00"),
        Found("PrivateIp", PIP_OLD, "2025-01-01T00:00:00+00:00"),
    ],
    PIP_NEW: [Found("MountTarget", MT), Found("Vnic", "ocid1.vnic.oc1..x")],
    PIP_OLD: [Found("MountTarget", "ocid1.mounttarget.oc1.iad.stale")],
    "/exports/data": [Found("Export", EX), Found("FileSystem", "ocid1.filesystem.oc1..f")],
    "/shared": [Found("Export", EX), Found("Export", "ocid1.export.oc1.iad.other")],
}


def test_ip_and_path_resolve_through_the_newest_private_ip() -> None:
    search, asked = searcher(TENANCY)
    assert mounts.resolve("10.0.0.5:/exports/data", search) == f"{MT}:{EX}"
    assert asked == ["10.0.0.5", PIP_NEW, "/exports/data"]


@pytest.mark.parametrize(
    ("src", "searches"),
    [(f"{MT}:/exports/data", ["/exports/data"]), (f"10.0.0.5:{EX}", ["10.0.0.5", PIP_NEW])],
)
def test_a_half_given_as_ocid_is_not_searched(src: str, searches: list[str]) -> None:
    search, asked = searcher(TENANCY)
    assert mounts.resolve(src, search) == f"{MT}:{EX}"
    assert asked == searches


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("10.9.9.9:/exports/data", "finds nothing at IP 10.9.9.9"),
        (f"{MT}:/nowhere", "finds no export with path /nowhere"),
        (f"{MT}:/shared", "finds 2 of export with path /shared; give the export OCID instead"),
    ],
)
def test_none_or_several_is_an_error_saying_what(src: str, message: str) -> None:
    search, _ = searcher(TENANCY)
    with pytest.raises(mounts.MountNotResolvableError, match=message):
        mounts.resolve(src, search)


def test_which_sources_need_a_search() -> None:
    assert mounts.needs_search("10.0.0.5:/x")
    assert mounts.needs_search(f"{MT}:/x")
    assert mounts.needs_search(f"10.0.0.5:{EX}")
    assert not mounts.needs_search(f"{MT}:{EX}")
    assert not mounts.needs_search("oci://b@ns/p")
