"""Request signature verification: draft-cavage HTTP signatures as the oci SDK makes them.

The SDK signs ``date (request-target) host`` on every request, plus ``content-length
content-type x-content-sha256`` on POST/PUT with a JSON body (oci-api.md §3). Keys are
registered as public keys; a request's ``keyId`` is ``tenancy/user/fingerprint``, and the
fingerprint (MD5 of the DER SubjectPublicKeyInfo) selects the key. A key registered with a
tenancy and user only accepts that principal. Code inside job runs signs with the resource
principal session token the emulator gave the run, and OKE workloads with the session
token the proxymux exchanged for their ServiceAccount token (keyId ``ST$<token>``, see
:mod:`oci_emulator.principals` and :mod:`oci_emulator.workload_identity`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from oci_emulator.backend.context import Caller
from oci_emulator.errors import NotAuthenticated
from oci_emulator.principals import TokenAuthority

GENERIC_HEADERS = ("date", "(request-target)", "host")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
_PARAM = re.compile(r'(\w+)="([^"]*)"')


def fingerprint_of(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.md5(der).hexdigest()  # noqa: S324 (OCI's fingerprint format)
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class ApiKey:
    public_key: rsa.RSAPublicKey
    fingerprint: str
    tenancy: str | None = None
    user: str | None = None


class KeyRegistry:
    """The API keys the emulator accepts; thread-safe because tests add keys at runtime."""

    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}
        self._lock = threading.Lock()

    def add_pem(self, pem: bytes, *, tenancy: str | None = None, user: str | None = None) -> str:
        """Register a PEM public key (or private key: its public half is used)."""
        try:
            loaded = serialization.load_pem_public_key(pem)
        except ValueError:
            loaded = serialization.load_pem_private_key(pem, password=None).public_key()
        if not isinstance(loaded, rsa.RSAPublicKey):
            raise ValueError("only RSA API keys are supported")
        key = ApiKey(loaded, fingerprint_of(loaded), tenancy, user)
        with self._lock:
            self._keys[key.fingerprint] = key
        return key.fingerprint

    def find(self, fingerprint: str) -> ApiKey | None:
        with self._lock:
            return self._keys.get(fingerprint)

    def fingerprints(self) -> list[str]:
        with self._lock:
            return sorted(self._keys)


def parse_authorization(header: str) -> dict[str, str]:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "signature":
        raise NotAuthenticated("The Authorization header must use the Signature scheme.")
    params = dict(_PARAM.findall(rest))
    for name in ("keyId", "signature", "headers"):
        if name not in params:
            raise NotAuthenticated(f"The Authorization header has no {name} parameter.")
    if params.get("algorithm", "rsa-sha256") != "rsa-sha256":
        raise NotAuthenticated("Only the rsa-sha256 signature algorithm is supported.")
    return params


def verify_request(
    registry: KeyRegistry,
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    body_signed: bool,
    max_skew_seconds: float,
    tokens: TokenAuthority | None = None,
    now: datetime | None = None,
) -> Caller:
    """Check one request's signature and return the caller it proves; 401 otherwise.

    ``target`` is the path and query exactly as sent (percent-encoded). ``body_signed`` is
    False for raw uploads (artifacts, objects), which sign only the generic headers.
    """
    auth = headers.get("authorization")
    if not auth:
        raise NotAuthenticated("The request is not signed: the Authorization header is missing.")
    params = parse_authorization(auth)
    public_key, caller = _principal(registry, tokens, params["keyId"])
    signed = params["headers"].lower().split()
    required = GENERIC_HEADERS + (BODY_HEADERS if body_signed else ())
    missing = [h for h in required if h not in signed]
    if missing:
        raise NotAuthenticated(f"The signature does not cover the required headers {missing}.")
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
            continue
        value = headers.get(name)
        if value is None:
            raise NotAuthenticated(f"The signed header {name!r} is missing from the request.")
        lines.append(f"{name}: {value}")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
        public_key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        raise NotAuthenticated(
            "The request signature is invalid for the signed headers and key."
        ) from None
    _check_date(headers["date"], max_skew_seconds, now)
    if "x-content-sha256" in signed:
        expected = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("x-content-sha256") != expected:
            raise NotAuthenticated("x-content-sha256 does not match the request body.")
    if "content-length" in signed and headers.get("content-length") != str(len(body)):
        raise NotAuthenticated("content-length does not match the request body.")
    return caller


def _principal(
    registry: KeyRegistry, tokens: TokenAuthority | None, key_id: str
) -> tuple[rsa.RSAPublicKey, Caller]:
    """The public key that must have signed, and who the request is from."""
    if key_id.startswith("ST$"):
        if tokens is None:
            raise NotAuthenticated("Security tokens (ST$ key ids) are not accepted here.")
        principal = tokens.verify(key_id[3:])
        caller = Caller(
            tenancy=principal.tenancy, user=principal.resource_id, workload=principal.workload
        )
        return principal.public_key, caller
    parts = key_id.split("/")
    if len(parts) != 3:
        raise NotAuthenticated(f"keyId {key_id!r} is not of the form tenancy/user/fingerprint.")
    tenancy, user, fingerprint = parts
    key = registry.find(fingerprint)
    if key is None:
        raise NotAuthenticated(f"No API key with fingerprint {fingerprint} is registered.")
    if (key.tenancy and key.tenancy != tenancy) or (key.user and key.user != user):
        raise NotAuthenticated(f"The API key {fingerprint} does not belong to {tenancy}/{user}.")
    return key.public_key, Caller(tenancy=tenancy, user=user)


def _check_date(value: str, max_skew_seconds: float, now: datetime | None) -> None:
    try:
        sent = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise NotAuthenticated(f"The date header {value!r} is not an RFC 1123 date.") from None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    skew = abs(((now or datetime.now(UTC)) - sent).total_seconds())
    if skew > max_skew_seconds:
        raise NotAuthenticated(
            f"The date header is {skew:.0f}s away from the server clock "
            f"(more than {max_skew_seconds:.0f}s)."
        )
