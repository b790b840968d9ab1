"""The apiserver's side of the wire: an Event's body, a listed resource without its bulk,
and :func:`error_text` for failed calls (classified in :mod:`ads_operator.kube.errors`)."""

from __future__ import annotations

import functools
import os
import socket
from datetime import UTC, datetime
from typing import Any, TypedDict

from ads_operator.kube.errors import kube_error
from ads_operator.kube.port import KubeError, ObjectReference, Resource
from ads_operator.kube.port import error_text as port_error_text


class EventBody(TypedDict):
    """A core v1 Event as the operator creates it."""

    apiVersion: str
    kind: str
    metadata: dict[str, str]
    involvedObject: ObjectReference
    type: str
    reason: str
    message: str
    source: dict[str, str]
    reportingComponent: str
    reportingInstance: str
    firstTimestamp: str
    lastTimestamp: str
    eventTime: str
    action: str
    count: int


@functools.cache
def _reporting_instance() -> str:
    """This process's name in Events (asked once: a system call per Event added up at
    hundreds of Events a second)."""
    return socket.gethostname()[:128] or str(os.getpid())


def event_body(
    involved: ObjectReference,
    *,
    type: str,
    reason: str,
    message: str,
    component: str,
    name: str | None,
    serial: int,
) -> EventBody:
    """A core v1 Event; without ``name`` one made unique by the time and ``serial``."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The object's name may have 253 characters: cut it so the stamp still makes the
    # Event's name unique (a cut name would give every Event the same one, a 409).
    head = str(involved["name"])[:200].rstrip("-.")
    name = name or f"{head}.{now.strftime('%Y%m%d%H%M%S%f')}.{serial}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name[:253], "namespace": involved["namespace"]},
        "involvedObject": involved,
        "type": type,
        "reason": reason[:128],
        "message": message,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": _reporting_instance(),
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": reason[:128],
        "count": 1,
    }


def discard(response: Any) -> None:
    """Reads and drops an answer left unparsed (``_preload_content=False``), returning
    its connection to the pool."""
    response.read()
    response.release_conn()


def listed(item: Resource) -> Resource:
    """A listed resource without its largest parts, which summaries never read: the
    apiserver's managedFields, a run's log tail and log cursor; ``logPending`` is cut to
    its first entry (readers ask only whether any Event is pending)."""
    item.get("metadata", {}).pop("managedFields", None)
    status = item.get("status")
    if isinstance(status, dict):
        status.pop("logTail", None)
        status.pop("logCursor", None)
        if status.get("logPending"):
            status["logPending"] = status["logPending"][:1]
    return item


def error_text(exc: BaseException) -> str:
    """One line about a failed API call, also for the client's own ``ApiException`` (whose
    text is a multi-line HTTP dump)."""
    if getattr(exc, "status", None) is not None and not isinstance(exc, KubeError):
        exc = kube_error(exc)
    return port_error_text(exc)
