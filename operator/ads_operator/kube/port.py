"""The Kubernetes calls use cases make, as a Protocol: the seam unit tests fill with
``tests/fixtures/fake_kube.py``'s ``FakeKube`` and the operator with
:class:`ads_operator.kube.client.KubeClient`.

Only this operator's own resources (``plural`` of :data:`ads_operator.models.GROUP`) are
read and written, plus Secrets and ConfigMaps read from the handled resource's own
namespace and Events posted about it. A failed call raises :class:`KubeError`, whatever
the client underneath raised, so callers test ``exc.status`` and nothing else; the
adapter has already retried what was safe to retry (:mod:`ads_operator.kube.retry`), so a
KubeError means "not now": callers report it and try their pass again later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeAlias, TypedDict

from ads_operator.models.base import JsonObject
from ads_operator.models.conditions import ConditionWire

#: A resource as the apiserver sends it (JSON): use cases read its spec and status
#: through the models (``DataScienceJobSpec``, the status models), not key by key.
Resource: TypeAlias = JsonObject
#: A merge patch of ``.status`` (a None value removes the field).
StatusPatch: TypeAlias = JsonObject


class ObjectReference(TypedDict):
    """The ``involvedObject`` of an Event."""

    apiVersion: str
    kind: str
    name: str
    namespace: str
    uid: str


class KubeError(Exception):
    """A call the apiserver refused or that got no answer (``status`` 0).

    ``retry_after``: the seconds the apiserver asked the client to wait (429).
    ``unsent``: the request certainly did not reach the apiserver (no connection)."""

    def __init__(
        self,
        status: int,
        reason: str = "",
        message: str = "",
        *,
        retry_after: float | None = None,
        unsent: bool = False,
    ) -> None:
        super().__init__(f"{status} {reason}: {message}".strip(" :"))
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.unsent = unsent


def error_text(exc: BaseException) -> str:
    """One line about a failed call: status, reason and the apiserver's message."""
    if isinstance(exc, KubeError):
        head = f"{exc.status} {exc.reason}".strip()
        return f"{head}: {exc.message}" if exc.message else head
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


#: The apiserver's answer when a write names a version that is no longer current.
CONFLICT = 409
#: Its answer to an invalid write, and to a JSON patch whose ``test`` failed.
INVALID = 422


class KubePort(Protocol):
    """What use cases ask of Kubernetes (see :class:`~ads_operator.kube.client.KubeClient`
    for why each call is shaped the way it is)."""

    async def get_resource(self, plural: str, namespace: str, name: str) -> Resource | None:
        """One of our resources; None when it does not exist."""
        ...

    async def list_resources(self, plural: str, namespace: str) -> list[Resource]:
        """Every resource of ``plural`` in ``namespace``, without the fields no lister
        reads (managedFields, a run's log tail and cursor)."""
        ...

    async def create_resource(self, plural: str, namespace: str, body: Resource) -> bool:
        """Create; False when one of that name exists already."""
        ...

    async def delete_resource(self, plural: str, namespace: str, name: str, uid: str) -> bool:
        """Delete if it is still the object with ``uid``; False: gone already."""
        ...

    async def patch_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: StatusPatch,
        *,
        urgent: bool = False,
        resource_version: str | None = None,
        conditions_from: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[ConditionWire] | None:
        """Merge-patch ``.status``; a missing object is not an error. With
        ``resource_version``, a :class:`KubeError` 409 when the object moved on.

        ``conditions_from``: the conditions list the patch's ``conditions`` was computed
        from (as read or last written). Given, the patch's changes to it are merged by
        ``type`` into the list as stored, so a condition written meanwhile by someone
        else (another field manager) stays. Returns the conditions as written (the next
        write's ``conditions_from``); None for a patch without them."""
        ...

    async def get_cluster_resource(self, plural: str, name: str) -> Resource | None:
        """One of our cluster-scoped resources (the tenancy policy); None when missing."""
        ...

    async def namespace_labels(self, namespace: str) -> dict[str, str]:
        """A namespace's labels (the tenancy policy selects namespaces by them)."""
        ...

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """A Secret's data, decoded; None when it does not exist."""
        ...

    async def service_cidrs(self) -> list[str] | None:
        """The CIDRs of the cluster's ServiceCIDR objects (``networking.k8s.io/v1``); None
        when the API server does not serve them (Kubernetes before 1.33) or the operator
        may not list them."""
        ...

    def api_server_host(self) -> str:
        """The host the operator reaches the API server at: in a pod, the ``kubernetes``
        Service's ClusterIP (an address of the Service network)."""
        ...

    async def read_configmap(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """A ConfigMap's data and binaryData as bytes; None when it does not exist."""
        ...

    async def post_event(
        self,
        involved: ObjectReference,
        *,
        type: str,
        reason: str,
        message: str,
        component: str,
        name: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        """Post a core v1 Event; with ``name``, a second post is a 409."""
        ...

    async def event_annotations(self, namespace: str, name: str) -> dict[str, str] | None:
        """The annotations of the Event ``name``; None when it does not exist."""
        ...


async def update_status(
    kube: KubePort,
    plural: str,
    namespace: str,
    name: str,
    change: Callable[[Mapping[str, Any]], StatusPatch | None],
    *,
    attempts: int = 3,
) -> bool:
    """Read the object, compute a patch from its current status, and write it onto that
    version only, reading again after a conflict.

    For lists in ``.status`` (the conditions, the retired jobs) that several handlers
    write: a merge patch replaces a list whole, so one computed from an older copy would
    drop what another handler added meanwhile. ``change`` returns None when nothing needs
    writing. True once written (or nothing to write); False when the object is gone or
    still conflicting after ``attempts`` reads (the caller's next pass tries again)."""
    for _ in range(attempts):
        fresh = await kube.get_resource(plural, namespace, name)
        if fresh is None:
            return False
        patch = change(fresh.get("status") or {})
        if patch is None:
            return True
        try:
            await kube.patch_status(
                plural,
                namespace,
                name,
                patch,
                resource_version=str(fresh["metadata"]["resourceVersion"]),
            )
            return True
        except KubeError as exc:
            if exc.status != CONFLICT:
                raise
    return False


def created_at(meta: Mapping[str, Any], now: datetime) -> datetime:
    """When the object was created (``now`` for one not stored yet)."""
    raw = meta.get("creationTimestamp")
    if raw:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return now
