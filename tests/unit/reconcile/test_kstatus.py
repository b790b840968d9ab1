"""Reconciling and Stalled, derived from the other conditions (kstatus's convention):
one row per phase or condition set the operator writes, for both kinds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ads_operator.reconcile import kstatus
from ads_operator.reconcile.conditions import get_condition

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def conds(**statuses: str) -> list[dict[str, Any]]:
    return [
        {"type": t, "status": s, "reason": f"{t}Why", "message": f"{t} says"}
        for t, s in statuses.items()
    ]


RUN_CASES = [
    ("waiting for its job", conds(Ready="False"), (True, False), "ReadyWhy"),
    (
        "running",
        conds(Ready="True", Succeeded="False", Failed="False"),
        (True, False),
        "ReadyWhy",
    ),
    ("succeeded", conds(Ready="True", Succeeded="True", Failed="False"), (False, False), ""),
    (
        "failed (or canceled)",
        conds(Ready="True", Succeeded="False", Failed="True"),
        (False, True),
        "FailedWhy",
    ),
    (
        "terminal before start",
        conds(Ready="False", Terminal="True", Failed="True"),
        (False, True),
        "TerminalWhy",
    ),
]


@pytest.mark.parametrize(("case", "given", "expected", "reason"), RUN_CASES)
def test_run_verdict(
    case: str, given: list[dict[str, Any]], expected: tuple[bool, bool], reason: str
) -> None:
    (reconciling, why, _), (stalled, _, _) = kstatus.run_verdict(given)
    assert (reconciling, stalled) == expected, case
    if reason:
        assert why == reason


JOB_CASES = [
    ("new", [], (True, False)),
    ("creating", conds(Ready="False", Synced="True", Terminal="False"), (True, False)),
    ("active", conds(Ready="True", Synced="True", Terminal="False"), (False, False)),
    ("a pass failing, retried", conds(Ready="True", Synced="False"), (True, False)),
    ("terminal", conds(Ready="False", Synced="False", Terminal="True"), (False, True)),
]


@pytest.mark.parametrize(("case", "given", "expected"), JOB_CASES)
def test_job_verdict(case: str, given: list[dict[str, Any]], expected: tuple[bool, bool]) -> None:
    (reconciling, _, _), (stalled, _, _) = kstatus.job_verdict(given)
    assert (reconciling, stalled) == expected, case


def test_settled_adds_both_conditions_with_the_observed_generation() -> None:
    patch: dict[str, Any] = {
        "conditions": conds(Ready="True", Succeeded="False", Failed="True"),
        "phase": "Failed",
        "observedGeneration": 3,
    }
    out = kstatus.settled("datasciencejobruns", patch, now=NOW)
    stalled = get_condition(out["conditions"], "Stalled")
    reconciling = get_condition(out["conditions"], "Reconciling")
    assert stalled is not None
    assert reconciling is not None
    assert (stalled["status"], stalled["reason"], stalled["observedGeneration"]) == (
        "True",
        "FailedWhy",
        3,
    )
    assert reconciling["status"] == "False"
    assert out["phase"] == "Failed"


def test_settled_leaves_other_patches_alone() -> None:
    cursor = {"logCursor": "x"}
    assert kstatus.settled("datasciencejobruns", cursor, now=NOW) == cursor
    other = {"conditions": conds(Ready="False")}
    assert kstatus.settled("datasciencetenancypolicies", other, now=NOW) == other


def test_settled_keeps_the_transition_time_while_the_status_holds() -> None:
    first = kstatus.settled("datasciencejobs", {"conditions": []}, now=NOW)
    later = datetime(2026, 1, 2, tzinfo=UTC)
    second = kstatus.settled("datasciencejobs", first, now=later)
    stamp = get_condition(second["conditions"], "Reconciling")
    assert stamp is not None
    assert stamp["lastTransitionTime"] == "2026-01-01T00:00:00Z"
