"""Building the operator's :class:`~ads_operator.kube.client.KubeClient`: credentials
loaded the way kopf loads them, and connection pools sized to the threads that use them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ads_operator.kube.client import KubeClient

#: Threads for patches that carry a new state (``urgent``), at most.
STATE_THREADS = 8


def configure(
    pool_size: int = 32, *, kubeconfig: str | None = None, context: str | None = None
) -> KubeClient:
    """A client with credentials loaded the way kopf loads them: in-cluster first, then
    the kubeconfig. A ``kubeconfig`` file or ``context`` named by the user (the command
    line's ``--kubeconfig``, ``--context``) is used as named, never the in-cluster one.

    ``pool_size`` keeps one apiserver connection per worker thread (the loop's executor,
    as many Event threads, and the few for new states): the client's default (5 per CPU)
    made the threads beyond it open and TLS-negotiate a new connection for each status
    patch or Event at scale."""
    import kubernetes

    state_threads = min(pool_size, STATE_THREADS)
    config = kubernetes.client.Configuration()
    if not (kubeconfig is None and context is None and _in_cluster(config)):
        kubernetes.config.load_kube_config(
            config_file=kubeconfig, context=context, client_configuration=config
        )
    config.connection_pool_maxsize = pool_size * 2 + state_threads
    config.retries = 0  # urllib3's own retries off: the adapter's are the only ones
    return KubeClient(
        kubernetes.client.ApiClient(configuration=config),
        event_threads=ThreadPoolExecutor(pool_size, thread_name_prefix="ads-events"),
        state_threads=ThreadPoolExecutor(state_threads, thread_name_prefix="ads-state"),
    )


def _in_cluster(config: object) -> bool:
    """Whether the pod's service account credentials were loaded into ``config``."""
    import kubernetes

    try:
        kubernetes.config.load_incluster_config(client_configuration=config)
    except kubernetes.config.ConfigException:
        return False
    return True
