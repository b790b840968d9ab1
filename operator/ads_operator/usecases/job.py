"""A DataScienceJob's create/adopt/update pass over the ports (kopf-free; the handler in
:mod:`ads_operator.handlers` maps the returned outcome). The timer's resync and the
deletion are :mod:`.job_resync` and :mod:`.job_delete`.

The spec is validated first and a schedule that cannot work is Terminal: neither makes
an OCI call. The status is read and written through :class:`DataScienceJobStatus`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from ads_operator import metrics
from ads_operator.ads.artifacts import ArtifactError
from ads_operator.ads.source_policy import RefusedSourceError
from ads_operator.ads.sources import SourceError
from ads_operator.ads.translate import TranslationError
from ads_operator.kube.events import reference
from ads_operator.kube.port import KubeError, StatusPatch, created_at, error_text
from ads_operator.models import JOB_PLURAL, DataScienceJobSpec, DataScienceJobStatus
from ads_operator.models.oci_errors import OciError
from ads_operator.reconcile import job_conditions, outcomes
from ads_operator.reconcile.conditions import failure_conditions, is_true
from ads_operator.reconcile.job_conditions import Conditions
from ads_operator.reconcile.log_batches import once_name
from ads_operator.usecases import api_trouble, tenancy
from ads_operator.usecases.credentials import is_auth_wait, port_for, secret_of, wait_for_fix
from ads_operator.usecases.failures import validation_text
from ads_operator.usecases.job_executor import (
    JobContext,
    JobOutcome,
    adopt_job,
    desired_for,
    ensure_job,
)
from ads_operator.usecases.mounts import with_resolved_mounts
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import Done, Failed, Outcome, RetryAfter
from ads_operator.usecases.sources import ClusterSourceReader, MissingSourceError

log = logging.getLogger(__name__)


async def reconcile(op: Operator, body: Mapping[str, Any], *, retry: int) -> Outcome:
    """Create, adopt, update or replace the OCI job until it is ACTIVE and matches.
    ``retry``: how many times in a row this was retried (kopf counts)."""
    events: list[tuple[str, str]] = []  # what OCI did this pass (posted even if it fails)
    try:
        return await _reconcile(op, body, events, retry=retry)
    except KubeError as exc:  # the API server, after the adapter's retries: not the spec
        return await _api_failed(op, body, events, exc, retry=retry)


async def _reconcile(
    op: Operator, body: Mapping[str, Any], events: list[tuple[str, str]], *, retry: int
) -> Outcome:
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    status = DataScienceJobStatus.parse(body.get("status"))
    generation = meta.get("generation")
    try:
        spec = DataScienceJobSpec.model_validate(dict(body.get("spec") or {}))
    except ValidationError as exc:
        invalid = outcomes.Terminal("InvalidSpec", validation_text(exc))
        return await report(op, body, status.condition_dicts(), invalid)
    # The conditions as this pass leaves them, written whole at its end: the stored ones
    # with this spec's ScheduleValid, then the pass's own.
    conditions, unusable = job_conditions.schedule_valid(
        status.condition_dicts(), spec.schedule, generation, op.now()
    )
    if unusable is not None:  # only the operator can tell: Terminal, and no OCI call
        invalid = outcomes.Terminal("InvalidSchedule", unusable)
        return await report(op, body, conditions, invalid)
    if (refused := await tenancy.job_refusal(op, namespace, spec)) is not None:
        return await report(op, body, conditions, outcomes.Terminal(tenancy.REASON, refused))
    try:
        port = await port_for(op, namespace, secret_of(spec), spec.region)

        # The conditions as stored: what a write of them is computed from (kept beside
        # another field manager's, see KubePort.patch_status).
        seen = list((body.get("status") or {}).get("conditions") or [])

        async def persist(patch: StatusPatch) -> None:
            nonlocal seen
            written = await op.kube.patch_status(
                JOB_PLURAL, namespace, name, patch, conditions_from=seen
            )
            if written is not None:
                seen = list(written)

        ctx = JobContext(
            namespace=namespace,
            name=name,
            uid=meta["uid"],
            spec=spec,
            status=status,
            settings=op.settings,
            port=port,
            sources=ClusterSourceReader(
                kube=op.kube,
                namespace=namespace,
                port=port,
                allowed_networks=op.settings.source_networks,
                service_networks=lambda: op.service_networks.get(op.kube),
            ),
            persist=persist,
            created=created_at(meta, op.now()),
            region=spec.region or op.settings.region,
            generation=generation,
            events=events,
        )
        if not spec.id:
            ctx.spec = await with_resolved_mounts(op.mounts, port, spec, ctx.uid, generation)
        outcome = await (adopt_job(ctx) if spec.id else ensure_job(ctx, await desired_for(ctx)))
    except MissingSourceError as exc:
        wait = outcomes.Retry(op.settings.poll_interval * 5, "SourceNotFound", str(exc))
        return await report(op, body, conditions, wait)
    except RefusedSourceError as exc:
        return await report(op, body, conditions, outcomes.Terminal("SourceRefused", str(exc)))
    except (TranslationError, ArtifactError, SourceError) as exc:
        return await report(op, body, conditions, outcomes.Terminal("InvalidSpec", str(exc)))
    except OciError as exc:
        disposition = outcomes.disposition(exc, attempt=retry, settings=op.settings)
        fix = None
        if is_auth_wait(disposition):
            fix = _secret_fix_wait(op, namespace, name, secret_of(spec), generation)
        return await report(op, body, conditions, disposition, wait=fix)
    return await _synced(op, body, ctx, outcome, conditions, retry=retry)


async def _api_failed(
    op: Operator,
    body: Mapping[str, Any],
    events: list[tuple[str, str]],
    exc: KubeError,
    *,
    retry: int,
) -> RetryAfter:
    """A pass the API server failed: the Events of what OCI did (a job created, say, whose
    OCID could not be saved: the next pass finds it by its tags and saves it), the
    failure said (:func:`api_trouble.report`), and ``Synced=False`` written when the
    status can be written at all."""
    await _post(op, body, events)
    retry_after = await api_trouble.report(op, body, exc, retry=retry, doing="reconciling")
    meta = body["metadata"]
    failed = failure_conditions(
        DataScienceJobStatus.parse(body.get("status")).condition_dicts(),
        reason=api_trouble.REASON,
        message=retry_after.message,
        terminal=False,
        not_ready=False,
        generation=meta.get("generation"),
        now=op.now(),
    )
    stored = (body.get("status") or {}).get("conditions") or []
    try:
        await op.kube.patch_status(
            JOB_PLURAL, meta["namespace"], meta["name"], {"conditions": failed},
            conditions_from=stored,
        )  # fmt: skip
    except KubeError as again:
        log.debug("job %s: Synced=False not written: %s", meta["name"], error_text(again))
    return retry_after


async def _post(op: Operator, body: Mapping[str, Any], events: list[tuple[str, str]]) -> None:
    """Post the Events of a pass under fixed names, so that one posted again (a pass
    redone after its status could not be saved) is the same Event: once per message,
    which names the OCI jobs concerned, and per generation for an in-place update."""
    meta = body["metadata"]
    for reason, message in events:
        parts = (reason, message, str(meta.get("generation")) if reason == "Updated" else "")
        await op.events.post(
            reference(body),
            reason=reason,
            message=message,
            name=once_name(meta["name"], meta["uid"], *parts),
        )
    events.clear()


async def _synced(
    op: Operator,
    body: Mapping[str, Any],
    ctx: JobContext,
    outcome: JobOutcome,
    conditions: Conditions,
    *,
    retry: int,
) -> Outcome:
    """After a pass that reached OCI: its Events, the conditions, and what comes next."""
    await _post(op, body, ctx.events)
    now = op.now()
    state = ctx.status.lifecycle_state or ""
    ready = outcome is JobOutcome.READY
    rules = job_conditions.synced(
        state or str(outcome),
        ready=ready,
        message=ctx.status.lifecycle_details or f"OCI job {state}",
    )
    await ctx.save(
        conditions=job_conditions.apply(conditions, rules, generation=ctx.generation, now=now),
        observed_generation=ctx.generation,
        region=ctx.console_region or None,
        last_synced=now.replace(microsecond=0),
    )
    if ready and not is_true(conditions, "Ready"):
        # A fixed name, as for the pass's other Events: the adapter may then send it again
        # after a connection lost mid-request (once per OCI job and generation).
        meta = body["metadata"]
        ready_parts = ("Ready", str(ctx.status.ocid), str(ctx.generation))
        await op.events.post(
            reference(body),
            reason="Ready",
            message=f"OCI job {ctx.status.ocid} is ACTIVE",
            name=once_name(meta["name"], meta["uid"], *ready_parts),
        )
    if outcome is JobOutcome.PENDING:
        # Backs off as it keeps waiting: a job that stays CREATING is not polled every tick.
        delay = outcomes.pending_delay(retry, op.settings)
        return RetryAfter(delay, "the OCI job is being created")
    if outcome is JobOutcome.FAILED:
        return Failed(f"the OCI job is {state}")
    return Done()


async def report(
    op: Operator,
    body: Mapping[str, Any],
    conditions: Conditions,
    disposition: outcomes.Disposition,
    *,
    wait: Callable[[float], Awaitable[float]] | None = None,
) -> Failed | RetryAfter:
    """Write a failed pass into the conditions and an Event; the outcome for the handler.

    ``wait``: given the retry delay, waits for something that ends it early and returns
    the delay that is left (see :func:`~ads_operator.usecases.credentials.wait_for_fix`).
    ``conditions``: as this pass found them (with its ScheduleValid); written whole."""
    meta = body["metadata"]
    metrics.reconcile_error(str(body.get("kind") or JOB_PLURAL), disposition.reason)
    conds = failure_conditions(
        conditions,
        reason=disposition.reason,
        message=disposition.message,
        terminal=isinstance(disposition, outcomes.Terminal),
        not_ready=True,
        generation=meta.get("generation"),
        now=op.now(),
    )
    patch: StatusPatch = {"conditions": conds}
    if isinstance(disposition, outcomes.Terminal):
        # Judged (and refused) this generation: reconciled, as far as it ever will be.
        # A retry has not reconciled it: observedGeneration stays behind, kstatus waits.
        patch["observedGeneration"] = meta.get("generation")
    stored = (body.get("status") or {}).get("conditions") or []
    await op.kube.patch_status(
        JOB_PLURAL, meta["namespace"], meta["name"], patch, conditions_from=stored
    )
    await op.events.post(
        reference(body), reason=disposition.reason, message=disposition.message, warning=True
    )
    if isinstance(disposition, outcomes.Terminal):
        return Failed(disposition.message)
    delay = disposition.delay if wait is None else await wait(disposition.delay)
    return RetryAfter(delay, disposition.message)


def _secret_fix_wait(
    op: Operator, namespace: str, name: str, secret: str | None, generation: int | None
) -> Callable[[float], Awaitable[float]]:
    """The ``wait`` for :func:`report` after an authorization failure: ends early when the
    job's Secret changes, and gives up when the job moved on (a new spec or its deletion,
    which kopf hands to a new call of this handler)."""

    async def moved_on() -> bool:
        now = await op.kube.get_resource(JOB_PLURAL, namespace, name)
        meta = (now or {}).get("metadata") or {}
        return bool(
            now is None or meta.get("deletionTimestamp") or meta.get("generation") != generation
        )

    async def wait(delay: float) -> float:
        return await wait_for_fix(
            op, namespace, secret, delay, pause=asyncio.sleep, give_up=moved_on
        )

    return wait
