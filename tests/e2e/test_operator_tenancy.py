"""Namespaces are tenants: a resource uses Secrets and jobs of its own namespace only, and
per-resource credentials (authSecretRef) work."""

from __future__ import annotations

import base64
import uuid

from oci_emulator.testing import ApiKey
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import OperatorFactory
from tests.fixtures.resources import COMPARTMENT, Kube, run_of_ocid, scripted_job


def test_a_namespace_cannot_use_another_namespaces_secret_or_job(
    kube: Kube,
    operator_with: OperatorFactory,
    emulator_api_key: ApiKey,
    log_group: str,
    oci_clients: OciClients,
) -> None:
    namespace = kube.namespace
    other = Kube(kube.cluster, f"t-{uuid.uuid4().hex[:8]}", kube.operators)
    kube.cluster.kubectl("create", "namespace", other.namespace)
    operator = operator_with(namespaces=(namespace, other.namespace))
    other.kubectl(
        "create", "secret", "generic", "oci-creds",
        f"--from-file=config={emulator_api_key.config_file}",
        f"--from-file=key={emulator_api_key.key_file}",
    )  # fmt: skip
    secret_ref = {"authSecretRef": {"name": "oci-creds"}}
    hello = "print('hi')\n"
    other.apply(*scripted_job("owned", hello, log_group=log_group, extra_spec=secret_ref))
    # The owner namespace's job works with its own Secret ...
    owned_ocid = str(other.wait("dsjob/owned", "Ready", timeout=60)["ocid"])

    # ... the same Secret name from another namespace is simply not there.
    kube.apply(*scripted_job("borrow", hello, log_group=log_group, extra_spec=secret_ref))
    synced = kube.wait_reason("dsjob", "borrow", "Synced", status="False")  # refused
    assert synced["reason"] == "NotAuthorized"
    assert f"not found in namespace '{namespace}'" in synced["message"]
    assert "BEGIN" not in str(kube.events("borrow"))
    assert "ocid" not in kube.status("dsjob", "borrow")

    # A run may not use the other namespace's OCI job by OCID either.
    kube.apply(run_of_ocid("steal", owned_ocid))
    cond = kube.wait_reason("dsjobrun", "steal", "Terminal", status="True")  # refused
    assert cond["reason"] == "JobOfOtherNamespace"
    assert other.namespace in cond["message"]
    runs = oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=owned_ocid).data
    assert runs == []
    # The operator ran with --verbose and read the Secret: no key material in its log.
    pem = emulator_api_key.key_file.read_bytes()
    logged = operator.log_file.read_text(errors="replace")
    assert pem.decode().splitlines()[1] not in logged
    assert base64.b64encode(pem).decode()[40:100] not in logged  # as in a Secret's JSON
