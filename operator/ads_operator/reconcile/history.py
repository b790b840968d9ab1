"""Which finished runs of a job to delete under its history limits (pure).

Like CronJob's ``successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit``, but for every
run of the job, however it was created: the newest N succeeded and the newest M failed or
canceled runs stay, older finished ones go. Unfinished runs (including a run waiting for
its next attempt) never count and are never deleted. "Newest" is by creation time, the
order users see in ``kubectl get``; the name breaks ties so the choice is stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ads_operator.models import RunSummary

SUCCEEDED = frozenset({"Succeeded"})
FAILED = frozenset({"Failed", "Canceled"})


@dataclass(frozen=True)
class Victim:
    name: str
    uid: str
    phase: str


def _of_job(run: Mapping[str, Any], job_name: str) -> bool:
    return bool((run.get("spec", {}).get("jobRef") or {}).get("name") == job_name)


def to_delete(
    runs: Iterable[Mapping[str, Any]],
    job_name: str,
    *,
    successful_limit: int | None,
    failed_limit: int | None,
) -> list[Victim]:
    """The runs of ``job_name`` beyond the limits (None: no limit), by name."""
    mine = [
        r
        for r in runs
        if _of_job(r, job_name) and not r.get("metadata", {}).get("deletionTimestamp")
    ]
    mine.sort(
        key=lambda r: (str(r["metadata"].get("creationTimestamp") or ""), r["metadata"]["name"]),
        reverse=True,
    )
    victims: list[Victim] = []
    for phases, limit in ((SUCCEEDED, successful_limit), (FAILED, failed_limit)):
        if limit is None:
            continue
        done = [r for r in mine if str((r.get("status") or {}).get("phase")) in phases]
        for r in done[limit:]:
            meta = r["metadata"]
            victims.append(Victim(meta["name"], meta["uid"], str(r["status"]["phase"])))
    return sorted(victims, key=lambda v: v.name)


def run_summary(runs: Iterable[Mapping[str, Any]], job_name: str) -> RunSummary:
    """The job's ``status.runs``: how many of its runs there are, by how they stand."""
    items = [r for r in runs if _of_job(r, job_name)]
    phases = [str((r.get("status") or {}).get("phase") or "Pending") for r in items]
    latest = max(items, key=lambda r: r["metadata"]["creationTimestamp"], default=None)
    return RunSummary(
        total=len(items),
        active=sum(p in ("Pending", "Running") for p in phases),
        succeeded=phases.count("Succeeded"),
        failed=phases.count("Failed") + phases.count("Canceled"),
        last_run=latest["metadata"]["name"] if latest else None,
    )
