"""The one pydantic base every resource model derives from.

Kubernetes and ADS both speak camelCase on the wire while Python code reads snake_case,
so every model carries camelCase aliases and accepts either spelling
(``populate_by_name``). Unknown keys are refused (``extra="forbid"``): the CRD schema
refuses them too (kubectl's strict field validation), and a typo in an ADS key is a
mistake worth reporting rather than a key to drop silently.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

#: A JSON object whose shape is free-form (a schema, a YAML document, a model's wire dump):
#: the one name for it, so that a bare dict of Any elsewhere marks data still to be typed.
JsonObject = dict[str, Any]


class WireModel(BaseModel):
    """A model whose wire form is camelCase JSON, as stored in the Kubernetes object."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=True,
    )

    def to_wire(self) -> JsonObject:
        """The camelCase dict as it appears in a manifest, without unset (None) keys."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")
