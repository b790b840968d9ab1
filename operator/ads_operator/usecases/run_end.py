"""How a run's resource ends: deleted after ``ttlSecondsAfterFinished`` (:func:`expire`),
and what deleting it does to its OCI runs (:func:`delete`, per deletionPolicy)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ads_operator import metrics
from ads_operator.kube.events import reference
from ads_operator.kube.port import KubeError, error_text
from ads_operator.models import (
    JOB_PLURAL,
    RUN_PLURAL,
    DataScienceJobRunSpec,
    DeletionPolicy,
    RunPolicy,
)
from ads_operator.models.oci_errors import NotFoundError, OciError
from ads_operator.models.run_wire import RunStatusWire, run_status
from ads_operator.reconcile import outcomes, policy
from ads_operator.reconcile.lifecycle import RUN_ACTIVE, RUN_CANCELING, RUN_DELETED
from ads_operator.usecases import api_trouble
from ads_operator.usecases.credentials import port_for, raw_secret
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import Done, Outcome, RetryAfter, Stopping
from ads_operator.usecases.run_job import run_policy_of

log = logging.getLogger(__name__)


async def expire(
    op: Operator,
    body: Any,
    status: RunStatusWire,
    namespace: str,
    name: str,
    uid: str,
    stopped: Stopping,
    known: tuple[RunPolicy | None] | None = None,
) -> None:
    """ttlSecondsAfterFinished: wait for the expiry, then delete the resource (its
    deletionPolicy then decides about the OCI run, as for any delete).

    ``known``: the effective policy the watch loop already read; without it the job is
    read again (a thousand runs ending together were a thousand reads of one job)."""
    try:
        spec = DataScienceJobRunSpec.model_validate(dict(body.get("spec") or {}))
    except ValidationError:
        return
    if known is None:
        known = await _policy_when_readable(op, spec, namespace, name, stopped)
        if known is None:
            return  # stopped while the API server failed
    rules = known[0]
    when = policy.expires_at(rules, status) if rules is not None else None
    if rules is None or when is None:
        return
    wait = (when - op.now()).total_seconds()
    if wait > 0:
        await stopped.wait(wait)
        if stopped:
            return
    try:
        deleted = await op.kube.delete_resource(RUN_PLURAL, namespace, name, uid)
    except Exception as exc:  # e.g. the operator's role lacks delete: say so, once
        why = f"{getattr(exc, 'status', '')} {getattr(exc, 'reason', '') or type(exc).__name__}"
        await op.events.post(
            reference(body),
            reason="ExpiryFailed",
            message=(
                "runPolicy.ttlSecondsAfterFinished passed but the run could not be deleted"
                f" ({why.strip()}); the operator needs the delete right on datasciencejobruns"
            ),
            warning=True,
        )
        return
    if deleted:
        log.info("run %s/%s: ttlSecondsAfterFinished passed, deleted", namespace, name)
        await op.events.post(
            reference(body),
            reason="Expired",
            message=f"runPolicy.ttlSecondsAfterFinished ({rules.ttl_seconds_after_finished}s)"
            " passed since the run finished: deleting this resource",
        )


async def _policy_when_readable(
    op: Operator, spec: DataScienceJobRunSpec, namespace: str, name: str, stopped: Stopping
) -> tuple[RunPolicy | None] | None:
    """The run's effective policy, read again after a growing backoff while the API server
    fails (a finished run's daemon starts with this read after every operator restart:
    a failure must not crash it); None once the daemon is stopped."""
    attempt = 0
    while not stopped:
        try:
            return (await run_policy_of(op, spec, namespace),)
        except KubeError as exc:
            delay = api_trouble.delay(op, exc, attempt)
            attempt += 1
            log.warning(
                "run %s/%s: the Kubernetes API failed reading its runPolicy (%s); again in %g s",
                namespace,
                name,
                error_text(exc),
                delay,
            )
            await stopped.wait(delay)
    return None


async def delete(op: Operator, body: Mapping[str, Any], *, retry: int) -> Outcome:
    """Cancel the OCI run if it is active, then delete it (unless the policy orphans it).
    The finalizer stays while the Kubernetes API fails (said on the run, tried again)."""
    try:
        return await _delete(op, body, retry=retry)
    except KubeError as exc:
        return await api_trouble.report(op, body, exc, retry=retry, doing="deleting")


async def _delete(op: Operator, body: Mapping[str, Any], *, retry: int) -> Outcome:
    namespace = body["metadata"]["namespace"]
    raw = dict(body.get("spec") or {})
    status = run_status(body.get("status"))
    metrics.forget_run(str(body["metadata"].get("uid")))
    ocid = status.get("ocid")
    earlier = [str(a["ocid"]) for a in status.get("attempts") or [] if a.get("ocid")]
    if raw.get("deletionPolicy") == DeletionPolicy.ORPHAN or not (ocid or earlier):
        return Done()
    job_spec: dict[str, Any] = {}
    ref = (raw.get("jobRef") or {}).get("name")
    if ref:
        job_spec = dict(
            ((await op.kube.get_resource(JOB_PLURAL, namespace, ref)) or {}).get("spec") or {}
        )
    secret = raw_secret(raw) or raw_secret(job_spec)
    try:
        port = await port_for(op, namespace, secret, raw.get("region") or job_spec.get("region"))
        for done in earlier:  # earlier attempts are finished: delete, never cancel
            with contextlib.suppress(NotFoundError):
                if (await port.get_job_run(run_id=done)).lifecycle_state not in RUN_DELETED:
                    await port.delete_job_run(run_id=done)
        if not ocid:
            return Done()
        run = await port.get_job_run(run_id=ocid)
        if run.lifecycle_state in RUN_ACTIVE:
            if run.lifecycle_state not in RUN_CANCELING:
                await port.cancel_job_run(run_id=ocid)
                await op.events.post(
                    reference(body),
                    reason="CancelRequested",
                    message=f"Deleting: canceling OCI job run {ocid}",
                )
            return RetryAfter(op.settings.poll_interval, "waiting for the run to be canceled")
        if run.lifecycle_state not in RUN_DELETED:
            await port.delete_job_run(run_id=ocid)
    except NotFoundError:
        return Done()
    except OciError as exc:
        d = outcomes.disposition(exc, attempt=retry, settings=op.settings)
        return RetryAfter(getattr(d, "delay", 60), d.message)
    return Done()
