"""``RuntimeSpec``: every runtime key of ADS in one model, whatever the type.

Which keys a type accepts is :mod:`ads_operator.models.runtime_rules`; ``args`` may be a
list or one string, split by shell rules as ADS splits the arguments of a job it reads.
"""

from __future__ import annotations

import shlex
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field, StrictBool, StrictInt

from ads_operator.models.base import WireModel
from ads_operator.models.common import (
    MAX_OCID,
    MAX_STRING,
    MAX_URI,
    DefinedTags,
    EnvVar,
    FreeformTags,
    ocid_pattern,
)
from ads_operator.models.runtime_parts import (
    OCI_PREFIX_PATTERN,
    Conda,
    Dependencies,
    GitSource,
    RelativePath,
    SourceUri,
)


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
