"""File Storage mounts written by address: the operator resolves them with Resource
Search through its port (ADS's steps), once per generation, before translating."""

from __future__ import annotations

from typing import Any

import pytest

from ads_operator.ads.job_parts import TranslationError
from ads_operator.ads.mounts import Found
from ads_operator.models import JOB_PLURAL, DataScienceJobSpec
from ads_operator.usecases import job
from ads_operator.usecases.job_executor import JobOutcome, desired_for, ensure_job
from ads_operator.usecases.mounts import ResolvedMounts, with_resolved_mounts
from ads_operator.usecases.outcome import Done, Failed
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort
from tests.fixtures.fake_operator import fake_operator
from tests.unit.usecases.test_job import NS, SCRIPT, condition, current, job_body
from tests.unit.usecases.test_job_executor import context

MT = "ocid1.mounttarget.oc1.iad.aaaa"
EX = "ocid1.export.oc1.iad.aaaa"
PIP = "ocid1.privateip.oc1.iad.aaaa"
OBJECTS = "oci://bucket@ns/prefix"


def spec(*sources: str) -> DataScienceJobSpec:
    return DataScienceJobSpec.model_validate(
        {
            "name": "fss",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": COMPARTMENT,
                    "projectId": PROJECT,
                    "shapeName": "VM.Standard2.1",
                    "storageMount": [
                        {"src": src, "dest": f"m{i}"} for i, src in enumerate(sources)
                    ],
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "script",
                "spec": {"scriptPathURI": "configmap://code/hello.py"},
            },
        }
    )


def tenancy() -> FakePort:
    port = FakePort()
    port.resources = {
        "10.0.0.5": [Found("PrivateIp", PIP, "2026-01-01T00:00:00+00:00")],
        PIP: [Found("MountTarget", MT), Found("Vnic", "ocid1.vnic.oc1..v")],
        "/data": [Found("Export", EX)],
        "/twice": [Found("Export", EX), Found("Export", "ocid1.export.oc1.iad.bbbb")],
    }
    return port


def sources(resolved: DataScienceJobSpec) -> list[str]:
    return [m.src for m in resolved.infra.spec.storage_mount or []]


async def test_an_address_becomes_the_ocids_and_the_job_mounts_them() -> None:
    port = tenancy()
    resolved = await with_resolved_mounts(
        ResolvedMounts(), port, spec("10.0.0.5:/data", OBJECTS), "uid-1", 1
    )
    assert sources(resolved) == [f"{MT}:{EX}", OBJECTS]
    assert port.calls["search_resources"] == 3  # ADS's three: IP, private IP, export path
    ctx, _ = context(port, resolved)
    assert await ensure_job(ctx, await desired_for(ctx)) is JobOutcome.READY
    (job,) = port.jobs.values()
    mounts = port.details[job.id]["jobStorageMountConfigurationDetailsList"]  # type: ignore[typeddict-item]
    assert (mounts[0]["storageType"], mounts[0]["mountTargetId"], mounts[0]["exportId"]) == (
        "FILE_STORAGE",
        MT,
        EX,
    )


async def test_ocids_and_object_storage_are_not_searched() -> None:
    port = tenancy()
    given = spec(f"{MT}:{EX}", OBJECTS)
    assert await with_resolved_mounts(ResolvedMounts(), port, given, "uid-1", 1) is given
    assert port.calls["search_resources"] == 0


async def test_one_search_per_generation() -> None:
    port, cache = tenancy(), ResolvedMounts()
    for _ in range(3):  # passes while the job becomes ACTIVE
        await with_resolved_mounts(cache, port, spec("10.0.0.5:/data"), "uid-1", 1)
    assert port.calls["search_resources"] == 3
    await with_resolved_mounts(cache, port, spec("10.0.0.5:/data"), "uid-2", 1)
    assert port.calls["search_resources"] == 6  # another resource searches for itself
    # A new generation searches again (what the address means may have changed).
    port.resources["/data"] = [Found("Export", "ocid1.export.oc1.iad.new")]
    again = await with_resolved_mounts(cache, port, spec("10.0.0.5:/data"), "uid-1", 2)
    assert sources(again) == [f"{MT}:ocid1.export.oc1.iad.new"]
    assert port.calls["search_resources"] == 9


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("10.9.9.9:/data", r"storageMount\[1\]\.src '10\.9\.9\.9:/data': .*nothing at IP"),
        (f"{MT}:/twice", r"storageMount\[1\]\.src .*finds 2 of export with path /twice"),
    ],
)
async def test_nothing_or_several_found_is_a_translation_error(src: str, message: str) -> None:
    port, cache = tenancy(), ResolvedMounts()
    with pytest.raises(TranslationError, match=message):
        await with_resolved_mounts(cache, port, spec(OBJECTS, src), "uid-1", 1)
    assert set(port.calls) == {"search_resources"}  # the searches and nothing else
    assert cache.by_uid == {}


# -- through the job use case (FakeKube + FakePort) --------------------------------------


def _stored(kube: FakeKube, src: str) -> dict[str, Any]:
    body = job_body()
    body["spec"]["infrastructure"]["spec"]["storageMount"] = [{"src": src, "dest": "data"}]
    kube.configmaps[(NS, "code")] = {"hello.py": SCRIPT}
    return kube.add(JOB_PLURAL, body)


async def test_the_job_use_case_creates_the_job_with_the_ocids_and_searches_once() -> None:
    kube, port = FakeKube(), tenancy()
    _stored(kube, "10.0.0.5:/data")
    op = fake_operator(kube, port)
    assert await job.reconcile(op, current(kube), retry=0) == Done()
    (made,) = port.jobs.values()
    (mount,) = port.details[made.id]["jobStorageMountConfigurationDetailsList"]  # type: ignore[typeddict-item]
    assert (mount["mountTargetId"], mount["exportId"]) == (MT, EX)
    assert await job.reconcile(op, current(kube), retry=0) == Done()  # another pass
    assert port.calls["search_resources"] == 3
    assert port.calls["create_job"] == 1
    # The resource keeps the address as written.
    stored = current(kube)["spec"]["infrastructure"]["spec"]["storageMount"]
    assert stored == [{"src": "10.0.0.5:/data", "dest": "data"}]


async def test_the_job_use_case_makes_an_address_found_nowhere_terminal() -> None:
    kube, port = FakeKube(), tenancy()
    _stored(kube, "10.9.9.9:/data")
    result = await job.reconcile(fake_operator(kube, port), current(kube), retry=0)
    assert isinstance(result, Failed)
    assert "storageMount[0].src '10.9.9.9:/data'" in result.message
    assert condition(kube, "Terminal") == ("True", "InvalidSpec")
    assert dict(port.calls) == {"search_resources": 1}  # the IP's search, nothing else
