"""The ``Condition`` shape both kinds share (metav1.Condition, so ``kubectl wait`` works)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final, Literal, TypedDict

from pydantic import Field

from ads_operator.models.base import WireModel


class ConditionType(StrEnum):
    """Condition types the operator writes. Ready/Synced on both kinds; runs add the two
    terminal ones so ``kubectl wait --for=condition=Succeeded`` has something to wait on."""

    READY = "Ready"
    SYNCED = "Synced"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TERMINAL = "Terminal"


#: At most this many conditions on one object (the CRD bound keeps CEL costs known).
MAX_CONDITIONS: Final = 16


class Condition(WireModel):
    """One observation about the resource, with the usual Kubernetes fields."""

    type: str = Field(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9]*$", description="Type.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        description="One CamelCase word saying why.",
    )
    message: str | None = Field(default=None, max_length=32768, description="For humans.")
    last_transition_time: datetime | None = Field(
        default=None, description="When status last changed."
    )
    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation the condition was computed from."
    )


class ConditionWire(TypedDict, total=False):
    """One :class:`Condition` as stored, by wire name (what the passes read and write)."""

    type: str
    status: str
    reason: str
    message: str
    lastTransitionTime: str
    observedGeneration: int
