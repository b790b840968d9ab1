"""The few Kubernetes API calls the operator makes outside kopf's own machinery.

kopf applies handler patches only when a handler finishes; the OCID of a freshly created
OCI object must be stored *at once*, so status is patched directly here. Secrets and
ConfigMaps are read from the resource's own namespace only: every function takes the
namespace of the resource being handled, never one from its spec. Events are posted here
(awaited, in order) instead of through kopf's background queue so that a status patch
right after them reflects what was really posted.

The synchronous ``kubernetes`` client runs in threads. Events have threads of their own:
at a thousand runs the operator creates hundreds of log-line Events a second, and a
status patch (a run's new state) must not queue behind them. Writes skip parsing the
apiserver's answer (the written object, which nobody reads) to save CPU.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from ads_operator.models import GROUP, VERSION

_api_client: Any = None
_event_threads: ThreadPoolExecutor | None = None
_state_threads: ThreadPoolExecutor | None = None
#: Threads for patches that carry a new state (``urgent``), at most.
STATE_THREADS = 8
_counter = itertools.count()


def configure(pool_size: int = 32) -> None:
    """Load credentials the way kopf does: in-cluster first, then the kubeconfig.

    ``pool_size`` keeps one apiserver connection per worker thread (the loop's executor,
    as many Event threads, and the few for new states): the client's default (5 per CPU)
    made the threads beyond it open and TLS-negotiate a new connection for each status
    patch or Event at scale."""
    global _api_client, _event_threads, _state_threads
    import kubernetes

    _event_threads = ThreadPoolExecutor(pool_size, thread_name_prefix="ads-events")
    state_threads = min(pool_size, STATE_THREADS)
    _state_threads = ThreadPoolExecutor(state_threads, thread_name_prefix="ads-state")
    pool_size = pool_size * 2 + state_threads

    config = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=config)
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config(client_configuration=config)
    config.connection_pool_maxsize = pool_size
    _api_client = kubernetes.client.ApiClient(configuration=config)


def _client() -> Any:
    if _api_client is None:
        configure()
    return _api_client


def _discard(response: Any) -> None:
    """Reads and drops an answer left unparsed (``_preload_content=False``), returning
    its connection to the pool."""
    response.read()
    response.release_conn()


def _not_found(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 404


async def patch_status(
    plural: str,
    namespace: str,
    name: str,
    status: dict[str, Any],
    *,
    urgent: bool = False,
    resource_version: str | None = None,
) -> None:
    """Merge-patch ``status`` of one of our resources (None values remove fields).

    ``urgent`` patches (a run's new state) run on threads of their own: at a thousand runs
    the loop's pool has hundreds of log cursor patches queued, and a new state waited
    behind them for seconds before `kubectl wait` could see it. With
    ``resource_version`` the patch applies only to that version of the object (409
    otherwise): for a list, such as the conditions, computed from a fresh read."""
    import kubernetes

    api = kubernetes.client.CustomObjectsApi(_client())
    body: dict[str, Any] = {"status": status}
    if resource_version is not None:
        body["metadata"] = {"resourceVersion": resource_version}

    def call() -> None:
        _discard(
            api.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                plural,
                name,
                body,
                _content_type="application/merge-patch+json",
                _preload_content=False,
            )
        )

    try:
        if urgent:
            await asyncio.get_running_loop().run_in_executor(_state_threads, call)
        else:
            await asyncio.to_thread(call)
    except kubernetes.client.ApiException as exc:
        if not _not_found(exc):
            raise


async def get_resource(plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    import kubernetes

    api = kubernetes.client.CustomObjectsApi(_client())
    try:
        result: dict[str, Any] = await asyncio.to_thread(
            api.get_namespaced_custom_object, GROUP, VERSION, namespace, plural, name
        )
    except kubernetes.client.ApiException as exc:
        if _not_found(exc):
            return None
        raise
    return result


#: Objects per list page: a page is parsed whole, so this bounds what one list holds.
LIST_PAGE = 100


async def list_resources(
    plural: str, namespace: str, page_size: int = LIST_PAGE
) -> list[dict[str, Any]]:
    """Every resource of ``plural`` in ``namespace``, read in pages, each without the
    fields no lister reads (see :func:`listed`).

    The job's resync lists all runs every 30 s: in one response, 1,000 runs were ~10 MB
    of JSON and ~45 MB of dicts at once, which set the process's memory high-water mark;
    a page of 100 without the log tail is a tenth of that."""
    import kubernetes

    api = kubernetes.client.CustomObjectsApi(_client())
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = await asyncio.to_thread(
            api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            plural,
            limit=page_size,
            _continue=token,
        )
        items.extend(listed(item) for item in page.get("items", []))
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def listed(item: dict[str, Any]) -> dict[str, Any]:
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
    """One line about a failed API call: status, reason and the apiserver's message (the
    client's own text is a multi-line HTTP dump)."""
    status = getattr(exc, "status", None)
    if status is None:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    message = ""
    try:
        message = str(json.loads(getattr(exc, "body", None) or "{}").get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    head = f"{status} {getattr(exc, 'reason', '') or ''}".strip()
    return f"{head}: {message}" if message else head


async def create_resource(plural: str, namespace: str, body: dict[str, Any]) -> bool:
    """Create one of our resources; False when one of that name exists already (callers
    derive names so that a repeated create means "done before")."""
    import kubernetes

    api = kubernetes.client.CustomObjectsApi(_client())
    try:
        await asyncio.to_thread(
            api.create_namespaced_custom_object, GROUP, VERSION, namespace, plural, body
        )
    except kubernetes.client.ApiException as exc:
        if exc.status == 409:
            return False
        raise
    return True


async def delete_resource(plural: str, namespace: str, name: str, uid: str) -> bool:
    """Delete one of our resources, only if it is still the object with ``uid`` (a new
    resource of the same name is never deleted by mistake). False: it was gone already."""
    import kubernetes

    api = kubernetes.client.CustomObjectsApi(_client())
    options = {"preconditions": {"uid": uid}, "propagationPolicy": "Background"}
    try:
        await asyncio.to_thread(
            api.delete_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            body=options,
        )
    except kubernetes.client.ApiException as exc:
        if _not_found(exc) or exc.status == 409:  # 409: the uid precondition failed
            return False
        raise
    return True


async def read_secret(namespace: str, name: str) -> dict[str, bytes] | None:
    """A Secret's data, decoded; None when it does not exist."""
    import kubernetes

    api = kubernetes.client.CoreV1Api(_client())
    try:
        secret = await asyncio.to_thread(api.read_namespaced_secret, name, namespace)
    except kubernetes.client.ApiException as exc:
        if _not_found(exc):
            return None
        raise
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


async def read_configmap(namespace: str, name: str) -> dict[str, bytes] | None:
    """A ConfigMap's data and binaryData as bytes; None when it does not exist."""
    import kubernetes

    api = kubernetes.client.CoreV1Api(_client())
    try:
        cm = await asyncio.to_thread(api.read_namespaced_config_map, name, namespace)
    except kubernetes.client.ApiException as exc:
        if _not_found(exc):
            return None
        raise
    files = {k: v.encode() for k, v in (cm.data or {}).items()}
    files.update({k: base64.b64decode(v) for k, v in (cm.binary_data or {}).items()})
    return files


async def post_event(
    involved: dict[str, Any],
    *,
    type: str,
    reason: str,
    message: str,
    component: str,
    name: str | None = None,
) -> None:
    """Post a core v1 Event about ``involved`` (a ``{apiVersion, kind, name, namespace,
    uid}`` reference). Failures are logged by the caller and never fatal. With ``name``,
    creating the same Event twice fails with 409 (callers use it to post idempotently)."""
    import kubernetes

    api = kubernetes.client.CoreV1Api(_client())
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The object's name may have 253 characters: cut it so the stamp still makes the
    # Event's name unique (a cut name would give every Event the same one, a 409).
    head = str(involved["name"])[:200].rstrip("-.")
    name = name or f"{head}.{now.strftime('%Y%m%d%H%M%S%f')}.{next(_counter)}"
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name[:253], "namespace": involved["namespace"]},
        "involvedObject": involved,
        "type": type,
        "reason": reason[:128],
        "message": message,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": socket.gethostname()[:128] or str(os.getpid()),
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": reason[:128],
        "count": 1,
    }

    def call() -> None:
        _discard(api.create_namespaced_event(involved["namespace"], body, _preload_content=False))

    await asyncio.get_running_loop().run_in_executor(_event_threads, call)
