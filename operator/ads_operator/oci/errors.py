"""OCI failures as a short hierarchy; the one place that reads SDK exceptions.

Callers decide on the class alone: :class:`InvalidRequestError` will fail the same way again,
:class:`NotAuthorizedError` needs a person, :class:`RetryableError` (conflict, throttling, 5xx,
network) clears by itself and may carry the service's ``retry-after``.
"""

from __future__ import annotations

from typing import Any


class OciError(Exception):
    """Any failed OCI call. ``message`` is safe to show: it never contains key material."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        operation: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.operation = operation
        self.request_id = request_id
        self.retry_after = retry_after

    def summary(self) -> str:
        """One line for conditions and Events: operation, status, code and message."""
        parts = [p for p in (self.operation, str(self.status or ""), self.code) if p]
        head = " ".join(parts)
        return f"{head}: {self.message}" if head else self.message


class InvalidRequestError(OciError):
    """400-class: the request itself is wrong; repeating it cannot help."""


class NotAuthorizedError(OciError):
    """401, or 404 NotAuthorizedOrNotFound when the target should exist: fix credentials/policy."""


class NotFoundError(OciError):
    """404: the resource is not there (or not visible). Success when deleting."""


class RetryableError(OciError):
    """409 conflicts, 429 throttling, 5xx and network failures: try again later."""


class ThrottledError(RetryableError):
    """429: honour ``retry_after`` when the service gave one."""


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    try:
        raw = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except (TypeError, ValueError):
        return None


def from_service_error(
    *,
    status: int,
    code: str | None,
    message: str,
    operation: str | None,
    request_id: str | None = None,
    headers: Any = None,
) -> OciError:
    """Classify an OCI error response by status and code."""
    return _error_class(status)(
        message,
        status=status,
        code=code,
        operation=operation,
        request_id=request_id,
        retry_after=_retry_after(headers),
    )


def _error_class(status: int) -> type[OciError]:
    if status == 429:
        return ThrottledError
    if status in (408, 409, 412) or status >= 500:
        return RetryableError
    if status in (401, 403):
        return NotAuthorizedError
    if status == 404:
        return NotFoundError
    return InvalidRequestError


def from_exception(exc: BaseException, *, operation: str) -> OciError:
    """Map anything an SDK call raised to the hierarchy (SDK types imported lazily)."""
    if isinstance(exc, OciError):
        return exc
    import oci  # the SDK is heavy; only the adapter's threads need it loaded

    if isinstance(exc, oci.exceptions.ServiceError):
        return from_service_error(
            status=int(exc.status),
            code=exc.code,
            message=str(exc.message),
            operation=operation,
            request_id=getattr(exc, "request_id", None),
            headers=getattr(exc, "headers", None),
        )
    if isinstance(exc, oci.exceptions.ClientError):
        # Unusable credentials or config: a person has to fix the Secret or the settings.
        return NotAuthorizedError(f"{type(exc).__name__}: {exc}", operation=operation)
    if isinstance(exc, ValueError):
        # The SDK's own parameter checks: the request cannot be sent as built.
        return InvalidRequestError(f"{type(exc).__name__}: {exc}", operation=operation)
    return RetryableError(f"{type(exc).__name__}: {exc}", operation=operation)
