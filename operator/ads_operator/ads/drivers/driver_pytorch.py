"""Driver of the ``pyTorchDistributed`` runtime.

Prepares the node the way ADS's contract describes, then launches training:

1. code: ``code/`` from the artifact, or the repository in ``OCI__RUNTIME_URI``
   (``OCI__RUNTIME_GIT_BRANCH``, ``OCI__RUNTIME_GIT_COMMIT``);
2. ``OCI__INPUT_MAPPINGS`` (JSON: ``oci://`` source -> destination relative to the
   working directory) downloaded through Object Storage;
3. ``OCI__PIP_REQUIREMENTS`` / ``OCI__PIP_PKG`` installed with pip;
4. the cluster layout: on a multi-node job the service writes the nodes (``Rank``,
   ``IPAddress``) to the JSON file named by ``CLUSTER_NODES_METADATA_FILE`` and the size to
   ``INITIAL_CLUSTER_SIZE``; this node's rank is ``NODE_RANK`` (which the service sets),
   else the entry whose address is local; the rendezvous host is rank 0. ``NODE_RANK``,
   ``NODE_COUNT``, ``MASTER_ADDR`` and ``MASTER_PORT`` are exported;
5. ``OCI__LAUNCH_CMD`` runs through the shell. For ``torchrun`` the driver adds
   ``--nnodes``, ``--nproc-per-node`` and a c10d rendezvous on the host, and for
   ``accelerate launch`` the machine count, rank and main process address, each only when
   the command does not give it already. Without a command, ``CODE_ENTRYPOINT`` runs like
   the python runtime. (``deepspeed`` multi-node launches need SSH between nodes, which
   this driver does not set up.)
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ads_operator.ads.drivers import driver_notebook, driver_oci, driver_utils
else:
    import driver_notebook
    import driver_oci
    import driver_utils


def _download_inputs(mappings: str, working: str) -> None:
    pairs = json.loads(mappings)
    if not pairs:
        return
    client = driver_utils.object_storage_client()
    for source, destination in pairs.items():
        bucket, namespace, prefix = driver_utils.parse_oci_uri(source)
        target = os.path.join(working, destination)
        listing = client.list_objects(namespace, bucket, prefix=prefix, fields="name").data
        for summary in listing.objects:
            relative = (
                os.path.relpath(summary.name, prefix)
                if summary.name != prefix
                else (os.path.basename(prefix))
            )
            path = os.path.join(target, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            body = client.get_object(namespace, bucket, summary.name).data
            with open(path, "wb") as handle:
                for chunk in body.raw.stream(1 << 20, decode_content=False):
                    handle.write(chunk)
        driver_utils.log(f"downloaded {source} to {destination}")


def _pip_install(working: str) -> int:
    """Install ``OCI__PIP_REQUIREMENTS`` and ``OCI__PIP_PKG``; pip's exit code (0: done)."""
    requirements = os.environ.get("OCI__PIP_REQUIREMENTS")
    packages = os.environ.get("OCI__PIP_PKG")
    commands = []
    if requirements:
        commands.append([sys.executable, "-m", "pip", "install", "-r", requirements])
    if packages:
        commands.append([sys.executable, "-m", "pip", "install", *shlex.split(packages)])
    for command in commands:
        code = subprocess.call(command, cwd=working)
        if code:
            driver_utils.log(f"{shlex.join(command[2:])} failed with exit code {code}")
            return code
    return 0


#: The c10d rendezvous port on the host node.
RENDEZVOUS_PORT = 29400


def _is_local_address(address: str) -> bool:
    """Whether this machine owns ``address`` (binding succeeds only for local ones)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def read_cluster(path: str, node_count: int, timeout: float) -> dict[int, str]:
    """Rank -> IP address from the service's metadata file, once every node is listed."""
    deadline = time.monotonic() + timeout
    while True:
        nodes: list[dict[str, object]] = []
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    nodes = json.load(handle)
            except ValueError:
                nodes = []  # being written: read again
        if len(nodes) >= node_count:
            return {int(str(node["Rank"])): str(node["IPAddress"]) for node in nodes}
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} lists {len(nodes)} of {node_count} nodes")
        time.sleep(2)


def cluster_layout() -> tuple[int, int, str]:
    """(this node's rank, node count, rendezvous host) for this job run."""
    count = int(os.environ.get("INITIAL_CLUSTER_SIZE") or os.environ.get("NODE_COUNT") or 1)
    metadata = os.environ.get("CLUSTER_NODES_METADATA_FILE")
    if count <= 1 or not metadata:
        return int(os.environ.get("NODE_RANK") or 0), count, "127.0.0.1"
    timeout = float(os.environ.get("OCI__RDZV_TIMEOUT") or 600)
    nodes = read_cluster(metadata, count, timeout)
    given = os.environ.get("NODE_RANK")
    if given:  # the service names this node's rank, as ADS's driver reads it
        return int(given), count, nodes[min(nodes)]
    mine = [rank for rank, address in nodes.items() if _is_local_address(address)]
    if not mine:
        raise RuntimeError(f"none of the node addresses in {metadata} is local: {nodes}")
    return mine[0], count, nodes[min(nodes)]


def _missing(command: str, *flags: str) -> bool:
    return not any(re.search(rf"(^|\s){re.escape(flag)}(=|\s|$)", command) for flag in flags)


def launch_command(command: str, rank: int, count: int, host: str, nproc: int) -> str:
    """The launch command with the cluster arguments it does not already give."""
    torchrun = re.search(r"\btorchrun\b", command)
    if torchrun:
        extra = []
        if _missing(command, "--nnodes", "--nnode"):
            extra.append(f"--nnodes={count}")
        if _missing(command, "--nproc-per-node", "--nproc_per_node"):
            extra.append(f"--nproc-per-node={nproc}")
        if _missing(command, "--rdzv-backend", "--rdzv_backend"):
            extra += ["--rdzv-backend=c10d", f"--rdzv-endpoint={host}:{RENDEZVOUS_PORT}"]
        return _insert(command, torchrun.end(), extra)
    accelerate = re.search(r"\baccelerate\s+launch\b", command)
    if accelerate:
        extra = []
        if _missing(command, "--num_machines"):
            extra.append(f"--num_machines={count}")
        if _missing(command, "--machine_rank"):
            extra.append(f"--machine_rank={rank}")
        if _missing(command, "--main_process_ip"):
            extra.append(f"--main_process_ip={host}")
        if _missing(command, "--main_process_port"):
            extra.append(f"--main_process_port={RENDEZVOUS_PORT}")
        return _insert(command, accelerate.end(), extra)
    return command


def _insert(command: str, at: int, extra: list[str]) -> str:
    if not extra:
        return command
    return f"{command[:at]} {' '.join(extra)}{command[at:]}"


def _gpu_count() -> int:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--list-gpus"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return 0
    return len([line for line in out.splitlines() if line.strip()])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = driver_utils.code_dir()
    repo_url = os.environ.get("OCI__RUNTIME_URI")
    if repo_url:
        into = os.path.expanduser(os.environ.get("CODE_DIR") or "~/Code")
        root = driver_oci.clone(
            repo_url,
            os.environ.get("OCI__RUNTIME_GIT_BRANCH"),
            os.environ.get("OCI__RUNTIME_GIT_COMMIT"),
            into,
            None,
        )
    rank, count, host = cluster_layout()
    os.environ.update(
        NODE_RANK=str(rank),
        NODE_COUNT=str(count),
        MASTER_ADDR=host,
        MASTER_PORT=str(RENDEZVOUS_PORT),
    )
    working = driver_utils.enter_working_dir(root)
    if os.environ.get("OCI__INPUT_MAPPINGS"):
        _download_inputs(os.environ["OCI__INPUT_MAPPINGS"], working)
    installed = _pip_install(working)
    if installed:
        return installed
    command = os.environ.get("OCI__LAUNCH_CMD")
    if not command:
        entrypoint = os.environ.get("CODE_ENTRYPOINT")
        if not entrypoint:
            driver_utils.log("neither OCI__LAUNCH_CMD nor CODE_ENTRYPOINT is set")
            return 2
        return driver_utils.run_python_code(root, entrypoint, argv, driver_notebook.run_notebook)
    command = launch_command(command, rank, count, host, max(_gpu_count(), 1))
    driver_utils.log(f"node {rank} of {count} (rendezvous on {host}): {command}")
    try:
        code = subprocess.call(" ".join([command, *map(shlex.quote, argv)]), shell=True)  # noqa: S602
    finally:
        driver_utils.copy_outputs(working)
    return code


if __name__ == "__main__":
    sys.exit(main())
