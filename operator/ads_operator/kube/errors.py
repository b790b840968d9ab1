"""The one place that reads the ``kubernetes`` client's failures: what the apiserver
refused (``ApiException``) and what never got an answer (the connection was refused,
reset or timed out) become a :class:`~ads_operator.kube.port.KubeError`, and
:func:`retryable` says whether a call that failed so may be sent again.

A retry must not do anything twice. Two things make it safe:

* the request certainly was not carried out: a 429 (API Priority and Fairness, or any
  limit, refuses before doing anything) or a connection that could not be opened;
* the call is idempotent, so a second copy of a request that was carried out changes
  nothing: GET and LIST, a merge patch of status, a delete with a uid precondition, and a
  create under a fixed name (the second copy is a 409, which the caller reads as done).

A connection reset after the request was sent, a timeout and a 5xx are ambiguous (the
apiserver may have carried it out): only idempotent calls are retried after them.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any, TypeVar

from ads_operator.kube.port import KubeError

#: Answers after which an idempotent call is sent again: the apiserver or etcd was
#: briefly unable to answer (a 500 of etcd's leader change, a 503 of a restarting server).
_SERVER_TROUBLE = frozenset({500, 502, 503, 504})
TOO_MANY_REQUESTS = 429
_T = TypeVar("_T")


def kube_error(exc: BaseException) -> KubeError:
    """The port's error for the client's ``ApiException`` (status, reason, and the
    apiserver's own message rather than the client's multi-line HTTP dump) and for the
    connection errors urllib3 raises (status 0)."""
    if _is_api_exception(exc):
        return _refusal(exc)
    reason, unsent = _connection_failure(exc)
    return KubeError(0, reason, _first_line(exc), unsent=unsent)


def translated(call: Callable[[], _T]) -> Callable[[], _T]:
    """``call`` raising :class:`KubeError` for the client's failures (anything else is a
    bug and is raised as it is)."""

    def run() -> _T:
        try:
            return call()
        except Exception as exc:
            if not _is_client_failure(exc):
                raise
            raise kube_error(exc) from None

    return run


def _is_client_failure(exc: BaseException) -> bool:
    import urllib3

    return _is_api_exception(exc) or isinstance(
        exc, urllib3.exceptions.HTTPError | http.client.HTTPException | OSError
    )


def retryable(exc: KubeError, *, idempotent: bool) -> bool:
    """Whether the failed call may be sent again (see the module's docstring)."""
    if exc.status == TOO_MANY_REQUESTS:
        return True
    if exc.status == 0:
        return idempotent or exc.unsent
    return idempotent and exc.status in _SERVER_TROUBLE


def _is_api_exception(exc: BaseException) -> bool:
    import kubernetes

    return isinstance(exc, kubernetes.client.ApiException)


def _refusal(exc: Any) -> KubeError:
    body: dict[str, Any] = {}
    try:
        parsed = json.loads(getattr(exc, "body", None) or "{}")
        body = parsed if isinstance(parsed, dict) else {}
    except (ValueError, TypeError):
        body = {}
    status = int(getattr(exc, "status", 0) or 0)
    reason = str(getattr(exc, "reason", "") or "")
    return KubeError(
        status,
        reason,
        str(body.get("message") or ""),
        retry_after=_retry_after(getattr(exc, "headers", None), body),
        # The client raises an SSL failure as status 0: the handshake did not complete.
        unsent=status == 0 and reason.startswith("SSLError"),
    )


def _retry_after(headers: Any, body: dict[str, Any]) -> float | None:
    """Seconds the apiserver asked us to wait: the ``Retry-After`` header, else the
    Status's ``details.retryAfterSeconds``."""
    raw: Any = None
    if headers:
        try:
            raw = headers.get("Retry-After") or headers.get("retry-after")
        except AttributeError:
            raw = None
    if raw is None:
        details = body.get("details")
        raw = details.get("retryAfterSeconds") if isinstance(details, dict) else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: the caller's own backoff applies


def _connection_failure(exc: BaseException) -> tuple[str, bool]:
    """Why no answer came, and whether the request certainly was not sent."""
    import urllib3

    cause: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        cause = exc.reason
    # NewConnectionError is a ConnectTimeoutError: neither sent a byte of the request.
    if isinstance(cause, urllib3.exceptions.ConnectTimeoutError | ConnectionRefusedError):
        return "ConnectionFailed", True
    if isinstance(cause, TimeoutError | urllib3.exceptions.TimeoutError):
        return "Timeout", False
    return "ConnectionLost", False


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]
