"""What an OCI failure means for the resource: the one mapping from errors to behaviour.

* 400-class validation: the spec cannot work; a Terminal condition, no retry.
* 401 / 403 / NotAuthorizedOrNotFound: credentials or policy; a condition that says so
  and a slow retry (a person has to act, hammering OCI will not help).
* 409 / 429 / 5xx / network: back off, exactly as long as ``retry-after`` asks if given.
"""

from __future__ import annotations

from dataclasses import dataclass

from ads_operator.models.oci_errors import (
    InvalidRequestError,
    NotAuthorizedError,
    NotFoundError,
    OciError,
    RetryableError,
    ThrottledError,
)
from ads_operator.settings import Settings


@dataclass(frozen=True)
class Retry:
    delay: float
    reason: str
    message: str


@dataclass(frozen=True)
class Terminal:
    reason: str
    message: str


Disposition = Retry | Terminal


#: The reasons of failures a person has to fix (credentials, policies).
AUTH_REASONS = frozenset({"NotAuthorized", "NotAuthorizedOrNotFound"})


def _sentence(text: str) -> str:
    """``text`` ending in a full stop, so that the hint after it reads as a sentence."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def backoff(attempt: int, settings: Settings) -> float:
    """Exponential backoff from ``backoff_initial``, capped at ``backoff_max``."""
    return float(min(settings.backoff_max, settings.backoff_initial * 2 ** max(0, attempt)))


def pending_delay(attempt: int, settings: Settings) -> float:
    """The wait before looking again at something OCI is still doing: the poll interval
    at first, doubling with every look (``attempt`` counts from 0), capped at
    ``backoff_max``."""
    return float(min(settings.backoff_max, settings.poll_interval * 2 ** max(0, attempt)))


def disposition(error: OciError, *, attempt: int, settings: Settings) -> Disposition:
    text = error.summary()
    if isinstance(error, InvalidRequestError):
        return Terminal("OciValidationError", text)
    if isinstance(error, NotAuthorizedError | NotFoundError):
        hint = (
            " Check the credentials (authSecretRef or the operator's) and the IAM policies"
            " for the compartment, project and log group; retrying slowly, and at once when"
            " the authSecretRef Secret is created or changed."
        )
        reason = "NotAuthorizedOrNotFound" if isinstance(error, NotFoundError) else "NotAuthorized"
        return Retry(settings.auth_retry_delay, reason, _sentence(text) + hint)
    if isinstance(error, RetryableError):
        delay = error.retry_after if error.retry_after is not None else backoff(attempt, settings)
        reason = "Throttled" if isinstance(error, ThrottledError) else "OciUnavailable"
        if error.status == 409:
            reason = "Conflict"
        return Retry(delay, reason, text)
    return Retry(backoff(attempt, settings), "OciError", text)
