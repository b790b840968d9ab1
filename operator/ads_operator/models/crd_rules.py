"""The CRDs' CEL rules (``x-kubernetes-validations``), one list per place in the schema.

They let the API server refuse a bad resource at ``kubectl apply`` time with a message
naming the field. The same rules exist in the models (pydantic validators, same messages,
generated from the same tables: ``RUNTIME_KEYS``, the ``*_MESSAGES`` dicts) because the
operator parses every resource with them and ``ads-operator convert`` validates files
without a cluster.
"""

from __future__ import annotations

import json

from ads_operator.models.infrastructure import MESSAGES as INFRA_MESSAGES
from ads_operator.models.job import JOB_MESSAGES
from ads_operator.models.run import IMMUTABLE_RUN_FIELDS, RUN_MESSAGES
from ads_operator.models.runtime_parts import CONDA_MESSAGES, RuntimeType
from ads_operator.models.runtime_rules import (
    REQUIRED_MESSAGES,
    RUNTIME_KEYS,
    UNTYPED_KEYS,
    key_not_allowed_message,
)


def _rule(rule: str, message: str, field_path: str | None = None) -> dict[str, str]:
    out = {"rule": rule, "message": message}
    if field_path:
        out["fieldPath"] = field_path
    return out


def _types(types: list[RuntimeType]) -> str:
    return json.dumps([t.value for t in types]).replace('"', "'").replace(",", ", ")


def job_rules() -> list[dict[str, str]]:
    """Rules on a DataScienceJob ``spec``: its own definition, or an OCI job to adopt."""
    return [
        _rule(
            "has(self.id) || (has(self.infrastructure) && has(self.runtime))",
            JOB_MESSAGES["definedOrAdopted"],
        )
    ]


def runtime_rules() -> list[dict[str, str]]:
    """Rules on ``spec.runtime``: keys per type, required keys per type."""
    rules = []
    every_key = sorted(set().union(*RUNTIME_KEYS.values()))
    for key in every_key:
        owners = [t for t in RuntimeType if key in RUNTIME_KEYS[t]]
        if len(owners) == len(RuntimeType) or key in UNTYPED_KEYS:
            continue
        rules.append(
            _rule(
                f"!has(self.spec.{key}) || self.type in {_types(owners)}",
                key_not_allowed_message(key),
                f".spec.{key}",
            )
        )
    rules += [
        _rule(
            "!(self.type in ['script', 'python']) || has(self.spec.scriptPathURI)",
            REQUIRED_MESSAGES["scriptPathURI"],
            ".spec.scriptPathURI",
        ),
        _rule(
            "self.type != 'gitPython' || has(self.spec.url)", REQUIRED_MESSAGES["url"], ".spec.url"
        ),
        _rule(
            "self.type != 'gitPython' || has(self.spec.conda)",
            REQUIRED_MESSAGES["gitConda"],
            ".spec.conda",
        ),
        _rule(
            "self.type != 'notebook' || has(self.spec.notebookPathURI) != has(self.spec.source)",
            REQUIRED_MESSAGES["notebookSource"],
            ".spec.notebookPathURI",
        ),
        _rule(
            "self.type != 'container' || has(self.spec.image)",
            REQUIRED_MESSAGES["image"],
            ".spec.image",
        ),
        _rule(
            "self.type != 'pyTorchDistributed' || has(self.spec.scriptPathURI) "
            "|| has(self.spec.git)",
            REQUIRED_MESSAGES["pyTorchSource"],
            ".spec.scriptPathURI",
        ),
    ]
    return rules


def infrastructure_rules() -> list[dict[str, str]]:
    """Rules on ``spec.infrastructure.spec``."""
    return [
        _rule(
            "!has(self.shapeConfigDetails) || "
            "(has(self.shapeName) && self.shapeName.endsWith('Flex'))",
            INFRA_MESSAGES["shapeConfigFlex"],
            ".shapeConfigDetails",
        ),
        _rule(
            "!has(self.subnetId) || !has(self.jobInfrastructureType) || "
            "self.jobInfrastructureType != 'ME_STANDALONE'",
            INFRA_MESSAGES["subnetStandalone"],
            ".subnetId",
        ),
        _rule(
            "!has(self.logId) || has(self.logGroupId)",
            INFRA_MESSAGES["logIdNeedsGroup"],
            ".logId",
        ),
    ]


def conda_rules() -> list[dict[str, str]]:
    return [
        _rule(
            "self.type != 'service' || (has(self.slug) && !has(self.uri))",
            CONDA_MESSAGES["service"],
            ".slug",
        ),
        _rule(
            "self.type != 'published' || (has(self.uri) && !has(self.slug))",
            CONDA_MESSAGES["published"],
            ".uri",
        ),
    ]


def run_rules() -> list[dict[str, str]]:
    """Rules on a DataScienceJobRun ``spec``: one job, and immutable run-defining fields."""
    rules = [_rule("has(self.jobRef) != has(self.jobId)", RUN_MESSAGES["oneJob"])]
    for name in IMMUTABLE_RUN_FIELDS:
        rules.append(
            _rule(
                f"has(self.{name}) == has(oldSelf.{name}) && "
                f"(!has(self.{name}) || self.{name} == oldSelf.{name})",
                f"spec.{name} is immutable: create a new DataScienceJobRun instead",
                f".{name}",
            )
        )
    return rules
