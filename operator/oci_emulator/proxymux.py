"""The OKE proxymux, as the oci SDK's ``OkeWorkloadIdentityResourcePrincipalSigner`` calls it.

Wire (checked against oci 2.189, ``oke_workload_identity_resource_principal_signer.py``):
``POST https://$KUBERNETES_SERVICE_HOST:12250/resourcePrincipalSessionTokens`` with
``Authorization: Bearer <ServiceAccount token>``, ``opc-request-id`` and the JSON body
``{"podKey": "<public key PEM without header/footer>"}``; TLS verified against the pod's
``ca.crt`` (the cluster CA). A 2xx body is base64 of ``{"token": "ST$<jwt>"}``.

The port is fixed by the SDK, so several emulators on one machine differ by address:
any of 127.0.0.0/8 is loopback on Linux, and each instance binds its own. Its serving
certificate is issued here from the cluster CA with that address as IP SAN, which is what
makes the pod's ``ca.crt`` trust it. ``TokenReview`` goes to the real apiserver with the
credentials of a kubeconfig (:class:`KubeTokenReviewer`).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from oci_emulator import ids
from oci_emulator.errors import ApiError, CannotParseRequest, ServiceUnavailable, error_body
from oci_emulator.principals import TokenAuthority
from oci_emulator.requestlog import Entry, RequestLog
from oci_emulator.workload_identity import (
    DEFAULT_SESSION_SECONDS,
    PROXYMUX_PORT,
    Exchange,
    TokenReviewer,
    WorkloadPolicy,
    response_body,
)

#: Operation name of an exchange in the request log.
OPERATION = "ExchangeWorkloadIdentityToken"
PATH = "/resourcePrincipalSessionTokens"
EXCHANGE_KEY: web.AppKey[Exchange] = web.AppKey("exchange", Exchange)
LOG_KEY: web.AppKey[RequestLog] = web.AppKey("request_log", RequestLog)


@dataclass(frozen=True)
class ProxymuxConfig:
    """Where the proxymux listens and how it reaches the cluster."""

    #: A loopback address of its own (the pod's ``KUBERNETES_SERVICE_HOST``).
    host: str
    #: The cluster CA that the pods' ``ca.crt`` holds, and its key, to issue the
    #: proxymux's serving certificate.
    ca_cert: Path
    ca_key: Path
    #: Credentials allowed to create ``TokenReview``s at the apiserver.
    kubeconfig: Path
    #: Lifetime of the session tokens (short in tests, so the SDK's refresh is exercised).
    session_seconds: float = DEFAULT_SESSION_SECONDS
    port: int = PROXYMUX_PORT


class Proxymux:
    """One running proxymux: the exchange it serves and its server."""

    def __init__(
        self,
        config: ProxymuxConfig,
        tokens: TokenAuthority,
        policy: WorkloadPolicy,
        reviewer: TokenReviewer | None = None,
    ) -> None:
        self.config = config
        self.reviewer = reviewer or KubeTokenReviewer(config.kubeconfig)
        self.exchange = Exchange(tokens, self.reviewer, policy, config.session_seconds)
        self._runner: web.AppRunner | None = None

    async def start(self, request_log: RequestLog) -> None:
        tls = serving_context(self.config.ca_cert, self.config.ca_key, self.config.host)
        self._runner = await start_proxymux(
            self.exchange, request_log, host=self.config.host, tls=tls, port=self.config.port
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        close = getattr(self.reviewer, "close", None)
        if close is not None:
            await close()


def _private_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="oci-emulator-proxymux-"))


def serving_context(ca_cert: Path, ca_key: Path, host: str) -> ssl.SSLContext:
    """A TLS server context with a fresh certificate for ``host`` signed by the cluster CA."""
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signing_key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    if not isinstance(signing_key, rsa.RSAPrivateKey):
        raise ValueError(f"{ca_key} is not an RSA key")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oke-proxymux")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(signing_key, hashes.SHA256())
    )
    directory = _private_dir()
    (directory / "tls.crt").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca_cert.read_bytes()
    )
    key_file = directory / "tls.key"
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "tls.crt", key_file)
    return context


class KubeTokenReviewer:
    """``TokenReview`` against the apiserver a kubeconfig names, with its credentials."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        context_name = config.get("current-context") or config["contexts"][0]["name"]
        context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        self.server = str(cluster["server"]).rstrip("/")
        self._ssl = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            self._ssl.load_verify_locations(cadata=_decoded(cluster["certificate-authority-data"]))
        elif "certificate-authority" in cluster:
            self._ssl.load_verify_locations(cafile=cluster["certificate-authority"])
        self._headers = {"content-type": "application/json"}
        if "token" in user:
            self._headers["authorization"] = f"Bearer {user['token']}"
        cert, key = _client_pair(user)
        if cert and key:
            self._ssl.load_cert_chain(cert, key)
        self._session: aiohttp.ClientSession | None = None

    async def review(self, token: str) -> str | None:
        if self._session is None:  # created on the loop that serves the proxymux
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        url = f"{self.server}/apis/authentication.k8s.io/v1/tokenreviews"
        try:
            async with self._session.post(
                url, data=json.dumps(body), headers=self._headers, ssl=self._ssl
            ) as response:
                if response.status != 201 and response.status != 200:
                    raise ServiceUnavailable(
                        f"TokenReview at the apiserver failed with HTTP {response.status}."
                    )
                status = (await response.json()).get("status") or {}
        except aiohttp.ClientError as exc:
            raise ServiceUnavailable(
                f"The apiserver is unreachable for TokenReview: {type(exc).__name__}."
            ) from None
        if not status.get("authenticated"):
            return None
        return str((status.get("user") or {}).get("username") or "") or None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _decoded(data: str) -> str:
    return base64.b64decode(data).decode()


def _client_pair(user: dict[str, Any]) -> tuple[str | None, str | None]:
    """Paths of the kubeconfig user's client certificate and key (inline data written out)."""
    if "client-certificate-data" in user and "client-key-data" in user:
        directory = _private_dir()
        cert, key = directory / "client.crt", directory / "client.key"
        key.touch(mode=0o600)
        cert.write_text(_decoded(user["client-certificate-data"]))
        key.write_text(_decoded(user["client-key-data"]))
        return str(cert), str(key)
    return user.get("client-certificate"), user.get("client-key")


async def exchange_token(request: web.Request) -> web.Response:
    exchange = request.app[EXCHANGE_KEY]
    request_id = request.headers.get("opc-request-id") or ids.new_request_id()
    try:
        try:
            body = await request.json()
        except ValueError:
            raise CannotParseRequest("The request body is not JSON.") from None
        if not isinstance(body, dict):
            raise CannotParseRequest("The request body must be a JSON object.")
        token = await exchange.exchange(request.headers.get("authorization"), body.get("podKey"))
        response = web.Response(body=response_body(token), content_type="application/json")
    except ApiError as error:
        response = web.json_response(error_body(error), status=error.status)
    response.headers["opc-request-id"] = request_id
    request.app[LOG_KEY].record(
        Entry(
            time=ids.now_iso(),
            operation=OPERATION,
            method=request.method,
            path=request.path,
            status=response.status,
            requestId=request_id,
            tenancy=None,
            durationMs=0.0,
        )
    )
    return response


async def start_proxymux(
    exchange: Exchange,
    request_log: RequestLog,
    *,
    host: str,
    tls: ssl.SSLContext,
    port: int = PROXYMUX_PORT,
) -> web.AppRunner:
    """Serve the exchange on ``https://host:port`` until the runner is cleaned up."""
    app = web.Application()
    app[EXCHANGE_KEY] = exchange
    app[LOG_KEY] = request_log
    app.router.add_post(PATH, exchange_token)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=tls).start()
    return runner
