"""Wire errors: every failure the emulator reports, as the OCI services spell them.

One module so the canonical ``code``/status pairs (oci-api.md §2.2) live in a single place;
the HTTP layer turns an :class:`ApiError` into ``{"code", "message"}`` and the backend raises
them without knowing about HTTP.
"""

from __future__ import annotations

# The class names are the wire codes themselves (N818 would have them end in "Error").
# ruff: noqa: N818


class ApiError(Exception):
    """An error the service returns to the caller: HTTP status, OCI code and message."""

    status: int = 500
    code: str = "InternalServerError"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class InvalidParameter(ApiError):
    status, code = 400, "InvalidParameter"


class MissingParameter(ApiError):
    status, code = 400, "MissingParameter"


class CannotParseRequest(ApiError):
    status, code = 400, "CannotParseRequest"


class LimitExceeded(ApiError):
    status, code = 400, "LimitExceeded"


class RelatedResourceNotAuthorizedOrNotFound(ApiError):
    status, code = 400, "RelatedResourceNotAuthorizedOrNotFound"


class NotAuthenticated(ApiError):
    status, code = 401, "NotAuthenticated"


class NotAuthorizedOrNotFound(ApiError):
    status, code = 404, "NotAuthorizedOrNotFound"


class RouteNotFound(ApiError):
    status, code = 404, "NotFound"


class BucketNotFound(ApiError):
    status, code = 404, "BucketNotFound"


class ObjectNotFound(ApiError):
    status, code = 404, "ObjectNotFound"


class MethodNotAllowed(ApiError):
    status, code = 405, "MethodNotAllowed"


class IncorrectState(ApiError):
    status, code = 409, "IncorrectState"


class Conflict(ApiError):
    status, code = 409, "Conflict"


class InvalidatedRetryToken(ApiError):
    status, code = 409, "InvalidatedRetryToken"


class BucketAlreadyExists(ApiError):
    status, code = 409, "BucketAlreadyExists"


class NoEtagMatch(ApiError):
    status, code = 412, "NoEtagMatch"


class PayloadTooLarge(ApiError):
    status, code = 413, "PayloadTooLarge"


class TooManyRequests(ApiError):
    status, code = 429, "TooManyRequests"


class InternalServerError(ApiError):
    status, code = 500, "InternalServerError"


class ServiceUnavailable(ApiError):
    status, code = 503, "ServiceUnavailable"


def error_body(error: ApiError) -> dict[str, str]:
    """The JSON body the SDK reads ``code`` and ``message`` from."""
    return {"code": error.code, "message": error.message}
