"""ADS runtimes ``{kind: runtime, type, spec}`` for the six Data Science Job runtime types.

The runtime ``spec`` is one model holding every key any runtime type uses, plus a table
(:data:`RUNTIME_KEYS`) saying which keys each type accepts. A Kubernetes structural schema
cannot switch its shape on a sibling ``type`` field, so the CRD publishes the union of the
keys and CEL rules (generated from the same table) refuse keys the type does not use;
pydantic applies the same table here. Keys, meanings and defaults are ADS's
(``ads/jobs/builders/runtimes``); see docs/model.md.

Two keys, ``entrypoint`` and ``cmd``, are a string for some runtime types and "a string
or a list" for ``container``; ``args`` is a list or one string (ADS's
``DataScienceJobRun.to_yaml()`` writes the string). A structural schema cannot express
"string or list", and CEL cannot inspect a field without a type, so the CRD leaves those
three untyped and this model (which the operator parses every resource with) checks them.
"""

from __future__ import annotations

import re
import shlex
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictInt, model_validator

from ads_operator.models.base import WireModel
from ads_operator.models.common import (
    MAX_OCID,
    MAX_STRING,
    MAX_URI,
    DefinedTags,
    EnvVar,
    FreeformTags,
    Region,
    ocid_pattern,
)


class RuntimeType(StrEnum):
    SCRIPT = "script"
    PYTHON = "python"
    NOTEBOOK = "notebook"
    GIT_PYTHON = "gitPython"
    CONTAINER = "container"
    PYTORCH_DISTRIBUTED = "pyTorchDistributed"


#: Where code may come from inside a cluster. Local paths are refused: they do not exist
#: where the operator runs.
SOURCE_PATTERN: Final = (
    r"^(oci://[^@/\s]+@[^/\s]+/\S*"
    r"|https://\S+"
    r"|configmap://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[-._a-zA-Z0-9]+)?)$"
)
SOURCE_MESSAGE: Final = (
    "must be oci://bucket@namespace/path, https://... or configmap://<name>[/<key>]; "
    "a local path does not exist in the cluster: put the file in a ConfigMap and use "
    "configmap://<name>/<key>"
)
#: ``oci://bucket@namespace/object`` with an object name (published conda, outputs).
OCI_OBJECT_PATTERN: Final = r"^oci://[^@/\s]+@[^/\s]+/\S+$"
OCI_PREFIX_PATTERN: Final = r"^oci://[^@/\s]+@[^/\s]+(/\S*)?$"


def _check_source(value: str) -> str:
    if not re.match(SOURCE_PATTERN, value):
        raise ValueError(SOURCE_MESSAGE)
    return value


#: A code source URI; the CRD checks it with CEL so the message can suggest configmap://.
SourceUri = Annotated[
    str,
    AfterValidator(_check_source),
    Field(
        max_length=MAX_URI,
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": f"self.matches(r'{SOURCE_PATTERN}')", "message": SOURCE_MESSAGE}
            ]
        },
    ),
]


def _source_field(description: str, alias: str | None = None) -> Any:
    return Field(default=None, alias=alias, description=description)


#: Longest single argument, and longest ``args`` string.
MAX_ARG: Final = 32768


def _check_args_line(value: str) -> str:
    try:
        shlex.split(value)
    except ValueError as exc:  # an unclosed quote or a trailing backslash
        raise ValueError(f"args cannot be split by shell rules: {exc}") from exc
    return value


def args_list(args: str | list[str] | None) -> list[str] | None:
    """``args`` as a list: a string is split by shell rules, as ADS reads a job's
    ``commandLineArguments`` back (``shlex.split``)."""
    return shlex.split(args) if isinstance(args, str) else args


RelativePath = Annotated[
    str,
    Field(
        max_length=MAX_STRING,
        pattern=r"^[^/\s][^\s]*$|^\.$",
        description="A path relative to the artifact's code directory.",
    ),
]


class Conda(WireModel):
    """The conda environment the job runs in: a service pack or a published one."""

    type: Literal["service", "published"] = Field(
        description="service (an OCI-provided pack, by slug) or published (your pack, by URI)."
    )
    slug: str | None = Field(
        default=None,
        max_length=MAX_STRING,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Slug of the service conda pack (type service).",
    )
    uri: str | None = Field(
        default=None,
        max_length=MAX_URI,
        pattern=OCI_OBJECT_PATTERN,
        description="oci://bucket@namespace/object of the published pack (type published).",
    )
    region: Region | None = Field(
        default=None,
        description="Region of the published pack's bucket. Default: the job's region.",
    )

    @model_validator(mode="after")
    def _form(self) -> Conda:
        if self.type == "service" and (self.slug is None or self.uri is not None):
            raise ValueError(CONDA_MESSAGES["service"])
        if self.type == "published" and (self.uri is None or self.slug is not None):
            raise ValueError(CONDA_MESSAGES["published"])
        return self


CONDA_MESSAGES: Final = {
    "service": "conda type service needs slug (and no uri)",
    "published": "conda type published needs uri (and no slug)",
}


class GitSource(WireModel):
    """The repository a pyTorchDistributed job clones (``git`` key)."""

    url: str = Field(min_length=1, max_length=MAX_URI, description="Repository URL.")
    branch: str | None = Field(default=None, max_length=MAX_STRING, description="Branch.")
    commit: str | None = Field(
        default=None, max_length=64, pattern=r"^[0-9a-fA-F]{4,64}$", description="Commit."
    )
    git_secret_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("vaultsecret"),
        max_length=MAX_OCID,
        description="Vault secret holding the SSH key for the repository.",
    )


class Dependencies(WireModel):
    """pip dependencies a pyTorchDistributed job installs before it starts."""

    pip_requirements: str | None = Field(
        default=None, max_length=MAX_STRING, description="requirements.txt path in the code."
    )
    pip_packages: str | None = Field(
        default=None, max_length=MAX_STRING, description="Packages, space separated."
    )


class RuntimeSpec(WireModel):
    """Every runtime key of ADS; which ones a given type accepts is in RUNTIME_KEYS."""

    # -- code sources -------------------------------------------------------------------
    script_path_uri: SourceUri | None = _source_field(
        "Code: a file, folder or archive at oci://, https:// or configmap:// "
        "(script, python, pyTorchDistributed; container: an extra artifact).",
        alias="scriptPathURI",
    )
    notebook_path_uri: SourceUri | None = _source_field(
        "The notebook to run (notebook).", alias="notebookPathURI"
    )
    source: SourceUri | None = _source_field(
        "Folder holding the notebook, with entrypoint as its path inside (notebook)."
    )
    url: str | None = Field(
        default=None, max_length=MAX_URI, min_length=1, description="Git URL (gitPython)."
    )
    branch: str | None = Field(default=None, max_length=MAX_STRING, description="Git branch.")
    commit: str | None = Field(
        default=None, max_length=64, pattern=r"^[0-9a-fA-F]{4,64}$", description="Git commit."
    )
    git_secret_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("vaultsecret"),
        max_length=MAX_OCID,
        description="Vault secret with the SSH key for the repository (gitPython).",
    )
    # -- what to run ----------------------------------------------------------------------
    entrypoint: str | list[str] | None = Field(
        default=None,
        description=(
            "Script/notebook path relative to the code (a string); for container the "
            "image entrypoint, a list or a comma-separated string."
        ),
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    entry_function: str | None = Field(
        default=None,
        max_length=MAX_STRING,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Function in the entrypoint to call instead of running it as a script.",
    )
    working_dir: RelativePath | None = Field(
        default=None, description="Working directory relative to the code. Default '.'."
    )
    python_path: Annotated[list[RelativePath], Field(max_length=64)] | None = Field(
        default=None, description="Extra relative paths for sys.path."
    )
    output_dir: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_STRING,
        description=(
            "Directory (relative to the working directory, or absolute) copied to outputUri "
            "when the run ends."
        ),
    )
    output_uri: str | None = Field(
        default=None,
        max_length=MAX_URI,
        pattern=OCI_PREFIX_PATTERN,
        description="oci://bucket@namespace/prefix receiving outputDir ($JOB_RUN_OCID expands).",
    )
    notebook_encoding: str | None = Field(
        default=None, max_length=64, description="Notebook file encoding. Default utf-8."
    )
    exclude_tags: Annotated[list[Annotated[str, Field(max_length=256)]], Field(max_length=64)] | (
        None
    ) = Field(default=None, description="Cells with any of these tags are skipped.")
    skip_metadata_update: StrictBool | None = Field(
        default=None, description="Do not write repo/commit tags onto the job run (gitPython)."
    )
    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_URI,
        pattern=r"^\S+$",
        description="Container image, e.g. <region>.ocir.io/<namespace>/<repo>:<tag>.",
    )
    cmd: str | list[str] | None = Field(
        default=None,
        description="Container CMD: a list, or a string split on commas as ADS does.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    image_digest: str | None = Field(
        default=None, max_length=MAX_STRING, description="Image digest (sha256:...)."
    )
    image_signature_id: str | None = Field(
        default=None,
        max_length=MAX_OCID,
        pattern=ocid_pattern("containerimagesignature"),
        description="OCID of the image signature to verify.",
    )
    replicas: StrictInt | None = Field(
        default=None, ge=1, le=1024, description="Nodes; more than 1 makes a multi-node job."
    )
    git: GitSource | None = Field(default=None, description="Repository to clone (pyTorch).")
    inputs: Annotated[dict[str, str], Field(max_length=64)] | None = Field(
        default=None, description="Source URI -> destination (relative) fetched before start."
    )
    dependencies: Dependencies | None = Field(default=None, description="pip dependencies.")
    command: str | None = Field(
        default=None,
        max_length=4096,
        description="Launch command starting with torchrun, deepspeed or accelerate launch.",
    )
    deepspeed: StrictBool | None = Field(default=None, description="Set up DeepSpeed (pyTorch).")
    # -- common to every runtime ----------------------------------------------------------
    conda: Conda | None = Field(default=None, description="Conda environment to run in.")
    env: Annotated[list[EnvVar], Field(max_length=256)] | None = Field(
        default=None,
        description="Environment variables (name/value); ${NAME} and $$ as ADS defines.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    args: (
        Annotated[list[Annotated[str, Field(max_length=MAX_ARG)]], Field(max_length=1024)]
        | Annotated[str, Field(max_length=MAX_ARG), AfterValidator(_check_args_line)]
        | None
    ) = Field(
        default=None,
        description=(
            "Command-line arguments: a list (each element shell-quoted), or one string "
            "split by shell rules (shlex), as ADS splits the arguments of a job it reads."
        ),
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    freeform_tags: FreeformTags | None = Field(default=None, description="Job tags.")
    defined_tags: DefinedTags | None = Field(default=None, description="Job defined tags.")
    maximum_runtime_in_minutes: StrictInt | None = Field(
        default=None, ge=1, description="Runs are stopped after this many minutes."
    )


_COMMON: Final = frozenset(
    {"env", "args", "freeformTags", "definedTags", "maximumRuntimeInMinutes"}
)
_PYTHON: Final = frozenset(
    {
        "scriptPathURI",
        "entrypoint",
        "entryFunction",
        "workingDir",
        "pythonPath",
        "outputDir",
        "outputUri",
        "conda",
    }
)

#: Which runtime keys each type accepts (ADS's attribute maps plus set_spec keys).
RUNTIME_KEYS: Final[dict[RuntimeType, frozenset[str]]] = {
    RuntimeType.SCRIPT: _COMMON | {"scriptPathURI", "entrypoint", "conda"},
    RuntimeType.PYTHON: _COMMON | _PYTHON,
    RuntimeType.NOTEBOOK: _COMMON
    | {
        "notebookPathURI",
        "source",
        "entrypoint",
        "notebookEncoding",
        "excludeTags",
        "outputUri",
        "conda",
    },
    RuntimeType.GIT_PYTHON: _COMMON
    | (_PYTHON - {"scriptPathURI"})
    | {"url", "branch", "commit", "gitSecretId", "skipMetadataUpdate"},
    RuntimeType.CONTAINER: _COMMON
    | {"image", "entrypoint", "cmd", "imageDigest", "imageSignatureId", "scriptPathURI"}
    | {"replicas"},
    RuntimeType.PYTORCH_DISTRIBUTED: _COMMON
    | _PYTHON
    | {"replicas", "git", "inputs", "dependencies", "command", "deepspeed"},
}

#: Keys that are untyped in the CRD, so CEL cannot name them; pydantic checks them.
UNTYPED_KEYS: Final = frozenset({"entrypoint", "cmd", "args"})


def _present(spec: RuntimeSpec) -> set[str]:
    return {
        field.alias or name
        for name, field in RuntimeSpec.model_fields.items()
        if getattr(spec, name) is not None
    }


def runtime_problems(type_: RuntimeType, spec: RuntimeSpec) -> list[str]:
    """Every reason ``spec`` is not a valid runtime of ``type_`` (same words as the CEL)."""
    problems: list[str] = []
    names = [v.name for v in spec.env or []]
    if len(names) != len(set(names)):
        problems.append("env names must be unique")
    allowed = RUNTIME_KEYS[type_]
    for key in sorted(_present(spec) - allowed):
        problems.append(key_not_allowed_message(key))
    t = RuntimeType
    if type_ in (t.SCRIPT, t.PYTHON) and spec.script_path_uri is None:
        problems.append(REQUIRED_MESSAGES["scriptPathURI"])
    if type_ == t.GIT_PYTHON:
        if spec.url is None:
            problems.append(REQUIRED_MESSAGES["url"])
        if spec.conda is None:
            problems.append(REQUIRED_MESSAGES["gitConda"])
        if spec.entrypoint is None:
            problems.append("runtime type gitPython needs entrypoint (relative to the repo root)")
    if type_ == t.NOTEBOOK:
        if (spec.notebook_path_uri is None) == (spec.source is None):
            problems.append(REQUIRED_MESSAGES["notebookSource"])
        if spec.source is not None and spec.entrypoint is None:
            problems.append("notebook source needs entrypoint: the notebook's path inside it")
        if spec.notebook_path_uri is not None and spec.entrypoint is not None:
            problems.append("notebook entrypoint goes with source, not with notebookPathURI")
    if type_ == t.CONTAINER and spec.image is None:
        problems.append(REQUIRED_MESSAGES["image"])
    if type_ == t.PYTORCH_DISTRIBUTED and spec.script_path_uri is None and spec.git is None:
        problems.append(REQUIRED_MESSAGES["pyTorchSource"])
    if type_ != t.CONTAINER:
        if isinstance(spec.entrypoint, list):
            problems.append(f"entrypoint must be a string for runtime type {type_.value}")
    elif isinstance(spec.entrypoint, list | str) or isinstance(spec.cmd, list | str):
        for key, value in (("entrypoint", spec.entrypoint), ("cmd", spec.cmd)):
            if isinstance(value, list) and not all(isinstance(v, str) for v in value):
                problems.append(f"{key} must be a string or a list of strings")
    return problems


def key_not_allowed_message(key: str) -> str:
    types = ", ".join(t.value for t in RuntimeType if key in RUNTIME_KEYS[t])
    return f"runtime key {key} is only valid for runtime types: {types}"


REQUIRED_MESSAGES: Final = {
    "scriptPathURI": "runtime types script and python need scriptPathURI",
    "url": "runtime type gitPython needs url",
    "gitConda": "runtime type gitPython needs conda (ADS refuses it without one)",
    "notebookSource": (
        "runtime type notebook needs exactly one of notebookPathURI or source (+ entrypoint)"
    ),
    "image": "runtime type container needs image",
    "pyTorchSource": "runtime type pyTorchDistributed needs scriptPathURI or git",
}


class Runtime(WireModel):
    """``{kind: runtime, type, spec}`` exactly as in ADS YAML."""

    kind: Literal["runtime"] = Field(description="Always 'runtime'.")
    type: RuntimeType = Field(description="The ADS runtime type.")
    spec: RuntimeSpec = Field(description="The runtime keys as ADS writes them.")

    @model_validator(mode="after")
    def _keys_fit_type(self) -> Runtime:
        problems = runtime_problems(RuntimeType(self.type), self.spec)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def runtime_type(self) -> RuntimeType:
        return RuntimeType(self.type)
