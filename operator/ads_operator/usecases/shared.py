"""What the kopf handlers share: the operator state in kopf's memo, OCI ports per
resource, direct status writes, and failure reports (conditions + Event + kopf's retry
semantics). Kept apart from :mod:`ads_operator.handlers` so that module stays a list of
decorators, each a few lines long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from ads_operator import metrics
from ads_operator.kube import client as kube
from ads_operator.kube import events
from ads_operator.models import (
    RUN_PLURAL,
    DataScienceJobSpec,
)
from ads_operator.models.oci_errors import NotAuthorizedError, OciError
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import outcomes
from ads_operator.reconcile.conditions import failure_conditions, is_true
from ads_operator.reconcile.run import failed_before_start
from ads_operator.usecases import credentials
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import Failed, RetryAfter

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


async def port_for(
    op: Operator, namespace: str, secret_name: str | None, region: str | None
) -> OciPort:
    """The port for a resource: its own Secret (same namespace only) or the default."""
    secret = None
    if secret_name:
        secret = await kube.read_secret(namespace, secret_name)
        op.secrets_seen[(namespace, secret_name)] = credentials.digest(secret)
        if secret is None:
            raise NotAuthorizedError(f"Secret {secret_name!r} not found in namespace {namespace!r}")
    try:
        if secret is None and not op.factory.has_default:
            # The first use may exchange a token over the network: not on the loop.
            await asyncio.to_thread(op.factory.credentials, None, None)
        return op.factory.port(secret=secret, secret_name=secret_name, region=region)
    except OciError:
        raise
    except Exception as exc:  # the SDK refusing the config (never echo its values)
        raise NotAuthorizedError(f"unusable OCI credentials: {type(exc).__name__}") from None


def is_auth_wait(disposition: outcomes.Disposition) -> bool:
    """Whether the failure waits for a person (credentials or policy), not for OCI."""
    return isinstance(disposition, outcomes.Retry) and disposition.reason in outcomes.AUTH_REASONS


async def wait_for_fix(
    op: Operator,
    namespace: str,
    secret_name: str | None,
    delay: float,
    *,
    pause: credentials.Pause,
    give_up: Callable[[], Awaitable[bool]] | None = None,
) -> float:
    """After an authorization failure: waits (up to ``delay``) for the resource's Secret to
    change and returns the delay still to wait before the retry, 0 when it changed.
    Without a Secret there is nothing to watch: the full delay is returned."""
    if not secret_name:
        return delay
    started = utcnow()
    seen = op.secrets_seen.get((namespace, secret_name))
    if await credentials.until_secret_changes(
        namespace,
        secret_name,
        seen,
        within=delay,
        interval=op.settings.poll_interval,
        pause=pause,
        give_up=give_up,
    ):
        return 0.0
    return max(0.0, delay - (utcnow() - started).total_seconds())


def persister(plural: str, namespace: str, name: str) -> Any:
    async def persist(patch: dict[str, Any]) -> None:
        await kube.patch_status(plural, namespace, name, patch)

    return persist


async def report(
    plural: str,
    body: Any,
    status: Mapping[str, Any],
    disposition: outcomes.Disposition,
    generation: int | None,
    *,
    wait: Callable[[float], Awaitable[float]] | None = None,
) -> Failed | RetryAfter:
    """Write the failure into conditions and an Event; the outcome for the handler.

    ``wait``: given the retry delay, waits for something that ends it early and returns
    the delay that is left (see :func:`wait_for_fix`)."""
    meta = body["metadata"]
    metrics.reconcile_error(str(body.get("kind") or plural), disposition.reason)
    conds = failure_conditions(
        status.get("conditions"),
        reason=disposition.reason,
        message=disposition.message,
        terminal=isinstance(disposition, outcomes.Terminal),
        not_ready=True,
        generation=generation,
        now=utcnow(),
    )
    await kube.patch_status(plural, meta["namespace"], meta["name"], {"conditions": conds})
    await events.post(
        events.reference(body), reason=disposition.reason, message=disposition.message, warning=True
    )
    if isinstance(disposition, outcomes.Terminal):
        return Failed(disposition.message)
    delay = disposition.delay if wait is None else await wait(disposition.delay)
    return RetryAfter(delay, disposition.message)


def run_summary(runs: list[dict[str, Any]], job_name: str) -> dict[str, Any]:
    items = [r for r in runs if (r.get("spec", {}).get("jobRef") or {}).get("name") == job_name]
    phases = [str((r.get("status") or {}).get("phase") or "Pending") for r in items]
    latest = max(items, key=lambda r: r["metadata"]["creationTimestamp"], default=None)
    return {
        "total": len(items),
        "active": sum(p in ("Pending", "Running") for p in phases),
        "succeeded": phases.count("Succeeded"),
        "failed": phases.count("Failed") + phases.count("Canceled"),
        "lastRun": latest["metadata"]["name"] if latest else None,
    }


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


async def report_run(
    body: Any, status: dict[str, Any], disposition: outcomes.Disposition, meta: Any
) -> None:
    metrics.reconcile_error(str(body.get("kind") or RUN_PLURAL), disposition.reason)
    patch: dict[str, Any]
    if isinstance(disposition, outcomes.Terminal) and not status.get("ocid"):
        # Nothing was created and nothing will be: the run has failed, and says so the
        # way every failed run does (Failed, Finished), so `kubectl wait` returns.
        patch = failed_before_start(
            status.get("conditions"),
            reason=disposition.reason,
            message=disposition.message,
            generation=meta.get("generation"),
            now=utcnow(),
        )
    else:
        # A run that already has an OCI run stays Ready: the failure is about this pass.
        patch = {
            "conditions": failure_conditions(
                status.get("conditions"),
                reason=disposition.reason,
                message=disposition.message,
                terminal=isinstance(disposition, outcomes.Terminal),
                not_ready=not status.get("ocid"),
                generation=meta.get("generation"),
                now=utcnow(),
            )
        }
    status.update(patch)
    meta_ = body["metadata"]
    try:
        await kube.patch_status(RUN_PLURAL, meta_["namespace"], meta_["name"], patch)
    except Exception as exc:
        log.warning("could not patch status of %s: %s", meta_["name"], exc)
    if status.get("_last_reason") != disposition.reason:
        await events.post(
            events.reference(body),
            reason=disposition.reason,
            message=disposition.message,
            warning=True,
        )
    status["_last_reason"] = disposition.reason


def secret_of(spec: DataScienceJobSpec) -> str | None:
    return spec.auth_secret_ref.name if spec.auth_secret_ref else None


def raw_secret(spec: Mapping[str, Any]) -> str | None:
    ref = spec.get("authSecretRef") or {}
    return str(ref["name"]) if ref.get("name") else None


def created(meta: Mapping[str, Any]) -> datetime:
    raw = meta.get("creationTimestamp")
    if raw:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return utcnow()


def validation_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"spec.{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts)
