"""OKE workload identity: the SDK's signer, with the operator owning retries and errors.

The operator's pod trades its projected ServiceAccount token for an OCI session token at
the cluster's proxymux (``https://$KUBERNETES_SERVICE_HOST:12250``) and signs every call
with it. The SDK's ``OkeWorkloadIdentityResourcePrincipalSigner`` speaks that protocol; we
use it unchanged except for three things an operator needs:

* **No SDK retries of the exchange.** Its default strategy retries for minutes inside a
  worker thread; a failed exchange is reported instead, and the operator's own backoff
  (``outcomes.disposition``) decides when to try again.
* **Readable, classified failures.** A refused or expired ServiceAccount token needs a
  person (:class:`NotAuthorizedError`, slow retry); a proxymux that is down or answering 5xx
  clears by itself (:class:`RetryableError`, backoff). The messages say which, and where.
* **Refresh before expiry.** The SDK checks the token's age only when the signer is
  built and otherwise waits for a 401 to refresh; every expiry would then cost a failed
  call (one per concurrent thread). Here the token is renewed when half its lifetime has
  passed, once, under a lock; the SDK's refresh-on-401 stays as the fallback.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import oci
from oci._vendor import requests

from ads_operator.models.oci_errors import NotAuthorizedError, OciError, RetryableError

#: Where the SDK looks for the cluster CA unless its own variable says otherwise.
CA_VARIABLE = "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH"
DEFAULT_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
#: The proxymux port (fixed in the SDK).
PROXYMUX_PORT = "12250"
OPERATION = "WorkloadIdentityTokenExchange"


def _expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying (the apiserver verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        return None


class ServiceAccountToken:
    """The SDK's token provider (``get_sa_token``), read fresh at every exchange because the
    kubelet rotates projected tokens; unusable tokens raise the operator's own errors."""

    def __init__(self, path: str) -> None:
        self.path = path

    def get_sa_token(self) -> str:
        try:
            token = Path(self.path).read_text().strip()
        except OSError as exc:
            raise NotAuthorizedError(
                f"OKE workload identity: cannot read the ServiceAccount token {self.path}"
                f" ({exc.strerror}); is the ServiceAccount token mounted?",
                operation=OPERATION,
            ) from None
        expires = _expiry(token)
        if expires is None:
            raise NotAuthorizedError(
                f"OKE workload identity: {self.path} is not a ServiceAccount token (a JWT"
                " with an exp claim)",
                operation=OPERATION,
            )
        if expires <= time.time():
            when = datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds")
            raise NotAuthorizedError(
                f"OKE workload identity: the ServiceAccount token in {self.path} expired at"
                f" {when}; the kubelet renews projected tokens, a token written by hand must"
                " be replaced",
                operation=OPERATION,
            )
        return token


def classify(exc: BaseException, endpoint: str) -> OciError:
    """An exchange failure as the operator's error hierarchy, with a message that says what."""
    if isinstance(exc, OciError):
        return exc
    where = f"OKE workload identity: the proxymux at {endpoint}"
    if isinstance(exc, oci.exceptions.ServiceError):
        status = int(exc.status)
        if status in (401, 403):
            return NotAuthorizedError(
                f"{where} refused the ServiceAccount token (HTTP {status}): the apiserver did"
                " not authenticate it (deleted ServiceAccount, token of another cluster?)",
                status=status,
                operation=OPERATION,
            )
        return RetryableError(
            f"{where} failed (HTTP {status}): {exc.message}", status=status, operation=OPERATION
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return NotAuthorizedError(
            f"{where} is not trusted by the CA in {os.environ.get(CA_VARIABLE, DEFAULT_CA)}"
            f" ({type(exc).__name__})",
            operation=OPERATION,
        )
    if isinstance(exc, requests.exceptions.RequestException):
        return RetryableError(
            f"{where} is unreachable ({type(exc).__name__}); retrying with backoff",
            operation=OPERATION,
        )
    return RetryableError(f"{where}: {type(exc).__name__}: {exc}", operation=OPERATION)


class WorkloadIdentitySigner(oci.auth.signers.OkeWorkloadIdentityResourcePrincipalSigner):  # type: ignore[misc]
    """The SDK's signer with classified errors and refresh at half the token's lifetime."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._renew_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def get_security_token(self) -> str:
        try:
            return str(super().get_security_token())
        except Exception as exc:
            raise classify(exc, self.proxymux_endpoint) from None

    def refresh_security_token(self) -> str:
        try:
            return str(super().refresh_security_token())
        except Exception as exc:
            raise classify(exc, self.proxymux_endpoint) from None

    def __call__(self, request: Any, enforce_content_headers: bool = True) -> Any:
        with self._renew_lock:
            if not self.security_token.valid_with_half_expiration_time():
                self.refresh_security_token()
        return super().__call__(request, enforce_content_headers)


def workload_identity_signer(token_file: str, region: str | None) -> WorkloadIdentitySigner:
    """The signer, after one exchange; errors are :class:`OciError` with readable messages."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    if not host:
        raise NotAuthorizedError(
            "OKE workload identity needs KUBERNETES_SERVICE_HOST (the proxymux host; set in"
            " every pod)",
            operation=OPERATION,
        )
    endpoint = f"https://{host}:{PROXYMUX_PORT}"
    try:
        return WorkloadIdentitySigner(
            sa_token_provider=ServiceAccountToken(token_file),
            sa_cert_path=os.environ.get(CA_VARIABLE, DEFAULT_CA),
            service_host=host,
            service_port=PROXYMUX_PORT,
            region=region or os.environ.get("OCI_RESOURCE_PRINCIPAL_REGION"),
            retry_strategy=oci.retry.NoneRetryStrategy(),
        )
    except Exception as exc:
        raise classify(exc, endpoint) from None
