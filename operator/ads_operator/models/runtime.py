"""ADS runtimes ``{kind: runtime, type, spec}`` for the six Data Science Job runtime types.

The runtime ``spec`` is one model holding every key any runtime type uses
(:mod:`~ads_operator.models.runtime_spec`, built from the pieces in
:mod:`~ads_operator.models.runtime_parts`), plus a table (:mod:`~ads_operator.models.runtime_rules`)
saying which keys each type accepts. A Kubernetes structural schema
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

from typing import Literal

from pydantic import Field, model_validator

from ads_operator.models.base import WireModel
from ads_operator.models.runtime_parts import RuntimeType
from ads_operator.models.runtime_rules import runtime_problems
from ads_operator.models.runtime_spec import RuntimeSpec


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
