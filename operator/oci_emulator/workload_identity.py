"""OKE workload identity: ServiceAccount tokens exchanged for session tokens, and a policy.

A pod on OKE authenticates to OCI by sending its projected ServiceAccount token and a
fresh public key to the cluster's proxymux (``POST :12250/resourcePrincipalSessionTokens``,
see :mod:`oci_emulator.proxymux` for the wire). The proxymux asks the cluster's apiserver
whether the token is genuine (a ``TokenReview``; 401 if it is not) and answers with a
resource principal session token bound to that key; the pod then signs every request with it
(keyId ``ST$<token>``), which :mod:`oci_emulator.auth` verifies like any session token.

What the workload may do is IAM policy, evaluated by each service on each call, not by the
exchange: OCI answers a principal without a matching policy with 404
``NotAuthorizedOrNotFound`` (it does not reveal whether the resource exists), and so does
the emulator. :class:`WorkloadPolicy` stands in for the ``Allow any-user to manage
data-science-family in compartment X where request.principal.namespace = ...`` statements:
which ``namespace/serviceaccount`` may act in which compartments.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from oci_emulator.backend.context import DEFAULT_TENANCY
from oci_emulator.errors import CannotParseRequest, NotAuthenticated
from oci_emulator.principals import TokenAuthority

log = logging.getLogger(__name__)

#: The port the oci SDK sends the exchange to (fixed in the SDK, not configurable).
PROXYMUX_PORT = 12250
#: Session token lifetime; the SDK refreshes a token it is refused with (401).
DEFAULT_SESSION_SECONDS = 3600.0
#: Every compartment (a policy written for the whole tenancy).
ANY_COMPARTMENT = "*"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


class TokenReviewer(Protocol):
    """Asks the cluster who a bearer token belongs to (a ``TokenReview``)."""

    async def review(self, token: str) -> str | None:
        """The authenticated username, or ``None`` when the apiserver rejects the token."""
        ...


@dataclass(frozen=True)
class Grant:
    """One policy statement: a ServiceAccount may act in these compartments."""

    namespace: str
    service_account: str
    compartments: frozenset[str]

    @classmethod
    def parse(cls, spec: str) -> Grant:
        """``NAMESPACE/SERVICEACCOUNT=COMPARTMENT[,COMPARTMENT...]`` (``*``: any)."""
        who, sep, where = spec.partition("=")
        namespace, slash, account = who.strip().partition("/")
        compartments = frozenset(c.strip() for c in where.split(",") if c.strip())
        if not (sep and slash and namespace and account and compartments):
            raise ValueError(
                f"workload grant {spec!r} is not NAMESPACE/SERVICEACCOUNT=COMPARTMENT[,...]"
            )
        return cls(namespace, account, compartments)


class WorkloadPolicy:
    """Which workloads may act in which compartments; thread-safe (changed by tests)."""

    def __init__(self, grants: Iterable[Grant] = (), tenancy: str = DEFAULT_TENANCY) -> None:
        self.tenancy = tenancy
        self._grants = list(grants)
        self._lock = threading.Lock()

    def grant(self, grant: Grant) -> None:
        with self._lock:
            self._grants.append(grant)

    def revoke(self, namespace: str, service_account: str) -> None:
        with self._lock:
            self._grants = [
                g
                for g in self._grants
                if (g.namespace, g.service_account) != (namespace, service_account)
            ]

    def compartments(self, workload: str) -> frozenset[str] | None:
        """Where ``namespace/serviceaccount`` may act; ``None`` means everywhere."""
        namespace, _, account = workload.partition("/")
        allowed: set[str] = set()
        with self._lock:
            for grant in self._grants:
                if (grant.namespace, grant.service_account) == (namespace, account):
                    allowed |= grant.compartments
        return None if ANY_COMPARTMENT in allowed else frozenset(allowed)


def pod_key(raw: object) -> rsa.RSAPublicKey:
    """The ``podKey``: a PEM public key without its header and footer lines, as the SDK
    sends it (``auth_utils.sanitize_certificate_string``)."""
    if not isinstance(raw, str) or not raw.strip():
        raise CannotParseRequest("The request body needs podKey, the session public key.")
    body = "".join(raw.split())
    pem = "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----\n"
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise CannotParseRequest("podKey is not a PEM public key.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CannotParseRequest("podKey must be an RSA public key.")
    return key


class Exchange:
    """Trades a ServiceAccount token for a session token bound to the pod's key."""

    def __init__(
        self,
        tokens: TokenAuthority,
        reviewer: TokenReviewer,
        policy: WorkloadPolicy,
        session_seconds: float = DEFAULT_SESSION_SECONDS,
    ) -> None:
        self.tokens = tokens
        self.reviewer = reviewer
        self.policy = policy
        self.session_seconds = session_seconds
        #: Successful exchanges, so tests can see the SDK refresh rather than re-exchange.
        self.count = 0

    async def exchange(self, authorization: str | None, pod_key_text: object) -> str:
        """The session token (``ST$`` not included) for a ``Bearer`` ServiceAccount token."""
        scheme, _, bearer = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not bearer.strip():
            raise NotAuthenticated(
                "The exchange needs Authorization: Bearer <ServiceAccount token>."
            )
        key = pod_key(pod_key_text)
        username = await self.reviewer.review(bearer.strip())
        if username is None:
            raise NotAuthenticated(
                "The apiserver did not authenticate the ServiceAccount token (TokenReview)."
            )
        if not username.startswith(SERVICE_ACCOUNT_PREFIX):
            raise NotAuthenticated(
                f"{username!r} is not a ServiceAccount; only workloads exchange tokens."
            )
        namespace, _, account = username.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
        workload = f"{namespace}/{account}"
        token = self.tokens.mint(
            {
                "sub": username,
                "res_type": "workload",
                "res_id": username,
                "res_tenant": self.policy.tenancy,
                "workload": workload,
            },
            key,
            lifetime_seconds=self.session_seconds,
        )
        self.count += 1
        log.info("workload identity: session token for %s (exchange %d)", workload, self.count)
        return token


def response_body(token: str) -> bytes:
    """What the SDK decodes: base64 of ``{"token": "ST$<jwt>"}``."""
    return base64.b64encode(json.dumps({"token": f"ST${token}"}).encode())
