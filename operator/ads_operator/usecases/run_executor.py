"""One pass of a DataScienceJobRun: create once, mirror state, cancel, mirror logs.

The kopf daemon in :mod:`ads_operator.handlers` calls :func:`run_once` until it returns
None. Everything that touches Kubernetes (resolving the job, patching status, posting
Events) comes in through :class:`RunContext`, so this module holds the run's logic and
can be tested against an in-memory port.

While a run is live, its log lines are mirrored by a *log step* beside the passes (one
at a time): reading the log, saving the cursor and creating the Events takes as long as
the Logging service and the apiserver need for thousands of lines, and the next state
read must not wait for that. Once the run is terminal its state cannot change any more,
and the passes wait for their log step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ads_operator.ads.translate import run_details
from ads_operator.models import DataScienceJobRunSpec, RunPolicy
from ads_operator.models.oci_errors import NotFoundError
from ads_operator.models.oci_records import LogRecord, OciJobRun
from ads_operator.oci.port import KnownRun, OciPort, RunLog
from ads_operator.reconcile import log_batches, logs, policy, progress
from ads_operator.reconcile.identity import TAG_ATTEMPT, owned_by, provenance, retry_token
from ads_operator.reconcile.lifecycle import RUN_TERMINAL
from ads_operator.reconcile.log_batches import PendingEvent
from ads_operator.reconcile.run import STATE_KEYS
from ads_operator.reconcile.run_plan import plan_run
from ads_operator.reconcile.run_step import (
    ENDS_PASS,
    Announce,
    DesiredRun,
    JobInfo,
    ObservedRun,
    RunStep,
    RunStepKind,
    Waiting,
)
from ads_operator.reconcile.times import iso, parse_time
from ads_operator.settings import Settings

__all__ = ["URGENT_KEYS", "JobInfo", "RunContext", "Waiting", "run_once"]

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


def _cursor(status: dict[str, Any]) -> logs.Cursor:
    raw = status.get("logCursor") or {}
    return logs.Cursor.from_wire(
        parse_time(raw.get("lastTime")),
        raw.get("ids") or [],
        floor=parse_time(raw.get("floor")),
        watermark=parse_time(raw.get("watermark")),
    )


def _cursor_wire(cursor: logs.Cursor) -> dict[str, Any]:
    """``status.logCursor`` for a merge patch: unset fields are written as None, which
    removes them, and the ids list replaces the earlier one (with any legacy ``floor:``
    entry in it)."""
    return {
        "lastTime": iso(cursor.last_time),
        "watermark": iso(cursor.watermark),
        "floor": iso(cursor.floor),
        "ids": list(cursor.ids),
    }


def _desired(ctx: RunContext) -> DesiredRun:
    return DesiredRun(
        cancel=bool(ctx.spec.cancel),
        generation=ctx.generation,
        rules=ctx.run_policy,
        region=ctx.region or ctx.port.region,
        poll_interval=ctx.settings.poll_interval,
        job_wait_timeout=ctx.settings.job_wait_timeout,
        capped=ctx.admit is not None,
    )


async def run_once(ctx: RunContext) -> float | None:
    """One pass: observe, plan, perform, until a step ends the pass. Returns the delay
    before the next pass, or None when the run is over."""
    observed = ObservedRun(status=ctx.status, now=ctx.now(), waiting_since=ctx.waiting_since)
    beside: list[asyncio.Future[None]] = []
    while True:
        step = plan_run(_desired(ctx), observed)
        observed = await _perform(ctx, step, observed, beside)
        if step.kind in ENDS_PASS:
            for announced in beside:
                await announced
            return step.delay


async def _perform(
    ctx: RunContext, step: RunStep, seen: ObservedRun, beside: list[asyncio.Future[None]]
) -> ObservedRun:
    """Performs one step through the ports; returns what the pass has now observed."""
    kind, done = step.kind, seen.done | {step.kind}
    if kind is RunStepKind.LOOK_UP_JOB:
        job = await ctx.resolve_job()
        waiting = isinstance(job, Waiting)
        ctx.waiting_since = (ctx.waiting_since or seen.now) if waiting else None
        return replace(seen, job=job, waiting_since=ctx.waiting_since, done=done)
    if kind is RunStepKind.ADMIT:
        assert ctx.admit is not None
        return replace(seen, admission=await ctx.admit() or True, done=done)
    if kind is RunStepKind.READ:
        try:
            run = await _read(ctx, str(ctx.status["ocid"]))
        except NotFoundError:
            return replace(seen, gone=True, done=done)
        return _seen_run(ctx, seen, run, done)
    if kind is RunStepKind.SAVE_STATE:
        assert step.patch is not None
        # The Event is posted beside the save: at a thousand runs the Event threads have
        # hundreds of log Events queued, and a new state must not wait behind them.
        announced = _announce(ctx, step.event) if step.event is not None else None
        await ctx.save(step.patch)
        if announced is not None:
            await announced
        return replace(seen, done=done)
    if step.patch is not None:
        await ctx.save(step.patch)
    if kind is RunStepKind.CREATE:
        assert isinstance(seen.job, JobInfo)
        run = await _find_or_create(ctx, seen.job, adopt=step.adopt)
        # Persist the OCID before anything else can fail: the exactly-once anchor.
        await ctx.save({"ocid": run.id, "jobOcid": run.job_id})
        beside.append(_announce(ctx, Announce("Created", f"Created OCI job run {run.id}")))
        return _seen_run(ctx, seen, run, done)
    if kind is RunStepKind.CANCEL:
        with contextlib.suppress(*((NotFoundError,) if step.deadline else ())):
            await ctx.port.cancel_job_run(run_id=str(ctx.status["ocid"]))
    if kind is RunStepKind.READ_LOGS:
        assert seen.run is not None
        complete = await _follow_logs(ctx, seen.run, seen.now, step.terminal, step.duration)
        return replace(seen, logs_complete=complete, done=done)
    if kind is RunStepKind.RETRY:
        assert step.archive is not None
        await ctx.save(step.archive)
    if step.event is not None:
        await ctx.post(step.event.reason, step.event.message, step.event.warning)
    return replace(seen, done=done)


def _seen_run(
    ctx: RunContext, seen: ObservedRun, run: OciJobRun, done: frozenset[RunStepKind]
) -> ObservedRun:
    ctx.compartment_id = run.compartment_id  # later reads can then be batched
    ctx.last_run = run
    return replace(seen, run=run, done=done)


def _announce(ctx: RunContext, event: Announce) -> asyncio.Future[None]:
    return asyncio.ensure_future(ctx.post(event.reason, event.message, event.warning))


async def _find_or_create(ctx: RunContext, job: JobInfo, *, adopt: bool) -> OciJobRun:
    """The run of this attempt: adopted when an earlier pass may have created it, else new.

    Listing the job's runs costs pages that grow with the job's history (a thousand runs
    started together would list each other: ~N²/100 calls). So only a pass that finds
    ``createRequested`` set to this attempt looks; the marker is persisted before
    CreateJobRun is sent, and the retry token answers a repeated create with the same run
    anyway while OCI keeps it (24 h)."""
    attempt = ctx.attempt
    if adopt:
        runs = await ctx.port.list_job_runs(compartment_id=job.compartment_id, job_id=job.ocid)
        mine = [
            r
            for r in runs
            if owned_by(r.freeform_tags, uid=ctx.uid)
            and r.freeform_tags.get(TAG_ATTEMPT, "1") == str(attempt)
        ]
        if mine:
            return await ctx.port.get_job_run(run_id=mine[0].id)
    details = run_details(
        job.spec,
        ctx.spec,
        job_id=job.ocid,
        project_id=job.project_id,
        compartment_id=job.compartment_id,
        job_display_name=job.display_name,
        now=ctx.now(),
    )
    details["freeformTags"] = {
        **details.get("freeformTags", {}),
        **provenance(
            namespace=ctx.namespace,
            name=ctx.name,
            uid=ctx.uid,
            cluster_id=ctx.settings.cluster_id,
        ),
    }
    # Attempt 1 keeps the token and tags runs always had; a retry is a new OCI run with
    # its own token, so it can never be answered with the failed attempt's run.
    token = (
        retry_token("run", ctx.uid) if attempt == 1 else retry_token("run", ctx.uid, str(attempt))
    )
    if attempt > 1:
        details["freeformTags"][TAG_ATTEMPT] = str(attempt)
    return await ctx.port.create_job_run(details=details, retry_token=token)


async def _read(ctx: RunContext, ocid: str) -> OciJobRun:
    """The run as OCI reports it; batched with other runs once its log ids are known
    (a port that batches reads it from a list of its compartment's runs).

    A run read in a terminal state is not read again: its state cannot change any more,
    and the passes through its log grace are about its log only (at a thousand runs
    ending together, a hundred runs in their grace read every 3 s)."""
    last = ctx.last_run
    if last is not None and last.id == ocid and last.lifecycle_state in RUN_TERMINAL:
        return last
    log_id = ctx.status.get("logId")
    known = None
    if ctx.compartment_id is not None and log_id:
        known = KnownRun(
            compartment_id=ctx.compartment_id,
            log_id=log_id,
            log_group_id=ctx.status.get("logGroupId"),
            state=ctx.status.get("lifecycleState"),
        )
    return await ctx.port.get_job_run(run_id=ocid, known=known)


async def _follow_logs(
    ctx: RunContext, run: OciJobRun, now: datetime, terminal: bool, duration: str | None
) -> bool:
    """Takes in the last log step (raising its error), starts the next one unless one is
    in flight, and says whether the log is complete: the run is terminal, no Event is
    left to create, and a read made after the log grace has passed the finish.

    A live run's step runs beside the passes; a terminal run's pass waits for it, so the
    read that completes the log is decided on at once, as a single pass would."""
    if ctx.log_step is not None and (terminal or ctx.log_step.done()):
        await ctx.wait_logs()
    if (
        ctx.log_step is None
        and not _read_enough(ctx, run, terminal)
        and _log_due(ctx, now, terminal)
    ):
        ctx.log_step = asyncio.get_running_loop().create_task(_log_step(ctx, run, now, duration))
        if terminal:
            await ctx.wait_logs()
    return _read_enough(ctx, run, terminal) and ctx.log_step is None


def _log_due(ctx: RunContext, now: datetime, terminal: bool) -> bool:
    """Whether this pass reads the log: a terminal run's at every pass (its end is decided
    on them), a live run's at the pass nearest to ``log_read_interval`` after its last
    read (passes fall on ticks of the poll interval)."""
    if terminal or ctx.logs_read_at is None or ctx.unposted:
        return True
    since = (now - ctx.logs_read_at).total_seconds()
    return since >= ctx.settings.log_read_interval - ctx.settings.poll_interval / 2


def _read_enough(ctx: RunContext, run: OciJobRun, terminal: bool) -> bool:
    if not terminal or ctx.unposted or ctx.logs_read_at is None:
        return False
    return not logs.keep_reading(
        terminal=True,
        time_finished=run.time_finished,
        now=ctx.logs_read_at,
        grace=timedelta(seconds=ctx.settings.log_grace),
        settle=timedelta(seconds=ctx.settings.log_settle),
    )


async def _log_step(ctx: RunContext, run: OciJobRun, now: datetime, duration: str | None) -> None:
    """Read the new lines, persist the cursor with the Events they make (write-ahead, see
    :mod:`~ads_operator.reconcile.log_batches`), then create those Events."""
    patch, to_post, read = await _mirror_logs(ctx, run, now)
    patch["duration"] = duration
    await ctx.save(patch)
    if to_post:
        ctx.unposted = list(await ctx.post_events(to_post))
    if read:
        ctx.logs_read_at = now


async def _search_all(
    ctx: RunContext, run: OciJobRun, start: datetime, end: datetime
) -> list[LogRecord]:
    """The run's records in the window (a port that batches searches the log of many
    runs at once and answers on one page)."""
    assert run.log_group_id
    assert run.log_id
    if ctx.log_compartment is None:
        try:
            ctx.log_compartment = await ctx.port.get_log_compartment(
                log_group_id=run.log_group_id, log_id=run.log_id
            )
        except NotFoundError:
            ctx.log_compartment = run.compartment_id
    log = RunLog(ctx.log_compartment, run.log_group_id, run.log_id, run.id)
    query = logs.search_query(log.compartment_id, log.log_group_id, log.log_id, log.run_id)
    records: list[LogRecord] = []
    page: str | None = None
    while True:
        result = await ctx.port.search_logs(
            query=query, time_start=start, time_end=end, limit=1000, page=page, run=log
        )
        records.extend(result.records)
        page = result.next_page
        if not page:
            return records


async def _resume_pending(ctx: RunContext) -> None:
    """Once per incarnation: create the Events an earlier one persisted as pending and may
    have been killed before creating (those it did create answer 409 and count as done)."""
    if ctx.pending_resumed:
        return
    pending = log_batches.from_wire(ctx.status.get("logPending"))
    if pending:
        ctx.unposted = list(await ctx.post_events(pending))
    ctx.pending_resumed = True


async def _mirror_logs(
    ctx: RunContext, run: OciJobRun, now: datetime
) -> tuple[dict[str, Any], list[PendingEvent], bool]:
    """The status patch after reading new log lines, the Events to create once that
    patch is persisted, and whether the log was read (not when refused Events come first)."""
    await _resume_pending(ctx)
    if ctx.unposted:
        # The apiserver refused some Events (overload, a timeout): create them again
        # before reading on; the cursor waits, so the pending list stays bounded.
        return {"logPending": log_batches.to_wire(ctx.unposted)}, list(ctx.unposted), False
    settings = ctx.settings
    overlap = timedelta(seconds=settings.log_overlap)
    cursor = _cursor(ctx.status)
    window = logs.read_window(
        cursor,
        time_accepted=run.time_accepted,
        now=now,
        settle=timedelta(seconds=settings.log_settle),
        overlap=overlap,
    )
    if window is None:  # nothing has settled since the last read: no call
        merged = logs.Merged((), cursor)
    else:
        fetched = await _search_all(ctx, run, window.start, window.end)
        merged = logs.merge(
            cursor, fetched, window=window, overlap=overlap, max_ids=settings.log_cursor_max_ids
        )
    to_post = list(ctx.plan_lines(merged.new)) if merged.new else []
    previous_tail = [
        LogRecord(id="", time=parse_time(x.get("time")) or now, message=str(x.get("message", "")))
        for x in ctx.status.get("logTail") or []
    ]
    tail = logs.tail(previous_tail, merged.new, settings.log_tail_lines)
    patch: dict[str, Any] = {
        "logCursor": _cursor_wire(merged.cursor),
        "logTail": [{"time": iso(r.time), "message": r.message[:2048]} for r in tail],
    }
    if to_post or ctx.status.get("logPending"):
        patch["logPending"] = log_batches.to_wire(to_post)
    reported = progress.latest(r.message for r in merged.new)
    if reported is not None:
        patch.update(reported.as_status())
    return patch, to_post, True
