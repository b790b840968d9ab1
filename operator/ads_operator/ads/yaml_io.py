"""ADS job YAML <-> DataScienceJob manifest.

ADS's file is ``{kind: job, apiVersion, spec: {name, id, infrastructure, runtime}}``;
the resource's ``spec`` holds the same four keys plus the operator's own. Export writes
the ADS file with a top-level ``kubernetes`` block (apiVersion, kind, metadata and the
operator-only spec keys) that ADS ignores (``Job.from_dict`` reads only ``spec``), so
manifest -> ADS YAML -> manifest is lossless; ``ads_only=True`` leaves it out.

Import normalises what ADS itself accepts but the CRD spells one way: ``env`` given as
a mapping becomes the name/value list ADS stores (non-string values JSON-encoded, as
ADS does), every other spelling ADS reads (snake_case, other case, OCI-payload names,
the notebook's ``outputURI``; see :mod:`ads_operator.ads.spellings`) becomes the
camelCase key, argument values become strings. A key ADS keeps but never reads (such as
``blockStorageSizeInGBs``) is refused with the key ADS does read: importing it would
make the same file mean a different job to ADS and to us. The result is validated
with the same models the operator uses.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final, NotRequired, TypedDict

from pydantic import BaseModel, ValidationError

from ads_operator.ads import spellings
from ads_operator.ads.envvars import normalise_value
from ads_operator.models import (
    API_VERSION,
    JOB_KIND,
    DataScienceJobInfrastructureSpec,
    DataScienceJobSpec,
    RuntimeSpec,
    RuntimeType,
)
from ads_operator.models.base import JsonObject
from ads_operator.models.job import ADS_JOB_KEYS, OPERATOR_JOB_KEYS

#: ``apiVersion`` ADS's own examples write.
ADS_API_VERSION: Final = "v1.0"
#: Top-level key of the exported ADS file carrying what only Kubernetes needs.
KUBERNETES_BLOCK: Final = "kubernetes"
_KEPT_METADATA: Final = ("name", "namespace", "labels", "annotations")


class ConversionError(ValueError):
    """The input is not a job this project can represent; the message says where."""


class KubernetesBlock(TypedDict):
    """The exported ADS file's ``kubernetes`` block: what only Kubernetes needs."""

    apiVersion: str
    kind: str
    #: ``name``, ``namespace``, ``labels``, ``annotations`` as the manifest had them.
    metadata: JsonObject
    #: The operator-only spec keys, when the job sets any.
    spec: NotRequired[JsonObject]


class AdsJobDocument(TypedDict):
    """An ADS job YAML document as export writes it. ``spec`` holds the four ADS keys
    (name, id, infrastructure, runtime) as the user wrote them: free-form YAML that the
    job models validate."""

    kind: str
    apiVersion: str
    spec: JsonObject
    kubernetes: NotRequired[KubernetesBlock]


class JobManifest(TypedDict):
    """A DataScienceJob manifest as import writes it: ``spec`` is the normalised ADS
    spec plus the operator's keys, validated by :func:`validate_job_spec` yet written as
    the dict rather than the model's dump, so the output says only what the input said."""

    apiVersion: str
    kind: str
    #: The ``kubernetes`` block's metadata (labels, annotations...) with name and namespace.
    metadata: JsonObject
    spec: JsonObject


def manifest_to_ads(manifest: Mapping[str, Any], *, ads_only: bool = False) -> AdsJobDocument:
    """A DataScienceJob manifest as an ADS job YAML document."""
    if manifest.get("kind") != JOB_KIND:
        raise ConversionError(f"expected kind {JOB_KIND}, got {manifest.get('kind')!r}")
    spec = manifest.get("spec") or {}
    ads_spec = {key: copy.deepcopy(spec[key]) for key in ADS_JOB_KEYS if key in spec}
    document: AdsJobDocument = {"kind": "job", "apiVersion": ADS_API_VERSION, "spec": ads_spec}
    if not ads_only:
        metadata = manifest.get("metadata") or {}
        block: KubernetesBlock = {
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
) -> JobManifest:
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
    metadata["name"] = manifest_name(document, name)
    if namespace:
        metadata["namespace"] = namespace
    validate_job_spec(spec)
    return {
        "apiVersion": block.get("apiVersion", API_VERSION),
        "kind": JOB_KIND,
        "metadata": metadata,
        "spec": spec,
    }


def manifest_name(document: Mapping[str, Any], name: str | None = None) -> str:
    """The DataScienceJob's ``metadata.name`` for an ADS document: ``name`` if given,
    else the ``kubernetes`` block's, else one made from the job's name."""
    if name:
        return name
    block = document.get(KUBERNETES_BLOCK) or {}
    given = (block.get("metadata") or {}).get("name") if isinstance(block, Mapping) else None
    if given:
        return str(given)
    spec = document.get("spec")
    derived = resource_name(str((spec.get("name") if isinstance(spec, Mapping) else "") or ""))
    if not derived:
        raise ConversionError("the job has no usable name: pass --name")
    return derived


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


def normalise_ads_spec(ads_spec: Mapping[str, Any]) -> JsonObject:
    """ADS's accepted spellings turned into the CRD's (see the module docstring); a key
    ADS would ignore is refused, naming the key ADS reads."""
    spec = {k: copy.deepcopy(v) for k, v in ads_spec.items()}
    infrastructure = spec.get("infrastructure")
    if isinstance(infrastructure, dict) and isinstance(infrastructure.get("spec"), Mapping):
        where = "spec.infrastructure.spec"
        infra_spec = _standardised(
            spellings.standardise_infrastructure, infrastructure["spec"], where
        )
        _refuse_ignored_keys(infra_spec, DataScienceJobInfrastructureSpec, where)
        infrastructure["spec"] = infra_spec
    runtime = spec.get("runtime")
    if isinstance(runtime, dict) and isinstance(runtime.get("spec"), Mapping):
        where = "spec.runtime.spec"
        runtime_spec = dict(runtime["spec"])
        if runtime.get("type") in set(RuntimeType):
            runtime_spec = _standardised(
                partial(spellings.standardise_runtime, RuntimeType(runtime["type"])),
                runtime_spec,
                where,
            )
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
        _refuse_ignored_keys(runtime_spec, RuntimeSpec, where)
        runtime["spec"] = runtime_spec
    return spec


def _standardised(
    standardise: Callable[[Mapping[str, Any], str], JsonObject],
    spec: Mapping[str, Any],
    where: str,
) -> JsonObject:
    try:
        return standardise(spec, where)
    except spellings.SpellingError as exc:
        raise ConversionError(str(exc)) from exc


def _refuse_ignored_keys(mapping: Mapping[str, Any], model: type[BaseModel], where: str) -> None:
    """Every key must be one the model (ADS's camelCase) knows, down nested models."""
    fields = {field.alias or name: name for name, field in model.model_fields.items()}
    for key, value in mapping.items():
        if key not in fields:
            hint = spellings.ignored_key_hint(str(key), set(fields))
            raise ConversionError(f"{where}.{key}: {hint}")
        nested = _nested_model(model, fields[key])
        if nested is None:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                at = f"{where}.{key}" + (f"[{index}]" if isinstance(value, list) else "")
                _refuse_ignored_keys(item, nested, at)


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
