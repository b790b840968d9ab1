"""The Kubernetes API calls the operator makes outside kopf's own machinery:
:class:`KubeClient`, the :class:`~ads_operator.kube.port.KubePort` the operator runs with.

kopf applies handler patches only when a handler finishes; the OCID of a freshly created
OCI object must be stored *at once*, so status is patched directly here. Writes skip
parsing the apiserver's answer (the written object, which nobody reads) to save CPU.
How calls run and are retried: :mod:`ads_operator.kube.calls`; the core v1 calls
(Secrets, ConfigMaps, Events): :mod:`ads_operator.kube.core`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ads_operator.kube.core import CoreCalls
from ads_operator.kube.port import (
    CONFLICT,
    INVALID,
    KubeError,
    Resource,
    StatusPatch,
)
from ads_operator.kube.wire import conditions_swap, discard, listed
from ads_operator.models import GROUP, VERSION
from ads_operator.models.conditions import ConditionWire
from ads_operator.reconcile import kstatus
from ads_operator.reconcile.conditions import rebased

log = logging.getLogger(__name__)

#: Objects per list page: a page is parsed whole, so this bounds what one list holds.
LIST_PAGE = 100


class KubeClient(CoreCalls):
    """The operator's :class:`~ads_operator.kube.port.KubePort` over the ``kubernetes``
    client; one per process, built by :func:`ads_operator.kube.config.configure`. Its
    own resources (status writes, reads, lists) here; Secrets, ConfigMaps, namespaces
    and Events in :class:`~ads_operator.kube.core.CoreCalls`."""

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
        """Merge-patch ``status`` of one of our resources (None values remove fields).

        ``urgent`` patches (a run's new state) run on threads of their own: at a thousand
        runs the loop's pool has hundreds of log cursor patches queued, and a new state
        waited behind them for seconds before `kubectl wait` could see it. With
        ``resource_version`` the patch applies only to that version of the object (409
        otherwise): for a list, such as the conditions, computed from a fresh read.

        ``conditions_from``: the conditions the patch's were computed from. They are
        written only if the stored list is still that one (:func:`conditions_swap`, in
        the same request); else the list is read again, the patch's changes are redone on
        it (:func:`~ads_operator.reconcile.conditions.rebased`) and written onto that
        version: another field manager's condition is never dropped. Returns the
        conditions as written (with kstatus's two, and what was kept): the
        ``conditions_from`` of the next write; None for a patch without them."""
        # Every write of the conditions carries kstatus's Reconciling and Stalled, derived
        # from the others here, in the one place all status writes pass.
        status = kstatus.settled(plural, status, now=datetime.now(UTC))
        swap = conditions_from is not None and resource_version is None and "conditions" in status
        body: Any = {"status": status}
        if swap:
            body = conditions_swap(status, conditions_from or ())
        elif resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        kind = "application/json-patch+json" if swap else "application/merge-patch+json"

        def call() -> None:
            discard(
                self._custom.patch_namespaced_custom_object_status(
                    GROUP,
                    VERSION,
                    namespace,
                    plural,
                    name,
                    body,
                    _content_type=kind,
                    _preload_content=False,
                )
            )

        try:
            await self._call(
                call,
                what=f"patching the status of {plural}/{name}",  # idempotent: a merge patch
                threads=self._state_threads if urgent else None,
            )
        except KubeError as exc:
            if swap and exc.status == INVALID:  # the test failed (or the patch is invalid)
                return await self._rebase(plural, namespace, name, status, conditions_from)
            if exc.status != 404:
                raise
        written: list[ConditionWire] | None = status.get("conditions")
        return written

    async def _rebase(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: StatusPatch,
        base: Sequence[Mapping[str, Any]] | None,
    ) -> list[ConditionWire] | None:
        """:meth:`patch_status` after the conditions moved on: redone on a fresh read,
        written onto that version; a 409 when they keep moving (the caller's pass fails
        and its next one writes them)."""
        ours = status.get("conditions")
        log.debug("%s/%s: the conditions moved on; redone on a fresh read", plural, name)
        for _ in range(3):
            fresh = await self.get_resource(plural, namespace, name)
            if fresh is None:
                return None
            merged = rebased(ours, base, (fresh.get("status") or {}).get("conditions"))
            patch = kstatus.settled(plural, {**status, "conditions": merged}, now=datetime.now(UTC))
            merged = list(patch["conditions"])
            try:
                await self.patch_status(
                    plural,
                    namespace,
                    name,
                    {**patch, "conditions": merged or None},
                    resource_version=str(fresh["metadata"]["resourceVersion"]),
                )
            except KubeError as exc:
                if exc.status != CONFLICT:
                    raise
                continue
            return merged
        raise KubeError(CONFLICT, "Conflict", f"the conditions of {plural}/{name} kept changing")

    async def get_resource(self, plural: str, namespace: str, name: str) -> Resource | None:
        def call() -> Resource:
            result: Resource = self._custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name
            )
            return result

        return await self._read(call, f"reading {plural}/{name}")

    async def list_resources(
        self, plural: str, namespace: str, page_size: int = LIST_PAGE
    ) -> list[Resource]:
        """Every resource of ``plural`` in ``namespace``, read in pages, each without the
        fields no lister reads (see :func:`listed`).

        The job's resync lists all runs every 30 s: in one response, 1,000 runs were
        ~10 MB of JSON and ~45 MB of dicts at once, which set the process's memory
        high-water mark; a page of 100 without the log tail is a tenth of that."""
        items: list[Resource] = []
        token: str | None = None
        while True:
            lister = functools.partial(
                self._custom.list_namespaced_custom_object,
                *(GROUP, VERSION, namespace, plural),
                limit=page_size,
                _continue=token,
            )
            page: Resource = await self._call(lister, what=f"listing {plural}")
            items.extend(listed(item) for item in page.get("items", []))
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    async def create_resource(self, plural: str, namespace: str, body: Resource) -> bool:
        """Create one of our resources; False when one of that name exists already
        (callers derive names so that a repeated create means "done before"). Retried
        after an ambiguous failure only under a fixed name (not ``generateName``)."""
        try:
            await self._call(
                lambda: self._custom.create_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, body
                ),
                what=f"creating a {plural}",
                idempotent=bool((body.get("metadata") or {}).get("name")),
            )
        except KubeError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def delete_resource(self, plural: str, namespace: str, name: str, uid: str) -> bool:
        """Delete one of our resources, only if it is still the object with ``uid`` (a
        new resource of the same name is never deleted by mistake). False: it was gone
        already."""
        options = {"preconditions": {"uid": uid}, "propagationPolicy": "Background"}
        try:
            await self._call(
                lambda: self._custom.delete_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, name, body=options
                ),
                what=f"deleting {plural}/{name}",  # idempotent: a second delete is a 404
            )
        except KubeError as exc:
            if exc.status in (404, 409):  # 409: the uid precondition failed
                return False
            raise
        return True

    async def get_cluster_resource(self, plural: str, name: str) -> Resource | None:
        def call() -> Resource:
            result: Resource = self._custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
            return result

        return await self._read(call, f"reading {plural}/{name}")
