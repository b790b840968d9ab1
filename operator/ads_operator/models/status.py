"""The one place a resource's ``.status`` is parsed and serialised.

Status models are what the CRD's status schema is generated from *and* what use cases
read and write: :meth:`StatusModel.parse` reads the stored status (keys the model does
not know, e.g. written by an older operator, are left out), and
:meth:`StatusModel.patch_from` gives the merge patch that turns the status as read into
this one, by wire name, with only the fields that changed (a removed field is a None,
which a merge patch deletes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Self

from pydantic import BaseModel, ConfigDict, Field

from ads_operator.models.base import JsonObject, WireModel
from ads_operator.models.schema import CRD_DEFAULT

#: ``observedGeneration``'s CRD default, the generation "not observed yet": an object the
#: operator has not written reads with it (defaults apply when the apiserver reads the
#: object), so kstatus, ``kubectl wait`` and Argo CD see a new object InProgress (its
#: ``generation`` is 1 or more) until the operator's first status write, not Current.
UNOBSERVED: Final = 0


def observed_generation_field() -> Any:
    """The ``observedGeneration`` field of both status models."""
    return Field(
        default=None,
        ge=0,
        description="metadata.generation last acted on (0: none yet).",
        json_schema_extra={CRD_DEFAULT: UNOBSERVED},
    )


class StatusModel(WireModel):
    """Base of the status models (``DataScienceJobStatus``, ``DataScienceJobRunStatus``).

    The CRD defaults ``.status`` to ``{}``: its ``observedGeneration`` default then
    applies to an object with no status yet, and a status JSON patch always finds it."""

    model_config = ConfigDict(json_schema_extra={CRD_DEFAULT: {}})

    @classmethod
    def wire_names(cls) -> dict[str, str]:
        """Field name -> wire (camelCase) name."""
        return {name: info.alias or name for name, info in cls.model_fields.items()}

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Self:
        """The status as stored in the object (None: it has none yet)."""
        known = set(cls.wire_names().values())
        return cls.model_validate({k: v for k, v in (raw or {}).items() if k in known})

    def updated(self, **changes: Any) -> Self:
        """A copy with ``changes`` (by field name), validated like a parsed status: wire
        forms (a dict for a nested object, a time as text) become the model's types."""
        return self.model_validate({**dict(self), **changes})

    def wire_value(self, name: str) -> Any:
        """One field in its wire form: a nested object whole, with None for its unset
        keys (the merge patch deletes them); list items without them (a list is stored
        as sent)."""
        value = getattr(self, name)
        if value is None:
            return None
        if isinstance(value, BaseModel):
            return value.model_dump(by_alias=True, mode="json")
        return self.model_dump(by_alias=True, mode="json", include={name}, exclude_none=True)[
            type(self).wire_names()[name]
        ]

    def patch_from(self, before: Self) -> JsonObject:
        """The merge patch of ``.status`` from ``before`` to this status: changed fields
        only, by wire name; {} when nothing changed (no write needed)."""
        return {
            wire: self.wire_value(name)
            for name, wire in type(self).wire_names().items()
            if getattr(self, name) != getattr(before, name)
        }

    def to_patch(self) -> JsonObject:
        """Every field that is set, as a merge patch (e.g. for a status written whole)."""
        return {
            wire: self.wire_value(name)
            for name, wire in type(self).wire_names().items()
            if getattr(self, name) is not None
        }
