"""One pass of a DataScienceJobRun: observe, plan, perform, until a step ends the pass.

The run's watch loop (:mod:`ads_operator.usecases.run`) calls :func:`run_once` until it
returns None. The decisions are :func:`~ads_operator.reconcile.run_plan.plan_run`'s;
this module performs each step through the ports of :class:`RunContext` (create, read,
save, cancel, post Events) and hands the log step to :mod:`~.run_logs`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

from ads_operator.ads.translate import run_details
from ads_operator.models.oci_errors import NotFoundError
from ads_operator.models.oci_records import OciJobRun
from ads_operator.oci.port import KnownRun
from ads_operator.reconcile.identity import TAG_ATTEMPT, owned_by, provenance, retry_token
from ads_operator.reconcile.lifecycle import RUN_TERMINAL
from ads_operator.reconcile.run_overrides import usable_job
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
from ads_operator.usecases.run_context import URGENT_KEYS, RunContext
from ads_operator.usecases.run_logs import follow_logs

__all__ = ["URGENT_KEYS", "JobInfo", "RunContext", "Waiting", "run_once"]


def _desired(ctx: RunContext) -> DesiredRun:
    return DesiredRun(
        cancel=bool(ctx.spec.cancel),
        generation=ctx.generation,
        rules=ctx.run_policy,
        region=ctx.region or ctx.port.region,
        poll_interval=ctx.settings.poll_interval,
        job_wait_timeout=ctx.settings.job_wait_timeout,
        capped=ctx.settings.max_active_runs_per_namespace > 0,
        name=ctx.name,
    )


async def run_once(ctx: RunContext) -> float | None:
    """One pass: observe, plan, perform, until a step ends the pass. Returns the delay
    before the next pass, or None when the run is over."""
    observed = ObservedRun(status=ctx.status, now=ctx.now(), waiting_since=ctx.memory.waiting_since)
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
        job = usable_job(await ctx.kube.resolve_job(), ctx.spec)
        waiting = isinstance(job, Waiting)
        ctx.memory.waiting_since = (ctx.memory.waiting_since or seen.now) if waiting else None
        return replace(seen, job=job, waiting_since=ctx.memory.waiting_since, done=done)
    if kind is RunStepKind.ADMIT:
        return replace(seen, admission=await ctx.kube.admit() or True, done=done)
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
        complete = await follow_logs(ctx, seen.run, seen.now, step.terminal, step.duration)
        return replace(seen, logs_complete=complete, done=done)
    if kind is RunStepKind.RETRY:
        assert step.archive is not None
        await ctx.save(step.archive)
    if step.event is not None:
        await ctx.kube.post(step.event.reason, step.event.message, step.event.warning)
    return replace(seen, done=done)


def _seen_run(
    ctx: RunContext, seen: ObservedRun, run: OciJobRun, done: frozenset[RunStepKind]
) -> ObservedRun:
    ctx.memory.compartment_id = run.compartment_id  # later reads can then be batched
    ctx.memory.last_run = run
    return replace(seen, run=run, done=done)


def _announce(ctx: RunContext, event: Announce) -> asyncio.Future[None]:
    return asyncio.ensure_future(ctx.kube.post(event.reason, event.message, event.warning))


async def _find_or_create(ctx: RunContext, job: JobInfo, *, adopt: bool) -> OciJobRun:
    """The run of this attempt: adopted when an earlier pass may have created it, else new.

    Listing the job's runs costs pages that grow with the job's history (a thousand runs
    started together would list each other: ~N²/100 calls). So only a pass that finds
    ``createRequested`` set to this attempt looks; the marker is persisted before
    CreateJobRun is sent, and the retry token answers a repeated create with the same run
    anyway while OCI keeps it (24 h)."""
    attempt = ctx.attempt
    if adopt:
        # The run lives in its own compartment when the spec overrides the job's.
        where = ctx.spec.compartment_id or job.compartment_id
        runs = await ctx.port.list_job_runs(compartment_id=where, job_id=job.ocid)
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
    last = ctx.memory.last_run
    if last is not None and last.id != ocid:
        last = None  # an earlier attempt's run
    if last is not None and last.lifecycle_state in RUN_TERMINAL:
        return last
    log_id = ctx.status.get("logId")
    known = None
    if ctx.memory.compartment_id is not None and log_id:
        known = KnownRun(
            compartment_id=ctx.memory.compartment_id,
            log_id=log_id,
            log_group_id=ctx.status.get("logGroupId"),
            state=ctx.status.get("lifecycleState"),
            accepted=last.time_accepted if last is not None else None,
        )
    return await ctx.port.get_job_run(run_id=ocid, known=known)
