"""Error mapping in one place: SDK exceptions -> the hierarchy -> what the operator does."""

from __future__ import annotations

import oci
import pytest

from ads_operator.models import oci_errors
from ads_operator.oci import errors
from ads_operator.reconcile import outcomes
from ads_operator.settings import Settings


def service_error(status: int, code: str, headers: dict[str, str] | None = None) -> Exception:
    return oci.exceptions.ServiceError(status, code, headers or {}, f"{code} happened")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "InvalidParameter", oci_errors.InvalidRequestError),
        (400, "LimitExceeded", oci_errors.InvalidRequestError),
        (401, "NotAuthenticated", oci_errors.NotAuthorizedError),
        (404, "NotAuthorizedOrNotFound", oci_errors.NotFoundError),
        (409, "IncorrectState", oci_errors.RetryableError),
        (429, "TooManyRequests", oci_errors.ThrottledError),
        (500, "InternalServerError", oci_errors.RetryableError),
        (503, "ServiceUnavailable", oci_errors.RetryableError),
    ],
)
def test_sdk_service_errors_map_by_status(status: int, code: str, cls: type) -> None:
    mapped = errors.from_exception(service_error(status, code), operation="CreateJob")
    assert type(mapped) is cls
    assert mapped.status == status
    assert mapped.code == code
    assert "CreateJob" in mapped.summary()


def test_retry_after_is_read_from_the_response() -> None:
    mapped = errors.from_exception(
        service_error(429, "TooManyRequests", {"retry-after": "7"}), operation="GetJobRun"
    )
    assert mapped.retry_after == 7.0


def test_network_failures_are_retryable_and_bad_config_needs_a_person() -> None:
    assert isinstance(
        errors.from_exception(ConnectionError("refused"), operation="GetJob"),
        oci_errors.RetryableError,
    )
    bad = oci.exceptions.InvalidConfig({"fingerprint": "malformed"})
    assert isinstance(errors.from_exception(bad, operation="GetJob"), oci_errors.NotAuthorizedError)


SETTINGS = Settings(auth_retry_delay=300, backoff_initial=5, backoff_max=60)


def test_validation_is_terminal() -> None:
    result = outcomes.disposition(
        oci_errors.InvalidRequestError(
            "blockStorageSize below 50", status=400, code="InvalidParameter"
        ),
        attempt=0,
        settings=SETTINGS,
    )
    assert isinstance(result, outcomes.Terminal)
    assert "blockStorageSize" in result.message


def test_authorization_retries_slowly_with_a_hint() -> None:
    result = outcomes.disposition(
        oci_errors.NotFoundError("no", status=404, code="NotAuthorizedOrNotFound"),
        attempt=0,
        settings=SETTINGS,
    )
    assert isinstance(result, outcomes.Retry)
    assert result.delay == 300
    assert result.reason == "NotAuthorizedOrNotFound"
    assert "policies" in result.message


def test_throttling_honours_retry_after_and_otherwise_backs_off() -> None:
    told = outcomes.disposition(
        oci_errors.ThrottledError("slow down", status=429, retry_after=12),
        attempt=3,
        settings=SETTINGS,
    )
    assert isinstance(told, outcomes.Retry)
    assert told.delay == 12
    delays = [
        outcomes.disposition(
            oci_errors.RetryableError("x", status=503), attempt=a, settings=SETTINGS
        )
        for a in range(6)
    ]
    assert [d.delay for d in delays if isinstance(d, outcomes.Retry)] == [5, 10, 20, 40, 60, 60]
