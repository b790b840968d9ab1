"""A run's ``.status`` in its wire form, typed: what the run's passes read and the merge
patches they write (times as RFC 3339 strings, None removes a field).

:class:`~ads_operator.models.run.DataScienceJobRunStatus` is the schema (the CRD is
generated from it, and it parses what is stored); these TypedDicts give the same fields
their wire names and types for the dicts the passes keep, so the type checker knows every
key. ``tests/unit/models/test_run_wire.py`` keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, cast

from ads_operator.models.conditions import ConditionWire


class LogLineWire(TypedDict):
    time: str | None
    message: str


class CursorWire(TypedDict, total=False):
    lastTime: str | None
    watermark: str | None
    floor: str | None
    ids: list[str] | None
    steps: int | None


class PendingEventWire(TypedDict, total=False):
    name: str
    reason: str
    message: str
    warning: bool | None


class AttemptWire(TypedDict, total=False):
    attempt: int
    ocid: str | None
    lifecycleState: str | None
    exitCode: int | None
    timeAccepted: str | None
    timeStarted: str | None
    timeFinished: str | None
    message: str | None


class RunStatusWire(TypedDict, total=False):
    """``DataScienceJobRunStatus`` by wire name; as a patch, only the keys it changes."""

    ocid: str | None
    jobOcid: str | None
    displayName: str | None
    lifecycleState: str | None
    lifecycleDetails: str | None
    phase: str | None
    exitCode: int | None
    timeAccepted: str | None
    timeStarted: str | None
    timeFinished: str | None
    duration: str | None
    logGroupId: str | None
    logId: str | None
    logTail: list[LogLineWire] | None
    logCursor: CursorWire | None
    logPending: list[PendingEventWire] | None
    logLinesNotMirrored: int | None
    consoleUrl: str | None
    progress: str | None
    progressPercent: int | None
    attempt: int | None
    createRequested: int | None
    attempts: list[AttemptWire] | None
    observedGeneration: int | None
    conditions: list[ConditionWire] | None


def run_status(raw: Mapping[str, Any] | None) -> RunStatusWire:
    """A run's stored ``.status`` as its passes keep it: a copy, without keys the status
    model does not know (written by another version, or by hand)."""
    known = RunStatusWire.__annotations__
    return cast(RunStatusWire, {k: v for k, v in (raw or {}).items() if k in known})
