"""The lifecycle state machines of jobs, job runs and work requests, written as data.

The backend and the run driver consult these tables instead of branching on states, so the
allowed transitions and the texts the service reports are visible in one place
(ads-jobs.md §5, oci-api.md §1.6).
"""

from __future__ import annotations

from typing import Final

from oci_emulator.errors import IncorrectState

# -- jobs ---------------------------------------------------------------------------------

JOB_CREATING: Final = "CREATING"
JOB_ACTIVE: Final = "ACTIVE"
JOB_DELETING: Final = "DELETING"
JOB_DELETED: Final = "DELETED"
JOB_FAILED: Final = "FAILED"

JOB_STATES: Final = frozenset({JOB_CREATING, JOB_ACTIVE, JOB_DELETING, JOB_DELETED, JOB_FAILED})

JOB_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    JOB_CREATING: frozenset({JOB_ACTIVE, JOB_DELETING, JOB_FAILED}),
    JOB_ACTIVE: frozenset({JOB_DELETING}),
    JOB_FAILED: frozenset({JOB_DELETING}),
    JOB_DELETING: frozenset({JOB_DELETED, JOB_ACTIVE}),
    JOB_DELETED: frozenset(),
}

# -- job runs -----------------------------------------------------------------------------

RUN_ACCEPTED: Final = "ACCEPTED"
RUN_IN_PROGRESS: Final = "IN_PROGRESS"
RUN_NEEDS_ATTENTION: Final = "NEEDS_ATTENTION"
RUN_SUCCEEDED: Final = "SUCCEEDED"
RUN_FAILED: Final = "FAILED"
RUN_CANCELING: Final = "CANCELING"
RUN_CANCELED: Final = "CANCELED"
RUN_DELETED: Final = "DELETED"

RUN_STATES: Final = frozenset(
    {
        RUN_ACCEPTED,
        RUN_IN_PROGRESS,
        RUN_NEEDS_ATTENTION,
        RUN_SUCCEEDED,
        RUN_FAILED,
        RUN_CANCELING,
        RUN_CANCELED,
        RUN_DELETED,
    }
)
#: Runs that still hold (emulated) infrastructure; a job with such runs cannot be deleted.
RUN_ACTIVE: Final = frozenset({RUN_ACCEPTED, RUN_IN_PROGRESS, RUN_NEEDS_ATTENTION, RUN_CANCELING})
#: Runs that CancelJobRun accepts (ADS also cancels NEEDS_ATTENTION runs).
RUN_CANCELABLE: Final = frozenset({RUN_ACCEPTED, RUN_IN_PROGRESS, RUN_NEEDS_ATTENTION})
#: Runs that DeleteJobRun accepts.
RUN_FINISHED: Final = frozenset({RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELED})

RUN_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    RUN_ACCEPTED: frozenset({RUN_IN_PROGRESS, RUN_NEEDS_ATTENTION, RUN_FAILED, RUN_CANCELING}),
    RUN_IN_PROGRESS: frozenset({RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELING, RUN_NEEDS_ATTENTION}),
    RUN_NEEDS_ATTENTION: frozenset({RUN_CANCELING, RUN_FAILED}),
    RUN_CANCELING: frozenset({RUN_CANCELED}),
    RUN_SUCCEEDED: frozenset({RUN_DELETED}),
    RUN_FAILED: frozenset({RUN_DELETED}),
    RUN_CANCELED: frozenset({RUN_DELETED}),
    RUN_DELETED: frozenset(),
}

#: ``lifecycleDetails`` while ACCEPTED, in order, as the service reports them.
ACCEPTED_DETAILS: Final = (
    "Infrastructure provisioning.",
    "Infrastructure provisioned.",
    "Job run bootstrap starting.",
    "Job run bootstrap complete. Artifact execution starting.",
)
IN_PROGRESS_DETAILS: Final = "Job run artifact execution in progress."
SUCCEEDED_DETAILS: Final = "Job run artifact execution succeeded. Infrastructure de-provisioning."
CANCELING_DETAILS: Final = "Job run cancellation in progress."
CANCELED_DETAILS: Final = "Job run canceled. Infrastructure de-provisioning."
NEEDS_ATTENTION_DETAILS: Final = (
    "Job run infrastructure needs attention: the host became unhealthy (injected fault)."
)
RESTART_LOST_DETAILS: Final = (
    "Job run failed: the emulator restarted while the run was active and its process was lost."
)


def failed_details(exit_code: int) -> str:
    """The text ADS parses with ``exit code (\\d+)``."""
    return f"Job run artifact execution failed with exit code {exit_code}."


def timed_out_details(minutes: int) -> str:
    return (
        f"Job run exceeded the maximum runtime of {minutes} minutes and was terminated "
        "(exit code 124)."
    )


def bootstrap_failed_details(reason: str) -> str:
    return f"Job run bootstrap failed: {reason}"


def check_transition(
    table: dict[str, frozenset[str]], what: str, current: str, target: str
) -> None:
    """Raise 409 IncorrectState unless ``current -> target`` is allowed."""
    if target not in table.get(current, frozenset()):
        raise IncorrectState(f"{what} is in state {current} and cannot move to {target}.")


# -- work requests ------------------------------------------------------------------------

WR_ACCEPTED: Final = "ACCEPTED"
WR_IN_PROGRESS: Final = "IN_PROGRESS"
WR_SUCCEEDED: Final = "SUCCEEDED"
WR_FAILED: Final = "FAILED"
