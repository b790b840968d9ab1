"""Injected faults, rate limits and the request log, seen through the real SDK."""

from __future__ import annotations

from typing import Any

import oci
import pytest

from oci_emulator.faults import Faults
from oci_emulator.testing import EmulatorHandle
from tests.emulator.conftest import JobFactory
from tests.fixtures.emulator import OciClients, make_clients


@pytest.mark.parametrize(
    ("rule", "status", "code"),
    [
        ({"rate429": 1.0, "retryAfter": 7}, 429, "TooManyRequests"),
        ({"rate500": 1.0}, 500, "InternalServerError"),
        ({"rate503": 1.0}, 503, "ServiceUnavailable"),
    ],
)
def test_injected_errors(
    emulator_faults: EmulatorHandle,
    oci_clients: OciClients,
    rule: dict[str, Any],
    status: int,
    code: str,
) -> None:
    emulator_faults.faults({"operations": {"GetNamespace": rule}})
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.object_storage.get_namespace()
    assert (caught.value.status, caught.value.code) == (status, code)
    if status == 429:
        assert caught.value.headers["retry-after"] == "7"
    # Other operations are untouched.
    assert oci_clients.data_science.list_job_shapes(compartment_id="ocid1.compartment.oc1..x")


def test_sdk_retries_through_transient_faults(
    emulator_faults: EmulatorHandle, oci_config: dict[str, str]
) -> None:
    emulator_faults.faults({"operations": {"ListJobShapes": {"failNext": 2, "failStatus": 503}}})
    emulator_faults.reset_requests()
    quick_retry = (
        oci.retry.RetryStrategyBuilder()
        .add_max_attempts(5)
        .add_service_error_check(service_error_retry_on_any_5xx=True)
        .get_retry_strategy()
    )
    quick_retry.base_sleep_time_seconds = 0  # keep the test quick: the emulator is local
    quick_retry.max_sleep_time_seconds = 0.01
    client = make_clients(oci_config, emulator_faults.endpoint).data_science
    shapes = client.list_job_shapes(
        compartment_id="ocid1.compartment.oc1..x", retry_strategy=quick_retry
    ).data
    assert shapes
    counters = emulator_faults.requests()["counters"]["ListJobShapes"]
    assert counters == {"total": 3, "503": 2, "200": 1}


def test_latency_is_added(emulator_faults: EmulatorHandle, oci_clients: OciClients) -> None:
    emulator_faults.faults({"operations": {"GetNamespace": {"latencyMs": 300}}})
    emulator_faults.reset_requests()
    oci_clients.object_storage.get_namespace()
    entry = emulator_faults.requests()["entries"][-1]
    assert entry["operation"] == "GetNamespace"
    assert entry["durationMs"] >= 300


def test_rate_limit_per_family(emulator_faults: EmulatorHandle, oci_clients: OciClients) -> None:
    emulator_faults.faults({"rateLimits": {"read": {"rate": 0.001, "burst": 3}}})
    for _ in range(3):
        oci_clients.object_storage.get_namespace()
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.object_storage.get_namespace()
    assert (caught.value.status, caught.value.code) == (429, "TooManyRequests")
    assert int(caught.value.headers["retry-after"]) >= 1


def test_token_bucket_refills() -> None:
    faults = Faults()
    faults.configure({"rateLimits": {"write": {"rate": 2, "burst": 2}}})
    assert faults.take_token("t", "write", now=100.0) is None
    assert faults.take_token("t", "write", now=100.0) is None
    wait = faults.take_token("t", "write", now=100.0)
    assert wait == pytest.approx(0.5)
    assert faults.take_token("other-tenancy", "write", now=100.0) is None
    assert faults.take_token("t", "write", now=100.6) is None


def test_request_log_counts_operations(
    emulator_faults: EmulatorHandle, oci_clients: OciClients
) -> None:
    emulator_faults.reset_requests()
    oci_clients.object_storage.get_namespace()
    with pytest.raises(oci.exceptions.ServiceError):
        oci_clients.data_science.get_job("ocid1.datasciencejob.oc1..missing")
    log = emulator_faults.requests()
    assert log["counters"]["GetNamespace"] == {"total": 1, "200": 1}
    assert log["counters"]["GetJob"] == {"total": 1, "404": 1}
    assert {e["operation"] for e in log["entries"]} == {"GetNamespace", "GetJob"}
    assert all(e["requestId"] for e in log["entries"])


def test_needs_attention_through_fault_settings(
    emulator_faults: EmulatorHandle,
    oci_clients: OciClients,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
) -> None:
    emulator_faults.faults({"runNeedsAttention": 1.0})
    job = make_job(artifact=("x.py", b"print('never runs')\n"))
    run = wait_run(start_run(job).id, states=("NEEDS_ATTENTION",))
    assert "needs attention" in run.lifecycle_details
    emulator_faults.faults({"runNeedsAttention": 0.0})
    oci_clients.data_science.cancel_job_run(run.id)
    assert wait_run(run.id).lifecycle_state == "CANCELED"
