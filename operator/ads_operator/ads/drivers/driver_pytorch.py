"""Driver of the ``pyTorchDistributed`` runtime.

Prepares the node the way ADS's contract describes, then launches training:

1. code: ``code/`` from the artifact, or the repository in ``OCI__RUNTIME_URI``
   (``OCI__RUNTIME_GIT_BRANCH``, ``OCI__RUNTIME_GIT_COMMIT``);
2. ``OCI__INPUT_MAPPINGS`` (JSON: ``oci://`` source -> destination relative to the
   working directory) downloaded through Object Storage;
3. ``OCI__PIP_REQUIREMENTS`` / ``OCI__PIP_PKG`` installed with pip;
4. ``OCI__LAUNCH_CMD`` (``torchrun ...``, ``deepspeed ...``, ``accelerate launch ...``)
   run through the shell with ``NODE_COUNT`` and the node's rank in the environment
   (``NODE_RANK``, default 0); without a command, ``CODE_ENTRYPOINT`` runs like the
   python runtime.

Multi-node rendezvous (which host is rank 0) is the launcher's business: the service
gives every node the same job run environment, so the launch command should use
``--rdzv-backend`` settings that work on OCI; see docs/model.md.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ads_operator.ads.drivers import driver_oci, driver_utils
else:
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


def _pip_install(working: str) -> None:
    requirements = os.environ.get("OCI__PIP_REQUIREMENTS")
    packages = os.environ.get("OCI__PIP_PKG")
    if requirements:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-r", requirements], cwd=working, check=True
        )
    if packages:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", *shlex.split(packages)],
            cwd=working,
            check=True,
        )


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
    os.environ.setdefault("NODE_RANK", "0")
    os.environ.setdefault("NODE_COUNT", "1")
    working = driver_utils.enter_working_dir(root)
    if os.environ.get("OCI__INPUT_MAPPINGS"):
        _download_inputs(os.environ["OCI__INPUT_MAPPINGS"], working)
    _pip_install(working)
    command = os.environ.get("OCI__LAUNCH_CMD")
    if not command:
        entrypoint = os.environ.get("CODE_ENTRYPOINT")
        if not entrypoint:
            driver_utils.log("neither OCI__LAUNCH_CMD nor CODE_ENTRYPOINT is set")
            return 2
        return driver_utils.run_python_code(root, entrypoint, argv)
    driver_utils.log(f"node {os.environ['NODE_RANK']} of {os.environ['NODE_COUNT']}: {command}")
    try:
        code = subprocess.call(" ".join([command, *map(shlex.quote, argv)]), shell=True)  # noqa: S602
    finally:
        driver_utils.copy_outputs(working)
    return code


if __name__ == "__main__":
    sys.exit(main())
