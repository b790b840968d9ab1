"""The run's status as a pure function of what OCI reports, plus transitions.

Status is rebuilt from OCI on every poll (the operator's own earlier status is only used
for what OCI cannot say: the previous phase of a DELETED run, and what changed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ads_operator.models import Phase
from ads_operator.oci.domain import OciJobRun
from ads_operator.reconcile.conditions import get_condition, set_condition
from ads_operator.reconcile.lifecycle import (
    RUN_FAILED,
    RUN_TERMINAL,
    exit_code,
    is_terminal_phase,
    run_phase,
)


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def duration(start: datetime | None, end: datetime | None) -> str | None:
    """Like kubectl's ages: ``45s``, ``3m12s``, ``2h5m``."""
    if start is None or end is None:
        return None
    seconds = max(0, int((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def run_state_fields(
    run: OciJobRun, *, previous_phase: Phase | None, console: str, now: datetime
) -> dict[str, Any]:
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


def run_conditions(
    existing: Iterable[Mapping[str, Any]] | None,
    fields: Mapping[str, Any],
    *,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Ready (the OCI run exists), Synced, Succeeded and Failed from the state fields.

    A canceled run is ``Failed=True`` with reason ``Canceled``, so that waiting for either
    Succeeded or Failed always ends.
    """
    phase = fields.get("phase")
    state = str(fields.get("lifecycleState") or "")
    details = str(fields.get("lifecycleDetails") or "")
    code = fields.get("exitCode")
    conds = set_condition(
        existing,
        type="Ready",
        status=True,
        reason=state or "Created",
        message=details or f"OCI job run {fields.get('ocid')}",
        generation=generation,
        now=now,
    )
    conds = set_condition(
        conds,
        type="Synced",
        status=True,
        reason="Observed",
        message="Status mirrors the OCI job run",
        generation=generation,
        now=now,
    )
    succeeded = phase == Phase.SUCCEEDED
    conds = set_condition(
        conds,
        type="Succeeded",
        status=succeeded if is_terminal_phase(phase) else False,
        reason="Succeeded" if succeeded else (str(phase) if phase else "Pending"),
        message=details,
        generation=generation,
        now=now,
    )
    failed = phase in (Phase.FAILED, Phase.CANCELED)
    if phase == Phase.FAILED:
        reason = f"ExitCode{code}" if code is not None else "Failed"
        message = f"exit code {code}: {details}" if code is not None else details
    elif phase == Phase.CANCELED:
        reason, message = "Canceled", details or "The run was canceled"
    else:
        reason, message = (str(phase) if phase else "Pending"), details
    return set_condition(
        conds,
        type="Failed",
        status=failed,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )


#: The condition that is True once the run is over, whichever way (one ``kubectl wait``).
FINISHED = "Finished"
_FINAL_PHASES = {Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELED}


def with_finished(
    conditions: Iterable[Mapping[str, Any]] | None,
    phase: str | None,
    *,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """``conditions`` with ``Finished`` set from ``phase``: True for Succeeded, Failed and
    Canceled (reason the phase, message the outcome's), else False (reason the phase).

    ``Succeeded`` and ``Failed`` answer how a run ended; CI that only needs to know
    *that* it ended waits for this one condition instead of racing two waits."""
    done = phase in _FINAL_PHASES
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
) -> dict[str, Any]:
    """The status patch of a run that ends before any OCI run exists: its job cannot run
    (Terminal, or not Ready within ``JOB_WAIT_TIMEOUT``) or OCI refused the create.

    ``Failed=True`` with the reason, ``Terminal=True`` (nothing is retried), and phase
    Failed, so that waiting for ``Failed`` or ``Finished`` ends."""
    conds = [dict(c) for c in conditions or ()]
    for kind, value in (("Ready", False), ("Succeeded", False), ("Failed", True)):
        conds = set_condition(
            conds,
            type=kind,
            status=value,
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
    conds = set_condition(
        conds,
        type="Terminal",
        status=True,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    conds = with_finished(conds, str(Phase.FAILED), generation=generation, now=now)
    return {"phase": str(Phase.FAILED), "conditions": conds, "observedGeneration": generation}


def is_settled(status: Mapping[str, Any]) -> bool:
    """Whether the recorded OCI state is one a run never leaves."""
    return str(status.get("lifecycleState") or "") in RUN_TERMINAL
