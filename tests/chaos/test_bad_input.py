"""Bad input: every manifest of the corpus (``tests/chaos/corpus.py``) is refused at apply
with a message naming the field, or accepted and then held by the operator with a
condition naming the problem, before any OCI call.

Refusals are checked as ``kubectl apply`` would meet them (a server-side dry run with
strict field validation) through the Kubernetes client, so the 120-odd manifests take
seconds. The operator's cases are created for real, with the operator running against an
emulator whose request log must show no call by the operator at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest

from tests.chaos.conftest import OBSERVER_TENANCY, Chaos
from tests.chaos.corpus import BadInput, corpus
from tests.chaos.emulator_process import not_of_tenancy
from tests.chaos.workload import code_configmap, condition, items
from tests.fixtures.cluster import Cluster
from tests.fixtures.waiting import wait_for

CORPUS = corpus()
REFUSED = [c for c in CORPUS if c.outcome == "refused"]
HELD = [c for c in CORPUS if c.outcome != "refused"]
PLURALS = {"DataScienceJob": "datasciencejobs", "DataScienceJobRun": "datasciencejobruns"}


def test_the_corpus_has_at_least_100_bad_inputs() -> None:
    assert len(CORPUS) >= 100, len(CORPUS)
    assert HELD, "no case reaches the operator"
    print(f"bad inputs: {len(CORPUS)} ({len(REFUSED)} refused at apply, {len(HELD)} held)")


@pytest.fixture(scope="module")
def api(cluster: Cluster, operator_crds: None) -> Iterator[kubernetes.client.CustomObjectsApi]:
    client = kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield kubernetes.client.CustomObjectsApi(client)
    client.close()


@pytest.fixture(scope="module")
def refusal_namespace(cluster: Cluster) -> str:
    name = f"bad-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    return name


def _create(
    api: kubernetes.client.CustomObjectsApi, namespace: str, doc: dict[str, Any], dry: bool
) -> dict[str, Any]:
    result: dict[str, Any] = api.create_namespaced_custom_object(
        "ads.oci.dev",
        "v1alpha1",
        namespace,
        PLURALS[doc["kind"]],
        doc,
        dry_run="All" if dry else None,
        field_validation="Strict",
    )
    return result


def _apply_dry(
    api: kubernetes.client.CustomObjectsApi, namespace: str, doc: dict[str, Any], update: bool
) -> None:
    """What ``kubectl apply --dry-run=server`` sends: a create, or for an update a replace."""
    if not update:
        _create(api, namespace, doc, dry=True)
        return
    api.replace_namespaced_custom_object(
        "ads.oci.dev",
        "v1alpha1",
        namespace,
        PLURALS[doc["kind"]],
        doc["metadata"]["name"],
        doc,
        dry_run="All",
        field_validation="Strict",
    )


def _renamed(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return {**doc, "metadata": {**doc.get("metadata", {}), "name": name}}


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_bad_manifest_is_refused_naming_the_field(
    api: kubernetes.client.CustomObjectsApi, refusal_namespace: str, case: BadInput
) -> None:
    name = f"c-{uuid.uuid4().hex[:10]}"
    *before, last = (_renamed(d, name) for d in case.documents)
    if before:
        created = _create(api, refusal_namespace, before[0], dry=False)
        last["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    with pytest.raises(kubernetes.client.ApiException) as refused:
        _apply_dry(api, refusal_namespace, last, update=bool(before))
    error = refused.value
    assert error.status in (400, 422), (error.status, error.body)
    message = json.loads(error.body).get("message", "")
    assert case.expect in message, message[:2000]


def test_bad_specs_the_api_server_accepts_are_held_by_the_operator_without_oci_calls(
    chaos: Chaos,
) -> None:
    cluster, namespace = chaos.cluster, chaos.namespace
    operator = chaos.start_operator(namespace)
    chaos.emulator.reset_requests()
    docs = [code_configmap()] + [_renamed(case.documents[-1], case.path.stem) for case in HELD]
    chaos.apply(docs)

    def verdicts() -> bool:
        found = {**items(cluster, namespace, "dsjob"), **items(cluster, namespace, "dsjobrun")}
        missing: dict[str, str] = {}
        for case in HELD:
            resource = found.get(case.path.stem, {})
            terminal = condition(resource, "Terminal")
            false = [
                c
                for c in (resource.get("status") or {}).get("conditions") or []
                if c.get("status") == "False" and c.get("type") != "Terminal"
            ]
            if case.outcome == "terminal":
                ok = terminal.get("status") == "True" and case.expect in terminal.get("message", "")
            else:
                ok = terminal.get("status") != "True" and any(
                    case.expect in c.get("message", "") for c in false
                )
            if not ok:
                missing[case.path.stem] = json.dumps(
                    (resource.get("status") or {}).get("conditions")
                )[:400]
        if missing:
            raise AssertionError(missing)
        return True

    wait_for(
        verdicts,
        timeout=60,
        what=f"every held case to show its condition\n{operator.log[-2000:]}",
    )
    calls = not_of_tenancy(chaos.emulator.entries(), OBSERVER_TENANCY)
    assert not calls, [f"{e['operation']} {e['status']}" for e in calls]
