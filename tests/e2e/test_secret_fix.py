"""A fixed Secret is noticed within seconds, not after AUTH_RETRY_DELAY: the operator
reads the Secret a failing resource names (no OCI call) and retries once it appears."""

from __future__ import annotations

import pytest

from oci_emulator.testing import ApiKey
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import (
    OperatorFactory,
    OperatorProcess,
    apply,
    condition_of,
    events_of,
    job_run,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for

#: Far longer than the test waits: only noticing the Secret can make it pass.
AUTH_RETRY_DELAY = "900"


@pytest.fixture
def patient(operator_with: OperatorFactory) -> OperatorProcess:
    return operator_with(ADS_OPERATOR_AUTH_RETRY_DELAY=AUTH_RETRY_DELAY)


def test_creating_the_missing_secret_retries_the_job_and_its_run_at_once(
    cluster: Cluster,
    namespace: str,
    patient: OperatorProcess,
    emulator_api_key: ApiKey,
    log_group: str,
) -> None:
    ref = {"authSecretRef": {"name": "late-creds"}}
    apply(
        cluster,
        namespace,
        script_configmap("late", {"hi.py": "print('hi')\n"}),
        script_job("late", script="hi.py", log_group=log_group, extra_spec=ref),
        job_run("late-run", "late", **ref),
    )

    def refused(kind: str, name: str) -> dict[str, str] | None:
        synced = condition_of(status_of(cluster, namespace, kind, name), "Synced")
        return synced if synced.get("reason") == "NotAuthorized" else None

    synced = wait_for(lambda: refused("dsjob", "late"), timeout=60, what="the job refused")
    assert f"not found in namespace '{namespace}'. Check the credentials" in synced["message"]
    wait_for(lambda: refused("dsjobrun", "late-run"), timeout=60, what="the run refused")
    cluster.kubectl(
        "create", "secret", "generic", "late-creds", "-n", namespace,
        f"--from-file=config={emulator_api_key.config_file}",
        f"--from-file=key={emulator_api_key.key_file}",
    )  # fmt: skip
    for kind, condition in (("dsjob/late", "Ready"), ("dsjobrun/late-run", "Succeeded")):
        waited = cluster.kubectl(
            "wait", "-n", namespace, f"--for=condition={condition}", kind,
            "--timeout=90s", check=False, timeout=120,
        )  # fmt: skip
        assert waited.returncode == 0, f"{kind}: {waited.stderr}\n{patient.log}"
    # One report per failed attempt, and the Secret was missing only once for each.
    for name in ("late", "late-run"):
        reasons = [e["reason"] for e in events_of(cluster, namespace, name)]
        assert reasons.count("NotAuthorized") == 1, reasons
