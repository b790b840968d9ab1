"""A pass of a job's handler (its reconcile, its resync timer, a deletion) that the
Kubernetes API failed even after the adapter's retries (:mod:`ads_operator.kube.retry`).

Such a failure is about the cluster, not the resource: nothing was wrong with the spec
and OCI may well have done its part. So it is said the same way wherever it happens, in
one WARNING line and a Warning Event with reason :data:`REASON` (within the operator's
Event budget), and the pass is tried again after a backoff that grows with each failed
attempt, or as long as the API server asked. What the pass did not save is redone by
the next one (every write is idempotent, and the OCI creates are found again by their
provenance tags), so nothing is lost; a raw exception would instead reach kopf as a
traceback and a retry on kopf's own schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from ads_operator import metrics
from ads_operator.kube.events import reference
from ads_operator.kube.port import KubeError, error_text
from ads_operator.reconcile import outcomes
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import RetryAfter

log = logging.getLogger(__name__)

#: The reason of the Event (and of a job's ``Synced`` condition) after such a pass.
REASON: Final = "KubernetesAPIError"


def delay(op: Operator, exc: KubeError, retry: int) -> float:
    """The backoff after the ``retry``-th failed attempt in a row (from 0), at least what
    the API server asked for."""
    return max(exc.retry_after or 0.0, outcomes.backoff(retry, op.settings))


async def report(
    op: Operator,
    body: Mapping[str, Any],
    exc: KubeError,
    *,
    retry: int,
    doing: str,
    next_in: float | None = None,
) -> RetryAfter:
    """Say that the Kubernetes API failed while ``doing`` (a few words, e.g. "deleting")
    and when the pass is tried again: one WARNING line, one Warning Event (best effort:
    the Event API may be failing too). ``next_in``: when a timer looks again anyway
    (instead of the backoff)."""
    meta = body["metadata"]
    kind = str(body.get("kind") or "")
    wait = delay(op, exc, retry) if next_in is None else next_in
    message = (
        f"The Kubernetes API failed while {doing} ({error_text(exc)}); trying again in {wait:g} s"
    )
    log.warning("%s %s/%s: %s", kind, meta.get("namespace"), meta.get("name"), message)
    metrics.reconcile_error(kind, REASON)
    await op.events.post(reference(body), reason=REASON, message=message, warning=True)
    return RetryAfter(wait, message)
