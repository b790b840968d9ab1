"""Shared helpers of the job drivers: paths, running an entrypoint, copying outputs.

This file is shipped at the root of job artifacts and imported by its siblings there,
so it uses only the standard library (the ``oci`` SDK is imported lazily, only for
Object Storage uploads). The environment-variable contract it reads is ADS's:

* ``WORKING_DIR``: working directory, relative to the code directory (default ``.``).
* ``PYTHON_PATH``: ``:``-separated paths (relative to the working directory) added to
  ``sys.path`` after the code directory and the working directory.
* ``ENTRY_FUNCTION``: call this function of the entrypoint instead of running it.
* ``OUTPUT_DIR`` / ``OUTPUT_URI``: after the run, copy the directory (relative to the
  working directory) to ``oci://bucket@namespace/prefix``; ``$VARS`` in the URI expand
  (``$JOB_RUN_OCID`` is the usual one).
* ``OCI_IAM_TYPE`` (``resource_principal`` by default, ``api_key``,
  ``instance_principal``), ``OCI_CONFIG_LOCATION``, ``OCI_CONFIG_PROFILE``: how uploads
  authenticate. ``OCI_OBJECT_STORAGE_ENDPOINT`` overrides the service endpoint (used by
  the project's emulator; never needed in OCI).
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import subprocess
import sys
from collections.abc import Callable
from typing import Any

ENV_WORKING_DIR = "WORKING_DIR"
ENV_PYTHON_PATH = "PYTHON_PATH"
ENV_ENTRY_FUNCTION = "ENTRY_FUNCTION"
ENV_OUTPUT_DIR = "OUTPUT_DIR"
ENV_OUTPUT_URI = "OUTPUT_URI"
ENV_ENDPOINT = "OCI_OBJECT_STORAGE_ENDPOINT"


def log(message: str) -> None:
    """One driver line on stderr, marked so it is easy to tell from the user's output."""
    print(f"[driver] {message}", file=sys.stderr, flush=True)


def artifact_dir() -> str:
    """Where the artifact was unpacked: the directory holding the drivers."""
    return os.path.dirname(os.path.abspath(__file__))


def code_dir() -> str:
    """The ``code/`` directory of the artifact (the user's files)."""
    return os.path.join(artifact_dir(), "code")


def enter_working_dir(root: str) -> str:
    """``cd`` into ``root/$WORKING_DIR`` and put root, the working dir and ``PYTHON_PATH``
    on ``sys.path`` (in that order, ahead of site-packages)."""
    working = os.path.abspath(os.path.join(root, os.environ.get(ENV_WORKING_DIR) or "."))
    os.chdir(working)
    extra = [p for p in (os.environ.get(ENV_PYTHON_PATH) or "").split(":") if p]
    paths = [root, working] + [os.path.abspath(os.path.join(working, p)) for p in extra]
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    return working


def split_arguments(argv: list[str]) -> tuple[list[str], dict[str, str | None]]:
    """Arguments as ADS's ``with_argument`` builds them: positional values first, then
    ``--key value`` pairs (a ``--key`` followed by another ``--key`` or nothing is a
    flag, passed as None)."""
    positional: list[str] = []
    keywords: dict[str, str | None] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        if token.startswith("--") and len(token) > 2:
            key = token[2:].replace("-", "_")
            following = argv[index + 1] if index + 1 < len(argv) else None
            if following is None or following.startswith("--"):
                keywords[key] = None
                index += 1
            else:
                keywords[key] = following
                index += 2
        else:
            positional.append(token)
            index += 1
    return positional, keywords


def load_function(path: str, name: str) -> Callable[..., Any]:
    """The function ``name`` defined in the Python file at ``path``."""
    module_name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    function = getattr(module, name, None)
    if not callable(function):
        raise RuntimeError(f"{path} has no function {name!r}")
    return function  # type: ignore[no-any-return]


def run_entrypoint(
    path: str,
    argv: list[str],
    entry_function: str | None,
    run_notebook: Callable[[str], int],
) -> int:
    """Run the user's entrypoint and return its exit code.

    ``.py``: in this interpreter with ``runpy`` (``sys.argv`` = the path and ``argv``),
    or ``entry_function`` called with the parsed arguments. ``.ipynb``: with
    ``run_notebook``. Anything else: executed as a program (``.sh`` through bash).
    """
    if not os.path.exists(path):
        log(f"entrypoint {path} does not exist")
        return 2
    if path.endswith(".py"):
        if entry_function:
            positional, keywords = split_arguments(argv)
            log(f"calling {entry_function}() in {path}")
            result = load_function(path, entry_function)(*positional, **keywords)
            if result is not None:
                print(result, flush=True)
            return 0
        sys.argv = [path, *list(argv)]
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as exc:
            return exit_code_of(exc)
        return 0
    if path.endswith(".ipynb"):
        return run_notebook(path)
    command = ["bash", path] if path.endswith(".sh") else [path]
    return subprocess.call(command + list(argv))


def exit_code_of(exc: SystemExit) -> int:
    """The process exit code a ``SystemExit`` stands for."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def parse_oci_uri(uri: str) -> tuple[str, str, str]:
    """``oci://bucket@namespace/prefix`` -> (bucket, namespace, prefix)."""
    if not uri.startswith("oci://"):
        raise ValueError(f"{uri!r} is not an oci://bucket@namespace/prefix URI")
    authority, _, prefix = uri[len("oci://") :].partition("/")
    bucket, _, namespace = authority.partition("@")
    if not bucket or not namespace:
        raise ValueError(f"{uri!r} is not an oci://bucket@namespace/prefix URI")
    return bucket, namespace, prefix


def object_storage_client() -> Any:
    """An Object Storage client authenticated as ``OCI_IAM_TYPE`` says."""
    import oci

    iam = (os.environ.get("OCI_IAM_TYPE") or "resource_principal").lower()
    kwargs: dict[str, str] = {}
    endpoint = os.environ.get(ENV_ENDPOINT)
    if endpoint:
        kwargs["service_endpoint"] = endpoint
    if iam == "api_key":
        location = os.path.expanduser(
            os.environ.get("OCI_CONFIG_LOCATION") or oci.config.DEFAULT_LOCATION
        )
        profile = os.environ.get("OCI_CONFIG_PROFILE") or oci.config.DEFAULT_PROFILE
        config = oci.config.from_file(location, profile)
        return oci.object_storage.ObjectStorageClient(config, **kwargs)
    if iam == "instance_principal":
        signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
    else:
        signer = oci.auth.signers.get_resource_principals_signer()
    return oci.object_storage.ObjectStorageClient({}, signer=signer, **kwargs)


def upload_directory(local_dir: str, uri: str, client: Any = None) -> int:
    """Copy every file under ``local_dir`` to ``uri`` (an Object Storage prefix);
    returns the number of files copied."""
    bucket, namespace, prefix = parse_oci_uri(os.path.expandvars(uri))
    client = client or object_storage_client()
    count = 0
    for folder, _, names in sorted(os.walk(local_dir)):
        for name in sorted(names):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, local_dir).replace(os.sep, "/")
            object_name = f"{prefix.rstrip('/')}/{relative}" if prefix else relative
            with open(path, "rb") as handle:
                client.put_object(namespace, bucket, object_name, handle)
            count += 1
    return count


def copy_outputs(working_dir: str) -> None:
    """``OUTPUT_DIR`` -> ``OUTPUT_URI`` when both are set and the directory exists."""
    output_dir = os.environ.get(ENV_OUTPUT_DIR)
    output_uri = os.environ.get(ENV_OUTPUT_URI)
    if not output_dir or not output_uri:
        return
    local = os.path.join(working_dir, output_dir)
    if not os.path.isdir(local):
        log(f"output directory {output_dir} does not exist; nothing to copy")
        return
    count = upload_directory(local, output_uri)
    log(f"copied {count} file(s) from {output_dir} to {os.path.expandvars(output_uri)}")


def run_python_code(
    root: str, entrypoint: str, argv: list[str], run_notebook: Callable[[str], int]
) -> int:
    """Everything the python and gitPython drivers share: enter the working directory,
    run the entrypoint (relative to the working directory, else to ``root``), copy
    outputs whatever the outcome (they often explain a failure), return the exit code.

    ``run_notebook`` (path -> exit code) is ``driver_notebook.run_notebook``, passed in
    by the driver that runs: ``driver_notebook`` imports this module, so this module
    does not import it."""
    working = enter_working_dir(root)
    path = os.path.join(working, entrypoint)
    if not os.path.exists(path):
        path = os.path.join(root, entrypoint)
    log(f"running {os.path.relpath(path, root)} in {os.path.relpath(working, root)}")
    try:
        entry_function = os.environ.get(ENV_ENTRY_FUNCTION) or None
        code = run_entrypoint(path, argv, entry_function, run_notebook)
    finally:
        copy_outputs(working)
    return code
