"""A real kube-apiserver + etcd as local processes: the project's test control plane.

This follows controller-runtime's envtest: a throw-away CA, a serving certificate for
127.0.0.1, an admin client certificate in ``system:masters``, a service-account signing
key, etcd and kube-apiserver on free loopback ports, and a kubeconfig. Nothing runs pods
(no kubelet, scheduler or controller-manager), which is the point: the API server's own
behaviour (schemas, CEL, RBAC, status subresources, finalizers, Events, watches) is real.

Every instance lives in its own directory (certificates, etcd data, logs, ``state.json``
with the PIDs it started), so several can run side by side and ``down`` stops exactly the
processes its ``up`` started. Only the standard library and the ``openssl`` command are
used, so this works before any virtualenv exists; the pytest fixtures import it too.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hack import buildtools

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCES_DIR = REPO_DIR / ".controlplane"
ETCD_READY_SECONDS = 30.0
APISERVER_READY_SECONDS = 90.0
STOP_GRACE_SECONDS = 15.0


class ControlPlaneError(Exception):
    """Something a person must act on, said plainly (no stack trace needed)."""


@dataclass(frozen=True)
class Process:
    name: str
    pid: int
    start_ticks: int  # /proc/<pid>/stat field 22: tells a reused PID from ours

    def alive(self) -> bool:
        return _start_ticks(self.pid) == self.start_ticks


@dataclass(frozen=True)
class Instance:
    """A running control plane, as recorded in its directory's state.json."""

    directory: Path
    server: str
    processes: tuple[Process, ...]

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.directory / "pki"

    def save(self) -> None:
        state = {
            "server": self.server,
            "processes": [vars(p) for p in self.processes],
        }
        (self.directory / "state.json").write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, directory: Path) -> Instance | None:
        try:
            state = json.loads((directory / "state.json").read_text())
        except FileNotFoundError:
            return None
        return cls(directory, state["server"], tuple(Process(**p) for p in state["processes"]))

    @property
    def has_node(self) -> bool:
        return any(p.name == "kubelet" for p in self.processes)

    def ready(self) -> bool:
        return all(p.alive() for p in self.processes) and _readyz(self.server, self.pki)


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after it are space separated.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has exited: it is not running anything
        return None
    return int(fields[19])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ControlPlaneError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def make_pki(pki: Path, host: str = "127.0.0.1") -> None:
    """CA, apiserver serving cert (SAN 127.0.0.1/``host``/localhost), admin client cert, SA key."""
    if shutil.which("openssl") is None:
        raise ControlPlaneError("openssl is needed to make certificates: apt-get install openssl")
    pki.mkdir(parents=True, exist_ok=True)
    days = "30"
    ca_subject = "/CN=ads-operator-local-ca"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", days,
             "-subj", ca_subject, "-keyout", "ca.key", "-out", "ca.crt", cwd=pki)  # fmt: skip
    ips = ",".join(f"IP:{ip}" for ip in dict.fromkeys(["127.0.0.1", host]))
    (pki / "serving.ext").write_text(
        f"subjectAltName={ips},DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    (pki / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject, ext in (
        ("serving", "/CN=kube-apiserver", "serving.ext"),
        ("admin", "/O=system:masters/CN=local-admin", "client.ext"),
    ):
        issue_cert(pki, name, subject, ext)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def issue_cert(pki: Path, name: str, subject: str, ext: str, days: str = "30") -> None:
    """A key and a certificate signed by the instance's CA (``ext`` names an extfile)."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
             "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=pki)  # fmt: skip
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", days, "-extfile", ext,
             "-out", f"{name}.crt", cwd=pki)  # fmt: skip


def write_kubeconfig(path: Path, server: str, pki: Path, user: str = "admin") -> None:
    """A kubeconfig for ``server`` with the client certificate ``pki/<user>.crt``."""

    def b64(name: str) -> str:
        return base64.b64encode((pki / name).read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {"server": server, "certificate-authority-data": b64("ca.crt")},
            }
        ],
        "users": [
            {
                "name": "local-admin",
                "user": {
                    "client-certificate-data": b64(f"{user}.crt"),
                    "client-key-data": b64(f"{user}.key"),
                },
            }
        ],
        "contexts": [
            {
                "name": "local",
                "context": {"cluster": "local", "user": "local-admin", "namespace": "default"},
            }
        ],
        "current-context": "local",
    }
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML: no PyYAML needed here
    path.chmod(0o600)


def _ssl_context(pki: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    return context


def api_get(server: str, pki: Path, path: str) -> dict[str, Any] | None:
    """GET ``path`` as admin; None when it is missing or the server does not answer."""
    try:
        with urllib.request.urlopen(  # noqa: S310 - https to our own loopback server
            f"{server}{path}", context=_ssl_context(pki), timeout=5
        ) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except (OSError, ValueError, urllib.error.URLError, ssl.SSLError):
        return None


def _readyz(server: str, pki: Path) -> bool:
    # Probe as admin: anonymous probes get 403 until the RBAC bootstrap hook completes.
    try:
        with urllib.request.urlopen(  # noqa: S310 - https to our own loopback server
            f"{server}/readyz", context=_ssl_context(pki), timeout=5
        ) as response:
            return bool(response.read().decode().strip() == "ok")
    except (OSError, urllib.error.URLError, ssl.SSLError):
        return False


def _etcd_healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(json.loads(response.read()).get("health") == "true")
    except (OSError, ValueError, urllib.error.URLError):
        return False


def spawn(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> Process:
    """Start a long-lived process in its own session, output appended to ``log``."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,  # its own process group: survives our exit, stoppable alone
        )  # fmt: skip
    ticks = _start_ticks(proc.pid)
    return Process(name, proc.pid, ticks if ticks is not None else -1)


def wait_until(what: str, check: object, process: Process, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        if not process.alive():
            raise ControlPlaneError(
                f"{what} exited during start-up; last lines of {log}:\n{_tail(log)}"
            )
        time.sleep(0.2)  # poll interval while waiting for readiness, bounded by the deadline
    raise ControlPlaneError(f"{what} was not ready within {seconds:.0f}s; see {log}:\n{_tail(log)}")


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _port_in_use_hint(log: Path) -> str:
    text = _tail(log, 50)
    return (
        "a port was taken by another process in the meantime"
        if "address already in use" in text
        else ""
    )


def up(
    directory: Path,
    tools_root: Path | None = None,
    api_port: int | None = None,
    node: bool = False,
    etcd_flags: tuple[str, ...] = (),
    apiserver_flags: tuple[str, ...] = (),
) -> Instance:
    """Start etcd and kube-apiserver under ``directory``; reuse them when already running.

    With ``node``, a node runs beside them (hack/localnode.py): containerd, the kubelet,
    kube-scheduler and kube-controller-manager; this returns once the node is Ready.
    ``etcd_flags`` and ``apiserver_flags`` are added to the two command lines (the chaos
    tier's compacting control plane: ``tests/chaos/test_kube_faults.py``).
    """
    from hack import localnode

    existing = Instance.load(directory)
    if existing is not None:
        if existing.ready() and existing.has_node == node:
            return existing
        down(directory)
    if node:
        try:
            localnode.prerequisites(tools_root)
        except localnode.NodeError as exc:
            raise ControlPlaneError(str(exc)) from None
    if api_port is not None and not _port_free(api_port):
        raise ControlPlaneError(f"port {api_port} is already in use; pick another or omit --port")
    etcd_bin = buildtools.find_binary("etcd", tools_root)
    apiserver_bin = buildtools.find_binary("kube-apiserver", tools_root)
    attempts = 1 if api_port is not None else 3
    for attempt in range(1, attempts + 1):
        try:
            instance = _start(
                directory, etcd_bin, apiserver_bin, api_port or free_port(), node,
                etcd_flags, apiserver_flags,
            )  # fmt: skip
            if node:
                _start_node(instance, tools_root)
                instance = Instance.load(directory) or instance
            return instance
        except localnode.NodeError as exc:
            down(directory)
            raise ControlPlaneError(str(exc)) from None
        except ControlPlaneError as exc:
            down(directory)
            retry = attempt < attempts and "already in use" in str(exc)
            if not retry:
                raise
    raise AssertionError("unreachable")


def _start_node(instance: Instance, tools_root: Path | None) -> None:
    from hack import localnode

    processes = list(instance.processes)

    def record(process: Process) -> None:
        processes.append(process)
        Instance(instance.directory, instance.server, tuple(processes)).save()

    localnode.start(instance.directory, instance.server, tools_root, record)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _start(
    directory: Path,
    etcd_bin: Path,
    apiserver_bin: Path,
    api_port: int,
    node: bool,
    etcd_flags: tuple[str, ...] = (),
    apiserver_flags: tuple[str, ...] = (),
) -> Instance:
    from hack import localnode

    directory.mkdir(parents=True, exist_ok=True)
    pki = directory / "pki"
    # A node's API server gets a loopback address of its own: its pods' in-cluster
    # KUBERNETES_SERVICE_HOST, shared with nothing else (hack/localnode.py).
    host = localnode.own_loopback_address() if node else "127.0.0.1"
    make_pki(pki, host)
    node_flags: list[str] = []
    if node:
        localnode.make_node_pki(pki)
        node_flags = localnode.apiserver_flags(pki)
    client_port, peer_port = free_port(), free_port()
    server = f"https://{host}:{api_port}"
    etcd_log, api_log = directory / "etcd.log", directory / "kube-apiserver.log"
    etcd = spawn("etcd", [
        str(etcd_bin), "--name=default", f"--data-dir={directory / 'etcd'}",
        f"--listen-client-urls=http://127.0.0.1:{client_port}",
        f"--advertise-client-urls=http://127.0.0.1:{client_port}",
        f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
        f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
        "--unsafe-no-fsync=true", "--log-level=warn", *etcd_flags,
    ], etcd_log)  # fmt: skip
    instance = Instance(directory, server, (etcd,))
    instance.save()  # recorded before waiting, so `down` can stop a half-started plane
    wait_until("etcd", lambda: _etcd_healthy(client_port), etcd, etcd_log, ETCD_READY_SECONDS)
    apiserver = spawn("kube-apiserver", [
        str(apiserver_bin),
        f"--etcd-servers=http://127.0.0.1:{client_port}",
        f"--bind-address={host}", f"--secure-port={api_port}", "--advertise-address=127.0.0.1",
        "--endpoint-reconciler-type=none",  # 127.0.0.1 is refused as a Service endpoint
        f"--cert-dir={pki}",
        f"--tls-cert-file={pki / 'serving.crt'}", f"--tls-private-key-file={pki / 'serving.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--service-account-issuer={server}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true", "--profiling=false", "--event-ttl=1h", "--v=1",
        *(
            # The node authorizer lets the kubelet read what its pods need; the controller
            # manager creates `default` ServiceAccounts, so their admission plugin can run.
            ["--authorization-mode=Node,RBAC", *node_flags] if node else
            ["--authorization-mode=RBAC",
             "--disable-admission-plugins=ServiceAccount"]  # nothing creates `default` SAs
        ),
        *apiserver_flags,
    ], api_log)  # fmt: skip
    instance = Instance(directory, server, (etcd, apiserver))
    instance.save()
    try:
        wait_until(
            "kube-apiserver",
            lambda: _readyz(server, pki),
            apiserver,
            api_log,
            APISERVER_READY_SECONDS,
        )
    except ControlPlaneError as exc:
        hint = _port_in_use_hint(api_log)
        raise ControlPlaneError(f"{exc}\n{hint}".strip()) from None
    write_kubeconfig(instance.kubeconfig, server, pki)
    return instance


def down(directory: Path) -> list[str]:
    """Stop the processes recorded in ``directory`` (and only those), then delete it."""
    from hack import localnode

    stopped: list[str] = []
    instance = Instance.load(directory)
    paths = localnode.NodePaths.of(directory)
    removed: list[str] = []
    if instance is not None:
        # Last started first: the kubelet before containerd (whose containers are removed
        # while it still answers), the API server before etcd.
        for process in reversed(instance.processes):
            if process.name == "containerd" and process.alive():
                began = time.monotonic()
                removed = localnode.remove_containers(paths)
                took = time.monotonic() - began
                stopped.append(f"{len(removed)} containers ({took:.1f}s)")
            began = time.monotonic()
            if stop(process):
                took = time.monotonic() - began
                stopped.append(f"{process.name} (pid {process.pid}, {took:.1f}s)")
            if process.name == "containerd":
                began = time.monotonic()
                stopped += localnode.clean_up(paths, removed)
                stopped.append(f"clean-up ({time.monotonic() - began:.1f}s)")
    elif paths.root.exists():
        stopped += localnode.clean_up(paths, [])
    shutil.rmtree(directory, ignore_errors=True)
    return stopped


def stop(process: Process) -> bool:
    """SIGTERM, a grace period, then SIGKILL; False when it was not running."""
    if not process.alive():
        return False
    os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        if not process.alive():
            return True
        time.sleep(0.1)  # poll for exit, bounded by the grace period
    os.kill(process.pid, signal.SIGKILL)
    return True


def env_lines(instance: Instance, tools_root: Path | None = None) -> str:
    path = os.pathsep.join(str(d) for d in buildtools.bin_dirs(tools_root))
    return f'export KUBECONFIG={instance.kubeconfig}\nexport PATH="{path}:$PATH"'


def instance_dir(name: str) -> Path:
    return DEFAULT_INSTANCES_DIR / name


def main(argv: list[str]) -> int:
    import argparse

    from hack import localnode

    parser = argparse.ArgumentParser(
        prog="hack/controlplane",
        description="Run a local kube-apiserver + etcd (built by hack/build-tools), "
        "with --node also a node that runs pods (hack/localnode.py).",
    )
    parser.add_argument(
        "action", choices=["up", "down", "status", "env", "load-image", "install-runtime"]
    )
    parser.add_argument("archive", nargs="?", type=Path, help="load-image: an OCI image archive")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--name", default="default", help="instance name (default: default)")
    where.add_argument("--dir", type=Path, help="instance directory (default: .controlplane/NAME)")
    parser.add_argument("--port", type=int, help="kube-apiserver port (default: a free one)")
    parser.add_argument(
        "--node", action="store_true", help="up: also run a node (containerd, kubelet, ...)"
    )
    args = parser.parse_args(argv[1:])
    directory = (args.dir or instance_dir(args.name)).resolve()
    try:
        if args.action == "install-runtime":
            installed = localnode.install_runtime()
            print(f"installed: {' '.join(installed)}" if installed else "runtime present")
            for req in localnode.RUNTIME:
                print(f"  {req.what}: {shutil.which(req.path) or req.path}")
            return 0
        if args.action == "up":
            started = time.monotonic()
            instance = up(directory, api_port=args.port, node=args.node)
            what = "control plane and node" if args.node else "control plane"
            print(
                f"# {what} ready at {instance.server} ({time.monotonic() - started:.1f}s)",
                file=sys.stderr,
            )
            print(env_lines(instance))
            return 0
        if args.action == "down":
            stopped = down(directory)
            print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
            return 0
        recorded = Instance.load(directory)
        if recorded is None or not recorded.ready():
            print(f"not running ({directory})", file=sys.stderr)
            return 1
        if args.action == "env":
            print(env_lines(recorded))
        elif args.action == "load-image":
            if args.archive is None or not args.archive.is_file():
                parser.error("load-image needs the path of an OCI image archive")
            if not recorded.has_node:
                raise ControlPlaneError("this instance runs no node: `up --node` first")
            names = localnode.load_image(localnode.NodePaths.of(directory), args.archive)
            print(f"loaded into the node's containerd: {', '.join(names)}")
        else:
            pids = ", ".join(f"{p.name} pid {p.pid}" for p in recorded.processes)
            print(f"running at {recorded.server}: {pids}; kubeconfig {recorded.kubeconfig}")
    except (ControlPlaneError, localnode.NodeError, buildtools.ToolError) as exc:
        print(f"controlplane: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # Run through the package (hack/controlplane sets PYTHONPATH), so that hack.localnode
    # and this file share one module object.
    from hack.localcluster import main as _main

    raise SystemExit(_main(sys.argv))
