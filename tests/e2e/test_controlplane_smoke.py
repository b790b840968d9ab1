"""Proof that the e2e tier is real: the API server's own behaviour, not a mock of it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.fixtures.cluster import Cluster
from tests.fixtures.resources import condition_of, wait_for_condition
from tests.fixtures.waiting import wait_for

CRD = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: widgets.smoke.ads-operator.test
    spec:
      group: smoke.ads-operator.test
      scope: Namespaced
      names: {plural: widgets, singular: widget, kind: Widget}
      versions:
        - name: v1
          served: true
          storage: true
          subresources: {status: {}}
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  properties:
                    min: {type: integer}
                    max: {type: integer}
                  x-kubernetes-validations:
                    - rule: "self.min <= self.max"
                      message: "min must not exceed max"
                status:
                  type: object
                  properties:
                    conditions:
                      type: array
                      items:
                        type: object
                        properties:
                          type: {type: string}
                          status: {type: string}
                          reason: {type: string}
    """
)


def widget(name: str, lo: int, hi: int) -> str:
    return json.dumps(
        {
            "apiVersion": "smoke.ads-operator.test/v1",
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"min": lo, "max": hi},
        }
    )


def test_server_reports_the_pinned_version(cluster: Cluster) -> None:
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"].startswith("v1.35.")
    assert cluster.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"


def test_crd_cel_status_events_and_wait(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=CRD)
    wait_for_condition(cluster, "crd/widgets.smoke.ads-operator.test", "Established", timeout=30)

    refused = cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=widget("bad", 5, 1), check=False
    )
    assert refused.returncode != 0
    assert "min must not exceed max" in refused.stderr

    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=widget("good", 1, 5))
    status = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Smoke"}]}}
    cluster.kubectl(
        "patch", "widget", "good", "-n", namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    waited = wait_for_condition(cluster, "widget/good", "Ready", namespace=namespace, timeout=30)
    assert condition_of(waited, "Ready")["reason"] == "Smoke"  # kubectl wait saw the patch

    uid = cluster.get("widget", "good", namespace)["metadata"]["uid"]  # type: ignore[index]
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "good.smoke", "namespace": namespace},
        "involvedObject": {
            "apiVersion": "smoke.ads-operator.test/v1",
            "kind": "Widget",
            "name": "good",
            "namespace": namespace,
            "uid": uid,
        },
        "reason": "Smoke",
        "message": "an event posted and read back",
        "type": "Normal",
        "source": {"component": "smoke-test"},
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(event))

    def event_messages() -> list[str]:
        events = json.loads(
            cluster.kubectl(
                "get", "events", "-n", namespace,
                "--field-selector", "involvedObject.name=good", "-o", "json",
            ).stdout
        )  # fmt: skip
        return [e["message"] for e in events["items"]]

    assert wait_for(event_messages, timeout=30, what="the posted Event") == [
        "an event posted and read back"
    ]


def test_helm_install_and_uninstall(cluster: Cluster, namespace: str) -> None:
    chart = Path(__file__).parent / "smoke-chart"
    cluster.helm("lint", "--strict", str(chart))
    cluster.helm("install", "smoke", str(chart), "-n", namespace, "--set", "greeting=hi")
    data = cluster.get("configmap", "smoke-smoke", namespace)["data"]
    assert data == {"greeting": "hi", "kubeVersion": "v1.35.4"}

    cluster.helm("uninstall", "smoke", "-n", namespace)
    gone = cluster.kubectl("get", "configmap", "smoke-smoke", "-n", namespace, check=False)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr
    releases = cluster.helm("list", "-n", namespace, "-q").stdout.split()
    assert releases == []
