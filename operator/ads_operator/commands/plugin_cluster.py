"""The plugin's view of the cluster: the custom resources of one namespace, reached with
kubectl's configuration (kubectl passes a plugin no flags, so the plugin reads
``--kubeconfig``, ``--context`` and ``-n`` itself), and the one error type its commands
turn into a one-line message and an exit code."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ads_operator.models import GROUP, RUN_PLURAL
from ads_operator.models import VERSION as API_GROUP_VERSION


class PluginError(Exception):
    """A problem the user can fix; ``code`` is the exit code (2: the command line)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Cluster:
    """The custom resources of one namespace, reached with kubectl's configuration."""

    def __init__(self, args: argparse.Namespace) -> None:
        import kubernetes

        kubeconfig = getattr(args, "kubeconfig", None)
        context = getattr(args, "context", None)
        try:
            contexts, current = kubernetes.config.list_kube_config_contexts(kubeconfig)
            client = kubernetes.config.new_client_from_config(kubeconfig, context=context)
        except Exception as exc:  # ConfigException, or OSError for a missing file
            raise PluginError(
                f"no usable kubeconfig ({type(exc).__name__}: {exc}); set KUBECONFIG"
            ) from None
        chosen = (
            next((c for c in contexts if c["name"] == context), current) if context else current
        )
        self.namespace: str = getattr(args, "namespace", None) or str(
            (chosen or {}).get("context", {}).get("namespace") or "default"
        )
        self._api = kubernetes.client.CustomObjectsApi(client)
        self._not_found = kubernetes.client.ApiException

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except self._not_found as exc:
            if exc.status == 404:
                return None
            raise PluginError(f"{what}: {exc.status} {exc.reason}") from None
        except Exception as exc:  # connection refused, TLS: the cluster is not reachable
            raise PluginError(f"{what}: {type(exc).__name__}: {exc}") from None

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        where = (GROUP, API_GROUP_VERSION, self.namespace, plural, name)
        return self._call(  # type: ignore[no-any-return]
            f"cannot read {plural}/{name}",
            lambda: self._api.get_namespaced_custom_object(*where),
        )

    def names(self, plural: str) -> list[str]:
        listed = self._call(
            f"cannot list {plural}",
            lambda: self._api.list_namespaced_custom_object(
                GROUP, API_GROUP_VERSION, self.namespace, plural
            ),
        )
        return [item["metadata"]["name"] for item in (listed or {}).get("items", [])]

    def create_run(self, body: dict[str, Any]) -> dict[str, Any]:
        args = (GROUP, API_GROUP_VERSION, self.namespace, RUN_PLURAL, body)
        created = self._call(
            "cannot create the run", lambda: self._api.create_namespaced_custom_object(*args)
        )
        if created is None:
            raise PluginError(f"cannot create the run: namespace {self.namespace} not found")
        return created  # type: ignore[no-any-return]

    def cancel(self, name: str) -> bool:
        where = (GROUP, API_GROUP_VERSION, self.namespace, RUN_PLURAL, name)
        done = self._call(
            f"cannot cancel dsjobrun/{name}",
            lambda: self._api.patch_namespaced_custom_object(
                *where,
                {"spec": {"cancel": True}},
                _content_type="application/merge-patch+json",
            ),
        )
        return done is not None
