"""The core v1 calls of the Kubernetes adapter: :class:`CoreCalls`.

Secrets and ConfigMaps are read from the resource's own namespace only: every call takes
the namespace of the resource being handled, never one from its spec. Events are posted
here (awaited, in order) instead of through kopf's background queue so that a status
patch right after them reflects what was really posted.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import urlsplit

from ads_operator.kube.calls import ApiCalls
from ads_operator.kube.port import KubeError, ObjectReference, Resource
from ads_operator.kube.wire import discard, event_body


class CoreCalls(ApiCalls):
    """Namespaces, Secrets, ConfigMaps, ServiceCIDRs and Events."""

    async def namespace_labels(self, namespace: str) -> dict[str, str]:
        found = await self._call(
            lambda: self._core.read_namespace(namespace), what=f"reading namespace {namespace}"
        )
        return dict(found.metadata.labels or {})

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """A Secret's data, decoded; None when it does not exist."""
        secret = await self._read(
            lambda: self._core.read_namespaced_secret(name, namespace), f"reading Secret {name}"
        )
        if secret is None:
            return None
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    async def service_cidrs(self) -> list[str] | None:
        def call() -> Resource:
            found: Resource = self._custom.list_cluster_custom_object(
                "networking.k8s.io", "v1", "servicecidrs"
            )
            return found

        try:
            found = await self._call(call, what="listing ServiceCIDRs")
        except KubeError as exc:
            if exc.status in (403, 404):  # not served (before 1.33), or not granted
                return None
            raise
        return [str(c) for i in found.get("items") or [] for c in i["spec"].get("cidrs") or []]

    def api_server_host(self) -> str:
        return str(urlsplit(self._core.api_client.configuration.host).hostname or "")

    async def read_configmap(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """A ConfigMap's data and binaryData as bytes; None when it does not exist."""
        cm = await self._read(
            lambda: self._core.read_namespaced_config_map(name, namespace),
            f"reading ConfigMap {name}",
        )
        if cm is None:
            return None
        files = {k: v.encode() for k, v in (cm.data or {}).items()}
        files.update({k: base64.b64decode(v) for k, v in (cm.binary_data or {}).items()})
        return files

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
        """Post a core v1 Event about ``involved``. Failures are logged by the caller and
        never fatal. With ``name``, creating the same Event twice fails with 409 (callers
        use it to post idempotently), so only then is it retried after a failure that may
        have created it (a reset after sending)."""
        body = event_body(
            involved,
            type=type,
            reason=reason,
            message=message,
            component=component,
            name=name,
            serial=next(self._counter),
            annotations=annotations,
        )

        def call() -> None:
            discard(
                self._core.create_namespaced_event(
                    involved["namespace"], body, _preload_content=False
                )
            )

        await self._call(
            call,
            what=f"posting Event {reason} for {involved['name']}",
            idempotent=name is not None,
            threads=self._event_threads,
        )

    async def event_annotations(self, namespace: str, name: str) -> dict[str, str] | None:
        """The annotations of the Event ``name`` (a log step's record, see
        :mod:`~ads_operator.reconcile.log_batches`); None when it does not exist."""
        found = await self._read(
            lambda: self._core.read_namespaced_event(name, namespace),
            f"reading Event {name}",
        )
        if found is None:
            return None
        return dict(found.metadata.annotations or {})
