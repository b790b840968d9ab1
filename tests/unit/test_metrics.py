"""The operator's metrics: names and labels as documented, a run counted once, and the
OCI port and rate limiter recording into them."""

from __future__ import annotations

import asyncio
import urllib.request
from typing import Any

from ads_operator import metrics
from ads_operator.oci.ratelimit import TokenBucket


def value(name: str, labels: dict[str, str] | None = None) -> float:
    found = metrics.REGISTRY.get_sample_value(name, labels or {})
    return 0.0 if found is None else found


def test_runs_by_phase_count_each_run_once_and_forget_deleted_ones() -> None:
    for _ in range(3):
        metrics.record_run("uid-a", "m-ns", {"phase": "Running"})
    metrics.record_run("uid-b", "m-ns", {"phase": "Succeeded"})
    assert value("ads_operator_runs", {"namespace": "m-ns", "phase": "Running"}) == 1
    assert value("ads_operator_runs", {"namespace": "m-ns", "phase": "Succeeded"}) == 1
    # every phase has a series once the namespace has a run
    assert (
        metrics.REGISTRY.get_sample_value(
            "ads_operator_runs", {"namespace": "m-ns", "phase": "Canceled"}
        )
        == 0
    )
    metrics.forget_run("uid-a")
    metrics.forget_run("uid-b")
    assert (
        metrics.REGISTRY.get_sample_value(
            "ads_operator_runs", {"namespace": "m-ns", "phase": "Running"}
        )
        is None
    )


def test_a_duration_is_observed_only_when_a_run_is_seen_finishing() -> None:
    labels = {"phase": "Failed"}
    before = value("ads_operator_run_duration_seconds_count", labels)
    total = value("ads_operator_run_duration_seconds_sum", labels)
    done = {
        "phase": "Failed",
        "timeStarted": "2026-11-26T09:00:00.000000Z",
        "timeFinished": "2026-11-26T09:01:30.000000Z",
    }
    metrics.record_run("uid-restarted", "m-ns", done)  # first sight is terminal: not counted
    metrics.record_run("uid-c", "m-ns", {"phase": "Running"})
    metrics.record_run("uid-c", "m-ns", done)
    metrics.record_run("uid-c", "m-ns", done)  # a repeated patch is not a second finish
    assert value("ads_operator_run_duration_seconds_count", labels) == before + 1
    assert value("ads_operator_run_duration_seconds_sum", labels) == total + 90
    metrics.forget_run("uid-c")
    metrics.forget_run("uid-restarted")


def test_oci_calls_are_counted_by_operation_and_code() -> None:
    ok = {"operation": "GetJobRun", "code": "200"}
    err = {"operation": "GetJobRun", "status": "429", "code": "TooManyRequests"}
    n_ok, n_err = (
        value("ads_operator_oci_requests_total", ok),
        value("ads_operator_oci_errors_total", err),
    )
    metrics.oci_call("GetJobRun", status=200, code=None, ok=True)
    metrics.oci_call("GetJobRun", status=429, code="TooManyRequests", ok=False)
    assert value("ads_operator_oci_requests_total", ok) == n_ok + 1
    assert value("ads_operator_oci_errors_total", err) == n_err + 1
    metrics.oci_call("GetJobRun", status=None, code=None, ok=False)
    assert value("ads_operator_oci_errors_total", {**err, "status": "network", "code": ""}) >= 1


async def test_rate_limiter_waits_are_counted() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=1000.0, burst=1, clock=lambda: now[0])
    waits = value("ads_operator_oci_rate_limit_waits_total")
    await bucket.acquire()  # the saved-up token: no wait
    assert value("ads_operator_oci_rate_limit_waits_total") == waits

    async def tick() -> None:
        while True:
            await asyncio.sleep(0)
            now[0] += 0.001

    ticker = asyncio.create_task(tick())
    try:
        await asyncio.wait_for(bucket.acquire(), timeout=5)
    finally:
        ticker.cancel()
    assert value("ads_operator_oci_rate_limit_waits_total") == waits + 1
    assert value("ads_operator_oci_rate_limit_wait_seconds_total") > 0


def test_log_lines_and_reconcile_errors() -> None:
    mirrored = value("ads_operator_log_lines_mirrored_total")
    dropped = value("ads_operator_log_lines_dropped_total")
    metrics.log_lines(mirrored=metrics.lines_in(["a\nb", "c"]), dropped=4)
    assert value("ads_operator_log_lines_mirrored_total") == mirrored + 3
    assert value("ads_operator_log_lines_dropped_total") == dropped + 4
    labels = {"kind": "DataScienceJob", "reason": "InvalidSpec"}
    errors = value("ads_operator_reconcile_errors_total", labels)
    metrics.reconcile_error("DataScienceJob", "InvalidSpec")
    assert value("ads_operator_reconcile_errors_total", labels) == errors + 1


def test_the_endpoint_serves_the_text_format() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    metrics.serve(port, "127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        body: Any = resp.read().decode()
    assert "# TYPE ads_operator_oci_requests_total counter" in body
    assert "# TYPE ads_operator_run_duration_seconds histogram" in body
    assert "ads_operator_log_lines_mirrored_total" in body


def test_the_status_lag_is_observed_for_patches_that_show_a_start_or_a_finish() -> None:
    from datetime import UTC, datetime, timedelta

    def ago(seconds: float) -> str:
        return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()

    count = "ads_operator_status_lag_seconds_count"
    started, finished = {"change": "started"}, {"change": "finished"}
    before = value(count, started), value(count, finished)
    lag_sum = value("ads_operator_status_lag_seconds_sum", started)
    status = {"lifecycleState": "IN_PROGRESS", "timeStarted": ago(7)}
    metrics.state_written({"lifecycleState": "IN_PROGRESS"}, status)
    metrics.state_written({"logCursor": {}}, status)  # no state in the patch: not counted
    assert value(count, started) == before[0] + 1
    observed = value("ads_operator_status_lag_seconds_sum", started) - lag_sum
    assert 7 <= observed < 60  # started 7 s ago
    status = {**status, "lifecycleState": "SUCCEEDED", "timeFinished": ago(3)}
    metrics.state_written({"lifecycleState": "SUCCEEDED"}, status)
    assert value(count, finished) == before[1] + 1
    metrics.state_written({"lifecycleState": "CANCELING"}, status)  # neither change
    assert (value(count, started), value(count, finished)) == (before[0] + 1, before[1] + 1)
