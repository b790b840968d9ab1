"""OCI lifecycle states as data, and what they mean for the operator.

Sets rather than branches: a new OCI state is one line here, and every decision that
depends on a state reads these constants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ads_operator.models import Phase
from ads_operator.reconcile.conditions import is_true

JOB_CREATING: Final = frozenset({"CREATING"})
JOB_READY: Final = frozenset({"ACTIVE"})
JOB_DELETING: Final = frozenset({"DELETING"})
JOB_GONE: Final = frozenset({"DELETED"})
JOB_BROKEN: Final = frozenset({"FAILED"})

RUN_PENDING: Final = frozenset({"ACCEPTED"})
RUN_RUNNING: Final = frozenset({"IN_PROGRESS", "NEEDS_ATTENTION"})
RUN_CANCELING: Final = frozenset({"CANCELING"})
RUN_SUCCEEDED: Final = frozenset({"SUCCEEDED"})
RUN_FAILED: Final = frozenset({"FAILED"})
RUN_CANCELED: Final = frozenset({"CANCELED"})
RUN_DELETED: Final = frozenset({"DELETED"})
#: ADS's terminal set; NEEDS_ATTENTION is not in it (ADS keeps watching, and may cancel).
RUN_TERMINAL: Final = RUN_SUCCEEDED | RUN_FAILED | RUN_CANCELED | RUN_DELETED
#: States in which a run still uses the job: it must be canceled before deletion.
RUN_ACTIVE: Final = RUN_PENDING | RUN_RUNNING | RUN_CANCELING

#: Job fields OCI's UpdateJob accepts; a change anywhere else needs a new OCI job.
JOB_UPDATABLE_FIELDS: Final = (
    "displayName",
    "description",
    "jobInfrastructureConfigurationDetails",
    "jobStorageMountConfigurationDetailsList",
    "freeformTags",
    "definedTags",
)

_PHASES: Final[dict[frozenset[str], Phase]] = {
    RUN_PENDING: Phase.PENDING,
    RUN_RUNNING: Phase.RUNNING,
    RUN_CANCELING: Phase.RUNNING,
    RUN_SUCCEEDED: Phase.SUCCEEDED,
    RUN_FAILED: Phase.FAILED,
    RUN_CANCELED: Phase.CANCELED,
}

_EXIT_CODE: Final = re.compile(r"exit code (\d+)", re.IGNORECASE)


def run_phase(state: str, previous: Phase | None = None) -> Phase:
    """The normalised phase of an OCI run state.

    DELETED says nothing about how the run ended, so it keeps the phase seen before
    (Canceled if none): a run deleted after succeeding stays Succeeded. Unknown states are
    Pending until seen otherwise, never terminal.
    """
    for states, phase in _PHASES.items():
        if state in states:
            return phase
    if state in RUN_DELETED:
        if previous in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELED):
            return previous
        return Phase.CANCELED
    return previous or Phase.PENDING


def is_terminal_phase(phase: Phase | str | None) -> bool:
    return phase in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELED)


def exit_code(state: str, details: str | None) -> int | None:
    """0 for SUCCEEDED; otherwise the N of "... exit code N" in lifecycleDetails (ADS's rule)."""
    if state in RUN_SUCCEEDED:
        return 0
    match = _EXIT_CODE.search(details or "")
    return int(match.group(1)) if match else None


def run_finished(status: Mapping[str, Any]) -> bool:
    """Terminal and nothing more to read: no need to start watching again."""
    conds = status.get("conditions") or []
    logging_done = any(
        c.get("type") == "Logging" and c.get("reason") in ("Complete", "LoggingNotConfigured")
        for c in conds
    )
    terminal = status.get("phase") in ("Succeeded", "Failed", "Canceled")
    # Events still pending (a crash right after the write-ahead patch): watch once more.
    logging_done = logging_done and not status.get("logPending")
    return (terminal and (logging_done or not status.get("ocid"))) or is_true(conds, "Terminal")
