"""The typed wire form of a run's status names exactly the fields of its status model
(the CRD's schema), nested objects included: one cannot drift from the other."""

from __future__ import annotations

import pytest

from ads_operator.models import DataScienceJobRunStatus
from ads_operator.models.base import WireModel
from ads_operator.models.conditions import Condition, ConditionWire
from ads_operator.models.policy import Attempt
from ads_operator.models.run import LogCursor, LogLine, PendingLogEvent
from ads_operator.models.run_wire import (
    AttemptWire,
    CursorWire,
    LogLineWire,
    PendingEventWire,
    RunStatusWire,
    run_status,
)


def wire_names(model: type[WireModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


@pytest.mark.parametrize(
    ("typed", "model"),
    [
        (RunStatusWire, DataScienceJobRunStatus),
        (LogLineWire, LogLine),
        (CursorWire, LogCursor),
        (PendingEventWire, PendingLogEvent),
        (AttemptWire, Attempt),
        (ConditionWire, Condition),
    ],
)
def test_the_typed_wire_form_names_the_models_fields(typed: type, model: type[WireModel]) -> None:
    assert set(typed.__annotations__) == wire_names(model)


def test_a_stored_status_is_kept_without_keys_the_model_does_not_know() -> None:
    stored = {"ocid": "r", "phase": "Running", "_last_reason": "x", "fromAnOlderVersion": 1}
    kept = run_status(stored)
    assert kept == {"ocid": "r", "phase": "Running"}
    kept["phase"] = "Failed"
    assert stored["phase"] == "Running"  # a copy
    assert run_status(None) == {}
