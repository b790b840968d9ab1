"""Emulator throughput: job runs executed per second and log searches served per second.

Stand-alone (not part of the tests)::

    .venv/bin/python -m bench.emulator_throughput [--runs 300] [--searches 500] [--threads 8]

It starts ``python -m oci_emulator`` as a child process on a free loopback port (auth on,
rate limits off) and drives it through the real oci SDK from a thread pool, so the figures
include request signing, signature verification and SQLite persistence:

- *simulate* runs/s: CreateJobRun until every run is SUCCEEDED, with a zero-length scripted
  timeline (``accepted_seconds=0``): the cost of the API and the lifecycle machinery;
- *execute* runs/s: the same with real execution of a one-line ``.py`` artifact on the host;
- searches/s: SearchLogs (limit 100, the ADS query form) against a log of 10,000 records.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import oci

from oci_emulator.testing import EmulatorProcess, start_emulator_process, write_api_key

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaabenchmark"
PROJECT = "ocid1.datascienceproject.oc1.iad.aaaaaaaabenchmark"
NO_LIMITS = {family: {"rate": 0, "burst": 0} for family in ("read", "write", "search", "upload")}
ds_models = oci.data_science.models


def _clients(config: dict[str, Any], endpoint: str) -> dict[str, Any]:
    kwargs = {
        "service_endpoint": endpoint,
        "retry_strategy": oci.retry.NoneRetryStrategy(),
        "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
    }
    return {
        "ds": oci.data_science.DataScienceClient(config, **kwargs),
        "logging": oci.logging.LoggingManagementClient(config, **kwargs),
        "search": oci.loggingsearch.LogSearchClient(config, **kwargs),
    }


def _until(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)  # polling interval, bounded by the deadline
    raise TimeoutError(what)


def _log_group(clients: dict[str, Any]) -> str:
    response = clients["logging"].create_log_group(
        oci.logging.models.CreateLogGroupDetails(compartment_id=COMPARTMENT, display_name="bench")
    )
    wr_id = response.headers["opc-work-request-id"]
    wr = _until(
        lambda: (w := clients["logging"].get_work_request(wr_id).data).status == "SUCCEEDED" and w,
        30,
        "log group",
    )
    return str(wr.resources[0].identifier)


def _job(clients: dict[str, Any], artifact: bytes, group: str | None = None) -> Any:
    log_config = None
    if group:
        log_config = ds_models.JobLogConfigurationDetails(
            enable_logging=True, enable_auto_log_creation=True, log_group_id=group
        )
    job = (
        clients["ds"]
        .create_job(
            ds_models.CreateJobDetails(
                project_id=PROJECT,
                compartment_id=COMPARTMENT,
                job_configuration_details=ds_models.DefaultJobConfigurationDetails(),
                job_infrastructure_configuration_details=(
                    ds_models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails(
                        shape_name="VM.Standard2.1", block_storage_size_in_gbs=50
                    )
                ),
                job_log_configuration_details=log_config,
            )
        )
        .data
    )
    clients["ds"].create_job_artifact(
        job.id, artifact, content_disposition="attachment; filename=bench.py"
    )
    return job


def runs_per_second(clients: dict[str, Any], count: int, threads: int) -> float:
    job = _job(clients, b"print('bench')\n")
    details = ds_models.CreateJobRunDetails(
        project_id=PROJECT, compartment_id=COMPARTMENT, job_id=job.id
    )
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        run_ids = list(
            pool.map(lambda _: clients["ds"].create_job_run(details).data.id, range(count))
        )

    def all_done() -> bool:
        done = oci.pagination.list_call_get_all_results(
            clients["ds"].list_job_runs,
            compartment_id=COMPARTMENT,
            job_id=job.id,
            lifecycle_state="SUCCEEDED",
            limit=100,
        ).data
        return len(done) == len(run_ids)

    _until(all_done, 600, "all runs to succeed")
    return count / (time.perf_counter() - started)


def searches_per_second(clients: dict[str, Any], count: int, threads: int) -> float:
    group = _log_group(clients)
    job = _job(clients, b"for i in range(10000): print('line', i)\n", group)
    run = (
        clients["ds"]
        .create_job_run(
            ds_models.CreateJobRunDetails(
                project_id=PROJECT, compartment_id=COMPARTMENT, job_id=job.id
            )
        )
        .data
    )
    run = _until(
        lambda: (r := clients["ds"].get_job_run(run.id).data).lifecycle_state == "SUCCEEDED" and r,
        120,
        "the 10,000-line run",
    )
    now = datetime.now(UTC)
    details = oci.loggingsearch.models.SearchLogsDetails(
        time_start=now - timedelta(hours=1),
        time_end=now + timedelta(minutes=5),
        search_query=(
            f'search "{COMPARTMENT}/{group}/{run.log_details.log_id}" '
            f"| where source = '*{run.id}' | sort by datetime desc"
        ),
    )
    first = clients["search"].search_logs(details, limit=100).data
    assert len(first.results) == 100, "the search bench needs a populated log"
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: clients["search"].search_logs(details, limit=100), range(count)))
    return count / (time.perf_counter() - started)


def _start(tmp: Path, key: Any, mode: str) -> EmulatorProcess:
    process = start_emulator_process(
        keys=[key],
        db_path=str(tmp / f"{mode}.sqlite"),
        extra_args=[
            "--mode",
            mode,
            "--accepted-seconds",
            "0",
            "--log-visibility-delay",
            "0",
            "--work-root",
            str(tmp / f"{mode}-runs"),
            "--log-level",
            "WARNING",
        ],
        log_file=tmp / f"{mode}.log",
    )
    process.faults({"rateLimits": NO_LIMITS})
    if mode == "simulate":
        process.settings(simulate={"run_seconds": 0, "lines_per_second": 0, "exit_code": 0})
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--executed-runs", type=int, default=60)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as name:
        tmp = Path(name)
        key = write_api_key(tmp / "oci")
        config = oci.config.from_file(str(key.config_file))
        results: dict[str, float] = {}
        for mode, count in (("simulate", args.runs), ("execute", args.executed_runs)):
            process = _start(tmp, key, mode)
            try:
                clients = _clients(config, process.endpoint)
                results[f"runs/s ({mode}, {count} runs)"] = runs_per_second(
                    clients, count, args.threads
                )
                if mode == "execute":
                    results[f"searches/s (limit 100, {args.searches} searches)"] = (
                        searches_per_second(clients, args.searches, args.threads)
                    )
            finally:
                process.stop()
    print(f"emulator throughput ({args.threads} client threads, auth on, file-backed SQLite)")
    for label, value in results.items():
        print(f"  {label:45s} {value:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
