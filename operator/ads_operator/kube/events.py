"""Posting Events: :class:`EventPoster`, over the Kubernetes port, within the operator's
budget per object and reason (what to post is decided in :mod:`ads_operator.reconcile.events`).

Events are best effort: a failure to post is logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ads_operator.kube.port import KubePort, ObjectReference, error_text
from ads_operator.reconcile.events import COMPONENT, RepeatLimiter
from ads_operator.reconcile.log_batches import STEP_ANNOTATION, PendingEvent, fit

log = logging.getLogger(__name__)


def reference(body: Mapping[str, Any]) -> ObjectReference:
    """The ``involvedObject`` of Events about ``body``."""
    meta = body["metadata"]
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": meta["name"],
        "namespace": meta["namespace"],
        "uid": meta["uid"],
    }


class EventPoster:
    """Posts the operator's Events; ``repeats`` is the process's one budget for Events
    that are not log lines (kopf's own Events share it, see :mod:`ads_operator.handlers`)."""

    def __init__(self, kube: KubePort, repeats: RepeatLimiter) -> None:
        self.kube = kube
        self.repeats = repeats

    async def post(
        self,
        involved: ObjectReference,
        *,
        reason: str,
        message: str,
        warning: bool = False,
        name: str | None = None,
    ) -> None:
        """Post one Event; a failure is logged, never raised. Beyond the budget for this
        object and reason the Event is dropped (logged at debug level).

        With a fixed ``name`` (see :func:`~ads_operator.reconcile.log_batches.once_name`)
        the port retries the create after any transient failure and an Event that exists
        already (409) was posted before; without, only after failures that certainly did
        not create it (a 429, no connection)."""
        if not self.repeats.allow(str(involved.get("uid") or involved.get("name")), reason):
            log.debug("Event %s for %s not posted: repeated too often", reason, involved["name"])
            return
        try:
            await self.kube.post_event(
                involved,
                type="Warning" if warning else "Normal",
                reason=reason,
                message=fit(message, 1024),
                component=COMPONENT,
                name=name,
            )
        except Exception as exc:
            if name is not None and getattr(exc, "status", None) == 409:
                return
            log.warning(
                "could not post Event %s for %s: %s", reason, involved["name"], error_text(exc)
            )

    async def post_named(self, involved: ObjectReference, event: PendingEvent) -> bool:
        """Create ``event`` under its fixed name (a step Event with its record as an
        annotation); True when it exists afterwards (created now or, 409 AlreadyExists,
        by an earlier incarnation). Failures are logged, never raised."""
        annotations = {STEP_ANNOTATION: event.record} if event.record is not None else None
        try:
            await self.kube.post_event(
                involved,
                type="Warning" if event.warning else "Normal",
                reason=event.reason,
                message=fit(event.message, 1024),
                component=COMPONENT,
                name=event.name,
                annotations=annotations,
            )
            return True
        except Exception as exc:
            if getattr(exc, "status", None) == 409:
                return True
            log.warning(
                "could not post Event %s for %s: %s", event.name, involved["name"], error_text(exc)
            )
            return False

    async def step_record(self, namespace: str, name: str) -> str | None:
        """The record a step Event carries (see
        :mod:`~ads_operator.reconcile.log_batches`); None when there is no such Event.
        Errors are raised: the log step that asks fails and is tried again."""
        annotations = await self.kube.event_annotations(namespace, name)
        return None if annotations is None else annotations.get(STEP_ANNOTATION, "")
