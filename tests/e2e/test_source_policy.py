"""Sources are not a proxy (issue 22): through the real operator and the emulator.

- By default an ``https://`` source on a loopback address is refused: the job is Terminal
  (SourceRefused, naming the field and the rule), no OCI job is created and the server
  never sees a request.
- With ``ADS_OPERATOR_SOURCE_ALLOWED_NETWORKS`` naming one loopback address, a source there
  is fetched whole (also through a redirect on the same host), while a redirect to another
  loopback address or to plain http is refused, that address never asked.
- The cluster's Service networks, learned from its ServiceCIDRs, are refused even where
  the allowed networks cover them, unless an allowed network lies inside one.
- An ``oci://`` source of a resource naming its own Secret is read with that Secret's
  identity: every Object Storage call for it is signed by the Secret's tenancy.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from oci_emulator.testing import EmulatorHandle, generate_api_key
from tests.fixtures.emulator import OciClients, request_count
from tests.fixtures.https_server import Answer, Ca, CountingServer, make_ca
from tests.fixtures.operator import OperatorFactory, OperatorProcess
from tests.fixtures.resources import COMPARTMENT, Kube, script_job

CODE = b"print('fetched over https')\n"
#: 4 MB: more than aiohttp buffers at once (the reader once kept only the first ~128 KB).
LARGE = CODE + b"# padding\n" * 400_000


def _job(name: str, uri: str, **options: Any) -> dict[str, Any]:
    job = script_job(name, script="unused.py", log_group=None, **options)
    job["spec"]["runtime"]["spec"]["scriptPathURI"] = uri
    return job


@pytest.fixture
def ca(tmp_path: Path) -> Ca:
    return make_ca(tmp_path)


@pytest.fixture
def servers(ca: Ca, tmp_path: Path) -> Iterator[tuple[CountingServer, CountingServer]]:
    """Two HTTPS servers on two loopback addresses picked for this test."""
    net = f"127.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250}"
    first = CountingServer(f"{net}.1", {}).start(ca, tmp_path)
    second = CountingServer(f"{net}.2", {}).start(ca, tmp_path)
    yield first, second
    first.stop()
    second.stop()


def _refusal(kube: Kube, name: str) -> str:
    terminal = kube.wait_reason("dsjob", name, "Terminal", status="True", reason="SourceRefused")
    assert "ocid" not in kube.status("dsjob", name)
    return str(terminal["message"])


def test_the_default_refuses_a_loopback_source_without_fetching_it(
    kube: Kube,
    operator: OperatorProcess,
    emulator: EmulatorHandle,
    servers: tuple[CountingServer, CountingServer],
) -> None:
    server, _ = servers
    server.routes["/train.py"] = Answer(body=CODE)
    creates = request_count(emulator, "CreateJob")
    kube.apply(
        _job("loopback", server.url("/train.py")),
        _job("in-cluster", "https://code.tools.svc.cluster.local/train.py"),
        _job("metadata", "https://169.254.169.254/opc/v2/instance/"),
    )
    message = _refusal(kube, "loopback")
    assert message.startswith("spec.runtime.spec.scriptPathURI: "), message
    assert f"{server.address} is loopback" in message, message
    assert "source_allowed_networks" in message, message  # how an admin would open it
    assert "*.cluster.local" in _refusal(kube, "in-cluster")
    assert "169.254.169.254 is link-local" in _refusal(kube, "metadata")
    assert request_count(emulator, "CreateJob") == creates
    assert server.total == 0


def test_an_allowed_address_is_fetched_and_every_redirect_is_checked(
    kube: Kube,
    operator_with: OperatorFactory,
    emulator: EmulatorHandle,
    oci_clients: OciClients,
    ca: Ca,
    servers: tuple[CountingServer, CountingServer],
) -> None:
    allowed, other = servers
    other.routes["/train.py"] = Answer(body=CODE)
    allowed.routes.update(
        {
            "/train.py": Answer(body=LARGE),
            "/moved.py": Answer(302, headers=(("Location", "/train.py"),)),
            "/elsewhere.py": Answer(302, headers=(("Location", other.url("/train.py")),)),
            "/plain.py": Answer(
                301, headers=(("Location", allowed.url("/train.py").replace("https", "http")),)
            ),
        }
    )
    operator_with(
        ADS_OPERATOR_SOURCE_ALLOWED_NETWORKS=f"{allowed.address}/32",
        SSL_CERT_FILE=str(ca.cert_file),  # the operator trusts the test CA
    )
    creates = request_count(emulator, "CreateJob")
    kube.apply(
        _job("direct", allowed.url("/train.py")),
        _job("moved", allowed.url("/moved.py")),
        _job("elsewhere", allowed.url("/elsewhere.py")),
        _job("plain", allowed.url("/plain.py")),
    )
    for name in ("direct", "moved"):
        ocid = str(kube.wait(f"dsjob/{name}", "Ready")["ocid"])
        artifact = oci_clients.data_science.get_job_artifact_content(ocid).data.content
        assert artifact == LARGE

    elsewhere = _refusal(kube, "elsewhere")
    assert f"host '{other.address}' is not fetched from ({other.address} is loopback)" in (
        elsewhere
    )
    assert "redirects to http://, only https:// is followed" in _refusal(kube, "plain")
    assert other.total == 0
    assert allowed.hits["/train.py"] == 2  # direct, and once after the redirect
    assert request_count(emulator, "CreateJob") - creates == 2


def test_an_oci_source_is_read_with_the_resources_own_secret(
    kube: Kube,
    operator: OperatorProcess,
    emulator: EmulatorHandle,
    oci_clients: OciClients,
    tmp_path: Path,
) -> None:
    tenancy = f"ocid1.tenancy.oc1..aaaaaaaasecret{uuid.uuid4().hex[:12]}"
    key = generate_api_key(tmp_path / "own", tenancy=tenancy)
    emulator.register_key(key)
    kube.kubectl(
        "create", "secret", "generic", "own-creds",
        f"--from-file=config={key.config_file}", f"--from-file=key={key.key_file}",
    )  # fmt: skip
    client = oci_clients.object_storage
    namespace = client.get_namespace().data
    bucket = f"src-{uuid.uuid4().hex[:8]}"
    client.create_bucket(
        namespace,
        oci.object_storage.models.CreateBucketDetails(name=bucket, compartment_id=COMPARTMENT),
    )
    client.put_object(namespace, bucket, "code/train.py", CODE)
    kube.apply(
        _job(
            "own",
            f"oci://{bucket}@{namespace}/code/train.py",
            extra_spec={"authSecretRef": {"name": "own-creds"}},
        )
    )
    ocid = str(kube.wait("dsjob/own", "Ready")["ocid"])
    assert oci_clients.data_science.get_job_artifact_content(ocid).data.content == CODE
    reads = [
        entry
        for entry in emulator.requests(limit=10_000)["entries"]
        if f"/b/{bucket}/o" in entry["path"] and entry["method"] == "GET"
    ]
    assert {entry["operation"] for entry in reads} >= {"ListObjects", "GetObject"}
    assert {entry["tenancy"] for entry in reads} == {tenancy}, reads


def test_a_service_network_the_cluster_names_is_refused_though_allowed(
    kube: Kube,
    operator_with: OperatorFactory,
    emulator: EmulatorHandle,
    ca: Ca,
    servers: tuple[CountingServer, CountingServer],
) -> None:
    """The operator learns the cluster's Service networks from the API server (its
    ServiceCIDRs, networking.k8s.io/v1): one added for this test, on the loopback /24 the
    test's servers listen in, is refused though the allowed networks cover it; a Service
    address named on purpose (an allowed network inside the Service network) is fetched."""
    service, named = servers
    network = ipaddress.ip_network(f"{service.address}/24", strict=False)
    name = f"ads-e2e-{uuid.uuid4().hex[:8]}"
    cidr = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": [str(network)]},
    }
    kube.cluster.kubectl("apply", "-f", "-", input=json.dumps(cidr))
    try:
        service.routes["/train.py"] = Answer(body=CODE)
        named.routes["/train.py"] = Answer(body=CODE)
        operator_with(
            ADS_OPERATOR_SOURCE_ALLOWED_NETWORKS=f"127.0.0.0/8,{named.address}/32",
            SSL_CERT_FILE=str(ca.cert_file),
        )
        creates = request_count(emulator, "CreateJob")
        kube.apply(_job("service", service.url("/train.py")), _job("named", named.url("/train.py")))
        message = _refusal(kube, "service")
        assert f"{service.address} is in the cluster's Service network {network}" in message
        kube.wait("dsjob/named", "Ready")
        assert service.total == 0
        assert named.hits["/train.py"] == 1
        assert request_count(emulator, "CreateJob") - creates == 1
    finally:
        kube.cluster.kubectl("delete", "servicecidr", name, "--ignore-not-found")
