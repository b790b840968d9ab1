"""The per-namespace cap on active runs (``MAX_ACTIVE_RUNS_PER_NAMESPACE``), as a pure
decision plus a small in-process reservation book.

* A run **holds a slot** from the moment it is admitted until it finishes: it has an OCI
  run (``status.ocid``) and is not finished, or it is between two attempts of its
  ``runPolicy`` (a retry keeps its slot rather than queueing behind newer runs).
* Runs without an OCI run **queue** in creation order (name breaks ties). A run is
  admitted when the slots held plus the queued runs ahead of it are fewer than the cap,
  so free slots go to the oldest waiting runs first.
* Runs ahead that wait for something else (their job is not Ready, say) do not block
  the queue: only runs that wait for capacity, have not been looked at yet, or whose job
  is Ready now (their own status may not say so yet) count.
* Admission and the OCI create are not one atomic step, so admitted runs are
  **reserved** in memory until their OCID shows in the list; the operator runs as one
  replica, so that book is complete.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

REASON: Final = "WaitingForCapacity"
_FINISHED: Final = frozenset({"Succeeded", "Failed", "Canceled"})
#: Ready reasons of runs that wait for capacity (or were not looked at yet).
_QUEUED_REASONS: Final = frozenset({REASON, "", "None"})


@dataclass(frozen=True)
class Admission:
    allowed: bool
    active: int
    #: 1-based place in the queue of capacity-waiting runs (0 when allowed or holding).
    position: int = 0

    def message(self, cap: int) -> str:
        return (
            f"{self.active} runs are active in this namespace and the operator allows"
            f" {cap} (MAX_ACTIVE_RUNS_PER_NAMESPACE); this run is number {self.position} in"
            " the queue and starts when a slot is free, oldest first"
        )


def _ready_reason(status: Mapping[str, Any]) -> str:
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready":
            return str(cond.get("reason") or "")
    return ""


def holds_slot(run: Mapping[str, Any]) -> bool:
    status = run.get("status") or {}
    if status.get("phase") in _FINISHED:
        return False
    return bool(status.get("ocid")) or int(status.get("attempt") or 1) > 1


def _could_start(run: Mapping[str, Any], ready_jobs: Collection[str]) -> bool:
    if _ready_reason(run.get("status") or {}) in _QUEUED_REASONS:
        return True
    ref = (run.get("spec") or {}).get("jobRef") or {}
    return ref.get("name") in ready_jobs


def admit(
    runs: Iterable[Mapping[str, Any]],
    *,
    uid: str,
    cap: int,
    reserved: Iterable[str] = (),
    ready_jobs: Collection[str] = (),
) -> Admission:
    """Whether the run ``uid`` may create its OCI run now."""
    items = [r for r in runs if not r.get("metadata", {}).get("deletionTimestamp")]
    live = {str(r["metadata"]["uid"]) for r in items}
    finished = {
        str(r["metadata"]["uid"])
        for r in items
        if (r.get("status") or {}).get("phase") in _FINISHED
    }
    holders = {str(r["metadata"]["uid"]) for r in items if holds_slot(r)}
    holders |= {u for u in reserved if u in live and u not in finished}
    if uid in holders or cap <= 0:
        return Admission(True, len(holders))
    me = next((r for r in items if str(r["metadata"]["uid"]) == uid), None)
    if me is None:
        return Admission(False, len(holders))

    def order(run: Mapping[str, Any]) -> tuple[str, str]:
        meta = run["metadata"]
        return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))

    ahead = [
        r
        for r in items
        if order(r) < order(me)
        and str(r["metadata"]["uid"]) not in holders
        and str(r["metadata"]["uid"]) not in finished
        and _could_start(r, ready_jobs)
    ]
    if len(holders) + len(ahead) < cap:
        return Admission(True, len(holders))
    return Admission(False, len(holders), position=len(ahead) + 1)


@dataclass
class Reservations:
    """Runs admitted by this process whose OCID may not be visible in a list yet."""

    by_namespace: dict[str, set[str]] = field(default_factory=dict)

    def of(self, namespace: str) -> set[str]:
        return self.by_namespace.setdefault(namespace, set())

    def release(self, namespace: str, uid: str) -> None:
        self.of(namespace).discard(uid)
