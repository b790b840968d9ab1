"""The handler plumbing's pure parts: when a run needs no watching, the job's run summary."""

from __future__ import annotations

from ads_operator.reconcile.history import run_summary
from ads_operator.reconcile.lifecycle import run_finished


def _run(name: str, job: str, phase: str | None, created: str) -> dict[str, object]:
    status = {"phase": phase} if phase else {}
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {"jobRef": {"name": job}},
        "status": status,
    }


def test_run_summary_counts_only_the_jobs_runs() -> None:
    runs = [
        _run("a", "hello", "Succeeded", "2026-11-26T09:00:00Z"),
        _run("b", "hello", "Failed", "2026-11-26T09:01:00Z"),
        _run("c", "hello", "Canceled", "2026-11-26T09:02:00Z"),
        _run("d", "hello", None, "2026-11-26T09:03:00Z"),
        _run("e", "other", "Running", "2026-11-26T09:04:00Z"),
    ]
    assert run_summary(runs, "hello").model_dump(by_alias=True) == {
        "total": 4,
        "active": 1,
        "succeeded": 1,
        "failed": 2,
        "lastRun": "d",
    }


def test_a_run_is_finished_once_terminal_and_its_logs_are_read() -> None:
    logging_done = {"type": "Logging", "status": "True", "reason": "Complete"}
    logging_busy = {"type": "Logging", "status": "True", "reason": "Mirroring"}
    no_logging = {"type": "Logging", "status": "False", "reason": "LoggingNotConfigured"}
    base = {"ocid": "ocid1.datasciencejobrun.oc1..r", "phase": "Succeeded"}
    assert run_finished({**base, "conditions": [logging_done]})
    assert run_finished({**base, "conditions": [no_logging]})
    assert not run_finished({**base, "conditions": [logging_busy]})
    assert not run_finished({**base, "phase": "Running", "conditions": [logging_done]})
    # Canceled before it was ever created: nothing to watch.
    assert run_finished({"phase": "Canceled"})
    terminal = {"type": "Terminal", "status": "True", "reason": "InvalidSpec"}
    assert run_finished({"conditions": [terminal]})
