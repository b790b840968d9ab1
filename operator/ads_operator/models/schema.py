"""pydantic JSON Schema -> Kubernetes structural OpenAPI v3 schema.

The models are the single source of truth for the CRDs; this converter bridges the two
dialects: ``$ref``/``$defs`` are inlined, ``title`` and ``default`` dropped (the CRD
applies no defaults: the stored spec stays what the user wrote, ADS's defaults are
applied when translating; the one exception is a field's :data:`CRD_DEFAULT`, the
``default`` the apiserver gives the stored object), "X or null" becomes plain X (absent
means unset), ``const`` becomes a one-value ``enum``, JSON-Schema-2020
``exclusiveMinimum: n`` becomes the OpenAPI 3.0 ``minimum: n, exclusiveMinimum: true``,
and an arbitrary JSON value becomes ``x-kubernetes-preserve-unknown-fields``. Extension
keys (``x-kubernetes-*``) set on fields pass through.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from pydantic import BaseModel

from ads_operator.models.base import JsonObject

#: A JSON Schema node: free-form JSON by nature (any keyword, nested to any depth), so a
#: named dict rather than a model; the CRD generator and the chart's values schema build them.
JsonSchema = JsonObject

_DROP: Final = frozenset({"title", "default", "$defs", "examples"})
#: A ``json_schema_extra`` key whose value becomes the CRD schema's ``default`` (pydantic's
#: own defaults stay the models' business).
CRD_DEFAULT: Final = "x-ads-crd-default"


def structural_schema(model: type[BaseModel]) -> JsonSchema:
    """The structural schema of ``model``'s wire (camelCase) form."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    definitions = raw.get("$defs", {})
    return _convert(raw, definitions)


def _resolve(node: JsonSchema, definitions: dict[str, JsonSchema]) -> JsonSchema:
    """Inline a ``$ref``; keys next to the reference (e.g. a field's description) win."""
    if "$ref" not in node:
        return node
    name = node["$ref"].rsplit("/", 1)[-1]
    merged = copy.deepcopy(definitions[name])
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return _resolve(merged, definitions)


def _short(text: str) -> str:
    """A description on one line; for a model docstring only its first paragraph."""
    paragraph = text.strip().split("\n\n", 1)[0].replace("``", "")
    return " ".join(paragraph.split())


def _convert(node: JsonSchema, definitions: dict[str, JsonSchema]) -> JsonSchema:
    node = _resolve(node, definitions)
    if node.get("x-kubernetes-preserve-unknown-fields") and "properties" not in node:
        out: JsonSchema = {"x-kubernetes-preserve-unknown-fields": True}
        if "description" in node:
            out["description"] = _short(node["description"])
        return out
    options = node.get("anyOf")
    if options is not None:
        concrete = [o for o in options if o.get("type") != "null"]
        if len(concrete) != 1:
            raise ValueError(f"cannot express a union in a structural schema: {node}")
        inner = _resolve(concrete[0], definitions)
        merged = {**inner, **{k: v for k, v in node.items() if k != "anyOf"}}
        return _convert(merged, definitions)
    out = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "description":
            out[key] = _short(value)
        elif key == CRD_DEFAULT:
            out["default"] = copy.deepcopy(value)
        elif key == "const":
            out["enum"] = [value]
        elif key == "exclusiveMinimum":
            out["minimum"] = value
            out["exclusiveMinimum"] = True
        elif key == "exclusiveMaximum":
            out["maximum"] = value
            out["exclusiveMaximum"] = True
        elif key == "properties":
            out[key] = {name: _convert(sub, definitions) for name, sub in value.items()}
        elif key == "items":
            out[key] = _convert(value, definitions)
        elif key == "additionalProperties":
            if value is False:
                continue  # closed objects are the structural default (unknown keys pruned)
            if value is True or value == {}:
                out[key] = {"x-kubernetes-preserve-unknown-fields": True}
            else:
                out[key] = _convert(value, definitions)
        else:
            out[key] = copy.deepcopy(value)
    if "properties" in out:
        out.setdefault("type", "object")
    if "enum" in out and "type" not in out:
        out["type"] = _enum_type(out["enum"])
    return out


def _enum_type(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) for v in values):
        return "integer"
    return "string"


def at(schema: JsonSchema, *path: str) -> JsonSchema:
    """The sub-schema at a property path (for attaching rules and columns)."""
    node = schema
    for name in path:
        node = node["properties"][name]
    return node
