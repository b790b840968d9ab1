"""Run policy decisions as pure functions of the policy, the run's status and "now".

Nothing here is remembered between passes: every decision is re-derived from
``status`` (which the operator persists at once), so a restart at any point takes the
same decision again. That is what makes "never re-create a finished attempt" hold: an
attempt is archived into ``status.attempts`` and the attempt counter moves on in one
status patch, and the next OCI run is created under the new attempt's own retry token.

* **Retries** (``backoffLimit``): an attempt that ends FAILED is retried while
  ``attempt <= backoffLimit``, the deadline has not passed and the run is not being
  canceled. A canceled attempt (``spec.cancel``, the deadline, someone in the console)
  is not retried: Kubernetes Job retries failed pods, not deleted ones.
* **Backoff**: ``backoffSeconds * 2**(retry - 1)``, at most ``MAX_BACKOFF_SECONDS``,
  counted from the failed attempt's ``timeFinished``. The next attempt also waits for
  the failed one's log grace, so its late log lines are still mirrored.
* **Deadline** (``activeDeadlineSeconds``): counted from when OCI accepted the *first*
  attempt (time waiting for the job or for an admission slot does not count), across
  retries.
* **TTL** (``ttlSecondsAfterFinished``): counted from the final attempt's
  ``timeFinished`` (or, for a run that never got an OCI run, from when it was marked
  finished).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final, cast

from ads_operator.models import Phase
from ads_operator.models.policy import DEFAULT_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS, RunPolicy
from ads_operator.models.run_wire import AttemptWire, RunStatusWire
from ads_operator.reconcile.conditions import Mark, get_condition, set_condition, set_conditions
from ads_operator.reconcile.lifecycle import RUN_ACTIVE, RUN_CANCELING, RUN_FAILED
from ads_operator.reconcile.times import parse_time

DEADLINE_REASON: Final = "DeadlineExceeded"
RETRY_REASON: Final = "Retrying"
#: A failed attempt that will be retried: neither outcome yet.
RETRYING: Final[tuple[Mark, ...]] = (("Succeeded", False), ("Failed", False))
#: The conditions of a run that ends before any OCI run exists.
ENDED_BEFORE_START: Final[tuple[Mark, ...]] = (
    ("Ready", False),
    ("Succeeded", False),
    ("Failed", True),
)
#: Status fields that describe one attempt's OCI run; cleared when the next one starts.
ATTEMPT_FIELDS: Final = (
    "ocid",
    "jobOcid",
    "displayName",
    "lifecycleState",
    "lifecycleDetails",
    "exitCode",
    "timeAccepted",
    "timeStarted",
    "timeFinished",
    "duration",
    "logGroupId",
    "logId",
    "logCursor",
    "consoleUrl",
)


def effective(run: RunPolicy | None, job: RunPolicy | None) -> RunPolicy:
    """The run's policy with unset fields from its job's defaults."""
    if run is None:
        return job or RunPolicy()
    return run.merged_over(job)


def attempt_of(status: Mapping[str, Any]) -> int:
    """The current attempt's number, from 1."""
    return int(status.get("attempt") or 1)


def backoff_delay(policy: RunPolicy, retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
    base = DEFAULT_BACKOFF_SECONDS if policy.backoff_seconds is None else policy.backoff_seconds
    return float(min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, retry - 1)))


def deadline(policy: RunPolicy, status: Mapping[str, Any]) -> datetime | None:
    """When the run as a whole must be over; None without a deadline or before OCI
    accepted the first attempt."""
    if policy.active_deadline_seconds is None:
        return None
    earlier = status.get("attempts") or []
    start = parse_time(earlier[0].get("timeAccepted") if earlier else status.get("timeAccepted"))
    if start is None:
        return None
    return start + timedelta(seconds=policy.active_deadline_seconds)


def deadline_passed(policy: RunPolicy, status: Mapping[str, Any], now: datetime) -> bool:
    end = deadline(policy, status)
    return end is not None and now >= end


def will_retry(
    policy: RunPolicy, status: Mapping[str, Any], *, canceling: bool, now: datetime
) -> bool:
    """Whether the current attempt, as recorded in ``status``, ends in another attempt."""
    if canceling or str(status.get("lifecycleState") or "") not in RUN_FAILED:
        return False
    if attempt_of(status) > (policy.backoff_limit or 0):
        return False
    return not deadline_passed(policy, status, now)


def retry_at(policy: RunPolicy, status: Mapping[str, Any]) -> datetime | None:
    """When the next attempt may start (the failed attempt's end plus its backoff)."""
    finished = parse_time(status.get("timeFinished"))
    if finished is None:
        return None
    return finished + timedelta(seconds=backoff_delay(policy, attempt_of(status)))


def needs_deadline_cancel(policy: RunPolicy, status: Mapping[str, Any], *, now: datetime) -> bool:
    """The deadline passed while the current attempt's OCI run is still active."""
    state = str(status.get("lifecycleState") or "")
    return (
        bool(status.get("ocid"))
        and state in RUN_ACTIVE - RUN_CANCELING
        and deadline_passed(policy, status, now)
    )


def ended_by_deadline(policy: RunPolicy, status: Mapping[str, Any]) -> bool:
    """The run's final attempt ended (failed or canceled) at or after the deadline."""
    end = deadline(policy, status)
    finished = parse_time(status.get("timeFinished"))
    phase = status.get("phase")
    if end is None or finished is None:
        return False
    return phase in (Phase.FAILED, Phase.CANCELED) and finished >= end


def _attempt_failed_message(status: Mapping[str, Any], policy: RunPolicy) -> str:
    code = status.get("exitCode")
    how = f"exit code {code}" if code is not None else str(status.get("lifecycleState"))
    n = attempt_of(status)
    return (
        f"Attempt {n} of {(policy.backoff_limit or 0) + 1} failed ({how}); attempt {n + 1}"
        f" starts {backoff_delay(policy, n):g}s after it finished"
    )


def apply_to_observation(
    policy: RunPolicy,
    patch: RunStatusWire,
    previous: Mapping[str, Any],
    *,
    canceling: bool,
    generation: int | None,
    now: datetime,
) -> RunStatusWire:
    """The status patch of one observation, adjusted for the policy.

    A failed attempt that will be retried is not a failed run: its phase shows Pending
    and ``Failed`` stays False (reason ``Retrying``), so ``kubectl wait
    --for=condition=Failed`` waits for the last attempt. A run ended by its deadline gets
    reason ``DeadlineExceeded`` on ``Failed``.
    """
    merged = {**previous, **patch}
    out = RunStatusWire(**patch)
    conds = out.get("conditions") or previous.get("conditions")
    if will_retry(policy, merged, canceling=canceling, now=now):
        message = _attempt_failed_message(merged, policy)
        out["phase"] = str(Phase.PENDING)
        out["conditions"] = set_conditions(
            conds,
            RETRYING,
            reason=RETRY_REASON,
            message=message,
            generation=generation,
            now=now,
        )
    elif ended_by_deadline(policy, merged) and not canceling:
        failed = get_condition(conds, "Failed") or {}
        if failed.get("status") == "True":
            out["conditions"] = set_condition(
                conds,
                type="Failed",
                status=True,
                reason=DEADLINE_REASON,
                message=deadline_message(policy),
                generation=generation,
                now=now,
            )
    return out


def deadline_message(policy: RunPolicy) -> str:
    return (
        f"runPolicy.activeDeadlineSeconds ({policy.active_deadline_seconds}s) exceeded;"
        " the run was canceled"
    )


def archive(status: Mapping[str, Any], *, now: datetime, generation: int | None) -> RunStatusWire:
    """The one status patch that ends the current attempt and opens the next: the
    attempt goes into ``attempts``, the counter moves on, the OCI run fields clear."""
    details = str(status.get("lifecycleDetails") or "")[:1024] or None
    record = {
        "attempt": attempt_of(status),
        "ocid": status.get("ocid"),
        "lifecycleState": status.get("lifecycleState"),
        "exitCode": status.get("exitCode"),
        "timeAccepted": status.get("timeAccepted"),
        "timeStarted": status.get("timeStarted"),
        "timeFinished": status.get("timeFinished"),
        "message": details,
    }
    patch = cast(RunStatusWire, dict.fromkeys(ATTEMPT_FIELDS))
    patch["attempts"] = [
        *(status.get("attempts") or []),
        cast(AttemptWire, {k: v for k, v in record.items() if v is not None}),
    ]
    patch["attempt"] = attempt_of(status) + 1
    patch["phase"] = str(Phase.PENDING)
    patch["progress"] = None
    patch["progressPercent"] = None
    patch["conditions"] = set_condition(
        status.get("conditions"),
        type="Ready",
        status=False,
        reason=RETRY_REASON,
        message=f"Creating attempt {attempt_of(status) + 1}",
        generation=generation,
        now=now,
    )
    return patch


def deadline_final(
    policy: RunPolicy, status: Mapping[str, Any], *, now: datetime, generation: int | None
) -> RunStatusWire:
    """The patch for a run whose deadline passed while it had no active OCI run."""
    conds = set_conditions(
        status.get("conditions"),
        ENDED_BEFORE_START,
        reason=DEADLINE_REASON,
        message=f"runPolicy.activeDeadlineSeconds ({policy.active_deadline_seconds}s) exceeded",
        generation=generation,
        now=now,
    )
    return {"phase": str(Phase.FAILED), "conditions": conds}


def finished_at(status: Mapping[str, Any]) -> datetime | None:
    """When the run finished for good: the last attempt's end, else when the final
    condition was set (a run canceled before it had an OCI run)."""
    if status.get("phase") not in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELED):
        return None
    finished = parse_time(status.get("timeFinished"))
    if finished is not None:
        return finished
    for kind in ("Failed", "Succeeded"):
        cond = get_condition(status.get("conditions"), kind)
        if cond is not None and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None


def expires_at(policy: RunPolicy, status: Mapping[str, Any]) -> datetime | None:
    """When the resource is to be deleted (``ttlSecondsAfterFinished``), if ever."""
    if policy.ttl_seconds_after_finished is None:
        return None
    done = finished_at(status)
    if done is None:
        return None
    return done + timedelta(seconds=policy.ttl_seconds_after_finished)
