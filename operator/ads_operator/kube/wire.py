"""The apiserver's side of the wire: an Event's body, a listed resource without its bulk,
and :func:`error_text` for failed calls (classified in :mod:`ads_operator.kube.errors`)."""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict

from ads_operator.kube.errors import kube_error
from ads_operator.kube.port import KubeError, ObjectReference, Resource
from ads_operator.kube.port import error_text as port_error_text


class EventBody(TypedDict):
    """A core v1 Event as the operator creates it."""

    apiVersion: str
    kind: str
    metadata: dict[str, Any]
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
    annotations: Mapping[str, str] | None = None,
) -> EventBody:
    """A core v1 Event; without ``name`` one made unique by the time and ``serial``."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The object's name may have 253 characters: cut it so the stamp still makes the
    # Event's name unique (a cut name would give every Event the same one, a 409).
    head = str(involved["name"])[:200].rstrip("-.")
    name = name or f"{head}.{now.strftime('%Y%m%d%H%M%S%f')}.{serial}"
    metadata: dict[str, Any] = {"name": name[:253], "namespace": involved["namespace"]}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": metadata,
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


def conditions_swap(status: Mapping[str, Any], base: Sequence[Mapping[str, Any]]) -> list[Any]:
    """A status merge patch that carries ``conditions`` as a JSON patch (RFC 6902) that
    applies only while the stored conditions still equal ``base``: the list it was
    computed from.

    A merge patch replaces a list whole, so writing the conditions as the operator knows
    them would drop a condition another field manager applied since. The ``test`` makes
    the apiserver check that atomically, in the same request (no read first); the
    object's resourceVersion would do it too, but it moves with every log cursor write,
    so at a thousand runs most such writes would conflict for nothing. A failed test is a
    422. The apiserver reads a missing list as null, so an empty ``base`` tests for that.

    Other fields keep their merge patch meaning: set (an object is sent whole, its None
    keys left out) or, for None, removed (``add`` first, so that removing a field that is
    not there is no error). ``.status`` itself always exists: the CRDs default it."""
    ops: list[Any] = []
    for key, value in status.items():
        path = "/status/" + key.replace("~", "~0").replace("/", "~1")
        if key == "conditions":
            ops.append({"op": "test", "path": path, "value": list(base) or None})
        if value is None:
            ops += [{"op": "add", "path": path, "value": None}, {"op": "remove", "path": path}]
        else:
            ops.append({"op": "add", "path": path, "value": _whole(value)})
    return ops


def _whole(value: Any) -> Any:
    """A merge patch value as its JSON patch one: an object without its None keys."""
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items() if v is not None}
    return value


def error_text(exc: BaseException) -> str:
    """One line about a failed API call, also for the client's own ``ApiException`` (whose
    text is a multi-line HTTP dump)."""
    if getattr(exc, "status", None) is not None and not isinstance(exc, KubeError):
        exc = kube_error(exc)
    return port_error_text(exc)
