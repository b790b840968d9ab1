"""The kstatus conditions, ``Reconciling`` and ``Stalled``, derived from the others.

GitOps tools judge a custom resource by the kstatus convention
(``sigs.k8s.io/cli-utils/pkg/kstatus``): InProgress while ``status.observedGeneration``
lags ``metadata.generation`` or ``Reconciling`` is True, Failed while ``Stalled`` is
True, otherwise ``Ready`` decides (True: Current). Both are "abnormal-true": present and
False on a resource at rest. Our own conditions (Ready, Synced, Terminal, a run's
Succeeded and Failed) already say all of it; deriving the two from them here, on every
write of the conditions, means no writer can leave them telling a different story.

- A run is Reconciling until it has an outcome, and Stalled once it failed, was
  canceled or is Terminal (nothing will retry it): Flux's wait ends either way.
- A job is Reconciling until it is Ready and Synced, and Stalled while it is Terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.models.conditions import ConditionWire
from ads_operator.reconcile.conditions import get_condition, is_true, set_condition

RECONCILING: Final = "Reconciling"
STALLED: Final = "Stalled"

#: (Reconciling, Stalled): status, reason and message of each.
Verdict = tuple[tuple[bool, str, str], tuple[bool, str, str]]


def _words(condition: Mapping[str, Any] | None, fallback: str) -> tuple[str, str]:
    cond = condition or {}
    return str(cond.get("reason") or fallback), str(cond.get("message") or "")


def run_verdict(conditions: Iterable[Mapping[str, Any]] | None) -> Verdict:
    """Reconciling and Stalled of a DataScienceJobRun."""
    conds = list(conditions or ())
    for ended in ("Terminal", "Failed"):
        if is_true(conds, ended):
            reason, message = _words(get_condition(conds, ended), ended)
            return (False, reason, message), (True, reason, message)
    if is_true(conds, "Succeeded"):
        reason, message = _words(get_condition(conds, "Succeeded"), "Succeeded")
        return (False, reason, message), (False, reason, message)
    reason, message = _words(get_condition(conds, "Ready"), "Pending")
    return (True, reason, message), (False, "Running", "")


def job_verdict(conditions: Iterable[Mapping[str, Any]] | None) -> Verdict:
    """Reconciling and Stalled of a DataScienceJob."""
    conds = list(conditions or ())
    if is_true(conds, "Terminal"):
        reason, message = _words(get_condition(conds, "Terminal"), "Terminal")
        return (False, reason, message), (True, reason, message)
    if is_true(conds, "Ready") and not _is_false(conds, "Synced"):
        reason, message = _words(get_condition(conds, "Ready"), "Ready")
        return (False, reason, message), (False, reason, message)
    lagging = get_condition(conds, "Synced") if _is_false(conds, "Synced") else None
    reason, message = _words(lagging or get_condition(conds, "Ready"), "Creating")
    return (True, reason, message), (False, "Valid", "")


def with_kstatus(
    conditions: Iterable[Mapping[str, Any]] | None,
    verdict: Verdict,
    *,
    generation: int | None,
    now: datetime,
) -> list[ConditionWire]:
    """``conditions`` with Reconciling and Stalled set as ``verdict`` says."""
    result: Iterable[Mapping[str, Any]] = conditions or ()
    for type_, (status, reason, message) in zip((RECONCILING, STALLED), verdict, strict=True):
        result = set_condition(
            result,
            type=type_,
            status=status,
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
    return list(result)  # type: ignore[arg-type]


def _is_false(conditions: Iterable[Mapping[str, Any]], type_: str) -> bool:
    return (get_condition(conditions, type_) or {}).get("status") == "False"


def settled(plural: str, patch: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """A status merge patch with Reconciling and Stalled brought in line with the
    conditions it writes (a patch without conditions, or of another kind, as it is).

    A merge patch replaces the whole conditions list, so deriving both from the list
    being written keeps them true whatever wrote it. They take the generation the patch
    records as observed (else the newest one a condition carries)."""
    conditions = patch.get("conditions")
    judge = {JOB_PLURAL: job_verdict, RUN_PLURAL: run_verdict}.get(plural)
    if judge is None or not isinstance(conditions, list):
        return dict(patch)
    generation = patch.get("observedGeneration")
    if not isinstance(generation, int):
        seen = [c.get("observedGeneration") for c in conditions]
        generation = max((g for g in seen if isinstance(g, int)), default=None)
    settled_conditions = with_kstatus(conditions, judge(conditions), generation=generation, now=now)
    return {**patch, "conditions": settled_conditions}
