"""Credentials under attack: per-resource Secrets (one with a passphrase-protected key),
a key the emulator does not know, a Secret that exists only in another namespace, and
hand-made unsigned, wrongly signed, tampered and stale requests.

What must hold:

* the emulator refuses every request that is not properly signed (401 NotAuthenticated);
* the operator reports a refused key clearly (``Synced=False``, reason ``NotAuthorized``,
  the service's 401 in the message) and a Secret of another namespace as not found in
  the resource's own namespace — it never reads or uses it (no request of that key's
  tenancy reaches the emulator);
* no secret material — private key text, the passphrase, Authorization header values —
  appears in Events, in any status, in the operator's log (run with ``--verbose``) or in
  the emulator's log (run at DEBUG). Key fingerprints are allowed.
"""

from __future__ import annotations

import base64
import email.utils
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import oci
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from oci_emulator.auth import fingerprint_of
from tests.chaos.conftest import EMULATOR_ARGS, Chaos
from tests.chaos.emulator_process import ChaosEmulator
from tests.chaos.workload import (
    apply_all,
    code_configmap,
    condition,
    items,
    run_manifest,
    wait_settled,
)
from tests.fixtures.cluster import Cluster
from tests.fixtures.waiting import wait_for

REGION = "us-ashburn-1"
PASSPHRASE = "correct-horse-battery-" + uuid.uuid4().hex
#: Authorization header values as the SDK writes them (the header *name* may be quoted).
HEADER_NEEDLES = ('algorithm="rsa-sha256"', 'signature="', "Signature version=")


@dataclass(frozen=True)
class Principal:
    tenancy: str
    user: str
    fingerprint: str
    private_pem: str
    public_pem: str
    passphrase: str | None = None

    def secret_data(self) -> dict[str, str]:
        config = (
            f"[DEFAULT]\nuser={self.user}\nfingerprint={self.fingerprint}\n"
            f"tenancy={self.tenancy}\nregion={REGION}\n"
        )
        data = {"config": config, "key": self.private_pem}
        if self.passphrase:
            data["passphrase"] = self.passphrase
        return data

    def sdk_config(self, key_file: Path) -> dict[str, str]:
        key_file.write_text(self.private_pem)
        config = {
            "tenancy": self.tenancy,
            "user": self.user,
            "fingerprint": self.fingerprint,
            "region": REGION,
            "key_file": str(key_file),
        }
        if self.passphrase:
            config["pass_phrase"] = self.passphrase
        return config

    def key_chunks(self) -> list[str]:
        """Distinctive pieces of the private key's text: any of them in a log is a leak."""
        body = [line for line in self.private_pem.splitlines() if not line.startswith("-----")]
        return [line for line in body if len(line) >= 32][1:6]


def principal(name: str, passphrase: str | None = None) -> Principal:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return Principal(
        tenancy=f"ocid1.tenancy.oc1..aaaaaaaa{name}",
        user=f"ocid1.user.oc1..aaaaaaaa{name}",
        fingerprint=fingerprint_of(key.public_key()),
        private_pem=private_pem,
        public_pem=public_pem,
        passphrase=passphrase,
    )


def register(emulator: ChaosEmulator, who: Principal) -> None:
    emulator.admin(
        "POST",
        "keys",
        {"publicKeyPem": who.public_pem, "tenancy": who.tenancy, "user": who.user},
    )


def secret(name: str, who: Principal) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in who.secret_data().items()},
    }


def raw_status(request: requests.PreparedRequest) -> tuple[int, str]:
    with requests.Session() as session:
        response = session.send(request, timeout=30)
    payload = response.json()
    return response.status_code, str(payload.get("code") if isinstance(payload, dict) else "")


def test_hand_made_requests_without_a_valid_signature_are_refused(
    chaos_emulator: ChaosEmulator, tmp_path: Path
) -> None:
    tenant = principal("sectenant", PASSPHRASE)
    rogue = principal("secrogue")
    register(chaos_emulator, tenant)
    url = f"{chaos_emulator.endpoint}/20190101/jobs?compartmentId=ocid1.compartment.oc1..aaaaaaaax"
    body = json.dumps({"compartmentId": "ocid1.compartment.oc1..aaaaaaaax"})
    create = f"{chaos_emulator.endpoint}/20190101/jobs"

    def signed(
        who: Principal, method: str, target: str, data: str | None, date: str | None = None
    ) -> requests.PreparedRequest:
        config = who.sdk_config(tmp_path / f"{who.fingerprint.replace(':', '')}.pem")
        signer = oci.signer.Signer(
            config["tenancy"],
            config["user"],
            config["fingerprint"],
            config["key_file"],
            pass_phrase=config.get("pass_phrase"),
        )
        headers = {"content-type": "application/json"} if data is not None else {}
        if date:
            headers["date"] = date  # the signer keeps a date it is given, and signs it
        prepared = requests.Request(method, target, data=data, headers=headers).prepare()
        signed_request: requests.PreparedRequest = signer(prepared)
        return signed_request

    refusals = {}
    refusals["unsigned"] = raw_status(requests.Request("GET", url).prepare())
    refusals["unknown key"] = raw_status(signed(rogue, "GET", url, None))
    tampered = signed(tenant, "POST", create, body)
    tampered.body = body.replace("aaaaaaaax", "aaaaaaaay")
    refusals["tampered body"] = raw_status(tampered)
    old = email.utils.formatdate(time.time() - 900, usegmt=True)
    refusals["signed 15 minutes ago"] = raw_status(signed(tenant, "GET", url, None, date=old))
    moved = signed(tenant, "GET", url, None)
    moved.headers["date"] = old
    refusals["date changed after signing"] = raw_status(moved)
    assert raw_status(signed(tenant, "GET", url, None))[0] == 200  # the control: it works
    assert all(r == (401, "NotAuthenticated") for r in refusals.values()), refusals


def test_credentials_stay_secret_and_in_their_namespace(chaos: Chaos) -> None:
    cluster, namespace = chaos.cluster, chaos.namespace
    chaos.emulator.extra_args = (*EMULATOR_ARGS, "--log-level", "DEBUG")
    chaos.emulator.restart()
    tenant = principal("sectenant", PASSPHRASE)
    rogue = principal("secrogue")
    foreign = principal("secforeign")
    for known in (tenant, foreign):
        register(chaos.emulator, known)
    other = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", other)
    apply_all(cluster, other, [secret("foreign-creds", foreign)])
    operator = chaos.start_operator(namespace, other)

    def with_secret(name: str, secret_name: str) -> dict[str, object]:
        job = chaos.job(name)
        job["spec"]["authSecretRef"] = {"name": secret_name}
        return job

    apply_all(
        cluster,
        namespace,
        [
            code_configmap(),
            secret("tenant-creds", tenant),
            secret("rogue-creds", rogue),
            with_secret("tenant", "tenant-creds"),
            with_secret("rogue", "rogue-creds"),
            with_secret("borrow", "foreign-creds"),
            run_manifest("tenant-run", "tenant", seconds=1.0, exit_code=0),
        ],
    )
    runs = wait_settled(cluster, namespace, ["tenant-run"], timeout=90, log=lambda: operator.log)
    assert runs["tenant-run"]["status"]["phase"] == "Succeeded"

    def refused(name: str, *needles: str) -> dict[str, str]:
        synced = condition(items(cluster, namespace, "dsjob")[name], "Synced")
        text = synced.get("message", "")
        if synced.get("status") != "False" or not all(n in text for n in needles):
            raise AssertionError(synced)
        return synced

    rogue_synced = wait_for(
        lambda: refused("rogue", "401", "NotAuthenticated"),
        timeout=60,
        what="the unknown key to be reported",
    )
    assert rogue_synced["reason"] == "NotAuthorized"
    wait_for(
        lambda: refused("borrow", "foreign-creds", f"not found in namespace {namespace!r}"),
        timeout=60,
        what="the other namespace's Secret to be reported as missing here",
    )
    seen = {e.get("tenancy") for e in chaos.emulator.all_requests()}
    assert foreign.tenancy not in seen, "a Secret of another namespace was used"
    assert tenant.tenancy in seen, "the resource's own Secret was not used"

    leaks = scan_for_secrets(cluster, [namespace, other], operator.log_file, chaos.emulator)
    needles = [PASSPHRASE, "PRIVATE KEY", *HEADER_NEEDLES]
    for who in (tenant, rogue, foreign):
        needles += who.key_chunks()
    found = {n[:24]: where for n in needles for where, text in leaks.items() if n in text}
    assert not found, f"secret material found: {found}"


def scan_for_secrets(
    cluster: Cluster, namespaces: list[str], operator_log: Path, emulator: ChaosEmulator
) -> dict[str, str]:
    """The texts a user or an admin can read: Events, statuses, both logs."""
    texts = {
        "operator log": operator_log.read_text(errors="replace"),
        "emulator log": emulator.log_file.read_text(errors="replace"),
    }
    for ns in namespaces:
        texts[f"events in {ns}"] = cluster.kubectl("get", "events", "-n", ns, "-o", "json").stdout
        for kind in ("dsjob", "dsjobrun"):
            statuses = [r.get("status") for r in items(cluster, ns, kind).values()]
            texts[f"{kind} status in {ns}"] = json.dumps(statuses)
    assert len(texts["operator log"]) > 10_000, "the operator log is too short to mean much"
    return texts


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback only: never route the hand-made requests through a proxy."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
