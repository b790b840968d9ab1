"""OKE workload identity, the chart's default credentials, end to end without a Secret.

The operator runs as a process with ``ADS_OPERATOR_AUTH=oke_workload_identity`` and no
OCI config at all: only a real ServiceAccount's token (TokenRequest at the local
apiserver), the cluster CA and ``KUBERNETES_SERVICE_HOST`` naming the emulator's proxymux,
which checks the token with a real TokenReview. The emulator here has no API key
registered, so every OCI call that succeeds was signed with a session token it issued.
Bad input: a ServiceAccount without policy, an expired ServiceAccount token, a token the
apiserver no longer accepts (its ServiceAccount deleted) and a proxymux that is down each
end as a readable condition with a slow retry, and the operator keeps running.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from oci_emulator.proxymux import OPERATION as EXCHANGE
from oci_emulator.proxymux import ProxymuxConfig
from oci_emulator.testing import EmulatorHandle, free_loopback_address, start_emulator
from oci_emulator.workload_identity import PROXYMUX_PORT, Grant
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import request_count
from tests.fixtures.operator import FAST_OPERATOR_SETTINGS, REPO, OperatorProcess
from tests.fixtures.resources import COMPARTMENT, Kube, job_run, scripted_job

#: Short session tokens, so a run spans several of them and refresh is exercised.
SESSION_SECONDS = 8
ACCOUNT = "ads-operator"
#: Lasts a few session lifetimes; prints so the operator also reads logs meanwhile.
LONG_SCRIPT = """
import time
for i in range(8):
    print("tick", i, flush=True)
    time.sleep(3)
"""


@dataclass
class Setup:
    kube: Kube
    emulator: EmulatorHandle
    host: str
    pki: Path
    tmp: Path

    @property
    def cluster(self) -> Cluster:
        return self.kube.cluster

    @property
    def namespace(self) -> str:
        return self.kube.namespace

    def token_file(self, account: str = ACCOUNT, *, create: bool = True) -> Path:
        """A real token of ``account`` (TokenRequest), as the kubelet would project it."""
        if create:
            self.cluster.kubectl("create", "serviceaccount", account, "-n", self.namespace)
        token = self.cluster.kubectl(
            "create", "token", account, "-n", self.namespace, "--duration=1h"
        ).stdout.strip()
        path = self.tmp / f"{account}.token"
        path.write_text(token)
        return path

    def operator(self, token_file: Path, *, host: str | None = None) -> OperatorProcess:
        env = self.cluster.env(
            {
                **FAST_OPERATOR_SETTINGS,
                "ADS_OPERATOR_AUTH": "oke_workload_identity",
                "ADS_OPERATOR_SERVICE_ACCOUNT_TOKEN_FILE": str(token_file),
                "ADS_OPERATOR_OCI_ENDPOINT": self.emulator.endpoint,
                "ADS_OPERATOR_REGION": "us-ashburn-1",
                "KUBERNETES_SERVICE_HOST": host or self.host,
                "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH": str(self.pki / "ca.crt"),
                "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO)]),
            }
        )
        for name in ("ADS_OPERATOR_OCI_CONFIG_FILE", "KUBERNETES_SERVICE_PORT", "OCI_CONFIG_FILE"):
            env.pop(name, None)
        return self.kube.operators.start((self.namespace,), env)

    def grant(self, account: str = ACCOUNT) -> None:
        self.policy().grant(Grant(self.namespace, account, frozenset({COMPARTMENT})))

    def policy(self) -> Any:
        assert self.emulator.server is not None
        return self.emulator.server.emu.workload_policy

    def count(self, operation: str, status: str = "total") -> int:
        return request_count(self.emulator, operation, status=status)

    def apply_job(self, name: str, script: str = "print('hello from a workload')") -> None:
        self.kube.apply(*scripted_job(name, script, log_group=None), job_run(f"{name}-run", name))

    def wait_ready(self, job: str, *, timeout: float = 60) -> None:
        """Until the job is Ready (its Synced condition said why it was not)."""
        self.kube.wait_reason("dsjob", job, "Ready", status="True", timeout=timeout)


@pytest.fixture
def setup(cluster: Cluster, operator_crds: None, kube: Kube, tmp_path: Path) -> Iterator[Setup]:
    pki = cluster.kubeconfig.parent / "pki"
    if not (pki / "ca.key").is_file():
        pytest.fail(f"the cluster CA key is not in {pki} (not a hack/localcluster.py plane)")
    host = free_loopback_address()
    emulator = start_emulator(
        proxymux=ProxymuxConfig(
            host=host,
            ca_cert=pki / "ca.crt",
            ca_key=pki / "ca.key",
            kubeconfig=cluster.kubeconfig,
            session_seconds=SESSION_SECONDS,
        )
    )
    try:
        yield Setup(kube, emulator, host, pki, tmp_path)
    finally:
        kube.operators.stop_all()  # before their emulator goes
        emulator.stop()


def _wait_reason(setup: Setup, job: str, reason: str) -> dict[str, str]:
    """The job's Synced condition (where failures are reported) once it says ``reason``."""
    return setup.kube.wait_reason("dsjob", job, "Synced", reason=reason)


def test_a_run_succeeds_signed_only_with_refreshed_session_tokens(setup: Setup) -> None:
    setup.grant()
    operator = setup.operator(setup.token_file())
    started = time.monotonic()
    setup.apply_job("wi", LONG_SCRIPT)
    status = setup.kube.wait("dsjobrun/wi-run", timeout=180)
    elapsed = time.monotonic() - started
    operator.stop()  # no exchange after the elapsed time is measured
    assert status["lifecycleState"] == "SUCCEEDED"
    counters = setup.emulator.requests(limit=0)["counters"]
    exchanges = counters[EXCHANGE]
    calls = {op: c for op, c in counters.items() if op != EXCHANGE}
    total_calls = sum(c["total"] for c in calls.values())
    # No API key is registered: every call that succeeded carried a session token the
    # emulator verified; none was refused, because the token is renewed before expiry.
    # (HeadJobArtifact's 404 is the operator asking whether the artifact is there yet.)
    refused = {op for op, c in calls.items() if "401" in c or "403" in c}
    refused |= {op for op, c in calls.items() if "404" in c and op != "HeadJobArtifact"}
    assert not refused, calls
    assert exchanges.get("200") == exchanges["total"], exchanges
    # Refreshed, not exchanged per call: at least one renewal in a run spanning several
    # token lifetimes, and never more than one per half lifetime (+ the first).
    assert exchanges["total"] >= 2, (exchanges, elapsed)
    assert exchanges["total"] <= 2 + elapsed / (SESSION_SECONDS / 2), (exchanges, elapsed)
    assert total_calls > 3 * exchanges["total"], (total_calls, exchanges)
    print(  # the figure the issue asks for, in the test's output
        f"workload identity: {exchanges['total']} exchanges, {total_calls} OCI calls over"
        f" {elapsed:.0f} s with {SESSION_SECONDS} s session tokens"
    )


def test_a_service_account_without_policy_is_not_authorized_and_retried_slowly(
    setup: Setup,
) -> None:
    operator = setup.operator(setup.token_file())
    setup.apply_job("wi")
    condition = _wait_reason(setup, "wi", "NotAuthorizedOrNotFound")
    assert f"workload {setup.namespace}/{ACCOUNT}" in condition["message"]
    assert COMPARTMENT in condition["message"]
    assert "IAM policies" in condition["message"]
    first = setup.count("CreateJob", "404")
    # The exchange itself succeeded (IAM is evaluated per call, as in OCI) ...
    assert setup.count(EXCHANGE, "200") >= 1
    # ... and once the policy grants the compartment, the next retry creates the job.
    setup.grant()
    setup.wait_ready("wi")
    assert operator.process is not None
    assert operator.process.poll() is None
    # Slow retries (ADS_OPERATOR_AUTH_RETRY_DELAY=5 s here), not a hot loop.
    assert setup.count("CreateJob", "404") <= first + 3


def _expired(token: str, pki: Path) -> str:
    """The same token re-signed by the cluster's ServiceAccount key with ``exp`` passed,
    as a projected token the kubelet stopped renewing looks."""
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = claims["nbf"] = claims["iat"] = int(time.time()) - 3600
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    key = serialization.load_pem_private_key((pki / "sa.key").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_an_expired_service_account_token_is_a_readable_condition(setup: Setup) -> None:
    setup.grant()
    token_file = setup.token_file()
    token_file.write_text(_expired(token_file.read_text().strip(), setup.pki))
    setup.operator(token_file)
    setup.apply_job("wi")
    condition = _wait_reason(setup, "wi", "NotAuthorized")
    assert "ServiceAccount token" in condition["message"]
    assert "expired at" in condition["message"]
    assert setup.count(EXCHANGE) == 0  # refused before anything is sent
    # A renewed token (as the kubelet writes it) is picked up by the next retry.
    setup.token_file(create=False)
    setup.wait_ready("wi")


def test_a_token_the_apiserver_rejects_is_a_denied_exchange(setup: Setup) -> None:
    setup.grant()
    token_file = setup.token_file()
    setup.cluster.kubectl("delete", "serviceaccount", ACCOUNT, "-n", setup.namespace)
    operator = setup.operator(token_file)
    setup.apply_job("wi")
    condition = _wait_reason(setup, "wi", "NotAuthorized")
    assert "refused the ServiceAccount token (HTTP 401)" in condition["message"]
    denied = setup.count(EXCHANGE, "401")
    assert denied >= 1
    assert setup.count("CreateJob") == 0
    setup.kube.wait_until(
        lambda: setup.count(EXCHANGE, "401") > denied, "a slow retry of the exchange"
    )
    assert operator.process is not None
    assert operator.process.poll() is None
    # ADS_OPERATOR_AUTH_RETRY_DELAY=5 s: a retry every few seconds, not a hot loop.
    assert setup.count(EXCHANGE, "401") <= denied + 3


def test_a_proxymux_that_is_down_is_retried_with_backoff_until_it_answers(
    setup: Setup,
) -> None:
    setup.grant()
    assert setup.emulator.server is not None
    proxymux = setup.emulator.server.emu.proxymux
    assert proxymux is not None
    setup.emulator.server.run(proxymux.stop())
    operator = setup.operator(setup.token_file())
    setup.apply_job("wi")
    condition = _wait_reason(setup, "wi", "OciUnavailable")
    assert f"proxymux at https://{setup.host}:{PROXYMUX_PORT}" in condition["message"]
    assert "unreachable" in condition["message"]
    assert operator.process is not None
    assert operator.process.poll() is None
    setup.emulator.server.run(proxymux.start(setup.emulator.server.emu.request_log))
    setup.wait_ready("wi", timeout=90)  # once the proxymux answers
    assert setup.count(EXCHANGE, "200") == 1
