"""A run's context: what a pass of it needs (the resource, its ports) and what its
daemon remembers between passes (the log step in flight, the run as last read).

Everything that touches Kubernetes comes in through :class:`RunKube`, wired by
:mod:`ads_operator.usecases.run_job`, so the run's passes can be tested against
in-memory ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol, cast

from ads_operator.models import DataScienceJobRunSpec, RunPolicy
from ads_operator.models.conditions import ConditionWire
from ads_operator.models.oci_records import LogRecord, OciJobRun
from ads_operator.models.run_wire import RunStatusWire
from ads_operator.oci import cadence
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import policy
from ads_operator.reconcile.late_logs import LateIds
from ads_operator.reconcile.log_batches import PendingEvent
from ads_operator.reconcile.run import STATE_KEYS
from ads_operator.reconcile.run_step import JobInfo, Waiting
from ads_operator.settings import Settings
from ads_operator.usecases.log_gate import LogLane

#: Status fields whose patch goes ahead of queued log cursor patches: a new state, and a
#: new run's OCID (its passes wait for it). Not the marker saved before a create: a
#: thousand runs applied together save it at once, and new states would queue behind.
URGENT_KEYS = STATE_KEYS | {"ocid"}


class RunKube(Protocol):
    """What a run's passes ask of Kubernetes: wired to the apiserver by
    :func:`~ads_operator.usecases.run_job.build_context`, recorded by unit tests."""

    async def persist(
        self, patch: RunStatusWire, conditions_from: list[ConditionWire] | None = None
    ) -> list[ConditionWire] | None:
        """Merge-patch the run's ``.status`` (a new state goes ahead of log cursors).

        ``conditions_from``: the conditions the patch's were computed from; returns them
        as written, with what another writer added kept beside ours (see
        :meth:`ads_operator.kube.port.KubePort.patch_status`); None: as in the patch."""
        ...

    async def post(self, reason: str, message: str, warning: bool) -> None:
        """Post an Event about the run (best effort, within the repeat budget)."""
        ...

    def plan_lines(self, records: Sequence[LogRecord]) -> tuple[Sequence[PendingEvent], int]:
        """Log records -> the Events for them (fixed names, rate limits applied), and how
        many of the records' lines get no Event (the rate limits refused them)."""
        ...

    async def post_events(self, pending: Sequence[PendingEvent]) -> Sequence[PendingEvent]:
        """Create these Events; one that already exists counts as posted. Returns those
        the apiserver refused (kept pending and created again: no line is lost)."""
        ...

    async def step_record(self, name: str) -> str | None:
        """The record the step Event ``name`` carries (see
        :mod:`~ads_operator.reconcile.log_batches`); None when it does not exist."""
        ...

    async def resolve_job(self) -> JobInfo | Waiting:
        """The job to run, or why the run must wait for it (or, terminal, fail)."""
        ...

    async def admit(self) -> Waiting | None:
        """A slot under the namespace's active-run cap: None, else why the run waits."""
        ...


@dataclass
class RunMemory:
    """What the run's daemon remembers between passes; never in ``.status``."""

    #: The compartment of the run's log (where searches go), learnt once.
    log_compartment: str | None = None
    #: The run's compartment, learnt from the first full read (later reads batch).
    compartment_id: str | None = None
    #: Whether the Events left pending in status by an earlier incarnation were re-posted.
    pending_resumed: bool = False
    #: Log Events the apiserver refused in the last pass: created before reading on.
    unposted: list[PendingEvent] = field(default_factory=list)
    #: The log fields of ``.status`` after the last log step, not yet written (the step
    #: Events carry them meanwhile, see :mod:`~ads_operator.reconcile.log_batches`).
    log_unsaved: RunStatusWire | None = None
    #: When the log fields were last written.
    log_saved_at: datetime | None = None
    #: The log step in flight (read, save the cursor, create the Events), if any.
    log_step: asyncio.Task[None] | None = None
    #: The time of the last log step that read the log (its window ends ``settle`` before).
    logs_read_at: datetime | None = None
    #: The records mirrored lately, for the sweeps that look for late ones (see
    #: :mod:`~ads_operator.reconcile.late_logs`), and the time of the last sweep.
    late: LateIds | None = None
    late_swept_at: datetime | None = None
    #: The Logging service refused a count query: sweeps read their stretch instead.
    counts_refused: bool = False
    #: The run as last read from OCI.
    last_run: OciJobRun | None = None
    #: When this daemon first saw the run waiting for its job (a restarted operator
    #: counts ``JOB_WAIT_TIMEOUT`` afresh).
    waiting_since: datetime | None = None


@dataclass
class RunContext:
    """One run as its passes see it: the resource, its ports, the daemon's memory."""

    namespace: str
    name: str
    uid: str
    generation: int | None
    spec: DataScienceJobRunSpec
    status: RunStatusWire
    settings: Settings
    port: OciPort
    kube: RunKube
    now: Callable[[], datetime]
    region: str = ""
    #: The effective runPolicy (the run's over its job's); None: no policy.
    run_policy: RunPolicy | None = None
    memory: RunMemory = field(default_factory=RunMemory)
    #: The share of the OCI budget not in use lately, by operation (``Operator.headroom``):
    #: how fast its state and log are read (:mod:`ads_operator.oci.cadence`).
    headroom: Callable[[str | None], float] = cadence.no_headroom
    #: Whether logs are read fresh now (window ending at now) or settled (ending
    #: ``log_settle`` before): :class:`~ads_operator.oci.log_mode.LogMode`.
    log_fresh: Callable[[], bool] = lambda: False
    #: The settle time of a log read made now, in seconds, as the records' ingest delays
    #: show it (:class:`~ads_operator.oci.settle_time.SettleTime`); None: ``log_settle``.
    log_settle: Callable[[], float] | None = None
    #: Shared by the log steps of all runs: when one may start reading and how many
    #: write at once (None: no bound).
    log_lane: LogLane | None = None

    def settle_seconds(self) -> float:
        """The settle time of a log read made now (``log_settle`` at most)."""
        return self.settings.log_settle if self.log_settle is None else self.log_settle()

    @property
    def attempt(self) -> int:
        return policy.attempt_of(self.status)

    async def wait_logs(self) -> None:
        """Waits for the log step in flight; its error, if it failed, is raised here."""
        step, self.memory.log_step = self.memory.log_step, None
        if step is not None:
            await step

    def stop(self) -> None:
        """The run is no longer followed (deleted, or the operator stops): a log step in
        flight is canceled, as a crash would end it (its write-ahead makes that safe)."""
        step, self.memory.log_step = self.memory.log_step, None
        if step is not None and not step.done():
            step.cancel()
        elif step is not None and not step.cancelled():
            step.exception()  # taken in: the run is not followed any more

    async def save(self, patch: RunStatusWire) -> None:
        """Persists the fields of ``patch`` that differ from the status as last saved.

        Most passes of a long run change little (the duration, the log cursor); sending
        only that keeps the apiserver's and every watcher's work small at a thousand runs,
        and a pass that changed nothing writes nothing."""
        changed = cast(RunStatusWire, {k: v for k, v in patch.items() if self.status.get(k) != v})
        if not changed:
            return
        before = {k: self.status.get(k, _UNSET) for k in changed}
        # The conditions this write's were computed from (see KubePort.patch_status).
        base = (self.status.get("conditions") or []) if "conditions" in changed else None
        self.status.update(changed)
        try:
            written = await self.kube.persist(changed, base)
        except BaseException:
            _undo(cast(dict[str, object], self.status), changed, before)
            raise
        if written is not None:  # as stored: the next write's conditions_from
            self.status["conditions"] = written


#: A field the status did not have before a save.
_UNSET: Final = object()


def _undo(
    status: dict[str, object], changed: Mapping[str, object], before: Mapping[str, object]
) -> None:
    """Puts back the fields of a patch that was not saved (unless changed since): the next
    pass then sees them unsaved and saves them. Left in memory, a new state or OCID would
    be missing from the resource until some later change happened to write it."""
    for key, old in before.items():
        if status.get(key, _UNSET) == changed[key]:
            if old is _UNSET:
                status.pop(key, None)
            else:
                status[key] = old
