"""OCI failures as a short hierarchy: what the OCI port raises and callers decide on.

Callers decide on the class alone: :class:`InvalidRequestError` will fail the same way again,
:class:`NotAuthorizedError` needs a person, :class:`RetryableError` (conflict, throttling, 5xx,
network) clears by itself and may carry the service's ``retry-after``. Plain data, below the
pure layer; mapping SDK exceptions onto these classes is the adapter's job
(:mod:`ads_operator.oci.errors`).
"""

from __future__ import annotations


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
