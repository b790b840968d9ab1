"""A node beside the local control plane: containerd + runc, kubelet, scheduler, controllers.

``hack/controlplane up --node`` starts, after etcd and kube-apiserver, a containerd of its
own (its own root, state and socket under the instance directory), kube-controller-manager,
kube-scheduler and a kubelet named ``localhost``. Pods run for real (runc, probes,
restarts, ``kubectl logs``) with two limits that keep every connection on loopback:

- **Host network only.** There is no pod network and no kube-proxy: the CNI configuration
  holds just the ``loopback`` plugin, which is what containerd needs to report the node
  Ready. Pods set ``hostNetwork: true`` and listen on 127.0.0.1.
- **In-cluster discovery on loopback.** A pod's ``KUBERNETES_SERVICE_HOST`` is the
  ``kubernetes`` Service's cluster IP, which nothing routes here. The node's API server
  listens on a loopback address of its own (``127.x.y.z``, see
  :func:`own_loopback_address`) that its serving certificate names; pods set
  ``KUBERNETES_SERVICE_HOST=<that address>`` and ``KUBERNETES_SERVICE_PORT=<its port>`` in
  their container env (which wins over the kubelet's). :func:`discovery_env` gives the pair.
  An address of its own, because OKE workload identity sends its token exchange to
  ``https://$KUBERNETES_SERVICE_HOST:12250``: the emulator's proxymux listens there, and
  must not meet another's.

No registry is reachable, so images come from containerd's local store: the sandbox
("pause") image is made here from ``ads-pause`` (``hack/tools/pause``) and imported;
``load_image`` imports any OCI image archive (``make image`` writes one).

What the machine needs (containerd, runc, the CNI plugins) are Debian packages;
:func:`missing_runtime` says which are absent and :func:`install_runtime` installs them
with apt-get (``hack/controlplane install-runtime``, run by ``make node-tools``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tarfile
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hack import buildtools, localcluster
from hack.localcluster import Process

NODE_NAME = "localhost"
CNI_BIN_DIR = Path("/usr/lib/cni")
CONTAINERD_READY_SECONDS = 30.0
NODE_READY_SECONDS = 120.0
K8S_NAMESPACE = "k8s.io"  # containerd namespace the CRI plugin keeps pods' containers in
SANDBOX_REPOSITORY = "localhost/ads-pause"
UNIX_SOCKET_MAX = 107  # sun_path holds 108 bytes with the terminating NUL


class NodeError(Exception):
    """Something a person must act on, said plainly."""


@dataclass(frozen=True)
class Requirement:
    what: str
    path: str  # a command on PATH, or an absolute file
    package: str  # the Debian package that provides it

    def present(self) -> bool:
        if self.path.startswith("/"):
            return Path(self.path).is_file()
        return shutil.which(self.path) is not None


RUNTIME: tuple[Requirement, ...] = (
    Requirement("containerd (container runtime)", "containerd", "containerd"),
    Requirement("ctr (containerd's client)", "ctr", "containerd"),
    Requirement("containerd-shim-runc-v2", "containerd-shim-runc-v2", "containerd"),
    Requirement("runc (OCI runtime)", "runc", "runc"),
    Requirement(
        "the CNI loopback plugin", str(CNI_BIN_DIR / "loopback"), "containernetworking-plugins"
    ),
)


def missing_runtime() -> list[Requirement]:
    return [req for req in RUNTIME if not req.present()]


def runtime_hint(missing: list[Requirement]) -> str:
    packages = " ".join(dict.fromkeys(req.package for req in missing))
    lines = [f"  - {req.what}: `{req.path}` (Debian package {req.package})" for req in missing]
    return (
        "the node needs a container runtime this machine lacks:\n"
        + "\n".join(lines)
        + "\n`make node-tools` (or `hack/controlplane install-runtime`) installs them as root with"
        f" `apt-get update && apt-get install -y {packages}`"
    )


def install_runtime() -> list[str]:
    """apt-get install what :func:`missing_runtime` lists; returns the packages installed."""
    missing = missing_runtime()
    if not missing:
        return []
    packages = list(dict.fromkeys(req.package for req in missing))
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise NodeError(runtime_hint(missing) + "\n(this needs root and apt-get)")
    print(f"installing with apt-get: {' '.join(packages)}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise NodeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    still = missing_runtime()
    if still:
        raise NodeError(runtime_hint(still))
    return packages


def prerequisites(tools_root: Path | None = None) -> dict[str, Path]:
    """The node's binaries; NodeError naming what is missing and how to get it."""
    missing = missing_runtime()
    if missing:
        raise NodeError(runtime_hint(missing))
    try:
        return {
            name: buildtools.find_binary(name, tools_root)
            for name in ("kubelet", "kube-controller-manager", "kube-scheduler", "ads-pause")
        }
    except buildtools.ToolError as exc:
        raise NodeError(str(exc)) from None


# --- paths of one node ------------------------------------------------------------------


@dataclass(frozen=True)
class NodePaths:
    """Where a node keeps its files: ``<instance>/node/...``."""

    root: Path

    @classmethod
    def of(cls, instance_dir: Path) -> NodePaths:
        return cls(instance_dir / "node")

    @property
    def containerd(self) -> Path:
        return self.root / "containerd"

    @property
    def socket(self) -> Path:
        return self.containerd / "containerd.sock"

    @property
    def kubelet(self) -> Path:
        return self.root / "kubelet"

    @property
    def cni(self) -> Path:
        return self.root / "cni"


def ctr(paths: NodePaths, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run containerd's ``ctr`` against this node's containerd, in the CRI namespace."""
    cmd = ["ctr", "--address", str(paths.socket), "--namespace", K8S_NAMESPACE, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if check and proc.returncode != 0:
        raise NodeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc


# --- images -----------------------------------------------------------------------------


def _blob(blobs: dict[str, bytes], data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def write_binary_image(binary: Path, name: str, archive: Path) -> None:
    """An OCI image archive whose only file is ``binary`` as ``/<its name>``, the entrypoint.

    Laid out as ``ctr images import`` reads it: ``oci-layout``, ``index.json`` (naming the
    image with ``io.containerd.image.name``), and the layer, config and manifest blobs.
    """
    layer_buffer = io.BytesIO()
    with tarfile.open(fileobj=layer_buffer, mode="w") as tar:
        info = tarfile.TarInfo(binary.name)
        info.size = binary.stat().st_size
        info.mode = 0o755
        with binary.open("rb") as source:
            tar.addfile(info, source)
    layer = layer_buffer.getvalue()
    blobs: dict[str, bytes] = {}
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": [f"/{binary.name}"], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
    }
    gz = gzip.compress(layer, mtime=0)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            **_blob(blobs, json.dumps(config).encode()),
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_blob(blobs, gz)}
        ],
    }
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **_blob(blobs, json.dumps(manifest).encode()),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": name},
            }
        ],
    }
    files = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": json.dumps(index).encode(),
    }
    files.update({f"blobs/sha256/{d.split(':')[1]}": data for d, data in blobs.items()})
    with tarfile.open(archive, "w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def sandbox_image() -> str:
    version = next(t.version for t in buildtools.TOOLS if t.name == "pause")
    return f"{SANDBOX_REPOSITORY}:{version}"


def load_image(paths: NodePaths, archive: Path) -> list[str]:
    """Import an OCI image archive into the node's containerd; returns the image names."""
    if not paths.socket.exists():
        raise NodeError(f"no node is running here ({paths.socket} is missing): `up --node` first")
    names = archive_image_names(archive)
    if not names:
        raise NodeError(
            f"{archive} names no image (index.json has no io.containerd.image.name): "
            "containerd would import it nameless, and no pod could use it"
        )
    ctr(paths, "images", "import", str(archive))  # unpacked: the CRI needs snapshots
    missing = [name for name in names if name not in image_names(paths)]
    if missing:
        raise NodeError(f"containerd did not list {missing} after importing {archive}")
    return names


def archive_image_names(archive: Path) -> list[str]:
    """The image names an OCI image archive's index.json gives containerd."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json")
        index = json.loads(member.read()) if member else {}
    return [
        str(entry["annotations"]["io.containerd.image.name"])
        for entry in index.get("manifests", [])
        if "io.containerd.image.name" in entry.get("annotations", {})
    ]


def image_names(paths: NodePaths) -> list[str]:
    out = ctr(paths, "images", "list", "--quiet").stdout
    return [line for line in out.splitlines() if line and not line.startswith("sha256:")]


# --- configuration files ----------------------------------------------------------------


def _containerd_config(paths: NodePaths) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""# containerd of one local node (written by hack/localnode.py)
version = 2
root = "{paths.containerd / "root"}"
state = "{paths.containerd / "state"}"
# Plugins that would reach outside this directory or are of no use here.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{paths.socket}"

[ttrpc]
  address = "{paths.socket}.ttrpc"

[metrics]
  address = ""

[{cri}]
  sandbox_image = "{sandbox_image()}"
  # The exec/attach stream server: loopback and a free port (the default is 10010).
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Processes here lack CAP_SYS_RESOURCE: never ask runc to lower an OOM score.
  restrict_oom_score_adj = true
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [{cri}.cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{paths.cni}"
"""


# Only the loopback plugin: the node reports Ready and pods stay on the host network.
CNI_CONFLIST = {
    "cniVersion": "0.4.0",
    "name": "loopback-only",
    "plugins": [{"type": "loopback"}],
}


def _kubelet_config(paths: NodePaths, pki: Path, port: int, healthz_port: int) -> dict[str, object]:
    endpoint = f"unix://{paths.socket}"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # cgroup v1 hierarchy, no systemd as PID 1: see docs in hack/README.md.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupsPerQOS": False,
        "enforceNodeAllocatable": [],
        "failSwapOn": False,
        "address": "127.0.0.1",
        "port": port,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "readOnlyPort": 0,
        "resolvConf": "",
        "containerRuntimeEndpoint": endpoint,
        "imageServiceEndpoint": endpoint,
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        # Only the API server (a client certificate of our CA) calls the kubelet.
        "authentication": {
            "x509": {"clientCAFile": str(pki / "ca.crt")},
            "webhook": {"enabled": False},
            "anonymous": {"enabled": False},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "podLogsDir": str(paths.kubelet / "pod-logs"),
        "volumePluginDir": str(paths.kubelet / "volume-plugins"),
        # Never collect our imported images (nothing can pull them again) nor evict pods
        # because a shared build machine's disk is fuller than a real node's would be.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "1Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "registerNode": True,
    }


def make_node_pki(pki: Path) -> None:
    """Client certificates of the node's components and the kubelet's serving certificate."""
    (pki / "kubelet-serving.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    for name, subject, ext in (
        ("kubelet-serving", f"/CN={NODE_NAME}", "kubelet-serving.ext"),
        # The node authorizer knows a kubelet by this user and group.
        ("kubelet", f"/O=system:nodes/CN=system:node:{NODE_NAME}", "client.ext"),
        # The API server's identity when it calls the kubelet (logs, exec).
        (
            "apiserver-kubelet-client",
            "/O=system:masters/CN=kube-apiserver-kubelet-client",
            "client.ext",
        ),
        ("controller-manager", "/CN=system:kube-controller-manager", "client.ext"),
        ("scheduler", "/CN=system:kube-scheduler", "client.ext"),
    ):
        localcluster.issue_cert(pki, name, subject, ext)


def apiserver_flags(pki: Path) -> list[str]:
    """What kube-apiserver needs beside a node (on top of the bare control plane's flags)."""
    return [
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        # The node's Hostname address is `localhost`; never its InternalIP (not loopback).
        "--kubelet-preferred-address-types=Hostname",
    ]


def discovery_env(server: str) -> dict[str, str]:
    """The env a pod needs to reach the API server on loopback (in-cluster config)."""
    url = urllib.parse.urlsplit(server)
    return {"KUBERNETES_SERVICE_HOST": str(url.hostname), "KUBERNETES_SERVICE_PORT": str(url.port)}


#: Where the OKE workload identity token exchange goes (fixed in the oci SDK).
PROXYMUX_PORT = 12250


def own_loopback_address() -> str:
    """A 127.0.0.0/8 address (all loopback on Linux) whose proxymux port is free.

    The node's API server binds it, so it is also its pods' KUBERNETES_SERVICE_HOST, and
    an emulator's proxymux can listen on it at port 12250 beside other emulators' (each
    on an address of its own).
    """
    rng = random.SystemRandom()
    for _ in range(100):
        host = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        with socket.socket() as sock:
            try:
                sock.bind((host, PROXYMUX_PORT))
            except OSError:
                continue
        return host
    raise NodeError(f"no loopback address with port {PROXYMUX_PORT} free")


# --- start and stop ---------------------------------------------------------------------


def start(
    instance_dir: Path,
    server: str,
    tools_root: Path | None,
    record: Callable[[Process], None],
) -> None:
    """Start containerd, kube-controller-manager, kube-scheduler and the kubelet.

    ``record`` is called with each process as soon as it is started, so that ``down``
    stops a half-started node too. Returns once the node is Ready.
    """
    binaries = prerequisites(tools_root)
    paths = NodePaths.of(instance_dir)
    if len(f"{paths.socket}.ttrpc") > UNIX_SOCKET_MAX:
        raise NodeError(
            f"the instance directory {instance_dir} is too deep for containerd's socket "
            f"(a unix socket path holds {UNIX_SOCKET_MAX} bytes): use a shorter --dir"
        )
    pki = instance_dir / "pki"
    for directory in (paths.containerd, paths.kubelet, paths.cni):
        directory.mkdir(parents=True, exist_ok=True)
    (paths.cni / "10-loopback.conflist").write_text(json.dumps(CNI_CONFLIST, indent=2))
    containerd_config = paths.root / "containerd.toml"
    containerd_config.write_text(_containerd_config(paths))
    for user in ("kubelet", "controller-manager", "scheduler"):
        localcluster.write_kubeconfig(paths.root / f"{user}.kubeconfig", server, pki, user)

    log = paths.root / "containerd.log"
    containerd = localcluster.spawn(
        "containerd", ["containerd", "--config", str(containerd_config)], log
    )
    record(containerd)
    localcluster.wait_until(
        "containerd", lambda: ctr(paths, "version", check=False).returncode == 0,
        containerd, log, CONTAINERD_READY_SECONDS,
    )  # fmt: skip
    archive = paths.root / "sandbox.oci.tar"
    write_binary_image(binaries["ads-pause"], sandbox_image(), archive)
    ctr(paths, "images", "import", str(archive))

    record(localcluster.spawn("kube-controller-manager", [
        str(binaries["kube-controller-manager"]),
        f"--kubeconfig={paths.root / 'controller-manager.kubeconfig'}",
        "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false",
        # Each controller acts as its own ServiceAccount, with the bootstrap roles.
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",  # published as kube-root-ca.crt in every namespace
        "--v=1",
    ], paths.root / "kube-controller-manager.log"))  # fmt: skip
    record(localcluster.spawn("kube-scheduler", [
        str(binaries["kube-scheduler"]),
        f"--kubeconfig={paths.root / 'scheduler.kubeconfig'}",
        "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false", "--v=1",
    ], paths.root / "kube-scheduler.log"))  # fmt: skip
    kubelet_config = paths.root / "kubelet.yaml"
    kubelet_config.write_text(
        json.dumps(
            _kubelet_config(paths, pki, localcluster.free_port(), localcluster.free_port()),
            indent=2,
        )
    )
    log = paths.root / "kubelet.log"
    kubelet = localcluster.spawn("kubelet", [
        str(binaries["kubelet"]),
        f"--config={kubelet_config}",
        f"--kubeconfig={paths.root / 'kubelet.kubeconfig'}",
        f"--root-dir={paths.kubelet}",
        # Its Hostname address, `localhost`, is what the API server dials (logs, exec).
        f"--hostname-override={NODE_NAME}",
        "--v=1",
    ], log)  # fmt: skip
    record(kubelet)
    localcluster.wait_until(
        f"node {NODE_NAME} Ready", lambda: node_ready(server, pki), kubelet, log, NODE_READY_SECONDS
    )


def node_ready(server: str, pki: Path) -> bool:
    """The node is Ready and the `default` namespace has its ServiceAccount (pods can run)."""
    node = localcluster.api_get(server, pki, f"/api/v1/nodes/{NODE_NAME}")
    if node is None:
        return False
    conditions = node.get("status", {}).get("conditions", [])
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    account = localcluster.api_get(
        server, pki, "/api/v1/namespaces/default/serviceaccounts/default"
    )
    return ready and account is not None


def remove_containers(paths: NodePaths) -> list[str]:
    """Kill and delete every task and container of this node's containerd (all are ours)."""
    if not paths.socket.exists():
        return []
    ids = ctr(paths, "containers", "list", "--quiet", check=False).stdout.split()
    for task in ctr(paths, "tasks", "list", "--quiet", check=False).stdout.split():
        ctr(paths, "tasks", "delete", "--force", task, check=False)
    for container in ids:
        ctr(paths, "containers", "delete", container, check=False)
    return ids


def _processes_mentioning(needles: list[str], proc_file: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / proc_file).read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(needle in text for needle in needles):
            found.append(int(entry.name))
    return found


def clean_up(paths: NodePaths, container_ids: list[str]) -> list[str]:
    """After containerd stopped: end its shims and any container process left, unmount.

    A shim is ours when its command line names our containerd's socket; a container's
    process when its cgroup path names one of our container IDs. Both are unique to this
    instance, so nothing of another node or program is touched.
    """
    ended = []
    for pid in _processes_mentioning([str(paths.socket)], "cmdline"):
        ended.append(f"containerd-shim (pid {pid})")
        _kill(pid)
    if container_ids:
        for pid in _processes_mentioning(container_ids, "cgroup"):
            ended.append(f"container process (pid {pid})")
            _kill(pid)
    for mount in mounts_under(paths.root):
        subprocess.run(["umount", mount], capture_output=True, check=False)
        if mount in mounts_under(paths.root):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
    return ended


def leftovers(paths: NodePaths) -> list[int]:
    """Processes still naming this node's containerd socket (its shims): none after down."""
    return _processes_mentioning([str(paths.socket)], "cmdline")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.kill(pid, signal.SIGKILL)


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root``, deepest first."""
    prefix = str(root.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")  # \040 and friends
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def tag_image(paths: NodePaths, source: str, target: str) -> None:
    """Give an image in the node's store another name (e.g. a new tag for an upgrade)."""
    ctr(paths, "images", "tag", "--force", source, target)
