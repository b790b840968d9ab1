"""Which runtime keys each type accepts, and every reason a spec is not a valid runtime
of its type, in the same words as the CRD's CEL rules (generated from these tables).
"""

from __future__ import annotations

from typing import Final

from ads_operator.models.runtime_parts import RuntimeType
from ads_operator.models.runtime_spec import RuntimeSpec

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
