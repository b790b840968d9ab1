"""Resource principals for job runs, as the service provides them (RPST version 2.2).

Code inside a real job run authenticates as the run through
``oci.auth.signers.get_resource_principals_signer()``, which reads
``OCI_RESOURCE_PRINCIPAL_RPST`` (a JWT, the Resource Principal Session Token) and
``OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM`` (the session key) and signs with keyId
``ST$<token>``. The emulator mints both per run: the token is signed with the emulator's own
key and carries the session public key (``jwk``) and the run's coordinates (``res_*``
claims), so a request signed with it can be verified without any shared table — and runs
that upload outputs to the emulator's Object Storage need no API key.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from oci_emulator.errors import NotAuthenticated

#: Lifetime of a run's token; the SDK refreshes from the file when it nears expiry.
TOKEN_SECONDS = 24 * 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _b64_int(text: str) -> int:
    return int.from_bytes(_unb64url(text), "big")


@dataclass(frozen=True)
class RunCredentials:
    """The files and variables a run gets so the SDK's resource principal signer works."""

    token_file: Path
    key_file: Path

    def environment(self, region: str) -> dict[str, str]:
        return {
            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
            "OCI_RESOURCE_PRINCIPAL_RPST": str(self.token_file),
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(self.key_file),
            "OCI_RESOURCE_PRINCIPAL_REGION": region,
        }


@dataclass(frozen=True)
class Principal:
    """Who a verified session token speaks for."""

    tenancy: str
    resource_id: str
    public_key: rsa.RSAPublicKey
    #: ``namespace/serviceaccount`` for an OKE workload identity token, else ``None``.
    workload: str | None = None


class TokenAuthority:
    """Mints and verifies resource principal session tokens (RS256 JWTs)."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self._session: rsa.RSAPrivateKey | None = None

    def _session_key(self) -> rsa.RSAPrivateKey:
        """One session key for all runs of this instance: RSA key generation costs more
        than a whole run in simulate mode, and each run still gets its own token."""
        if self._session is None:
            self._session = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._session

    def mint(
        self,
        claims: dict[str, Any],
        session_key: rsa.RSAPublicKey,
        *,
        lifetime_seconds: float = TOKEN_SECONDS,
    ) -> str:
        numbers = session_key.public_numbers()
        now = int(time.time())
        payload = {
            "iss": "oci_emulator",
            "ttype": "res",
            "iat": now,
            "exp": now + max(1, round(lifetime_seconds)),
            "jwk": {
                "kty": "RSA",
                "kid": secrets.token_hex(8),
                "alg": "RS256",
                "n": _int_b64(numbers.n),
                "e": _int_b64(numbers.e),
            },
            **claims,
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self._kid}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def verify(self, token: str) -> Principal:
        """The principal of a token this authority minted; 401 otherwise."""
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            self._key.public_key().verify(
                _unb64url(signature_b64),
                f"{header_b64}.{payload_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(_unb64url(payload_b64))
            jwk = claims["jwk"]
            public_key = rsa.RSAPublicNumbers(_b64_int(jwk["e"]), _b64_int(jwk["n"])).public_key()
        except (ValueError, KeyError, InvalidSignature):
            raise NotAuthenticated(
                "The security token was not issued by this emulator (or is malformed)."
            ) from None
        if int(claims.get("exp", 0)) < time.time():
            raise NotAuthenticated("The security token has expired.")
        return Principal(
            tenancy=str(claims.get("res_tenant", "")),
            resource_id=str(claims.get("res_id", "")),
            public_key=public_key,
            workload=claims.get("workload"),
        )

    def issue_for_run(self, run: dict[str, Any], tenancy: str, directory: Path) -> RunCredentials:
        """Write a session key and token for ``run`` into ``directory`` (mode 0700)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        session = self._session_key()
        key_file = directory / "rp_session_key.pem"
        key_file.write_bytes(
            session.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        token = self.mint(
            {
                "sub": run["id"],
                "res_type": "datasciencejobrun",
                "res_id": run["id"],
                "res_tenant": tenancy,
                "res_compartment": run["compartmentId"],
            },
            session.public_key(),
        )
        token_file = directory / "rpst"
        token_file.write_text(token)
        token_file.chmod(0o600)
        return RunCredentials(token_file=token_file, key_file=key_file)
