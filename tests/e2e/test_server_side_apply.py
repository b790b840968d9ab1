"""Server-side apply from two field managers (two GitOps tools, or a tool and a person)
on the same job and run while the operator writes their status.

Both managers apply the same manifest, so they share ownership of its fields and neither
conflicts with the other nor with the operator (which writes only ``status``, through the
status subresource). Conditions are a list map keyed by ``type`` in the CRDs: a third
manager's own condition, applied to the status subresource, sits beside the operator's.
The operator's next write of the conditions drops it today (a merge patch of the list as
the operator computed it): the last test here says so, and fails once that is fixed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import Kube, job_run, scripted_job

#: Runs until canceled, so the applies below happen while the run is live.
SLOW = "import time\nprint('working', flush=True)\ntime.sleep(300)\n"
AUDITED = {
    "type": "Audited",
    "status": "True",
    "reason": "Reviewed",
    "message": "checked by the audit tool",
    "lastTransitionTime": "2026-12-04T00:00:00Z",
}


def server_side_apply(
    kube: Kube, manager: str, *docs: Mapping[str, Any], subresource: str = ""
) -> Any:
    """``kubectl apply --server-side --field-manager=<manager>`` of ``docs``; no
    ``--force-conflicts``, so a conflict is a non-zero exit."""
    extra = (f"--subresource={subresource}",) if subresource else ()
    return kube.kubectl(
        "apply", "--server-side", f"--field-manager={manager}", *extra, "-f", "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)}),
        check=False,
    )  # fmt: skip


def audit(kube: Kube, run: str, job: str) -> None:
    """A third field manager applies its own ``Audited`` condition to the run's status
    (kubectl validates the whole object, so the spec comes along; the status subresource
    ignores it)."""
    status = {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceJobRun",
        "metadata": {"name": run},
        "spec": {"jobRef": {"name": job}},
        "status": {"conditions": [AUDITED]},
    }
    applied = server_side_apply(kube, "audit", status, subresource="status")
    assert applied.returncode == 0, applied.stderr


def conditions(kube: Kube, kind: str, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = kube.status(kind, name).get("conditions") or []
    return found


def managers(kube: Kube, kind: str, name: str) -> set[tuple[str, str, str]]:
    """(manager, operation, subresource) of each managedFields entry."""
    obj = json.loads(kube.kubectl("get", kind, name, "-o", "json", "--show-managed-fields").stdout)
    return {
        (e["manager"], e["operation"], e.get("subresource", ""))
        for e in obj["metadata"]["managedFields"]
    }


def test_two_field_managers_apply_the_same_job_and_run_without_conflict(
    kube: Kube, operator: OperatorProcess
) -> None:
    manifest = [*scripted_job("ssa", SLOW, log_group=None), job_run("ssa-run", "ssa")]
    first = server_side_apply(kube, "a", *manifest)
    assert first.returncode == 0, first.stderr
    kube.wait_phase("ssa-run", "Running")  # the operator has written status on both
    kube.wait("dsjob/ssa", "Ready")

    second = server_side_apply(kube, "b", *manifest)
    assert second.returncode == 0, second.stderr

    audit(kube, "ssa-run", "ssa")  # a third manager's own condition on the run
    merged = {c["type"]: c for c in conditions(kube, "dsjobrun", "ssa-run")}
    assert merged["Audited"] == AUDITED
    assert {"Ready", "Reconciling"} <= set(merged), merged

    # The operator writes the run's end (Finished, Stalled, ...) after the audit condition.
    kube.kubectl("patch", "dsjobrun", "ssa-run", "--type=merge", "-p", '{"spec":{"cancel":true}}')
    kube.wait("dsjobrun/ssa-run", "Finished")
    ended = conditions(kube, "dsjobrun", "ssa-run")
    types = [c["type"] for c in ended]
    assert len(types) == len(set(types)), types  # a list map: one entry per type
    by_type = {c["type"]: c for c in ended}
    assert by_type["Finished"]["status"] == "True", ended

    # Both managers apply again after all that: still no conflict, and status kept.
    for manager in ("a", "b"):
        again = server_side_apply(kube, manager, *manifest)
        assert again.returncode == 0, again.stderr
    after = {c["type"]: c for c in conditions(kube, "dsjobrun", "ssa-run")}
    assert set(after) == set(by_type), after  # a spec apply leaves status alone
    job_types = [c["type"] for c in conditions(kube, "dsjob", "ssa")]
    assert len(job_types) == len(set(job_types)), job_types
    assert "Ready" in job_types, job_types

    for kind, name in (("dsjob", "ssa"), ("dsjobrun", "ssa-run")):
        owners = managers(kube, kind, name)
        assert {("a", "Apply", ""), ("b", "Apply", "")} <= owners, owners
        assert any(op == "Update" and sub == "status" for _, op, sub in owners), owners


def audited_run(kube: Kube) -> None:
    """A live run with a third manager's ``Audited`` condition beside the operator's."""
    kube.apply(*scripted_job("ssa", SLOW, log_group=None), job_run("ssa-run", "ssa"))
    kube.wait_phase("ssa-run", "Running")
    audit(kube, "ssa-run", "ssa")


def test_the_operators_next_write_keeps_another_managers_condition(
    kube: Kube, operator: OperatorProcess
) -> None:
    audited_run(kube)
    assert {c["type"] for c in conditions(kube, "dsjobrun", "ssa-run")} >= {"Audited", "Ready"}
    kube.kubectl("patch", "dsjobrun", "ssa-run", "--type=merge", "-p", '{"spec":{"cancel":true}}')
    kube.wait("dsjobrun/ssa-run", "Finished")
    by_type = {c["type"]: c for c in conditions(kube, "dsjobrun", "ssa-run")}
    assert by_type.get("Audited") == AUDITED, by_type


async def test_a_conditions_write_is_one_request_and_never_drops_a_condition_written_since(
    kube: Kube, operator_crds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's client itself, without an operator: a conditions write is one PATCH
    while the stored list is the one it was computed from; after another manager applied
    a condition meanwhile, the write (still computed from the older list) keeps it, by a
    read and a second PATCH."""
    from ads_operator.kube.config import configure
    from ads_operator.models import RUN_PLURAL

    kube.apply(job_run("cas", "no-such-job"))  # no operator runs here: nobody else writes
    assert kube.status("dsjobrun", "cas") == {"observedGeneration": 0}  # the CRD's default
    monkeypatch.setenv("KUBECONFIG", str(kube.cluster.kubeconfig))
    client = configure(pool_size=2)
    calls: list[str] = []
    custom = client._custom
    for method in ("get_namespaced_custom_object", "patch_namespaced_custom_object_status"):
        real = getattr(custom, method)

        def counted(*args: Any, _real: Any = real, _name: str = method, **kw: Any) -> Any:
            calls.append(_name.split("_")[0])
            return _real(*args, **kw)

        setattr(custom, method, counted)

    phases = {"True": "Running", "False": "Pending"}

    def ready(status: str) -> dict[str, Any]:
        return {"type": "Ready", "status": status, "reason": "Test", "message": "",
                "lastTransitionTime": "2026-12-04T00:00:00Z"}  # fmt: skip

    async def write(status: str, seen: list[Any]) -> list[Any]:
        calls.clear()
        written = await client.patch_status(
            RUN_PLURAL, kube.namespace, "cas", {"phase": phases[status], "conditions": [
                *(c for c in seen if c["type"] != "Ready"), ready(status)]},
            conditions_from=seen,
        )  # fmt: skip
        assert written is not None
        return list(written)

    first = await write("True", [])
    assert calls == ["patch"]
    assert conditions(kube, "dsjobrun", "cas") == first
    second = await write("False", first)
    assert calls == ["patch"]  # the stored list was the one it was computed from
    assert conditions(kube, "dsjobrun", "cas") == second

    audit(kube, "cas", "no-such-job")
    third = await write("True", second)  # computed from the list before the audit
    assert calls == ["patch", "get", "patch"]  # the test failed: read, redone, written
    stored = {c["type"]: c for c in conditions(kube, "dsjobrun", "cas")}
    assert stored["Audited"] == AUDITED
    assert stored["Ready"]["status"] == "True"
    assert {c["type"]: c for c in third} == stored
    await write("False", third)
    assert calls == ["patch"]
    assert {c["type"] for c in conditions(kube, "dsjobrun", "cas")} >= {"Audited", "Ready"}
    assert kube.status("dsjobrun", "cas")["phase"] == "Pending"
