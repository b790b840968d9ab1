"""A fixed Secret is noticed within seconds, not after AUTH_RETRY_DELAY: the operator
reads the Secret a failing resource names (no OCI call) and retries once it appears."""

from __future__ import annotations

import pytest

from oci_emulator.testing import ApiKey
from tests.fixtures.operator import OperatorFactory, OperatorProcess
from tests.fixtures.resources import Kube, job_run, scripted_job

#: Far longer than the test waits: only noticing the Secret can make it pass.
AUTH_RETRY_DELAY = "900"


@pytest.fixture
def patient(operator_with: OperatorFactory) -> OperatorProcess:
    return operator_with(ADS_OPERATOR_AUTH_RETRY_DELAY=AUTH_RETRY_DELAY)


def test_creating_the_missing_secret_retries_the_job_and_its_run_at_once(
    kube: Kube, patient: OperatorProcess, emulator_api_key: ApiKey, log_group: str
) -> None:
    ref = {"authSecretRef": {"name": "late-creds"}}
    kube.apply(
        *scripted_job("late", "print('hi')\n", log_group=log_group, extra_spec=ref),
        job_run("late-run", "late", **ref),
    )
    synced = kube.wait_reason("dsjob", "late", "Synced", reason="NotAuthorized")
    message = f"not found in namespace '{kube.namespace}'. Check the credentials"
    assert message in synced["message"]
    kube.wait_reason("dsjobrun", "late-run", "Synced", reason="NotAuthorized")
    kube.kubectl(
        "create", "secret", "generic", "late-creds",
        f"--from-file=config={emulator_api_key.config_file}",
        f"--from-file=key={emulator_api_key.key_file}",
    )  # fmt: skip
    for ref_, condition in (("dsjob/late", "Ready"), ("dsjobrun/late-run", "Succeeded")):
        kube.wait(ref_, condition, timeout=90)
    # One report per failed attempt, and the Secret was missing only once for each.
    for name in ("late", "late-run"):
        reasons = kube.reasons(name)
        assert reasons.count("NotAuthorized") == 1, reasons
