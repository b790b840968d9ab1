"""ADS job YAML <-> DataScienceJob manifest.

ADS's file is ``{kind: job, apiVersion, spec: {name, id, infrastructure, runtime}}``;
the resource's ``spec`` holds the same four keys plus the operator's own. Export writes
the ADS file with a top-level ``kubernetes`` block (apiVersion, kind, metadata and the
operator-only spec keys) that ADS ignores (``Job.from_dict`` reads only ``spec``), so
manifest -> ADS YAML -> manifest is lossless; ``ads_only=True`` leaves it out.

Import normalises what ADS itself accepts but the CRD spells one way: ``env`` given as
a mapping becomes the name/value list ADS stores (non-string values JSON-encoded, as
ADS does), snake_case and OCI-payload key names become ADS's camelCase keys (ADS's
``_standardize_spec``), ``outputURI`` becomes ``outputUri``, argument values become
strings. The result is validated with the same models the operator uses.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from ads_operator.ads.envvars import normalise_value
from ads_operator.models import (
    API_VERSION,
    JOB_KIND,
    DataScienceJobInfrastructureSpec,
    DataScienceJobSpec,
    RuntimeSpec,
)
from ads_operator.models.job import ADS_JOB_KEYS, OPERATOR_JOB_KEYS

#: ``apiVersion`` ADS's own examples write.
ADS_API_VERSION: Final = "v1.0"
#: Top-level key of the exported ADS file carrying what only Kubernetes needs.
KUBERNETES_BLOCK: Final = "kubernetes"
_KEPT_METADATA: Final = ("name", "namespace", "labels", "annotations")
#: Key spellings ADS accepts for infrastructure keys besides the snake_case field names.
_INFRA_ALIASES: Final = {
    "blockStorageSizeInGBs": "blockStorageSize",
    "block_storage_size_in_gbs": "blockStorageSize",
    "jobShapeConfigDetails": "shapeConfigDetails",
    "job_shape_config_details": "shapeConfigDetails",
}
_RUNTIME_ALIASES: Final = {"outputURI": "outputUri"}


class ConversionError(ValueError):
    """The input is not a job this project can represent; the message says where."""


def manifest_to_ads(manifest: Mapping[str, Any], *, ads_only: bool = False) -> dict[str, Any]:
    """A DataScienceJob manifest as an ADS job YAML document."""
    if manifest.get("kind") != JOB_KIND:
        raise ConversionError(f"expected kind {JOB_KIND}, got {manifest.get('kind')!r}")
    spec = manifest.get("spec") or {}
    ads_spec = {key: copy.deepcopy(spec[key]) for key in ADS_JOB_KEYS if key in spec}
    document: dict[str, Any] = {"kind": "job", "apiVersion": ADS_API_VERSION, "spec": ads_spec}
    if not ads_only:
        metadata = manifest.get("metadata") or {}
        block: dict[str, Any] = {
            "apiVersion": manifest.get("apiVersion", API_VERSION),
            "kind": JOB_KIND,
            "metadata": {k: copy.deepcopy(metadata[k]) for k in _KEPT_METADATA if k in metadata},
        }
        operator = {k: copy.deepcopy(spec[k]) for k in OPERATOR_JOB_KEYS if k in spec}
        if operator:
            block["spec"] = operator
        document[KUBERNETES_BLOCK] = block
    return document


def ads_to_manifest(
    document: Mapping[str, Any], *, name: str | None = None, namespace: str | None = None
) -> dict[str, Any]:
    """An ADS job YAML document as a validated DataScienceJob manifest."""
    if document.get("kind", "job") != "job":
        raise ConversionError(f"expected an ADS job (kind: job), got {document.get('kind')!r}")
    ads_spec = document.get("spec")
    if not isinstance(ads_spec, Mapping):
        raise ConversionError("an ADS job YAML needs a spec mapping")
    block = document.get(KUBERNETES_BLOCK) or {}
    metadata = copy.deepcopy(block.get("metadata") or {})
    spec = normalise_ads_spec(ads_spec)
    spec.update(copy.deepcopy(block.get("spec") or {}))
    if name:
        metadata["name"] = name
    if namespace:
        metadata["namespace"] = namespace
    if "name" not in metadata:
        derived = resource_name(str(spec.get("name") or ""))
        if not derived:
            raise ConversionError("the job has no usable name: pass --name")
        metadata["name"] = derived
    validate_job_spec(spec)
    return {
        "apiVersion": block.get("apiVersion", API_VERSION),
        "kind": JOB_KIND,
        "metadata": metadata,
        "spec": spec,
    }


def resource_name(job_name: str) -> str:
    """A Kubernetes name from an ADS job name (lower case, DNS-1123 characters)."""
    lowered = re.sub(r"[^a-z0-9.-]+", "-", job_name.lower())
    return lowered.strip("-.")[:253].strip("-.")


def validate_job_spec(spec: Mapping[str, Any]) -> DataScienceJobSpec:
    """Parse with the operator's models; errors name the field as ``spec.<path>``."""
    try:
        return DataScienceJobSpec.model_validate(spec)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in ("spec", *error["loc"]))
            problems.append(f"{where}: {error['msg']}")
        raise ConversionError("; ".join(problems)) from exc


def normalise_ads_spec(ads_spec: Mapping[str, Any]) -> dict[str, Any]:
    """ADS's accepted spellings turned into the CRD's (see the module docstring)."""
    spec = {k: copy.deepcopy(v) for k, v in ads_spec.items()}
    infrastructure = spec.get("infrastructure")
    if isinstance(infrastructure, dict) and isinstance(infrastructure.get("spec"), dict):
        infra_spec = _rename(infrastructure["spec"], _INFRA_ALIASES)
        infrastructure["spec"] = _camel_keys(infra_spec, DataScienceJobInfrastructureSpec)
    runtime = spec.get("runtime")
    if isinstance(runtime, dict) and isinstance(runtime.get("spec"), dict):
        runtime_spec = _camel_keys(_rename(runtime["spec"], _RUNTIME_ALIASES), RuntimeSpec)
        env = runtime_spec.get("env")
        if isinstance(env, Mapping):
            runtime_spec["env"] = [
                {"name": str(k), "value": normalise_value(v)} for k, v in env.items()
            ]
        elif isinstance(env, list):
            for item in env:
                if isinstance(item, dict) and "value" in item and item["value"] is not None:
                    item["value"] = normalise_value(item["value"])
        if isinstance(runtime_spec.get("args"), list):
            runtime_spec["args"] = [str(a) for a in runtime_spec["args"]]
        runtime["spec"] = runtime_spec
    return spec


def _rename(mapping: Mapping[str, Any], aliases: Mapping[str, str]) -> dict[str, Any]:
    return {aliases.get(k, k): v for k, v in mapping.items()}


def _camel_keys(mapping: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """snake_case field names -> wire aliases, recursing into nested model fields."""
    out: dict[str, Any] = {}
    fields = model.model_fields
    by_alias = {f.alias or n: n for n, f in fields.items()}
    for key, value in mapping.items():
        name = key if key in fields else by_alias.get(key)
        wire = (fields[name].alias or name) if name else key
        nested = _nested_model(model, name) if name else None
        if nested is not None and isinstance(value, Mapping):
            value = _camel_keys(value, nested)
        elif nested is not None and isinstance(value, list):
            value = [_camel_keys(v, nested) if isinstance(v, Mapping) else v for v in value]
        out[wire] = value
    return out


def _nested_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    annotation = model.model_fields[name].annotation
    for candidate in _walk_types(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _walk_types(annotation: Any) -> list[Any]:
    found = [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_walk_types(arg))
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and hasattr(annotation, "__metadata__"):
        found.extend(_walk_types(origin))
    return found
