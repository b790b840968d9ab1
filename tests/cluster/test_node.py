"""The node itself: it registers and turns Ready, and a Deployment's pod is scheduled,
started from containerd's local store by runc, probed, restarted when it dies, and its
log read with `kubectl logs`. The workload is ``ads-pause --serve`` (hack/tools/pause),
already in the node's store as its sandbox image.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from hack import localcluster, localnode

from tests.cluster.conftest import NodeCluster
from tests.fixtures.waiting import wait_for


def _node(cluster: NodeCluster) -> dict[str, Any]:
    return cluster.get("node", localnode.NODE_NAME)


def test_the_node_is_ready_and_speaks_only_loopback(cluster: NodeCluster) -> None:
    node = _node(cluster)
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True", node["status"]["conditions"]
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.35.4"
    assert info["containerRuntimeVersion"].startswith("containerd://")
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["Hostname"] == "localhost"  # what the API server dials
    assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] != 10250  # a free port
    assert not node["spec"].get("podCIDR"), "no pod network is set up"


def _deployment(name: str, image: str, port: int) -> dict[str, Any]:
    probe = {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/healthz"}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "hostNetwork": True,
                    "terminationGracePeriodSeconds": 5,
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "imagePullPolicy": "Never",
                            "args": ["--serve", f"127.0.0.1:{port}"],
                            "readinessProbe": {**probe, "periodSeconds": 1},
                            "livenessProbe": {**probe, "periodSeconds": 5},
                            "securityContext": {
                                "runAsNonRoot": True,
                                "readOnlyRootFilesystem": True,
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def _pod(cluster: NodeCluster, namespace: str, app: str) -> dict[str, Any] | None:
    pods = json.loads(
        cluster.kubectl("get", "pods", "-n", namespace, "-l", f"app={app}", "-o", "json").stdout
    )["items"]
    return pods[0] if len(pods) == 1 else None


def _ready(pod: dict[str, Any] | None) -> bool:
    conditions = (pod or {}).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_a_deployment_runs_is_probed_restarted_and_logged(
    cluster: NodeCluster, namespace: str
) -> None:
    port = localcluster.free_port()
    image = localnode.sandbox_image()
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=json.dumps(_deployment("web", image, port))
    )
    pod = wait_for(
        lambda: (p := _pod(cluster, namespace, "web")) and _ready(p) and p,
        timeout=120,
        what="the web pod Ready through its readiness probe",
    )
    assert pod["spec"]["nodeName"] == localnode.NODE_NAME  # the scheduler placed it
    name = pod["metadata"]["name"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        assert answer.read() == b"ok\n"
    logs = cluster.kubectl("logs", "-n", namespace, name).stdout
    assert f"serving on 127.0.0.1:{port}" in logs
    assert "healthz from 127.0.0.1" in logs  # the kubelet's probes, on loopback

    # The process dies: the kubelet starts it again in the same pod.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/exit?code=3", timeout=5):
        pass
    restarted = wait_for(
        lambda: (
            (p := _pod(cluster, namespace, "web"))
            and p["status"]["containerStatuses"][0]["restartCount"] >= 1
            and _ready(p)
            and p
        ),
        timeout=120,
        what="the web container restarted and Ready again",
    )
    status = restarted["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["exitCode"] == 3
    previous = cluster.kubectl("logs", "-n", namespace, name, "--previous").stdout
    assert "exiting with 3 as asked" in previous
