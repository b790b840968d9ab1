"""How the Kubernetes adapter runs a call: :class:`ApiCalls`, the base of
:class:`~ads_operator.kube.client.KubeClient`.

The synchronous ``kubernetes`` client runs in threads. Events have threads of their own:
at a thousand runs the operator creates hundreds of log-line Events a second, and a
status patch (a run's new state) must not queue behind them. A call that failed
transiently is retried when sending it again is safe (:mod:`ads_operator.kube.errors`,
:mod:`ads_operator.kube.retry`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ads_operator.kube.errors import translated
from ads_operator.kube.port import KubeError
from ads_operator.kube.retry import DEFAULT_RETRY, RetryPolicy, retrying

_T = TypeVar("_T")


class ApiCalls:
    """The API groups the operator calls, the threads they run in, the retry policy."""

    def __init__(
        self,
        api_client: Any,
        *,
        event_threads: ThreadPoolExecutor,
        state_threads: ThreadPoolExecutor,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        import kubernetes

        self._custom = kubernetes.client.CustomObjectsApi(api_client)
        self._core = kubernetes.client.CoreV1Api(api_client)
        self._retry = retry
        self._event_threads = event_threads
        self._state_threads = state_threads
        self._counter = itertools.count()

    async def _call(
        self,
        call: Callable[[], _T],
        *,
        what: str,
        idempotent: bool = True,
        threads: ThreadPoolExecutor | None = None,
    ) -> _T:
        """Runs a blocking client call in ``threads`` (the loop's default executor
        without), retried as :func:`retrying` allows (``idempotent``: sending it twice
        does it once), raising :class:`KubeError` for what failed for good."""
        loop = asyncio.get_running_loop()
        once = translated(call)
        return await retrying(
            lambda: loop.run_in_executor(threads, once),
            idempotent=idempotent,
            policy=self._retry,
            what=what,
        )

    async def _read(self, call: Callable[[], _T], what: str) -> _T | None:
        """A read (retried: reading twice changes nothing); None when it does not exist."""
        try:
            return await self._call(call, what=what)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise
