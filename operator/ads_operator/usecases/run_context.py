"""A run's context: what a pass of it needs (the resource, its ports) and what its
daemon remembers between passes (the log step in flight, the run as last read).

Everything that touches Kubernetes comes in as a callable, supplied by
:mod:`ads_operator.usecases.run_job`, so the run's passes can be tested against
in-memory ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ads_operator.models import DataScienceJobRunSpec, RunPolicy
from ads_operator.models.oci_records import LogRecord, OciJobRun
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import policy
from ads_operator.reconcile.log_batches import PendingEvent
from ads_operator.reconcile.run import STATE_KEYS
from ads_operator.reconcile.run_step import JobInfo, Waiting
from ads_operator.settings import Settings

#: Status fields whose patch goes ahead of queued log cursor patches: a new state, and a
#: new run's OCID (its passes wait for it). Not the marker saved before a create: a
#: thousand runs applied together save it at once, and new states would queue behind.
URGENT_KEYS = STATE_KEYS | {"ocid"}


@dataclass
class RunContext:
    namespace: str
    name: str
    uid: str
    generation: int | None
    spec: DataScienceJobRunSpec
    status: dict[str, Any]
    settings: Settings
    port: OciPort
    persist: Callable[[dict[str, Any]], Awaitable[None]]
    post: Callable[[str, str, bool], Awaitable[None]]
    #: Log records → the Events for them (fixed names, rate limits applied).
    plan_lines: Callable[[Sequence[LogRecord]], Sequence[PendingEvent]]
    #: Create these Events; one that already exists counts as posted. Returns those the
    #: apiserver refused (kept pending and created again, so their lines are not lost).
    post_events: Callable[[Sequence[PendingEvent]], Awaitable[Sequence[PendingEvent]]]
    resolve_job: Callable[[], Awaitable[JobInfo | Waiting]]
    now: Callable[[], datetime]
    region: str = ""
    log_compartment: str | None = field(default=None)
    #: The namespace's active-run cap: None admits at once, else why the run must wait.
    admit: Callable[[], Awaitable[Waiting | None]] | None = field(default=None)
    #: The run's compartment, learnt from the first full read.
    compartment_id: str | None = field(default=None)
    #: The effective runPolicy (the run's over its job's); None: no policy.
    run_policy: RunPolicy | None = field(default=None)
    #: Whether the Events left pending in status by an earlier incarnation were re-posted.
    pending_resumed: bool = field(default=False)
    #: Log Events the apiserver refused in the last pass (still in ``logPending``).
    unposted: list[PendingEvent] = field(default_factory=list)
    #: The log step in flight (read, save the cursor, create the Events), if any.
    log_step: asyncio.Task[None] | None = field(default=None)
    #: The time of the last log step that read the log (its window ends ``settle`` before).
    logs_read_at: datetime | None = field(default=None)
    #: The run as last read from OCI.
    last_run: OciJobRun | None = field(default=None)
    #: When this daemon first saw the run waiting for its job: in memory, never in
    #: status (a restarted operator counts ``JOB_WAIT_TIMEOUT`` afresh).
    waiting_since: datetime | None = field(default=None)

    @property
    def attempt(self) -> int:
        return policy.attempt_of(self.status)

    async def wait_logs(self) -> None:
        """Waits for the log step in flight; its error, if it failed, is raised here."""
        step, self.log_step = self.log_step, None
        if step is not None:
            await step

    def stop(self) -> None:
        """The run is no longer followed (deleted, or the operator stops): a log step in
        flight is canceled, as a crash would end it (its write-ahead makes that safe)."""
        step, self.log_step = self.log_step, None
        if step is not None and not step.done():
            step.cancel()
        elif step is not None and not step.cancelled():
            step.exception()  # taken in: the run is not followed any more

    async def save(self, patch: dict[str, Any]) -> None:
        """Persists the fields of ``patch`` that differ from the status as last saved.

        Most passes of a long run change little (the duration, the log cursor); sending
        only that keeps the apiserver's and every watcher's work small at a thousand runs,
        and a pass that changed nothing writes nothing."""
        changed = {k: v for k, v in patch.items() if self.status.get(k) != v}
        if not changed:
            return
        self.status.update(changed)
        await self.persist(changed)
