"""Namespaces are tenants: a resource uses Secrets and jobs of its own namespace only, and
per-resource credentials (authSecretRef) work."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from oci_emulator.testing import ApiKey
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import (
    COMPARTMENT,
    OperatorProcess,
    apply,
    condition_of,
    events_of,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for


def test_a_namespace_cannot_use_another_namespaces_secret_or_job(
    cluster: Cluster,
    namespace: str,
    operator_crds: None,
    operator_env: dict[str, str],
    emulator_api_key: ApiKey,
    log_group: str,
    oci_clients: OciClients,
    tmp_path: Path,
) -> None:
    other = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", other)
    operator = OperatorProcess((namespace, other), dict(operator_env), tmp_path / "op.log")
    operator.start()
    try:
        cluster.kubectl(
            "create",
            "secret",
            "generic",
            "oci-creds",
            "-n",
            other,
            f"--from-file=config={emulator_api_key.config_file}",
            f"--from-file=key={emulator_api_key.key_file}",
        )
        code = {"hi.py": "print('hi')\n"}
        secret_ref = {"authSecretRef": {"name": "oci-creds"}}
        apply(
            cluster,
            other,
            script_configmap("owned", code),
            script_job("owned", script="hi.py", log_group=log_group, extra_spec=secret_ref),
        )
        # The owner namespace's job works with its own Secret ...
        cluster.kubectl(
            "wait", "-n", other, "--for=condition=Ready", "dsjob/owned", "--timeout=60s", timeout=90
        )
        owned_ocid = str(status_of(cluster, other, "dsjob", "owned")["ocid"])

        # ... the same Secret name from another namespace is simply not there.
        apply(
            cluster,
            namespace,
            script_configmap("borrow", code),
            script_job("borrow", script="hi.py", log_group=log_group, extra_spec=secret_ref),
        )

        def refused() -> dict[str, str] | None:
            synced = condition_of(status_of(cluster, namespace, "dsjob", "borrow"), "Synced")
            return synced if synced.get("status") == "False" else None

        synced = wait_for(refused, timeout=60, what="the borrowing job to be refused")
        assert synced["reason"] == "NotAuthorized"
        assert f"not found in namespace '{namespace}'" in synced["message"]
        assert "BEGIN" not in str(events_of(cluster, namespace, "borrow"))
        assert "ocid" not in status_of(cluster, namespace, "dsjob", "borrow")

        # A run may not use the other namespace's OCI job by OCID either.
        apply(
            cluster,
            namespace,
            {
                "apiVersion": "ads.oci.dev/v1alpha1",
                "kind": "DataScienceJobRun",
                "metadata": {"name": "steal"},
                "spec": {"jobId": owned_ocid},
            },
        )

        def terminal() -> dict[str, str] | None:
            cond = condition_of(status_of(cluster, namespace, "dsjobrun", "steal"), "Terminal")
            return cond if cond.get("status") == "True" else None

        cond = wait_for(terminal, timeout=60, what="the run of a foreign job to be refused")
        assert cond["reason"] == "JobOfOtherNamespace"
        assert other in cond["message"]
        runs = oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=owned_ocid).data
        assert runs == []
        # The operator ran with --verbose and read the Secret: no key material in its log.
        pem = emulator_api_key.key_file.read_bytes()
        logged = operator.log_file.read_text(errors="replace")
        assert pem.decode().splitlines()[1] not in logged
        assert base64.b64encode(pem).decode()[40:100] not in logged  # as in a Secret's JSON
    finally:
        operator.stop()
