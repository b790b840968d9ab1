"""The proxymux exchange and workload policies, driven by the real SDK signer over TLS.

The apiserver's TokenReview is a fake here (a table of tokens); tests/e2e/
test_workload_identity.py exercises the same exchange against the real apiserver.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from oci_emulator.emulator import Emulator
from oci_emulator.proxymux import OPERATION, Proxymux, ProxymuxConfig
from oci_emulator.server import ServerThread
from oci_emulator.testing import ApiKey, EmulatorHandle, free_loopback_address
from oci_emulator.workload_identity import PROXYMUX_PORT, Grant
from tests.fixtures.emulator import make_clients
from tests.fixtures.waiting import wait_for

NAMESPACE, ACCOUNT = "team-a", "runner"


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


class TableReviewer:
    """TokenReview as a table: the tokens the 'apiserver' authenticates, and as whom."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {}

    async def review(self, token: str) -> str | None:
        return self.users.get(token)

    def token_for(self, namespace: str, account: str) -> str:
        token = _jwt({"exp": int(time.time()) + 3600, "sub": uuid.uuid4().hex})
        self.users[token] = f"system:serviceaccount:{namespace}:{account}"
        return token


def _ca(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-cluster-ca")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "ca.crt", directory / "ca.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Proxied:
    def __init__(self, handle: EmulatorHandle, emu: Emulator, host: str, ca: Path) -> None:
        self.handle, self.emu, self.host, self.ca = handle, emu, host, ca
        assert emu.proxymux is not None
        self.reviewer = emu.proxymux.reviewer
        assert isinstance(self.reviewer, TableReviewer)

    def signer(self, token: str, monkeypatch: pytest.MonkeyPatch) -> object:
        """The SDK's own OKE signer, configured as in a pod (host and CA from the env)."""
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", self.host)
        monkeypatch.setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH", str(self.ca))
        monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-ashburn-1")
        return oci.auth.signers.get_oke_workload_identity_resource_principal_signer(
            service_account_token=token, retry_strategy=oci.retry.NoneRetryStrategy()
        )

    def client(self, signer: object) -> oci.data_science.DataScienceClient:
        return oci.data_science.DataScienceClient(
            {"region": "us-ashburn-1"},
            signer=signer,
            service_endpoint=self.handle.endpoint,
            retry_strategy=oci.retry.NoneRetryStrategy(),
        )

    def exchanges(self, status: str = "200") -> int:
        counters = self.handle.requests(limit=0)["counters"]
        return int(counters.get(OPERATION, {}).get(status, 0))


@pytest.fixture
def proxied(tmp_path: Path, emulator_api_key: ApiKey) -> Iterator[Proxied]:
    ca_cert, ca_key = _ca(tmp_path)
    host = free_loopback_address()
    config = ProxymuxConfig(
        host=host, ca_cert=ca_cert, ca_key=ca_key, kubeconfig=tmp_path, session_seconds=4
    )
    emu = Emulator()
    emu.keys.add_pem(
        emulator_api_key.public_key_pem.encode(),
        tenancy=emulator_api_key.tenancy,
        user=emulator_api_key.user,
    )
    emu.proxymux = Proxymux(config, emu.tokens, emu.workload_policy, reviewer=TableReviewer())
    server = ServerThread(emu)
    server.start()
    try:
        yield Proxied(EmulatorHandle(port=server.port, server=server), emu, host, ca_cert)
    finally:
        server.stop()


def test_the_sdk_signer_exchanges_over_tls_and_acts_only_where_granted(
    proxied: Proxied, monkeypatch: pytest.MonkeyPatch, emulator_api_key: ApiKey
) -> None:
    mine, other = (f"ocid1.compartment.oc1..aaaa{uuid.uuid4().hex}" for _ in range(2))
    proxied.emu.workload_policy.grant(Grant(NAMESPACE, ACCOUNT, frozenset({mine})))
    token = proxied.reviewer.token_for(NAMESPACE, ACCOUNT)  # type: ignore[attr-defined]
    client = proxied.client(proxied.signer(token, monkeypatch))
    assert client.list_jobs(compartment_id=mine).data == []
    with pytest.raises(oci.exceptions.ServiceError) as denied:
        client.list_jobs(compartment_id=other)
    assert (denied.value.status, denied.value.code) == (404, "NotAuthorizedOrNotFound")
    # A job another principal made in a compartment the workload may not see: 404, as if
    # it did not exist (OCI does not reveal what a principal may not read).
    admin = make_clients(emulator_api_key.config, proxied.handle.endpoint).data_science
    job = admin.create_job(
        oci.data_science.models.CreateJobDetails(
            compartment_id=other,
            project_id=f"ocid1.datascienceproject.oc1.iad.aaaa{uuid.uuid4().hex}",
            job_configuration_details=oci.data_science.models.DefaultJobConfigurationDetails(),
            job_infrastructure_configuration_details=oci.data_science.models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails(
                shape_name="VM.Standard2.1", block_storage_size_in_gbs=50
            ),
        )
    ).data
    with pytest.raises(oci.exceptions.ServiceError) as hidden:
        client.get_job(job.id)
    assert hidden.value.status == 404
    # Refused before anything happens: no job in the other compartment, no run of that job.
    with pytest.raises(oci.exceptions.ServiceError) as create:
        client.create_job(
            oci.data_science.models.CreateJobDetails(
                compartment_id=other,
                project_id=job.project_id,
                job_configuration_details=job.job_configuration_details,
                job_infrastructure_configuration_details=job.job_infrastructure_configuration_details,
            )
        )
    assert create.value.status == 404
    assert [j.id for j in admin.list_jobs(compartment_id=other).data] == [job.id]
    with pytest.raises(oci.exceptions.ServiceError) as run:
        client.create_job_run(
            oci.data_science.models.CreateJobRunDetails(
                compartment_id=mine, project_id=job.project_id, job_id=job.id
            )
        )
    assert run.value.status == 404
    assert admin.list_job_runs(compartment_id=mine).data == []
    assert proxied.exchanges() == 1


def test_an_expired_session_token_is_refused_and_the_sdk_exchanges_again(
    proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    compartment = f"ocid1.compartment.oc1..aaaa{uuid.uuid4().hex}"
    proxied.emu.workload_policy.grant(Grant(NAMESPACE, ACCOUNT, frozenset({"*"})))
    token = proxied.reviewer.token_for(NAMESPACE, ACCOUNT)  # type: ignore[attr-defined]
    signer = proxied.signer(token, monkeypatch)
    client = proxied.client(signer)
    client.list_jobs(compartment_id=compartment)
    expires = signer.security_token.get_jwt()["exp"]  # type: ignore[attr-defined]
    wait_for(lambda: time.time() > expires + 1, timeout=15, what="the session token to expire")
    # The SDK by itself refreshes only when refused: one 401, one new exchange, success.
    client.list_jobs(compartment_id=compartment)
    counters = proxied.handle.requests(limit=0)["counters"]
    assert counters["ListJobs"].get("401") == 1
    assert proxied.exchanges() == 2


def test_a_token_the_cluster_does_not_authenticate_gets_401(
    proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    stranger = _jwt({"exp": int(time.time()) + 3600})
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        proxied.signer(stranger, monkeypatch)
    assert refused.value.status == 401
    assert proxied.exchanges("401") == 1
    assert proxied.exchanges() == 0
    assert (
        int(oci.auth.signers.resource_principals_signer.OCI_KUBERNETES_PROXYMUX_SERVICE_PORT)
        == PROXYMUX_PORT
    )


def test_a_session_token_signed_with_another_key_is_refused(
    proxied: Proxied, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token is bound to the pod's key: someone who copies it cannot use it."""
    compartment = f"ocid1.compartment.oc1..aaaa{uuid.uuid4().hex}"
    proxied.emu.workload_policy.grant(Grant(NAMESPACE, ACCOUNT, frozenset({compartment})))
    token = proxied.reviewer.token_for(NAMESPACE, ACCOUNT)  # type: ignore[attr-defined]
    pod = proxied.signer(token, monkeypatch)
    stolen = pod.security_token.security_token  # type: ignore[attr-defined]
    thief = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = proxied.client(oci.auth.signers.SecurityTokenSigner(stolen, thief))
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.list_jobs(compartment_id=compartment)
    assert refused.value.status == 401
    assert proxied.client(pod).list_jobs(compartment_id=compartment).data == []


@pytest.mark.parametrize(
    ("spec", "grant"),
    [
        ("ns/sa=c1", Grant("ns", "sa", frozenset({"c1"}))),
        ("ns/sa=c1, c2", Grant("ns", "sa", frozenset({"c1", "c2"}))),
        ("ns/sa=*", Grant("ns", "sa", frozenset({"*"}))),
    ],
)
def test_grants_parse(spec: str, grant: Grant) -> None:
    assert Grant.parse(spec) == grant


@pytest.mark.parametrize("spec", ["ns=c1", "ns/sa", "ns/sa=", "/sa=c1", "ns/=c1"])
def test_malformed_grants_are_refused_with_the_expected_form(spec: str) -> None:
    with pytest.raises(ValueError, match="NAMESPACE/SERVICEACCOUNT=COMPARTMENT"):
        Grant.parse(spec)
