"""The one place that reads SDK exceptions: maps them onto the hierarchy of
:mod:`ads_operator.models.oci_errors` by status and code.
"""

from __future__ import annotations

from typing import Any

from ads_operator.models.oci_errors import (
    InvalidRequestError,
    NotAuthorizedError,
    NotFoundError,
    OciError,
    RetryableError,
    ThrottledError,
)


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
