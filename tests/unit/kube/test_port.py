"""update_status: a list in .status written onto the version it was computed from, read
again after a conflict, so another handler's write meanwhile is never lost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ads_operator.kube.port import update_status
from tests.fixtures.fake_kube import FakeKube


def _job(kube: FakeKube, items: list[str]) -> None:
    kube.add("jobs", {"metadata": {"name": "j", "namespace": "ns"}, "status": {"items": items}})


def _add_c(status: Mapping[str, Any]) -> dict[str, Any]:
    return {"items": [*status.get("items", []), "c"]}


async def test_a_write_meanwhile_is_kept_by_reading_again() -> None:
    kube = FakeKube()
    _job(kube, ["a"])
    writes = iter([["a", "b"]])

    def another_handler(plural: str, namespace: str, name: str) -> None:
        more = next(writes, None)
        if more is not None:  # lands between this read and this write, once
            obj = kube.objects[(plural, namespace, name)]
            obj["status"]["items"] = more
            obj["metadata"]["resourceVersion"] += "x"

    kube.before_patch = another_handler
    assert await update_status(kube, "jobs", "ns", "j", _add_c)
    assert kube.status_of("jobs", "ns", "j")["items"] == ["a", "b", "c"]
    assert kube.calls["get_resource"] == 2


async def test_nothing_to_change_writes_nothing_and_a_gone_object_is_false() -> None:
    kube = FakeKube()
    _job(kube, ["a"])
    assert await update_status(kube, "jobs", "ns", "j", lambda status: None)
    assert kube.calls["patch_status"] == 0
    assert not await update_status(kube, "jobs", "ns", "other", _add_c)


async def test_still_conflicting_after_the_attempts_gives_up_for_this_pass() -> None:
    kube = FakeKube()
    _job(kube, [])

    def always(plural: str, namespace: str, name: str) -> None:
        kube.objects[(plural, namespace, name)]["metadata"]["resourceVersion"] += "x"

    kube.before_patch = always
    assert not await update_status(kube, "jobs", "ns", "j", _add_c, attempts=3)
    assert kube.calls["patch_status"] == 3
    assert kube.status_of("jobs", "ns", "j") == {"items": []}
