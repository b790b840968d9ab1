"""Cross-field rules written once, as data: CEL for the CRD and a predicate for pydantic.

The API server refuses a resource breaking a rule at ``kubectl apply`` with the rule's
message at its ``fieldPath``; the operator and ``convert`` parse with the same models
and so give the same words without a cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ConfigDict, model_validator

from ads_operator.models.base import WireModel
from ads_operator.models.schema import JsonSchema


@dataclass(frozen=True)
class Rule:
    """A cross-field rule: ``cel`` for the CRD, ``holds`` for pydantic, one message."""

    cel: str
    message: str
    field_path: str
    holds: Callable[[Any], bool]

    def as_cel(self) -> dict[str, str]:
        return {"rule": self.cel, "message": self.message, "fieldPath": self.field_path}


def _schema_rules(schema: JsonSchema, cls: type) -> None:
    rules = getattr(cls, "RULES", ())
    if rules:
        schema["x-kubernetes-validations"] = [rule.as_cel() for rule in rules]


class RuledModel(WireModel):
    """A model whose ``RULES`` are checked by pydantic and written into its CRD schema."""

    model_config = ConfigDict(json_schema_extra=_schema_rules)
    RULES: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _check_rules(self) -> RuledModel:
        for rule in type(self).RULES:
            if not rule.holds(self):
                raise ValueError(rule.message)
        return self
