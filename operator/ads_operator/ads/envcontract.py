"""The environment variables ADS writes into a job, per runtime type.

ADS records no runtime type on the OCI job: when it loads a job it tries its runtime
handlers in a fixed order and keeps the first one the variables fit (container, then
pyTorchDistributed, gitPython, notebook, python, script). Writing exactly these names and
values is what makes a job we create look to ADS like one ADS created.
"""

from __future__ import annotations

import json
import posixpath
from typing import Final

from ads_operator.models import Runtime, RuntimeSpec, RuntimeType

# Variables the Jobs service itself reads.
CONDA_ENV_TYPE: Final = "CONDA_ENV_TYPE"
CONDA_ENV_SLUG: Final = "CONDA_ENV_SLUG"
CONDA_ENV_BUCKET: Final = "CONDA_ENV_BUCKET"
CONDA_ENV_NAMESPACE: Final = "CONDA_ENV_NAMESPACE"
CONDA_ENV_OBJECT_NAME: Final = "CONDA_ENV_OBJECT_NAME"
CONDA_ENV_REGION: Final = "CONDA_ENV_REGION"
JOB_RUN_ENTRYPOINT: Final = "JOB_RUN_ENTRYPOINT"
# Variables the drivers read.
CODE_ENTRYPOINT: Final = "CODE_ENTRYPOINT"
ENTRY_FUNCTION: Final = "ENTRY_FUNCTION"
PYTHON_PATH: Final = "PYTHON_PATH"
WORKING_DIR: Final = "WORKING_DIR"
OUTPUT_DIR: Final = "OUTPUT_DIR"
OUTPUT_URI: Final = "OUTPUT_URI"
JOB_RUN_NOTEBOOK: Final = "JOB_RUN_NOTEBOOK"
NOTEBOOK_EXCLUDE_TAGS: Final = "NOTEBOOK_EXCLUDE_TAGS"
NOTEBOOK_ENCODING: Final = "NOTEBOOK_ENCODING"
GIT_URL: Final = "GIT_URL"
GIT_BRANCH: Final = "GIT_BRANCH"
GIT_COMMIT: Final = "GIT_COMMIT"
GIT_ENTRYPOINT: Final = "GIT_ENTRYPOINT"
GIT_SECRET_OCID: Final = "GIT_SECRET_OCID"  # noqa: S105 - a variable name
SKIP_METADATA_UPDATE: Final = "SKIP_METADATA_UPDATE"
CODE_DIR: Final = "CODE_DIR"
NODE_COUNT: Final = "NODE_COUNT"
OCI_LAUNCH_CMD: Final = "OCI__LAUNCH_CMD"
OCI_DEEPSPEED: Final = "OCI__DEEPSPEED"
OCI_INPUT_MAPPINGS: Final = "OCI__INPUT_MAPPINGS"
OCI_PIP_REQUIREMENTS: Final = "OCI__PIP_REQUIREMENTS"
OCI_PIP_PKG: Final = "OCI__PIP_PKG"
OCI_RUNTIME_URI: Final = "OCI__RUNTIME_URI"
OCI_RUNTIME_GIT_BRANCH: Final = "OCI__RUNTIME_GIT_BRANCH"
OCI_RUNTIME_GIT_COMMIT: Final = "OCI__RUNTIME_GIT_COMMIT"
OCI_RUNTIME_GIT_SECRET_ID: Final = "OCI__RUNTIME_GIT_SECRET_ID"  # noqa: S105

# Driver file names inside the artifacts (JOB_RUN_ENTRYPOINT values ADS checks for).
DRIVER_UTILS: Final = "driver_utils.py"
DRIVER_PYTHON: Final = "driver_python.py"
DRIVER_NOTEBOOK: Final = "driver_notebook.py"
DRIVER_GIT: Final = "driver_oci.py"
DRIVER_PYTORCH: Final = "driver_pytorch.py"

#: ADS joins ``pythonPath`` entries with this.
PATH_DELIMITER: Final = ":"


class ContractError(ValueError):
    """The spec cannot be expressed as ADS would write it (e.g. no conda region)."""


def conda_env(spec: RuntimeSpec, region: str | None) -> dict[str, str]:
    """CONDA_ENV_* for a service or published conda pack."""
    conda = spec.conda
    if conda is None:
        return {}
    if conda.type == "service":
        return {CONDA_ENV_TYPE: "service", CONDA_ENV_SLUG: conda.slug or ""}
    uri = conda.uri or ""
    authority, _, obj = uri[len("oci://") :].partition("/")
    bucket, _, namespace = authority.partition("@")
    conda_region = conda.region or region
    if not conda_region:
        raise ContractError(
            "conda.region is needed for a published conda pack when the job has no region"
        )
    return {
        CONDA_ENV_TYPE: "published",
        CONDA_ENV_NAMESPACE: namespace,
        CONDA_ENV_BUCKET: bucket,
        CONDA_ENV_OBJECT_NAME: obj.lstrip("/"),
        CONDA_ENV_REGION: conda_region,
    }


def notebook_path(spec: RuntimeSpec) -> str:
    """``JOB_RUN_NOTEBOOK``: ``<source folder>/<entrypoint>``, or the notebook's file name."""
    if spec.source and spec.entrypoint:
        folder = posixpath.basename(spec.source.rstrip("/"))
        return posixpath.join(folder, str(spec.entrypoint))
    return posixpath.basename(spec.notebook_path_uri or "")


def _python_keys(spec: RuntimeSpec) -> dict[str, str]:
    """ADS's python SPEC_MAPPINGS: only truthy values, lists joined with ':'."""
    pairs = (
        (CODE_ENTRYPOINT, spec.entrypoint),
        (ENTRY_FUNCTION, spec.entry_function),
        (PYTHON_PATH, PATH_DELIMITER.join(spec.python_path or [])),
        (OUTPUT_DIR, spec.output_dir),
        (OUTPUT_URI, spec.output_uri),
        (WORKING_DIR, spec.working_dir),
    )
    return {name: str(value) for name, value in pairs if value}


def ads_variables(runtime: Runtime, region: str | None = None) -> dict[str, str]:
    """The variables ADS adds for this runtime, in the order ADS adds them.

    They are written after the user's own ``env``, so on a name clash ADS's value wins,
    as it does in ADS.
    """
    spec = runtime.spec
    kind = runtime.runtime_type
    env: dict[str, str] = {}
    if kind is not RuntimeType.CONTAINER:
        env.update(conda_env(spec, region))
    if kind is RuntimeType.SCRIPT:
        if spec.entrypoint:
            env[JOB_RUN_ENTRYPOINT] = str(spec.entrypoint)
    elif kind in (RuntimeType.PYTHON, RuntimeType.PYTORCH_DISTRIBUTED):
        env.update(_python_keys(spec))
        if kind is RuntimeType.PYTORCH_DISTRIBUTED and spec.command:
            env[OCI_LAUNCH_CMD] = spec.command
        source = spec.script_path_uri or ""
        env[CODE_ENTRYPOINT] = str(spec.entrypoint or posixpath.basename(source.rstrip("/")))
        env[JOB_RUN_ENTRYPOINT] = DRIVER_PYTHON
        if kind is RuntimeType.PYTORCH_DISTRIBUTED:
            env.update(_pytorch_variables(spec))
    elif kind is RuntimeType.NOTEBOOK:
        env[JOB_RUN_NOTEBOOK] = notebook_path(spec)
        env[JOB_RUN_ENTRYPOINT] = DRIVER_NOTEBOOK
        if spec.notebook_encoding:
            env[NOTEBOOK_ENCODING] = spec.notebook_encoding
        if spec.exclude_tags:
            env[NOTEBOOK_EXCLUDE_TAGS] = json.dumps(spec.exclude_tags)
        if spec.output_uri:
            env[OUTPUT_URI] = spec.output_uri
    elif kind is RuntimeType.GIT_PYTHON:
        pairs = (
            (GIT_URL, spec.url),
            (GIT_BRANCH, spec.branch),
            (GIT_COMMIT, spec.commit),
            (GIT_ENTRYPOINT, spec.entrypoint),
            (ENTRY_FUNCTION, spec.entry_function),
            (PYTHON_PATH, PATH_DELIMITER.join(spec.python_path or [])),
            (GIT_SECRET_OCID, spec.git_secret_id),
            (OUTPUT_DIR, spec.output_dir),
            (OUTPUT_URI, spec.output_uri),
            (WORKING_DIR, spec.working_dir),
        )
        env.update({name: str(value) for name, value in pairs if value})
        if spec.skip_metadata_update:
            env[SKIP_METADATA_UPDATE] = "1"
        env[JOB_RUN_ENTRYPOINT] = DRIVER_GIT
    elif kind is RuntimeType.CONTAINER and spec.replicas:
        env[NODE_COUNT] = str(spec.replicas)
    return env


def _pytorch_variables(spec: RuntimeSpec) -> dict[str, str]:
    env = {NODE_COUNT: str(spec.replicas or 1), JOB_RUN_ENTRYPOINT: DRIVER_PYTORCH}
    if spec.inputs:
        env[OCI_INPUT_MAPPINGS] = json.dumps(spec.inputs)
    if spec.git is not None:
        git = spec.git
        pairs = (
            (OCI_RUNTIME_URI, git.url),
            (OCI_RUNTIME_GIT_BRANCH, git.branch),
            (OCI_RUNTIME_GIT_COMMIT, git.commit),
            (OCI_RUNTIME_GIT_SECRET_ID, git.git_secret_id),
        )
        env.update({name: value for name, value in pairs if value})
    if spec.dependencies is not None:
        if spec.dependencies.pip_packages is not None:
            env[OCI_PIP_PKG] = spec.dependencies.pip_packages
        if spec.dependencies.pip_requirements is not None:
            env[OCI_PIP_REQUIREMENTS] = spec.dependencies.pip_requirements
    if spec.deepspeed:
        env[OCI_DEEPSPEED] = "1"
    return env
