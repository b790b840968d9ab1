"""Failure conditions: which of Ready, Synced and Terminal a failure sets."""

from __future__ import annotations

from datetime import UTC, datetime

from ads_operator.reconcile.conditions import failure_conditions


def test_failure_conditions_mark_synced_terminal_and_ready_as_asked() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ready = [{"type": "Ready", "status": "True", "reason": "Active", "message": ""}]
    retry = failure_conditions(
        ready, reason="Throttled", message="slow down", terminal=False, not_ready=True,
        generation=3, now=now,
    )  # fmt: skip
    assert {c["type"]: c["status"] for c in retry} == {"Ready": "True", "Synced": "False"}
    final = failure_conditions(
        ready, reason="InvalidParameter", message="bad shape", terminal=True, not_ready=True,
        generation=3, now=now,
    )  # fmt: skip
    assert {c["type"]: c["status"] for c in final} == {
        "Ready": "False", "Synced": "False", "Terminal": "True",
    }  # fmt: skip
    kept = failure_conditions(
        ready, reason="InvalidParameter", message="bad", terminal=True, not_ready=False,
        generation=3, now=now,
    )  # fmt: skip
    assert {c["type"]: c["status"] for c in kept}["Ready"] == "True"
    assert all(c["observedGeneration"] == 3 for c in final)
