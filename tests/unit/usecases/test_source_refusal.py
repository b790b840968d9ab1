"""A code source the operator will not fetch makes the job Terminal (SourceRefused, naming
the field and the rule) before any OCI call, and nothing is fetched: the https host is
refused by its address, without a connection."""

from __future__ import annotations

from typing import Any

import pytest

from ads_operator.models import JOB_PLURAL
from ads_operator.reconcile.conditions import get_condition
from ads_operator.settings import Settings
from ads_operator.usecases import job
from ads_operator.usecases.outcome import Failed
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort
from tests.fixtures.fake_operator import fake_operator

NS = "team-a"


def _job(runtime_spec: dict[str, Any]) -> dict[str, Any]:
    infra = {"compartmentId": COMPARTMENT, "projectId": PROJECT, "shapeName": "VM.Standard2.1"}
    return {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceJob",
        "metadata": {"name": "src", "namespace": NS},
        "spec": {
            "name": "src",
            "infrastructure": {"kind": "infrastructure", "type": "dataScienceJob", "spec": infra},
            "runtime": {"kind": "runtime", "type": "notebook", "spec": runtime_spec}
            if "notebookPathURI" in runtime_spec
            else {"kind": "runtime", "type": "script", "spec": runtime_spec},
        },
    }


def _terminal(kube: FakeKube) -> dict[str, Any]:
    conditions = kube.status_of(JOB_PLURAL, NS, "src").get("conditions")
    return dict(get_condition(conditions, "Terminal") or {})


@pytest.mark.parametrize(
    ("runtime_spec", "field", "rule"),
    [
        (
            {"scriptPathURI": "https://127.0.0.1:1/train.py"},
            "spec.runtime.spec.scriptPathURI",
            "127.0.0.1 is loopback",
        ),
        (
            {"scriptPathURI": "https://[fd00::5]/train.py"},
            "spec.runtime.spec.scriptPathURI",
            "fd00::5 is private (IPv6 unique local)",
        ),
        (
            {"notebookPathURI": "https://169.254.169.254/nb.ipynb"},
            "spec.runtime.spec.notebookPathURI",
            "169.254.169.254 is link-local",
        ),
        (
            {"scriptPathURI": "https://minio.storage.svc/code.py"},
            "spec.runtime.spec.scriptPathURI",
            "cluster-internal name (*.svc)",
        ),
    ],
)
async def test_a_refused_source_is_terminal_without_an_oci_call(
    runtime_spec: dict[str, Any], field: str, rule: str
) -> None:
    kube, port = FakeKube(), FakePort()
    kube.add(JOB_PLURAL, _job(runtime_spec))
    op = fake_operator(kube, port)
    outcome = await job.reconcile(op, kube.objects[(JOB_PLURAL, NS, "src")], retry=0)
    assert isinstance(outcome, Failed)
    terminal = _terminal(kube)
    assert (terminal["status"], terminal["reason"]) == ("True", "SourceRefused")
    assert terminal["message"].startswith(f"{field}: https://"), terminal
    assert rule in terminal["message"], terminal
    assert "source_allowed_networks" in terminal["message"]
    assert not port.calls


async def test_an_allowed_network_lets_the_fetch_go_ahead() -> None:
    """Allowed, the loopback address is fetched: nothing listens on port 1, so the
    connection fails (a retry), which shows the refusal is gone, not the fetch made."""
    kube, port = FakeKube(), FakePort()
    kube.add(JOB_PLURAL, _job({"scriptPathURI": "https://127.0.0.1:1/train.py"}))
    op = fake_operator(kube, port, Settings(source_allowed_networks="127.0.0.1/32"))
    with pytest.raises(OSError, match=r"127\.0\.0\.1"):
        await job.reconcile(op, kube.objects[(JOB_PLURAL, NS, "src")], retry=0)
    assert _terminal(kube).get("reason") != "SourceRefused"


async def test_a_source_in_the_clusters_service_network_is_refused_though_allowed() -> None:
    """Issue 22: the Service network is learned from the cluster (its ServiceCIDRs) and an
    allowed network around it does not open it (loopback stands in for a Service range)."""
    kube, port = FakeKube(), FakePort()
    kube.service_networks = ["127.0.0.0/24"]
    kube.add(JOB_PLURAL, _job({"scriptPathURI": "https://127.0.0.1:1/train.py"}))
    op = fake_operator(kube, port, Settings(source_allowed_networks="127.0.0.0/8"))
    outcome = await job.reconcile(op, kube.objects[(JOB_PLURAL, NS, "src")], retry=0)
    assert isinstance(outcome, Failed)
    terminal = _terminal(kube)
    assert terminal["reason"] == "SourceRefused"
    assert "127.0.0.1 is in the cluster's Service network 127.0.0.0/24" in terminal["message"]
    assert kube.calls["service_cidrs"] == 1
    assert not port.calls
