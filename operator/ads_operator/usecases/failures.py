"""Failed passes, said the same way everywhere: a pydantic error as one line, and a run's
failure written into its status and an Event."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ads_operator import metrics
from ads_operator.kube.events import reference
from ads_operator.models import RUN_PLURAL
from ads_operator.models.run_wire import RunStatusWire
from ads_operator.reconcile import outcomes
from ads_operator.reconcile.conditions import failure_conditions
from ads_operator.reconcile.run import failed_before_start
from ads_operator.usecases.operator import Operator

log = logging.getLogger(__name__)


def validation_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"spec.{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts)


async def report_run(
    op: Operator,
    body: Mapping[str, Any],
    status: RunStatusWire,
    disposition: outcomes.Disposition,
    meta: Mapping[str, Any],
    last_reason: str | None = None,
) -> str:
    """Write a run's failed pass into its status and an Event, unless ``last_reason`` (the
    daemon remembers it, never the status) says it was the same failure as the last one.
    Returns the reason to remember."""
    metrics.reconcile_error(str(body.get("kind") or RUN_PLURAL), disposition.reason)
    patch: RunStatusWire
    if isinstance(disposition, outcomes.Terminal) and not status.get("ocid"):
        # Nothing was created and nothing will be: the run has failed, and says so the
        # way every failed run does (Failed, Finished), so `kubectl wait` returns.
        patch = failed_before_start(
            status.get("conditions"),
            reason=disposition.reason,
            message=disposition.message,
            generation=meta.get("generation"),
            now=op.now(),
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
                now=op.now(),
            )
        }
    base = status.get("conditions") or []
    status.update(patch)
    meta_ = body["metadata"]
    try:
        written = await op.kube.patch_status(
            RUN_PLURAL, meta_["namespace"], meta_["name"], dict(patch), conditions_from=base
        )
        if written is not None:
            status["conditions"] = written
    except Exception as exc:
        log.warning("could not patch status of %s: %s", meta_["name"], exc)
    if last_reason != disposition.reason:
        await op.events.post(
            reference(body),
            reason=disposition.reason,
            message=disposition.message,
            warning=True,
        )
    return disposition.reason
