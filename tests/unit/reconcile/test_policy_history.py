"""History limits: which finished runs of a job go, and which never do."""

from __future__ import annotations

from typing import Any

from ads_operator.reconcile import history


def run(name: str, phase: str | None, created: str, job: str = "j", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": created, **meta},
        "spec": {"jobRef": {"name": job}},
        "status": {"phase": phase} if phase else {},
    }


RUNS = [
    run("s1", "Succeeded", "2026-11-26T09:00:01Z"),
    run("s2", "Succeeded", "2026-11-26T09:00:02Z"),
    run("s3", "Succeeded", "2026-11-26T09:00:03Z"),
    run("f1", "Failed", "2026-11-26T09:00:04Z"),
    run("c1", "Canceled", "2026-11-26T09:00:05Z"),
    run("p1", "Pending", "2026-11-26T09:00:00Z"),
    run("r1", "Running", "2026-11-26T08:00:00Z"),
    run("new", None, "2026-11-26T07:00:00Z"),
    run("other", "Succeeded", "2026-11-26T06:00:00Z", job="k"),
]


def names(victims: list[history.Victim]) -> list[str]:
    return [v.name for v in victims]


def test_the_newest_finished_runs_stay() -> None:
    victims = history.to_delete(RUNS, "j", successful_limit=1, failed_limit=1)
    assert names(victims) == ["f1", "s1", "s2"]  # c1 is the newest failed-or-canceled
    assert {v.phase for v in victims} == {"Succeeded", "Failed"}


def test_no_limit_keeps_everything_and_zero_keeps_nothing_finished() -> None:
    assert history.to_delete(RUNS, "j", successful_limit=None, failed_limit=None) == []
    victims = history.to_delete(RUNS, "j", successful_limit=0, failed_limit=None)
    assert names(victims) == ["s1", "s2", "s3"]


def test_unfinished_runs_other_jobs_and_runs_being_deleted_are_never_chosen() -> None:
    runs = [*RUNS, run("s0", "Succeeded", "2026-11-26T05:00:00Z", deletionTimestamp="x")]
    victims = names(history.to_delete(runs, "j", successful_limit=0, failed_limit=0))
    assert victims == ["c1", "f1", "s1", "s2", "s3"]
