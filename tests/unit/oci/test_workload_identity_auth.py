"""OKE workload identity on the operator's side: token file checks, error classes, and one
exchange attempt shared by all resources while it fails (the exchange itself is tested
against the emulator's proxymux in tests/emulator and tests/e2e)."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import oci
import pytest
from oci._vendor import requests

from ads_operator.models.oci_errors import NotAuthorizedError, RetryableError
from ads_operator.oci import factory as factory_module
from ads_operator.oci.auth import Credentials
from ads_operator.oci.factory import PortFactory
from ads_operator.oci.workload_identity import (
    ServiceAccountToken,
    classify,
    workload_identity_signer,
)
from ads_operator.settings import AuthMode, Settings

ENDPOINT = "https://127.0.0.5:12250"


def _token(exp: float) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{claims}.c2ln"


def test_a_valid_token_is_read_fresh_each_time(tmp_path: Path) -> None:
    path = tmp_path / "token"
    provider = ServiceAccountToken(str(path))
    path.write_text(_token(time.time() + 600) + "\n")
    first = provider.get_sa_token()
    path.write_text(_token(time.time() + 1200))
    assert provider.get_sa_token() != first  # the kubelet's rotation is picked up


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read the ServiceAccount token"),
        ("not-a-jwt", "is not a ServiceAccount token"),
        (_token(1_000_000), "expired at 1970-01-12T13:46:40+00:00"),
    ],
)
def test_unusable_tokens_say_why(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(NotAuthorizedError, match=re.escape(expected)) as caught:
        ServiceAccountToken(str(path)).get_sa_token()
    assert str(path) in caught.value.message


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (oci.exceptions.ServiceError(401, "Unauthorized", {}, "x"), NotAuthorizedError, "HTTP 401"),
        (oci.exceptions.ServiceError(403, "Forbidden", {}, "x"), NotAuthorizedError, "HTTP 403"),
        (oci.exceptions.ServiceError(503, "Unavailable", {}, "x"), RetryableError, "HTTP 503"),
        (requests.exceptions.ConnectionError("refused"), RetryableError, "unreachable"),
        (requests.exceptions.SSLError("bad cert"), NotAuthorizedError, "not trusted"),
        (RuntimeError("odd answer"), RetryableError, "odd answer"),
    ],
)
def test_exchange_failures_are_classified(exc: Exception, kind: type, words: str) -> None:
    error = classify(exc, ENDPOINT)
    assert type(error) is kind
    assert words in error.message
    assert ENDPOINT in error.message


def test_no_service_host_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(NotAuthorizedError, match="KUBERNETES_SERVICE_HOST"):
        workload_identity_signer("/nonexistent", "us-ashburn-1")


def test_a_failing_exchange_is_tried_once_per_backoff_for_all_resources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[float] = []
    clock = [100.0]
    outcome: list[Exception | None] = [RetryableError("proxymux is down")]

    def build(settings: Settings) -> Credentials:
        attempts.append(clock[0])
        if outcome[0] is not None:
            raise outcome[0]
        return Credentials({"region": "us-ashburn-1"}, object(), "oke_workload_identity")

    monkeypatch.setattr(factory_module, "default_credentials", build)
    monkeypatch.setattr(factory_module.time, "monotonic", lambda: clock[0])
    ports = PortFactory(Settings(auth=AuthMode.OKE_WORKLOAD_IDENTITY, backoff_initial=5))
    for _ in range(100):  # a hundred resources retrying at once
        with pytest.raises(RetryableError, match="proxymux is down"):
            ports.credentials(None, None)
    assert len(attempts) == 1
    clock[0] += 5
    outcome[0] = None
    assert ports.credentials(None, None).identity == "oke_workload_identity"
    assert ports.has_default
    assert len(attempts) == 2
