"""runPolicy: the pure decisions, and whole runs against the in-memory port (retries as
new OCI runs that survive restarts, the deadline cancelling with a reason, the TTL)."""

from __future__ import annotations

from typing import Any

import pytest

from ads_operator.models import DataScienceJobRunSpec, RunPolicy
from ads_operator.reconcile import policy
from ads_operator.reconcile.conditions import get_condition
from ads_operator.reconcile.identity import TAG_ATTEMPT
from ads_operator.usecases.run_executor import run_once
from tests.fixtures.fake_oci import FakePort, at
from tests.unit.usecases.test_run_executor import Clock, Recorder, make

FAILED = "Job run artifact execution failed with exit code 1"


def test_run_fields_win_over_job_defaults() -> None:
    job = RunPolicy(backoff_limit=3, ttl_seconds_after_finished=60)
    run = RunPolicy(backoff_limit=1)
    assert policy.effective(run, job) == RunPolicy(backoff_limit=1, ttl_seconds_after_finished=60)
    assert policy.effective(None, job) == job
    assert policy.effective(None, None) == RunPolicy()


@pytest.mark.parametrize(
    ("seconds", "retry", "expected"), [(None, 1, 10), (None, 3, 40), (5, 2, 10), (0, 4, 0)]
)
def test_backoff_doubles_from_its_first_wait(
    seconds: int | None, retry: int, expected: float
) -> None:
    assert policy.backoff_delay(RunPolicy(backoff_seconds=seconds), retry) == expected


def test_backoff_is_capped() -> None:
    assert policy.backoff_delay(RunPolicy(backoff_seconds=3600), 20) == 3600


def test_a_failed_attempt_is_retried_only_within_the_limit() -> None:
    rules = RunPolicy(backoff_limit=2)
    failed = {"ocid": "r", "lifecycleState": "FAILED", "timeAccepted": "2026-11-26T09:00:00Z"}
    now = at(10)
    assert policy.will_retry(rules, failed, canceling=False, now=now)
    assert policy.will_retry(rules, {**failed, "attempt": 2}, canceling=False, now=now)
    assert not policy.will_retry(rules, {**failed, "attempt": 3}, canceling=False, now=now)
    assert not policy.will_retry(rules, failed, canceling=True, now=now)
    assert not policy.will_retry(
        rules, {**failed, "lifecycleState": "CANCELED"}, canceling=False, now=now
    )
    assert not policy.will_retry(RunPolicy(), failed, canceling=False, now=now)


def test_the_deadline_counts_from_the_first_attempt_and_stops_retries() -> None:
    rules = RunPolicy(backoff_limit=5, active_deadline_seconds=60)
    status = {
        "lifecycleState": "FAILED",
        "attempt": 2,
        "timeAccepted": "2026-11-26T09:00:50Z",
        "attempts": [{"attempt": 1, "timeAccepted": "2026-11-26T09:00:00Z"}],
    }
    assert policy.deadline(rules, status) == at(60)
    assert policy.will_retry(rules, status, canceling=False, now=at(59))
    assert not policy.will_retry(rules, status, canceling=False, now=at(60))
    assert policy.deadline(rules, {"phase": "Pending"}) is None  # not accepted yet


def test_archive_moves_the_attempt_into_the_list_and_clears_the_run_fields() -> None:
    status = {
        "ocid": "run-1",
        "lifecycleState": "FAILED",
        "exitCode": 1,
        "timeAccepted": "a",
        "timeFinished": "b",
        "logCursor": {"ids": ["x"]},
        "phase": "Pending",
    }
    patch = policy.archive(status, now=at(0), generation=1)
    assert patch["attempts"] == [
        {
            "attempt": 1,
            "ocid": "run-1",
            "lifecycleState": "FAILED",
            "exitCode": 1,
            "timeAccepted": "a",
            "timeFinished": "b",
        }
    ]
    assert patch["attempt"] == 2
    for name in policy.ATTEMPT_FIELDS:
        assert patch[name] is None
    assert patch["phase"] == "Pending"


def test_expiry_counts_from_the_finish() -> None:
    rules = RunPolicy(ttl_seconds_after_finished=30)
    done = {"phase": "Succeeded", "timeFinished": "2026-11-26T09:00:10Z"}
    assert policy.expires_at(rules, done) == at(40)
    assert policy.expires_at(rules, {"phase": "Running"}) is None
    assert policy.expires_at(RunPolicy(), done) is None
    canceled_early = {
        "phase": "Canceled",
        "conditions": [
            {"type": "Failed", "status": "True", "lastTransitionTime": "2026-11-26T09:00:05Z"}
        ],
    }
    assert policy.expires_at(rules, canceled_early) == at(35)


# --- whole runs ---------------------------------------------------------------------------


def _ctx(port: FakePort, rec: Recorder, clock: Clock, rules: RunPolicy, **kw: Any) -> Any:
    ctx = make(port, rec, clock, **kw)
    ctx.run_policy = rules
    return ctx


def _condition(ctx: Any, kind: str) -> dict[str, Any]:
    cond = get_condition(ctx.status["conditions"], kind)
    assert cond is not None
    return dict(cond)


async def test_a_failed_attempt_becomes_a_new_oci_run_and_success_ends_it() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = _ctx(port, rec, clock, RunPolicy(backoff_limit=2, backoff_seconds=5))
    await run_once(ctx)
    (first,) = port.runs
    port.move(first, "FAILED", FAILED, time_started=at(1), time_finished=at(2))
    clock.seconds = 3
    assert await run_once(ctx) is not None
    # Retrying: not a failed run, so `kubectl wait --for=condition=Failed` keeps waiting.
    assert ctx.status["phase"] == "Pending"
    assert _condition(ctx, "Failed")["status"] == "False"
    assert _condition(ctx, "Failed")["reason"] == "Retrying"
    clock.seconds = 13  # log grace (10 s) and backoff (5 s) over
    assert await run_once(ctx) == 0.0
    assert ctx.status["attempt"] == 2
    assert ctx.status["attempts"][0]["ocid"] == first
    assert ctx.status["ocid"] is None
    await run_once(ctx)
    assert len(port.runs) == 2
    second = ctx.status["ocid"]
    assert second != first
    assert port.runs[second].freeform_tags[TAG_ATTEMPT] == "2"
    port.move(second, "SUCCEEDED", "done", time_started=at(14), time_finished=at(15))
    clock.seconds = 100
    assert await run_once(ctx) is None
    assert ctx.status["phase"] == "Succeeded"
    assert _condition(ctx, "Succeeded")["status"] == "True"
    assert port.calls["create_job_run"] == 2
    assert "Retrying" in [r for r, _ in rec.events]


async def test_the_last_allowed_attempt_failing_fails_the_run() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = _ctx(port, rec, clock, RunPolicy(backoff_limit=1, backoff_seconds=0))
    await run_once(ctx)
    port.move(ctx.status["ocid"], "FAILED", FAILED, time_finished=at(1))
    clock.seconds = 60
    assert await run_once(ctx) == 0.0  # archived
    await run_once(ctx)  # attempt 2 created
    port.move(ctx.status["ocid"], "FAILED", FAILED, time_finished=at(61))
    clock.seconds = 120
    assert await run_once(ctx) is None
    assert ctx.status["phase"] == "Failed"
    assert ctx.status["attempt"] == 2
    assert len(ctx.status["attempts"]) == 1
    assert _condition(ctx, "Failed")["reason"] == "ExitCode1"
    assert port.calls["create_job_run"] == 2


async def test_a_restart_at_any_point_never_recreates_a_finished_attempt() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    rules = RunPolicy(backoff_limit=3, backoff_seconds=0)
    ctx = _ctx(port, rec, clock, rules)
    await run_once(ctx)
    first = ctx.status["ocid"]
    port.move(first, "FAILED", FAILED, time_finished=at(1))
    clock.seconds = 60
    assert await run_once(ctx) == 0.0  # archived, next attempt not created yet
    # A new daemon from what was persisted, twice (e.g. two crashes in a row):
    persisted: dict[str, Any] = {}
    for patch in rec.patches:
        persisted.update(patch)
    for _ in range(2):
        again = _ctx(
            port, rec, clock, rules, status={k: v for k, v in persisted.items() if v is not None}
        )
        await run_once(again)
    assert len(port.runs) == 2  # a repeated create of attempt 2 got its run by retry token
    assert {r.freeform_tags.get(TAG_ATTEMPT, "1") for r in port.runs.values()} == {"1", "2"}


async def test_the_deadline_cancels_the_active_attempt_with_a_reason() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = _ctx(port, rec, clock, RunPolicy(active_deadline_seconds=30, backoff_limit=2))
    await run_once(ctx)
    run_id = ctx.status["ocid"]
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    clock.seconds = 10
    await run_once(ctx)
    assert port.calls["cancel_job_run"] == 0
    clock.seconds = 31
    await run_once(ctx)
    assert port.calls["cancel_job_run"] == 1
    assert "DeadlineExceeded" in [r for r, _ in rec.events]
    port.move(run_id, "CANCELED", "canceled", time_started=at(1), time_finished=at(32))
    clock.seconds = 100
    assert await run_once(ctx) is None
    failed = _condition(ctx, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "DeadlineExceeded")
    assert port.calls["create_job_run"] == 1  # a deadline is never retried


async def test_a_deadline_passing_between_attempts_ends_the_run() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    rules = RunPolicy(active_deadline_seconds=30, backoff_limit=2, backoff_seconds=0)
    ctx = _ctx(port, rec, clock, rules)
    await run_once(ctx)
    port.move(ctx.status["ocid"], "FAILED", FAILED, time_finished=at(5))
    clock.seconds = 20
    assert await run_once(ctx) == 0.0  # archived
    clock.seconds = 40  # e.g. the job went away, and the deadline passed meanwhile
    assert await run_once(ctx) is None
    assert ctx.status["phase"] == "Failed"
    assert _condition(ctx, "Failed")["reason"] == "DeadlineExceeded"
    assert port.calls["create_job_run"] == 1


async def test_without_a_policy_a_failure_is_final() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_once(ctx)
    port.move(ctx.status["ocid"], "FAILED", FAILED, time_finished=at(1))
    clock.seconds = 60
    assert await run_once(ctx) is None
    assert ctx.status["phase"] == "Failed"


def test_the_spec_accepts_a_run_policy() -> None:
    spec = DataScienceJobRunSpec.model_validate(
        {"jobRef": {"name": "j"}, "runPolicy": {"backoffLimit": 2, "ttlSecondsAfterFinished": 0}}
    )
    assert spec.run_policy == RunPolicy(backoff_limit=2, ttl_seconds_after_finished=0)
