"""The cluster tier: a real node beside the control plane, so pods run.

One control plane with one node per session (``hack/localcluster.up(..., node=True)``):
containerd + runc from Debian, kubelet, kube-scheduler and kube-controller-manager built
from the pinned Kubernetes module. Every test here is marked ``cluster``. Here ``cluster``
is that node's control plane and ``namespace`` a fresh namespace whose ``default``
ServiceAccount exists (the controller manager makes it; pods need it).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hack import buildtools, localcluster, localnode

from oci_emulator.proxymux import ProxymuxConfig
from oci_emulator.testing import ApiKey, EmulatorHandle, start_emulator
from oci_emulator.workload_identity import ANY_COMPARTMENT, Grant
from tests.fixtures.cluster import Cluster
from tests.fixtures.waiting import wait_for


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/cluster/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.cluster)


@dataclass(frozen=True)
class NodeCluster(Cluster):
    """A control plane with a node; ``directory`` is the instance's (hack/localcluster)."""

    directory: Path

    @property
    def node_paths(self) -> localnode.NodePaths:
        return localnode.NodePaths.of(self.directory)

    def discovery_env(self) -> dict[str, str]:
        """KUBERNETES_SERVICE_HOST/PORT a pod needs to reach the API server on loopback."""
        return localnode.discovery_env(self.server)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    """The session's control plane and node (started once, stopped at the end)."""
    try:
        localnode.prerequisites()
        for name in ("kube-apiserver", "etcd", "kubectl", "helm"):
            buildtools.find_binary(name)
    except (localnode.NodeError, buildtools.ToolError) as exc:
        pytest.fail(f"the cluster tier needs the local node: {exc}", pytrace=False)
    directory = tmp_path_factory.mktemp("node")
    started = time.monotonic()
    try:
        instance = localcluster.up(directory, node=True)
    except localcluster.ControlPlaneError as exc:
        localcluster.down(directory)
        pytest.fail(f"could not start the local node: {exc}", pytrace=False)
    print(f"\n[cluster tier] node Ready in {time.monotonic() - started:.1f}s", file=sys.stderr)
    try:
        yield NodeCluster(
            instance.kubeconfig, instance.server, tuple(buildtools.bin_dirs()), directory
        )
    finally:
        paths = localnode.NodePaths.of(directory)
        stopping = time.monotonic()
        stopped = localcluster.down(directory)
        print(
            f"\n[cluster tier] node down in {time.monotonic() - stopping:.1f}s: {stopped}",
            file=sys.stderr,
        )
        # `down` stopped exactly what `up` started: no process, shim, container or mount
        # of this node is left (an error at teardown says which).
        left = [p.name for p in instance.processes if p.alive()]
        left += [f"pid {pid}" for pid in localnode.leftovers(paths)]
        left += localnode.mounts_under(paths.root)
        assert not left, f"hack/controlplane down left these running: {left}"


@pytest.fixture
def namespace(cluster: NodeCluster) -> str:
    """A fresh namespace with its `default` ServiceAccount, so pods can be created."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    wait_for(
        lambda: (
            cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode
            == 0
        ),
        timeout=60,
        what=f"the default ServiceAccount of {name}",
    )
    return name


# --- the operator, installed by helm from the built image ------------------------------

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "ads-operator"
#: What `make image` writes (an OCI image archive; hack/controlplane load-image reads it).
IMAGE_ARCHIVE = Path(
    os.environ.get("ADS_OPERATOR_IMAGE_ARCHIVE", REPO / "dist" / "image" / "ads-operator.oci.tar")
)
RELEASE = "ads-operator"
RELEASE_NAMESPACE = "ads-system"


@pytest.fixture(scope="session")
def operator_image(cluster: NodeCluster) -> str:
    """The operator image (built by `make image`), loaded into the node's containerd."""
    if not IMAGE_ARCHIVE.is_file():
        pytest.fail(f"{IMAGE_ARCHIVE} is missing: run `make image` first", pytrace=False)
    names = localnode.load_image(cluster.node_paths, IMAGE_ARCHIVE)
    wanted = [n for n in names if "/ads-operator:" in n]
    assert wanted, f"{IMAGE_ARCHIVE} holds no ads-operator image: {names}"
    return wanted[0]


#: The operator's settings in the tests: short polls and graces, like the e2e tier's.
FAST_SETTINGS: dict[str, object] = {
    "clusterId": "node",
    "pollInterval": 0.5,
    "logGrace": 3,
    "logSettle": 1,
    "logReadInterval": 1,
    "jobResyncInterval": 2,
    "backoffInitial": 1,
    "authRetryDelay": 5,
    "ociRequestsPerSecond": 50,
    "metricsAddress": "127.0.0.1",
}


@dataclass
class Release:
    """The chart installed by helm on the node: one release for the session."""

    cluster: NodeCluster
    values: dict[str, Any]
    directory: Path
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def selector(self) -> str:
        return f"app.kubernetes.io/instance={RELEASE}"

    def helm(self, action: str, values: dict[str, Any]) -> None:
        """``helm install``/``upgrade`` with ``values`` (a JSON file is a YAML file)."""
        path = self.directory / f"values-{len(self.history)}.json"
        path.write_text(json.dumps(values, indent=2))
        self.cluster.helm(
            action, RELEASE, str(CHART), "-n", RELEASE_NAMESPACE, "-f", str(path),
            "--wait", "--timeout", "5m", timeout=330,
        )  # fmt: skip
        self.values = values
        self.history.append(values)

    def pods(self) -> list[dict[str, Any]]:
        out = self.cluster.kubectl(
            "get", "pods", "-n", RELEASE_NAMESPACE, "-l", self.selector, "-o", "json"
        ).stdout
        pods: list[dict[str, Any]] = json.loads(out)["items"]
        return pods

    def ready_pod(self) -> dict[str, Any]:
        """The one operator pod, once it is Ready (and no other pod is left)."""

        def probe() -> dict[str, Any] | None:
            pods = [p for p in self.pods() if not p["metadata"].get("deletionTimestamp")]
            if len(pods) != 1 or len(self.pods()) != 1:
                return None
            conditions = pods[0].get("status", {}).get("conditions", [])
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
            return pods[0] if ready else None

        return wait_for(probe, timeout=180, what="one Ready operator pod")

    def logs(self, pod: str, *args: str) -> str:
        return self.cluster.kubectl("logs", "-n", RELEASE_NAMESPACE, pod, *args).stdout

    def installed(self) -> bool:
        proc = self.cluster.helm("status", RELEASE, "-n", RELEASE_NAMESPACE, check=False)
        return proc.returncode == 0


#: The operator's ServiceAccount (release ads-operator of chart ads-operator).
SERVICE_ACCOUNT = "ads-operator"


def release_values(cluster: NodeCluster, image: str, emulator: EmulatorHandle) -> dict[str, Any]:
    """What a user sets, plus what the loopback-only node needs (hostNetwork, ports, the
    API server's loopback address, the emulator as the OCI endpoint). Credentials are the
    chart's default, OKE workload identity: no Secret."""
    repository, tag = image.rsplit(":", 1)
    return {
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "oci": {"region": "us-ashburn-1", "endpoint": emulator.endpoint},
        "hostNetwork": True,
        "probes": {
            "port": localcluster.free_port(),
            "liveness": {"initialDelaySeconds": 5, "periodSeconds": 5},
            "readiness": {"periodSeconds": 1},
        },
        "metrics": {"port": localcluster.free_port()},
        "settings": dict(FAST_SETTINGS),
        "terminationGracePeriodSeconds": 30,
        "extraEnv": [{"name": k, "value": v} for k, v in cluster.discovery_env().items()],
    }


@pytest.fixture(scope="session")
def emulator(cluster: NodeCluster, emulator_api_key: ApiKey) -> Iterator[EmulatorHandle]:
    """The OCI emulator, serving the OKE proxymux on the node API server's address.

    Its policy lets the operator's ServiceAccount act in any compartment; the tests' own
    calls use the API key of ``emulator_api_key``.
    """
    pki = cluster.directory / "pki"
    handle = start_emulator(
        keys=[emulator_api_key],
        proxymux=ProxymuxConfig(
            host=cluster.discovery_env()["KUBERNETES_SERVICE_HOST"],
            ca_cert=pki / "ca.crt",
            ca_key=pki / "ca.key",
            kubeconfig=cluster.kubeconfig,
        ),
    )
    assert handle.server is not None
    handle.server.emu.workload_policy.grant(
        Grant(RELEASE_NAMESPACE, SERVICE_ACCOUNT, frozenset({ANY_COMPARTMENT}))
    )
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def release_values_base(
    cluster: NodeCluster, operator_image: str, emulator: EmulatorHandle
) -> dict[str, Any]:
    return release_values(cluster, operator_image, emulator)


@pytest.fixture
def release(
    cluster: NodeCluster,
    release_values_base: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Release:
    """The chart installed (once; again only after a test uninstalled it), pod Ready."""
    handle = Release(cluster, release_values_base, tmp_path_factory.mktemp("release"))
    if not handle.installed():
        if cluster.kubectl("get", "namespace", RELEASE_NAMESPACE, check=False).returncode:
            cluster.kubectl("create", "namespace", RELEASE_NAMESPACE)
        handle.helm("install", release_values_base)
    return handle
