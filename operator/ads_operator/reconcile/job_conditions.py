"""A DataScienceJob's conditions, as rules: which condition each outcome sets, and how.

Each rule is (type, status, reason, message); :func:`apply` sets them in order with
:func:`~ads_operator.reconcile.conditions.set_condition`, which moves
``lastTransitionTime`` only when a status flips. Pure: the job use case reads the
conditions from the status model and writes back what these return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from ads_operator.models import JobSchedule
from ads_operator.reconcile import schedule
from ads_operator.reconcile.conditions import get_condition, set_condition

#: The job's condition about ``spec.schedule`` (present only while it has one).
SCHEDULE_VALID: Final = "ScheduleValid"
#: The job's condition about creating scheduled runs: False while a create fails.
CREATED_CONDITION: Final = "ScheduledRunCreated"

Rule = tuple[str, bool, str, str]
Conditions = list[dict[str, Any]]


def apply(
    conditions: Iterable[Mapping[str, Any]] | None,
    rules: Sequence[Rule],
    *,
    generation: int | None = None,
    now: datetime,
) -> Conditions:
    """``conditions`` with every rule's condition set, others unchanged."""
    result: Iterable[Mapping[str, Any]] = conditions or ()
    for type_, status, reason, message in rules:
        result = set_condition(
            result,
            type=type_,
            status=status,
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
    return [dict(c) for c in result]


def synced(state: str, *, ready: bool, message: str) -> tuple[Rule, ...]:
    """After a pass that brought the OCI job in line with the spec."""
    return (
        ("Ready", ready, state, message),
        ("Synced", True, "Synced", "The OCI job matches the spec"),
        ("Terminal", False, "Valid", ""),
    )


def resynced(
    conditions: Iterable[Mapping[str, Any]] | None, state: str, details: str | None
) -> tuple[Rule, ...]:
    """After the timer saw the OCI job's state change: Ready follows it, except while the
    schedule is unusable (Ready stays False until the spec is fixed)."""
    valid = get_condition(conditions, SCHEDULE_VALID)
    if (valid or {}).get("status") == "False":
        return ()
    return (("Ready", state == "ACTIVE", state, details or f"OCI job {state}"),)


def schedule_valid(
    conditions: Iterable[Mapping[str, Any]] | None,
    plan: JobSchedule | None,
    generation: int | None,
    now: datetime,
) -> tuple[Conditions, str | None]:
    """``ScheduleValid`` for a job with ``spec.schedule`` (none without one), and why the
    schedule cannot work, if it cannot. A schedule that cannot work makes the job
    Terminal (reason InvalidSchedule) until the spec is fixed, unlike the scheduler's
    Event, which expires."""
    if plan is None:
        return [dict(c) for c in conditions or () if c.get("type") != SCHEDULE_VALID], None
    unusable = schedule.problem(plan.cron, plan.time_zone, now=now)
    why = f"spec.schedule: {unusable}" if unusable else None
    rule = (SCHEDULE_VALID, why is None, "InvalidSchedule" if why else "Valid")
    message = why or "The schedule can start runs"
    return apply(conditions, [(*rule, message)], generation=generation, now=now), why


def shows(conditions: Iterable[Mapping[str, Any]] | None, rule: Rule) -> bool:
    """Whether ``conditions`` already say what ``rule`` says (no write needed)."""
    type_, ok, reason, message = rule
    have = get_condition(conditions, type_) or {}
    wire = "True" if ok else "False"
    return (have.get("status"), have.get("reason"), have.get("message")) == (wire, reason, message)
