"""The run plan: the next step of one pass of a DataScienceJobRun, from desired and
observed state.

A pass is a short series of steps (look up the job, create the OCI run, read it, save
its state, cancel it, read its log, retry, end the pass). The executor in
:mod:`ads_operator.usecases.run_executor` asks :func:`plan_run` for a step, performs it,
records what it learnt in :class:`ObservedRun`, and asks again, until a step ends the
pass (``WAIT`` or ``FINISH``, or ``RETRY``). Every step carries the status patch it
implies and the Event it announces; the plan is pure, so each decision is a unit test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

from ads_operator.models.conditions import ConditionWire
from ads_operator.models.oci_records import OciJobRun
from ads_operator.reconcile import policy
from ads_operator.reconcile.conditions import set_condition
from ads_operator.reconcile.lifecycle import RUN_ACTIVE, RUN_CANCELING, is_terminal_phase
from ads_operator.reconcile.run import (
    STATE_KEYS,
    canceled_before_start,
    failed_before_start,
    state_patch,
    transition,
    waiting,
    with_finished,
)
from ads_operator.reconcile.run_step import (
    Announce,
    DesiredRun,
    ObservedRun,
    Patch,
    RunStep,
    RunStepKind,
    Waiting,
)

LOGGING_NOT_CONFIGURED: Final = (
    "Logging is not configured for this job run, so only its status is mirrored. Set"
    " infrastructure.spec.logGroupId (and optionally logId) on the job to see its output."
)
#: The reason a run fails with when its wait ends, by the reason it waited with.
_GAVE_UP: Final = {"WaitingForJob": "JobNotReady"}


def plan_run(desired: DesiredRun, observed: ObservedRun) -> RunStep:
    """The next step of the pass (see the module docstring). ``Finished`` follows the
    phase in every patch that sets one, whichever rule set it."""
    step = _plan(desired, observed)
    return replace(
        step,
        patch=_finished(step.patch, desired, observed),
        archive=_finished(step.archive, desired, observed),
    )


def _finished(patch: Patch | None, desired: DesiredRun, observed: ObservedRun) -> Patch | None:
    if patch is None or "phase" not in patch:
        return patch
    conds = patch.get("conditions", observed.status.get("conditions"))
    finished = with_finished(conds, patch["phase"], generation=desired.generation, now=observed.now)
    return {**patch, "conditions": finished}


def _plan(desired: DesiredRun, observed: ObservedRun) -> RunStep:
    status, now, rules = observed.status, observed.now, desired.rules
    done = observed.done
    if (  # at the start of a pass, by the state as last saved
        rules is not None and not done and policy.needs_deadline_cancel(rules, status, now=now)
    ):
        event = Announce(policy.DEADLINE_REASON, policy.deadline_message(rules), True)
        return RunStep(RunStepKind.CANCEL, event=event, deadline=True)
    if status.get("ocid"):
        return _plan_existing(desired, observed)
    if is_terminal_phase(status.get("phase")):
        return _over(desired, observed, None)  # e.g. canceled before creation: never create
    if rules is not None and policy.deadline_passed(rules, status, now):
        message = (
            f"runPolicy.activeDeadlineSeconds ({rules.active_deadline_seconds}s) exceeded"
            f" before attempt {policy.attempt_of(status)} started; no more attempts"
        )
        patch = policy.deadline_final(rules, status, now=now, generation=desired.generation)
        return RunStep(RunStepKind.FINISH, patch, Announce(policy.DEADLINE_REASON, message, True))
    if desired.cancel:
        patch = canceled_before_start(
            status.get("conditions"), generation=desired.generation, now=now
        )
        return _over(desired, observed, patch)
    return _plan_creation(desired, observed)


def _plan_creation(desired: DesiredRun, observed: ObservedRun) -> RunStep:
    """No OCI run yet: create it once the job is ready and a slot is free."""
    status, job = observed.status, observed.job
    if job is None:
        return RunStep(RunStepKind.LOOK_UP_JOB)
    if isinstance(job, Waiting):
        return _wait_for_job(desired, observed, job)
    if desired.capped and observed.admission is None:
        return RunStep(RunStepKind.ADMIT)
    if isinstance(observed.admission, Waiting):  # slots free up as runs end: no time limit
        full = observed.admission
        return _wait(desired, observed, full.reason, full.message)
    attempt = policy.attempt_of(status)
    if status.get("createRequested") == attempt:
        return RunStep(RunStepKind.CREATE, adopt=True)
    # The marker is saved before CreateJobRun is sent: a pass that finds it looks the
    # run up before creating one.
    return RunStep(RunStepKind.CREATE, {"createRequested": attempt})


def _wait_for_job(desired: DesiredRun, observed: ObservedRun, wait: Waiting) -> RunStep:
    """The job is missing or not Ready: wait, at most ``JOB_WAIT_TIMEOUT``; a job that can
    never run (``terminal``) fails the run at once, with the job's reason.

    A missing job may yet be applied (a manifest with the run before the job) and a job
    being created becomes Ready within seconds, so both are waited for; but a run must
    end, or ``kubectl wait`` for it never returns."""
    now = observed.now
    since = observed.waiting_since or now
    limit = desired.job_wait_timeout
    if wait.terminal or (now - since).total_seconds() >= limit:
        reason, message = wait.reason, wait.message
        if not wait.terminal:
            reason = _GAVE_UP.get(reason, reason)
            message += f"; gave up after waiting {limit:g}s (JOB_WAIT_TIMEOUT)"
        patch = failed_before_start(
            observed.status.get("conditions"),
            reason=reason,
            message=message,
            generation=desired.generation,
            now=now,
        )
        return _over(desired, observed, patch, Announce(reason, message, True))
    deadline = (since + timedelta(seconds=limit)).strftime("%Y-%m-%dT%H:%M:%SZ")
    message = f"{wait.message}; the run fails if not Ready by {deadline}"
    return _wait(desired, observed, wait.reason, message)


def _wait(desired: DesiredRun, observed: ObservedRun, reason: str, message: str) -> RunStep:
    patch = waiting(
        observed.status.get("conditions"),
        reason=reason,
        message=message,
        generation=desired.generation,
        now=observed.now,
    )
    return RunStep(RunStepKind.WAIT, patch, delay=desired.poll_interval)


def _plan_existing(desired: DesiredRun, observed: ObservedRun) -> RunStep:
    """The OCI run exists: read it, save a new state, cancel, read its log, end the pass."""
    status, run, done = observed.status, observed.run, observed.done
    if observed.gone:
        conds = set_condition(
            status.get("conditions"),
            type="Synced",
            status=False,
            reason="NotFound",
            message=f"OCI job run {status.get('ocid')} no longer exists",
            generation=desired.generation,
            now=observed.now,
        )
        return _over(desired, observed, {"conditions": conds})
    if run is None:
        return RunStep(RunStepKind.READ)
    patch, terminal = state_patch(
        status,
        run,
        rules=desired.rules,
        canceling=desired.cancel,
        generation=desired.generation,
        region=desired.region,
        now=observed.now,
    )
    following = bool(run.log_id and run.log_group_id)
    reads_logs = following and (run.time_started is not None or terminal)
    state_changed = any(patch.get(k) != status.get(k) for k in STATE_KEYS)
    if state_changed and RunStepKind.SAVE_STATE not in done:
        # A new state is saved before anything about logs: `kubectl wait` waits for
        # this, not for a search that at scale queues behind other calls. When this pass
        # reads no log, the Logging condition is known already and rides along.
        if not reads_logs:
            patch["conditions"] = logging_condition(
                patch["conditions"],
                run,
                not following,
                generation=desired.generation,
                now=observed.now,
                limited=_limited(status, desired),
            )
        change = transition(status, run)
        event = Announce(change.reason, change.message, change.warning) if change else None
        return RunStep(RunStepKind.SAVE_STATE, patch, event)
    if (
        desired.cancel
        and run.lifecycle_state in RUN_ACTIVE - RUN_CANCELING
        and RunStepKind.CANCEL not in done
    ):
        event = Announce("CancelRequested", "spec.cancel is true: canceling the OCI job run")
        return RunStep(RunStepKind.CANCEL, event=event)
    duration = patch.get("duration")
    if following and not state_changed:
        # The duration changes every pass; it rides with the log step's write instead of
        # costing a patch of its own.
        patch.pop("duration", None)
    complete = observed.logs_complete
    if complete is None:
        if reads_logs:
            return RunStep(RunStepKind.READ_LOGS, terminal=terminal, duration=duration)
        complete = not following
    patch["conditions"] = logging_condition(
        patch["conditions"],
        run,
        complete,
        generation=desired.generation,
        now=observed.now,
        limited=_limited(status, desired),
    )
    if not (terminal and complete):
        return RunStep(RunStepKind.WAIT, patch, delay=desired.poll_interval)
    if status.get("logPending"):
        patch["logPending"] = None  # posted: nothing left to resume
    return _over(desired, observed, patch)


def _over(
    desired: DesiredRun,
    observed: ObservedRun,
    patch: Patch | None,
    event: Announce | None = None,
) -> RunStep:
    """The attempt is over: the run finishes, unless its policy retries the attempt
    (after its backoff: the pass waits until then)."""
    rules, now = desired.rules, observed.now
    merged = {**observed.status, **(patch or {})}
    if rules is None or not policy.will_retry(rules, merged, canceling=desired.cancel, now=now):
        return RunStep(RunStepKind.FINISH, patch, event)
    start = policy.retry_at(rules, merged)
    if start is not None and start > now:
        return RunStep(RunStepKind.WAIT, patch, event, delay=(start - now).total_seconds())
    failed = policy.attempt_of(merged)
    message = (
        f"Attempt {failed} failed; starting attempt {failed + 1} of"
        f" {(rules.backoff_limit or 0) + 1} as a new OCI job run"
    )
    return RunStep(
        RunStepKind.RETRY,
        patch,
        Announce(policy.RETRY_REASON, message, True),
        delay=0.0,
        archive=policy.archive(merged, now=now, generation=desired.generation),
    )


def _limited(status: Mapping[str, Any], desired: DesiredRun) -> str | None:
    """The Logging message's note once rate limits left lines out (the same words
    whatever the count, so a growing count does not rewrite the condition)."""
    if not status.get("logLinesNotMirrored"):
        return None
    name = desired.name or "<run>"
    return (
        "some are not, by the Event rate limits (status.logLinesNotMirrored counts them):"
        f" read the complete log with kubectl ads logs {name} (or ads-operator logs {name})"
    )


def logging_condition(
    conditions: Iterable[Mapping[str, Any]] | None,
    run: OciJobRun,
    complete: bool,
    *,
    generation: int | None,
    now: datetime,
    limited: str | None = None,
) -> list[ConditionWire]:
    """Conditions with ``Logging``: whether the run's log is mirrored, and how far, and
    (``limited``) where to read the lines the Event rate limits left out."""
    if run.log_id and run.log_group_id:
        ok, reason = True, ("Complete" if complete else "Mirroring")
        message = f"Log lines are mirrored as Events from log {run.log_id}"
        if limited:
            message += f"; {limited}"
    else:
        ok, reason, message = False, "LoggingNotConfigured", LOGGING_NOT_CONFIGURED
    return set_condition(
        conditions,
        type="Logging",
        status=ok,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
