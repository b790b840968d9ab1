"""The run's status as a pure function of what OCI reports, plus transitions.

Status is rebuilt from OCI on every poll (the operator's own earlier status is only used
for what OCI cannot say: the previous phase of a DELETED run, and what changed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ads_operator.models import Phase, RunPolicy
from ads_operator.models.conditions import ConditionWire
from ads_operator.models.oci_records import OciJobRun
from ads_operator.models.run_wire import RunStatusWire
from ads_operator.reconcile import policy
from ads_operator.reconcile.conditions import (
    Mark,
    copied,
    get_condition,
    set_condition,
    set_conditions,
)
from ads_operator.reconcile.lifecycle import (
    RUN_ACTIVE,
    RUN_FAILED,
    exit_code,
    is_terminal_phase,
    run_phase,
)
from ads_operator.reconcile.policy import ENDED_BEFORE_START
from ads_operator.reconcile.times import duration
from ads_operator.reconcile.times import iso as iso  # re-exported: older imports
from ads_operator.reconcile.times import parse_time as parse_time

#: Status fields that make a pass save before it reads logs.
STATE_KEYS: Final = frozenset({"phase", "lifecycleState", "lifecycleDetails"})


def console_url(kind: str, ocid: str, region: str) -> str:
    """The OCI console page of a job or job run (``kind``: jobs, job-runs)."""
    suffix = f"?region={region}" if region else ""
    return f"https://cloud.oracle.com/data-science/{kind}/{ocid}{suffix}"


def run_state_fields(
    run: OciJobRun, *, previous_phase: Phase | None, console: str, now: datetime
) -> RunStatusWire:
    phase = run_phase(run.lifecycle_state, previous_phase)
    code = exit_code(run.lifecycle_state, run.lifecycle_details)
    return {
        "ocid": run.id,
        "jobOcid": run.job_id,
        "displayName": run.display_name or None,
        "lifecycleState": run.lifecycle_state,
        "lifecycleDetails": run.lifecycle_details or None,
        "phase": str(phase),
        "exitCode": code,
        "timeAccepted": iso(run.time_accepted),
        "timeStarted": iso(run.time_started),
        "timeFinished": iso(run.time_finished),
        "duration": duration(run.time_started, run.time_finished or now),
        "logGroupId": run.log_group_id,
        "logId": run.log_id,
        "consoleUrl": console,
    }


@dataclass(frozen=True)
class Transition:
    reason: str
    message: str
    warning: bool


def transition(previous: Mapping[str, Any], run: OciJobRun) -> Transition | None:
    """The Event for a change of OCI state or details (ADS prints exactly these changes)."""
    before = (previous.get("lifecycleState"), previous.get("lifecycleDetails") or "")
    after = (run.lifecycle_state, run.lifecycle_details or "")
    if before == after:
        return None
    message = run.lifecycle_details or f"Job run {run.lifecycle_state}"
    warning = run.lifecycle_state in RUN_FAILED | {"NEEDS_ATTENTION"}
    return Transition(run.lifecycle_state, message, warning)


#: What each phase says about the run's outcome: the statuses of Succeeded, Failed and
#: Finished. A canceled run is ``Failed=True`` (reason ``Canceled``), so that waiting for
#: either Succeeded or Failed always ends; Finished is True however the run ended.
OUTCOMES: Final[Mapping[Phase, tuple[bool, bool, bool]]] = {
    Phase.PENDING: (False, False, False),
    Phase.RUNNING: (False, False, False),
    Phase.SUCCEEDED: (True, False, True),
    Phase.FAILED: (False, True, True),
    Phase.CANCELED: (False, True, True),
}
#: The condition that is True once the run is over, whichever way (one ``kubectl wait``).
FINISHED = "Finished"
#: ... and of one whose job can never run, or that OCI refused to create: nothing retries.
REFUSED_BEFORE_START: Final[tuple[Mark, ...]] = (*ENDED_BEFORE_START, ("Terminal", True))


def _phase(value: str | None) -> Phase:
    return Phase(value) if value else Phase.PENDING


def _failed_words(phase: Phase, code: int | None, details: str) -> tuple[str, str]:
    """Failed's reason and message: the phase, but a failure names its exit code."""
    if phase == Phase.FAILED and code is not None:
        return f"ExitCode{code}", f"exit code {code}: {details}"
    if phase == Phase.CANCELED:
        return str(phase), details or "The run was canceled"
    return str(phase), details


def run_conditions(
    existing: Iterable[Mapping[str, Any]] | None,
    fields: Mapping[str, Any],
    *,
    generation: int | None,
    now: datetime,
) -> list[ConditionWire]:
    """Ready (the OCI run exists), Synced, Succeeded and Failed from the state fields,
    the outcome ones by :data:`OUTCOMES`."""
    phase = _phase(fields.get("phase"))
    state = str(fields.get("lifecycleState") or "")
    details = str(fields.get("lifecycleDetails") or "")
    succeeded, failed, _ = OUTCOMES[phase]
    failed_reason, failed_message = _failed_words(phase, fields.get("exitCode"), details)
    rows: tuple[tuple[str, bool, str, str], ...] = (
        ("Ready", True, state or "Created", details or f"OCI job run {fields.get('ocid')}"),
        ("Synced", True, "Observed", "Status mirrors the OCI job run"),
        ("Succeeded", succeeded, str(phase), details),
        ("Failed", failed, failed_reason, failed_message),
    )
    conds = copied(existing)
    for kind, status, reason, message in rows:
        conds = set_condition(
            conds,
            type=kind,
            status=status,
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
    return conds


def with_finished(
    conditions: Iterable[Mapping[str, Any]] | None,
    phase: str | None,
    *,
    generation: int | None,
    now: datetime,
) -> list[ConditionWire]:
    """``conditions`` with ``Finished`` set from ``phase`` (:data:`OUTCOMES`), reason the
    phase, message the outcome's.

    ``Succeeded`` and ``Failed`` answer how a run ended; CI that only needs to know
    *that* it ended waits for this one condition instead of racing two waits."""
    done = OUTCOMES[_phase(phase)][2]
    outcome = get_condition(conditions, "Succeeded" if phase == Phase.SUCCEEDED else "Failed")
    message = str((outcome or {}).get("message") or "") if done else ""
    return set_condition(
        conditions,
        type=FINISHED,
        status=done,
        reason=str(phase or Phase.PENDING),
        message=message or (f"The run is {phase}" if phase else "The run has not started"),
        generation=generation,
        now=now,
    )


def failed_before_start(
    conditions: Iterable[Mapping[str, Any]] | None,
    *,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> RunStatusWire:
    """The status patch of a run that ends before any OCI run exists: its job cannot run
    (Terminal, or not Ready within ``JOB_WAIT_TIMEOUT``) or OCI refused the create.

    ``Failed=True`` with the reason, ``Terminal=True`` (nothing is retried), and phase
    Failed, so that waiting for ``Failed`` or ``Finished`` ends."""
    conds = set_conditions(
        conditions,
        REFUSED_BEFORE_START,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    conds = with_finished(conds, str(Phase.FAILED), generation=generation, now=now)
    return {"phase": str(Phase.FAILED), "conditions": conds, "observedGeneration": generation}


def canceled_before_start(
    conditions: Iterable[Mapping[str, Any]] | None, *, generation: int | None, now: datetime
) -> RunStatusWire:
    """The status patch of a run canceled before its OCI run was created."""
    conds = set_conditions(
        conditions,
        ENDED_BEFORE_START,
        reason="Canceled",
        message="Canceled before it was created",
        generation=generation,
        now=now,
    )
    return {"phase": str(Phase.CANCELED), "conditions": conds, "observedGeneration": generation}


def waiting(
    conditions: Iterable[Mapping[str, Any]] | None,
    *,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> RunStatusWire:
    """The status patch of a run waiting to be created (for its job, or a slot)."""
    conds = set_conditions(
        conditions,
        [("Ready", False)],
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    return {"phase": str(Phase.PENDING), "conditions": conds, "observedGeneration": generation}


def state_patch(
    status: Mapping[str, Any],
    run: OciJobRun,
    *,
    rules: RunPolicy | None,
    canceling: bool,
    generation: int | None,
    region: str,
    now: datetime,
) -> tuple[RunStatusWire, bool]:
    """The status patch of one read of the OCI run (under the run's policy), and whether
    the run is over in OCI."""
    previous = status.get("phase")
    fields = run_state_fields(
        run,
        previous_phase=Phase(previous) if previous else None,
        console=console_url("job-runs", run.id, region),
        now=now,
    )
    patch: RunStatusWire = {
        **fields,
        "conditions": run_conditions(
            status.get("conditions"), fields, generation=generation, now=now
        ),
        "observedGeneration": generation,
    }
    if rules is not None:
        patch = policy.apply_to_observation(
            rules,
            patch,
            status,
            canceling=canceling,
            generation=generation,
            now=now,
        )
    terminal = is_terminal_phase(fields["phase"]) and run.lifecycle_state not in RUN_ACTIVE
    return patch, terminal
