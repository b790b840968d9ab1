"""The vocabulary of the run plan: the steps of a pass, what the resource asks for, and
what a pass has observed so far (see :mod:`ads_operator.reconcile.run_plan`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from ads_operator.models import DataScienceJobSpec, RunPolicy
from ads_operator.models.oci_records import OciJobRun
from ads_operator.models.run_wire import RunStatusWire

#: A status merge patch, by wire name.
Patch = RunStatusWire


@dataclass(frozen=True)
class JobInfo:
    """The OCI job a run belongs to, as far as the run needs it."""

    ocid: str
    compartment_id: str
    project_id: str
    spec: DataScienceJobSpec | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class Waiting:
    """Why the run cannot be created yet (or, ``terminal``, ever)."""

    reason: str
    message: str
    terminal: bool = False


@dataclass(frozen=True)
class Announce:
    """An Event the step posts."""

    reason: str
    message: str
    warning: bool = False


class RunStepKind(StrEnum):
    LOOK_UP_JOB = "look-up-job"  # observe: is the job there and Ready?
    ADMIT = "admit"  # observe: is there a slot under the namespace's active-run cap?
    CREATE = "create"  # create the OCI run (or adopt the one a crashed pass created)
    READ = "read"  # observe: read the OCI run's state
    SAVE_STATE = "save-state"  # persist the patch (a new state: before anything else)
    CANCEL = "cancel"  # CancelJobRun (spec.cancel, or the deadline passed)
    READ_LOGS = "read-logs"  # the log step: read, save the cursor, create the Events
    RETRY = "retry"  # the attempt failed: archive it, the next pass creates the next
    WAIT = "wait"  # the pass is over: the next one in ``delay`` seconds
    FINISH = "finish"  # the run is over: no more passes


#: Steps after which the pass is over.
ENDS_PASS: Final = frozenset({RunStepKind.WAIT, RunStepKind.FINISH, RunStepKind.RETRY})


@dataclass(frozen=True)
class RunStep:
    kind: RunStepKind
    #: Saved first (only the fields that changed are sent).
    patch: Patch | None = None
    event: Announce | None = None
    #: WAIT: seconds until the next pass; RETRY: 0.
    delay: float | None = None
    #: RETRY: the patch that archives the attempt, saved after ``patch``.
    archive: Patch | None = None
    #: CREATE: look up the run an earlier pass may have created (its marker is set).
    adopt: bool = False
    #: CANCEL: the deadline passed (the run may be gone already: that is fine).
    deadline: bool = False
    #: READ_LOGS: the run is terminal (the pass waits for its log step).
    terminal: bool = False
    #: READ_LOGS: the run's duration, saved with the log step's write.
    duration: str | None = None


@dataclass(frozen=True)
class DesiredRun:
    """What the resource asks for, and the settings its decisions depend on."""

    cancel: bool
    generation: int | None
    rules: RunPolicy | None
    #: The region console links name.
    region: str
    poll_interval: float
    job_wait_timeout: float
    #: A namespace cap on active runs applies (MAX_ACTIVE_RUNS_PER_NAMESPACE).
    capped: bool = False
    #: The run's name, for the commands messages tell the user to type.
    name: str = ""


@dataclass(frozen=True)
class ObservedRun:
    """The status as last saved, and what this pass has learnt and done so far."""

    status: RunStatusWire
    now: datetime
    #: When this daemon first saw the run waiting for its job (memory, not status).
    waiting_since: datetime | None = None
    job: JobInfo | Waiting | None = None
    #: The admission answer: None not asked, a Waiting when the namespace is full.
    admission: Waiting | bool | None = None
    run: OciJobRun | None = None
    #: The OCI run of ``status.ocid`` no longer exists.
    gone: bool = False
    #: Steps done in this pass (a cancel is sent once, a new state saved once).
    done: frozenset[RunStepKind] = field(default_factory=frozenset)
    #: READ_LOGS' answer: the log is complete (None: not read in this pass).
    logs_complete: bool | None = None
