"""Every key spelling oracle-ads 2.16.1 reads in a job YAML, and the one the CRD writes.

ADS is lenient in two different ways, and the same file must mean the same OCI job to
us as to ADS, so both are mirrored exactly:

- Infrastructure (``DataScienceJob``): a key that is not one of its camelCase names is
  renamed when its *lower-cased* form is a snake_case name of the infrastructure or of
  the OCI payload (``SHAPE_NAME``, ``Shape_Name``, ``block_storage_size_in_gbs``); a
  mapping under a renamed key is renamed the same way (``job_shape_config_details:
  {memory_in_gbs: 8}``).
- Runtime: a key equal (case and all) to a snake_case name in the attribute map of that
  runtime type's class is renamed; ``notebook`` also reads ``outputURI``. The tables
  are per type because the classes differ (``script`` knows ``script_path_uri`` but not
  ``output_dir``).

Any other key ADS keeps and never reads: the job it creates silently lacks the setting
(``blockStorageSizeInGBs: 100`` gives a 50 GB job). :func:`ignored_key_hint` turns such
a key into an error that names the key ADS does read. The tables were read from ADS's
``DataScienceJob.attribute_map``/``payload_attribute_map`` and the runtime classes'
``attribute_map``; ``tests/unit/ads/test_spellings_golden.py`` checks them against
payloads recorded from ADS itself (``hack/record_ads_golden.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from ads_operator.models import RuntimeType
from ads_operator.models.base import JsonObject

#: The infrastructure's own camelCase keys (including the shape config's two).
INFRA_KEYS: Final = frozenset(
    {
        "projectId",
        "compartmentId",
        "displayName",
        "jobType",
        "jobInfrastructureType",
        "shapeName",
        "blockStorageSize",
        "subnetId",
        "shapeConfigDetails",
        "logId",
        "logGroupId",
        "storageMount",
        "freeformTags",
        "definedTags",
        "memoryInGBs",
        "ocpus",
    }
)
#: Lower-cased snake_case name -> the infrastructure key ADS stores it under.
INFRA_SNAKE: Final = {
    "project_id": "projectId",
    "compartment_id": "compartmentId",
    "display_name": "displayName",
    "job_type": "jobType",
    "job_infrastructure_type": "jobInfrastructureType",
    "shape_name": "shapeName",
    "block_storage_size": "blockStorageSize",
    "subnet_id": "subnetId",
    "shape_config_details": "shapeConfigDetails",
    "log_id": "logId",
    "log_group_id": "logGroupId",
    "storage_mount": "storageMount",
    "freeform_tags": "freeformTags",
    "defined_tags": "definedTags",
    "memory_in_gbs": "memoryInGBs",
    "ocpus": "ocpus",
    # the OCI payload's names (CreateJobDetails attributes)
    "block_storage_size_in_gbs": "blockStorageSize",
    "job_shape_config_details": "shapeConfigDetails",
}

_TAGS: Final = {"freeform_tags": "freeformTags", "defined_tags": "definedTags"}
_PYTHON: Final = {
    "output_dir": "outputDir",
    "output_uri": "outputUri",
    "python_path": "pythonPath",
    "entry_function": "entryFunction",
    "working_dir": "workingDir",
}
_SCRIPT: Final = {"script_path_uri": "scriptPathURI"}
#: Runtime type -> snake_case name -> key (exact match; ADS does not fold case here).
RUNTIME_SNAKE: Final[dict[RuntimeType, dict[str, str]]] = {
    RuntimeType.SCRIPT: {**_TAGS, **_SCRIPT},
    RuntimeType.PYTHON: {**_TAGS, **_SCRIPT, **_PYTHON},
    RuntimeType.NOTEBOOK: {
        **_TAGS,
        "notebook_path_uri": "notebookPathURI",
        "notebook_encoding": "notebookEncoding",
        "output_uri": "outputUri",
        "exclude_tags": "excludeTags",
    },
    RuntimeType.GIT_PYTHON: {
        **_TAGS,
        **_PYTHON,
        "git_secret_id": "gitSecretId",
        "skip_metadata_update": "skipMetadataUpdate",
    },
    RuntimeType.CONTAINER: {
        **_TAGS,
        "image_digest": "imageDigest",
        "image_signature_id": "imageSignatureId",
    },
    # ADS's PyTorchDistributedRuntime inherits PythonRuntime's map unchanged
    RuntimeType.PYTORCH_DISTRIBUTED: {**_TAGS, **_SCRIPT, **_PYTHON},
}
#: The notebook runtime also reads this spelling of outputUri (and prefers it).
NOTEBOOK_OUTPUT_URI_ALT: Final = "outputURI"
#: Snake_case keys ADS reads inside the shape config mapping: the OCI model it builds
#: from the mapping takes the payload's attribute names as well as the camelCase ones.
SHAPE_CONFIG_SNAKE: Final = {
    "memory_in_gbs": "memoryInGBs",
    "cpu_baseline": "cpuBaseline",
}


class SpellingError(ValueError):
    """Two spellings of one key, or a key ADS would ignore; the message says which."""


def standardise_infrastructure(spec: Mapping[str, Any], where: str) -> JsonObject:
    """The infrastructure spec with every key ADS renames renamed as ADS renames it."""
    out: JsonObject = {}
    spelled: dict[str, str] = {}
    for key, value in spec.items():
        target = key
        if isinstance(key, str) and key not in INFRA_KEYS and key.lower() in INFRA_SNAKE:
            target = INFRA_SNAKE[key.lower()]
            if isinstance(value, Mapping):
                value = standardise_infrastructure(value, f"{where}.{key}")
        _put(out, spelled, target, key, copy.deepcopy(value), where)
    shape = out.get("shapeConfigDetails")
    if isinstance(shape, Mapping):
        out["shapeConfigDetails"] = _rename_exact(
            shape, SHAPE_CONFIG_SNAKE, f"{where}.shapeConfigDetails"
        )
    return out


def standardise_runtime(type_: RuntimeType, spec: Mapping[str, Any], where: str) -> JsonObject:
    """The runtime spec with every key ADS renames for ``type_`` renamed as ADS does."""
    aliases = dict(RUNTIME_SNAKE[type_])
    if type_ is RuntimeType.NOTEBOOK:
        aliases[NOTEBOOK_OUTPUT_URI_ALT] = "outputUri"
    return _rename_exact(spec, aliases, where)


def _rename_exact(spec: Mapping[str, Any], aliases: Mapping[str, str], where: str) -> JsonObject:
    out: JsonObject = {}
    spelled: dict[str, str] = {}
    for key, value in spec.items():
        _put(out, spelled, aliases.get(key, key), key, copy.deepcopy(value), where)
    return out


def _put(
    out: JsonObject, spelled: dict[str, str], target: str, key: str, value: Any, where: str
) -> None:
    if target in out:
        raise SpellingError(f"{where}: {spelled[target]} and {key} both set {target}; keep one")
    out[target] = value
    spelled[target] = key


def _fold(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


#: Folded spelling -> the key ADS reads, for hints about keys ADS ignores.
_HINTS: Final = {
    **{_fold(k): v for k, v in INFRA_SNAKE.items()},
    **{_fold(k): k for k in INFRA_KEYS},
    # payload camelCase names that ADS's infrastructure does not read
    "blockstoragesizeingbs": "blockStorageSize",
    "jobshapeconfigdetails": "shapeConfigDetails",
}


def ignored_key_hint(key: str, known: frozenset[str] | set[str]) -> str:
    """Why ``key`` is refused: ADS ignores it, and (when one is close) the key it reads."""
    folded = _fold(key)
    candidates = {k for k in known if _fold(k) == folded}
    if not candidates and _HINTS.get(folded) in known:
        candidates = {_HINTS[folded]}
    if not candidates and folded.endswith("ingbs"):
        candidates = {k for k in known if _fold(k) == folded.removesuffix("ingbs")}
    if candidates:
        return f"ADS ignores this key; did you mean {' or '.join(sorted(candidates))}?"
    return f"ADS ignores this key; the keys it reads here are: {', '.join(sorted(known))}"
