"""The operator's /metrics, scraped while and after it takes runs through the emulator;
and the progress marker as status and printer column (examples/policy-progress.yaml)."""

from __future__ import annotations

import re
import urllib.request
from typing import Any

import pytest
import yaml

from tests.fixtures.operator import REPO, OperatorFactory, OperatorProcess, _free_port
from tests.fixtures.resources import Kube, job_run, run_of_ocid, scripted_job

FAILS = "import sys\nprint('about to fail')\nsys.exit(3)\n"
PROGRESS_EXAMPLE = REPO / "examples" / "policy-progress.yaml"


@pytest.fixture
def metered(operator_with: OperatorFactory) -> OperatorProcess:
    """The operator with /metrics on a loopback port."""
    return operator_with(
        ADS_OPERATOR_METRICS_PORT=str(_free_port()), ADS_OPERATOR_METRICS_ADDRESS="127.0.0.1"
    )


def scrape(op: OperatorProcess) -> dict[str, float]:
    """``{'name{labels}': value}`` from the text format."""
    url = f"http://127.0.0.1:{op.env['ADS_OPERATOR_METRICS_PORT']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def sample(samples: dict[str, float], name: str, **labels: str) -> float:
    """The sum of ``name``'s series whose labels include ``labels``."""
    total = 0.0
    for key, value in samples.items():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})?", key)
        if not match or match.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += value
    return total


def test_metrics_count_runs_oci_calls_durations_and_log_lines(
    kube: Kube, metered: OperatorProcess, log_group: str
) -> None:
    namespace = kube.namespace
    before = scrape(metered)
    assert sample(before, "ads_operator_oci_requests_total", operation="CreateJobRun") == 0
    kube.apply(*scripted_job("fails", FAILS, log_group=log_group), job_run("fails-run", "fails"))
    kube.wait("dsjobrun/fails-run", "Failed")

    def settled() -> dict[str, float] | None:
        samples = scrape(metered)
        done = sample(samples, "ads_operator_runs", namespace=namespace, phase="Failed") == 1
        mirrored = sample(samples, "ads_operator_log_lines_mirrored_total") >= 1
        return samples if done and mirrored else None

    after = kube.wait_until(settled, "metrics of the failed run", timeout=30)
    assert sample(after, "ads_operator_runs", namespace=namespace, phase="Running") == 0
    created = sample(after, "ads_operator_oci_requests_total", operation="CreateJobRun", code="200")
    assert created == 1
    assert sample(after, "ads_operator_oci_requests_total", operation="CreateJob", code="200") == 1
    assert sample(after, "ads_operator_run_duration_seconds_count", phase="Failed") == 1
    assert sample(after, "ads_operator_status_lag_seconds_count", change="finished") == 1
    assert sample(after, "ads_operator_log_lines_dropped_total") == 0
    # A run waiting for a job that does not exist is Pending; one naming an OCI job that
    # does not exist is an OCI error (404) and a reconcile error with that reason.
    ghost = run_of_ocid("ghost-run", "ocid1.datasciencejob.oc1.iad.aaaaaaaanosuchjob")
    kube.apply(job_run("orphan-run", "no-such-job"), ghost)

    def pending_and_errors() -> dict[str, float] | None:
        samples = scrape(metered)
        waiting = sample(samples, "ads_operator_runs", namespace=namespace, phase="Pending")
        refused = sample(samples, "ads_operator_oci_errors_total", operation="GetJob", status="404")
        errors = sample(
            samples,
            "ads_operator_reconcile_errors_total",
            kind="DataScienceJobRun",
            reason="NotAuthorizedOrNotFound",
        )
        return samples if waiting == 1 and refused >= 1 and errors >= 1 else None

    kube.wait_until(pending_and_errors, "Pending and error metrics", timeout=30)
    kube.kubectl("delete", "dsjobrun/orphan-run", "dsjobrun/fails-run", "dsjobrun/ghost-run")

    def forgotten() -> bool:
        samples = scrape(metered)
        return sample(samples, "ads_operator_runs", namespace=namespace) == 0

    kube.wait_until(forgotten, "deleted runs to leave the runs gauge", timeout=30)


def _example(log_group: str) -> list[dict[str, Any]]:
    """The example as a user applies it, with this environment's log group (progress is
    read from the run's log)."""
    docs = [d for d in yaml.safe_load_all(PROGRESS_EXAMPLE.read_text()) if d]
    for doc in docs:
        if doc["kind"] == "DataScienceJob":
            doc["spec"]["infrastructure"]["spec"]["logGroupId"] = log_group
    return docs


def test_progress_marker_reaches_status_and_the_printer_column(
    kube: Kube, metered: OperatorProcess, log_group: str
) -> None:
    kube.apply(*_example(log_group))
    run = next(d for d in _example(log_group) if d["kind"] == "DataScienceJobRun")
    name = run["metadata"]["name"]

    def halfway() -> dict[str, object] | None:
        status = kube.status("dsjobrun", name)
        return status if status.get("phase") == "Running" and status.get("progress") else None

    seen = kube.wait_until(halfway, "progress while running", timeout=120)
    assert re.fullmatch(r"[1-5]/5", str(seen["progress"])), seen["progress"]
    kube.wait(f"dsjobrun/{name}")

    def complete() -> dict[str, object] | None:
        status = kube.status("dsjobrun", name)
        return status if status.get("progress") == "5/5" else None

    status = kube.wait_until(complete, "the last progress marker", timeout=30)
    assert status["progressPercent"] == 100
    table = kube.kubectl("get", "dsjobrun", name).stdout
    header, row = table.splitlines()[:2]
    assert "PROGRESS" in header.split()
    assert row.split()[header.split().index("PROGRESS")] == "5/5"
