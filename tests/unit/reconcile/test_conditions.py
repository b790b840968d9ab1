"""Failure conditions: which of Ready, Synced and Terminal a failure sets; a writer's
changes redone on a list another writer changed meanwhile (``rebased``)."""

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


def _c(type_: str, status: str = "True", reason: str = "R") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason}


def test_rebased_keeps_what_others_wrote_and_what_this_writer_changed() -> None:
    """A three-way merge by type: this writer's changes (set, added, removed) since the
    list it computed from, on top of the list as stored now."""
    from ads_operator.reconcile.conditions import rebased

    base = [_c("Ready", "False"), _c("Synced"), _c("Old")]
    ours = [_c("Ready", "True"), _c("Synced"), _c("Succeeded")]  # Ready set, Old gone, new one
    current = [_c("Ready", "False"), _c("Synced", "False", "Other"), _c("Old"), _c("Audited")]
    assert rebased(ours, base, current) == [
        _c("Ready", "True"),  # ours changed it: ours
        _c("Synced", "False", "Other"),  # only another writer changed it: theirs
        _c("Audited"),  # added by another writer: kept
        _c("Succeeded"),  # added by us: appended
    ]
    assert rebased(ours, base, None) == [_c("Ready", "True"), _c("Succeeded")]
    assert rebased(base, base, current) == current  # nothing of ours changed
