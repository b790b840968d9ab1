"""Conditions as plain dicts in their wire form, updated the Kubernetes way.

``lastTransitionTime`` changes only when ``status`` does, so ``kubectl wait`` and humans
see when something became true, not when it was last re-confirmed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from ads_operator.models.conditions import ConditionWire

_REASON_CHARS = re.compile(r"[^A-Za-z0-9_]")


def reason_word(text: str) -> str:
    """A valid CamelCase condition reason from any text (e.g. an OCI state or code)."""
    parts = [p for p in _REASON_CHARS.split(text) if p]
    word = "".join(
        p[:1].upper() + p[1:].lower() if p.isupper() else p[:1].upper() + p[1:] for p in parts
    )
    if not word or not word[0].isalpha():
        word = "R" + word
    return word[:128]


def copied(conditions: Iterable[Mapping[str, Any]] | None) -> list[ConditionWire]:
    """A copy of stored conditions to set some on (the stored list stays as it was)."""
    return [cast(ConditionWire, dict(c)) for c in conditions or ()]


def set_condition(
    conditions: Iterable[Mapping[str, Any]] | None,
    *,
    type: str,
    status: bool | None,
    reason: str,
    message: str = "",
    generation: int | None = None,
    now: datetime,
) -> list[ConditionWire]:
    """``conditions`` with ``type`` set; other types unchanged, order stable."""
    wire_status = "Unknown" if status is None else ("True" if status else "False")
    result: list[ConditionWire] = []
    found = False
    for existing in conditions or ():
        item = cast(ConditionWire, dict(existing))
        if item.get("type") == type:
            found = True
            changed = item.get("status") != wire_status
            item["status"] = wire_status
            item["reason"] = reason_word(reason)
            item["message"] = message[:32768]
            if changed or not item.get("lastTransitionTime"):
                item["lastTransitionTime"] = _stamp(now)
            if generation is not None:
                item["observedGeneration"] = generation
        result.append(item)
    if not found:
        item = {
            "type": type,
            "status": wire_status,
            "reason": reason_word(reason),
            "message": message[:32768],
            "lastTransitionTime": _stamp(now),
        }
        if generation is not None:
            item["observedGeneration"] = generation
        result.append(item)
    return result


#: One condition to set: its type and status (None: Unknown).
Mark = tuple[str, bool | None]


def set_conditions(
    conditions: Iterable[Mapping[str, Any]] | None,
    marks: Iterable[Mark],
    *,
    reason: str,
    message: str = "",
    generation: int | None = None,
    now: datetime,
) -> list[ConditionWire]:
    """``conditions`` with every mark set, all with the same reason and message."""
    result = copied(conditions)
    for type_, status in marks:
        result = set_condition(
            result,
            type=type_,
            status=status,
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
    return result


def failure_conditions(
    conditions: Iterable[Mapping[str, Any]] | None,
    *,
    reason: str,
    message: str,
    terminal: bool,
    not_ready: bool,
    generation: int | None,
    now: datetime,
) -> list[ConditionWire]:
    """The conditions after a failed pass: ``Synced=False``; when the failure is terminal,
    ``Terminal=True`` too, and ``Ready=False`` where the caller says readiness is lost."""
    marks: list[Mark] = [("Synced", False)]
    if terminal:
        marks.append(("Terminal", True))
        if not_ready:
            marks.append(("Ready", False))
    return set_conditions(
        conditions, marks, reason=reason, message=message, generation=generation, now=now
    )


def get_condition(
    conditions: Iterable[Mapping[str, Any]] | None, type: str
) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == type), None)


def is_true(conditions: Iterable[Mapping[str, Any]] | None, type: str) -> bool:
    cond = get_condition(conditions, type)
    return cond is not None and cond.get("status") == "True"


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def rebased(
    ours: Iterable[Mapping[str, Any]] | None,
    base: Iterable[Mapping[str, Any]] | None,
    current: Iterable[Mapping[str, Any]] | None,
) -> list[ConditionWire]:
    """``ours`` (computed from ``base``) redone on ``current``, the list as stored now:
    a three-way merge keyed by ``type``, as server-side apply merges a list map.

    What this writer changed, added or removed since ``base`` wins; every other entry is
    ``current``'s, so a condition another writer (another field manager, another handler)
    added or changed meanwhile is kept. Order: ``current``'s, then this writer's new ones."""
    mine = {c.get("type"): c for c in ours or ()}
    before = {c.get("type"): c for c in base or ()}
    changed = {t: c for t, c in mine.items() if before.get(t) != c}
    removed = before.keys() - mine.keys()
    result: list[ConditionWire] = []
    for cond in current or ():
        type_ = cond.get("type")
        if type_ in removed:
            continue
        result.append(cast(ConditionWire, dict(changed.pop(type_, cond))))
    result.extend(cast(ConditionWire, dict(c)) for c in changed.values())
    return result
