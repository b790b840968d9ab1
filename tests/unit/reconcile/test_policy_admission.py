"""The per-namespace active-run cap: slots, the queue in creation order, reservations."""

from __future__ import annotations

from typing import Any

from ads_operator.reconcile import admission


def run(name: str, created: str, **status: Any) -> dict[str, Any]:
    reason = status.pop("reason", None)
    if reason is not None:
        status["conditions"] = [{"type": "Ready", "status": "False", "reason": reason}]
    return {
        "metadata": {"name": name, "uid": f"u-{name}", "creationTimestamp": created},
        "status": status,
    }


ACTIVE = run("a", "2026-11-26T09:00:00Z", ocid="r-a", phase="Running")
DONE = run("d", "2026-11-26T08:00:00Z", ocid="r-d", phase="Succeeded")


def test_a_free_slot_admits_the_oldest_waiting_run_only() -> None:
    first = run("q1", "2026-11-26T09:01:00Z", phase="Pending", reason="WaitingForCapacity")
    second = run("q2", "2026-11-26T09:02:00Z", phase="Pending", reason="WaitingForCapacity")
    runs = [DONE, ACTIVE, first, second]
    assert not admission.admit(runs, uid="u-q1", cap=1).allowed
    waiting = admission.admit(runs, uid="u-q2", cap=1)
    assert (waiting.allowed, waiting.active, waiting.position) == (False, 1, 2)
    assert "number 2 in the queue" in waiting.message(1)
    assert admission.admit(runs, uid="u-q1", cap=2).allowed
    assert not admission.admit(runs, uid="u-q2", cap=2).allowed  # q1 goes first
    assert admission.admit(runs, uid="u-q2", cap=3).allowed


def test_finished_and_deleting_runs_free_their_slot() -> None:
    leaving = run("x", "2026-11-26T09:00:30Z", ocid="r-x", phase="Running")
    leaving["metadata"]["deletionTimestamp"] = "2026-11-26T09:05:00Z"
    me = run("q", "2026-11-26T09:01:00Z")
    assert admission.admit([DONE, leaving, me], uid="u-q", cap=1).allowed


def test_a_run_between_attempts_keeps_its_slot() -> None:
    retrying = run("r", "2026-11-26T09:00:00Z", phase="Pending", attempt=2)
    me = run("q", "2026-11-26T09:01:00Z")
    assert admission.admit([retrying, me], uid="u-r", cap=1).allowed
    assert not admission.admit([retrying, me], uid="u-q", cap=1).allowed


def test_runs_waiting_for_something_else_do_not_block_the_queue() -> None:
    blocked = run("b", "2026-11-26T09:00:00Z", phase="Pending", reason="WaitingForJob")
    me = run("q", "2026-11-26T09:01:00Z")
    assert admission.admit([blocked, me], uid="u-q", cap=1).allowed


def test_a_run_ahead_whose_job_became_ready_counts_even_if_its_status_lags() -> None:
    lagging = run("l", "2026-11-26T09:00:00Z", phase="Pending", reason="WaitingForJob")
    lagging["spec"] = {"jobRef": {"name": "train"}}
    me = run("q", "2026-11-26T09:01:00Z")
    assert admission.admit([lagging, me], uid="u-q", cap=1).allowed
    assert not admission.admit([lagging, me], uid="u-q", cap=1, ready_jobs={"train"}).allowed


def test_reserved_runs_count_until_they_finish_or_go() -> None:
    admitted = run("n", "2026-11-26T09:00:00Z")  # admitted, OCID not written yet
    me = run("q", "2026-11-26T09:01:00Z")
    assert not admission.admit([admitted, me], uid="u-q", cap=1, reserved={"u-n"}).allowed
    finished = run("n", "2026-11-26T09:00:00Z", phase="Canceled")
    assert admission.admit([finished, me], uid="u-q", cap=1, reserved={"u-n"}).allowed
    assert admission.admit([me], uid="u-q", cap=1, reserved={"u-n"}).allowed
    book = admission.Reservations()
    book.of("ns").add("u-n")
    book.release("ns", "u-n")
    assert book.of("ns") == set()
