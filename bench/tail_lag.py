"""Line lag of ``ads-operator logs RUN -f`` on the demo (issue 21), one run.

    make demo                                   # once: the stack stays up
    .venv/bin/python -m bench.tail_lag [--lines 60] [--every 0.5]
                                       [--late-share 0.05 --late-seconds 30-120]
                                       [--grace SECONDS]
                                       [--save bench/results/NAME.json]

Applies a job to the running demo (the demo's placeholder log group) whose script prints
``--lines`` lines ``--every`` seconds apart, starts ``ads-operator logs RUN -f`` right
after ``kubectl apply`` (as a user would, with ``hack/demo env``'s settings), and notes
when each line arrives on the tail's stdout. Once the tail has exited, the run's records
are searched in OCI Logging (the emulator) for their record times. It prints the lag of
each line (arrival minus record time): p50, p95, max; the lines lost and doubled; the
tail's exit code and the run's OCI calls the emulator counted while it followed.

``--late-share`` sets the emulator's late ingestion for the run (that share of records
searchable ``--late-seconds`` after their time): their lag is that lateness by
construction, so they are reported apart, and what counts is that none is lost or
doubled. The emulator's other settings are the demo's (records searchable after 2 s).
Timing goals live here, not in tests (``tests/e2e/test_logs_follow.py`` checks order and
completeness).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import oci
import yaml
from hack import buildtools, demo, localcluster

from bench import stats
from oci_emulator.testing import EmulatorControl, write_api_key

PREFIX = "tail-lag"


@dataclass
class Figures:
    """What one measurement found (raw lags in seconds, by line number)."""

    lines: int
    every: float
    late_share: float
    grace: float | None
    exit_code: int
    lost: list[int] = field(default_factory=list)
    doubled: list[int] = field(default_factory=list)
    lags: dict[int, float] = field(default_factory=dict)
    late_lags: dict[int, float] = field(default_factory=dict)
    search_calls: int = 0
    get_run_calls: int = 0
    follow_seconds: float = 0.0


def demo_env() -> tuple[dict[str, str], str]:
    """The settings ``hack/demo env`` exports, and the emulator's endpoint."""
    instance = localcluster.Instance.load(demo.CLUSTER_DIR)
    endpoint_file = demo.STATE_DIR / "emulator-endpoint"
    if instance is None or not instance.ready() or not endpoint_file.exists():
        raise SystemExit("bench.tail_lag: the demo is not running; start it with `make demo`")
    endpoint = endpoint_file.read_text().strip()
    key = write_api_key(demo.STATE_DIR / "oci")
    env = dict(os.environ)
    env.update(
        KUBECONFIG=str(instance.kubeconfig),
        ADS_OPERATOR_OCI_ENDPOINT=endpoint,
        ADS_OPERATOR_OCI_CONFIG_FILE=str(key.config_file),
        ADS_OPERATOR_LOG_SETTLE="3",  # as `hack/demo env` says
    )
    return env, endpoint


def manifests(name: str, lines: int, every: float) -> list[dict[str, Any]]:
    """hello-world's job and run (the demo's placeholders), running the counting script."""
    docs = [d for d in yaml.safe_load_all(demo.EXAMPLE.read_text()) if d]
    configmap, job, run = docs
    script = (
        "import time\n"
        f"for i in range({lines}):\n"
        "    print(f'tail-lag line {i}', flush=True)\n"
        f"    time.sleep({every})\n"
    )
    configmap["metadata"]["name"] = name
    configmap["data"] = {"count.py": script}
    job["metadata"]["name"] = name
    job["spec"]["name"] = name
    job["spec"]["runtime"]["spec"]["scriptPathURI"] = f"configmap://{name}/count.py"
    run["metadata"]["name"] = f"{name}-run"
    run["spec"] = {"jobRef": {"name": name}}
    return [configmap, job, run]


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(buildtools.find_binary("kubectl")), *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"bench.tail_lag: kubectl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def follow(
    env: dict[str, str], run: str, grace: float | None
) -> tuple[int, list[tuple[float, str]]]:
    """Run the tail until it exits: its exit code, and (arrival epoch seconds, text)."""
    argv = [sys.executable, "-m", "ads_operator.cli", "logs", run, "-n", demo.NAMESPACE, "-f"]
    argv += [] if grace is None else ["--grace", str(grace)]
    tail = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    arrived: list[tuple[float, str]] = []

    def read() -> None:
        assert tail.stdout is not None
        for line in tail.stdout:
            arrived.append((time.time(), line.rstrip("\n").split(" - ", 1)[-1]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    code = tail.wait(timeout=3600)
    reader.join(timeout=10)
    return code, arrived


def record_times(env: dict[str, str], endpoint: str, ocid: str) -> dict[str, datetime]:
    """Each line's OCI record time (the first record of a message)."""
    config = oci.config.from_file(env["ADS_OPERATOR_OCI_CONFIG_FILE"])
    ds = oci.data_science.DataScienceClient(config, service_endpoint=endpoint)
    run = ds.get_job_run(ocid).data
    search = oci.loggingsearch.LogSearchClient(config, service_endpoint=endpoint)
    query = (
        f'search "{run.compartment_id}/{run.log_details.log_group_id}/{run.log_details.log_id}"'
        f" | where source = '*{ocid}' | sort by datetime asc"
    )
    details = oci.loggingsearch.models.SearchLogsDetails(
        time_start=run.time_accepted - timedelta(minutes=1),
        time_end=datetime.now(UTC),
        search_query=query,
    )
    times: dict[str, datetime] = {}
    page = None
    while True:
        response = search.search_logs(details, limit=1000, page=page)
        for result in response.data.results or []:
            content = result.data["logContent"]
            stamp = datetime.fromisoformat(content["time"].replace("Z", "+00:00"))
            times.setdefault(content["data"]["message"], stamp)
        page = response.next_page
        if not page:
            return times


def calls(emulator: EmulatorControl, operation: str) -> int:
    counters: dict[str, Any] = emulator.requests(limit=0)["counters"]
    return int((counters.get(operation) or {}).get("total", 0))


def measure(
    lines: int,
    every: float,
    late_share: float,
    late_seconds: tuple[float, float],
    grace: float | None = None,
) -> Figures:
    env, endpoint = demo_env()
    emulator = EmulatorControl(port=int(endpoint.rsplit(":", 1)[1]))
    name = f"{PREFIX}-{int(time.time())}"
    late = {
        "log_late_share": late_share,
        "log_late_min_seconds": late_seconds[0],
        "log_late_max_seconds": late_seconds[1],
    }
    with emulator.overridden(**(late if late_share else {})):
        before = (calls(emulator, "SearchLogs"), calls(emulator, "GetJobRun"))
        kubectl(env, "apply", "-n", demo.NAMESPACE, "-f", "-", stdin=yaml.safe_dump_all(
            manifests(name, lines, every)))  # fmt: skip
        started = time.monotonic()
        code, arrived = follow(env, f"{name}-run", grace)
        followed = time.monotonic() - started
        after = (calls(emulator, "SearchLogs"), calls(emulator, "GetJobRun"))
    ocid = kubectl(env, "get", "dsjobrun", f"{name}-run", "-n", demo.NAMESPACE,
                   "-o", "jsonpath={.status.ocid}")  # fmt: skip
    times = record_times(env, endpoint, ocid)
    figures = Figures(lines, every, late_share, grace, code, follow_seconds=round(followed, 1))
    # Every tail reads the same emulator: the counts include the operator's own reads.
    figures.search_calls, figures.get_run_calls = after[0] - before[0], after[1] - before[1]
    seen: dict[int, float] = {}
    for at, text in arrived:
        if not text.startswith("tail-lag line "):
            continue
        i = int(text.rsplit(" ", 1)[1])
        if i in seen:
            figures.doubled.append(i)
            continue
        seen[i] = at
        lag = round(at - times[text].timestamp(), 3)
        ingested_late = lag > late_seconds[0] - 5 if late_share else False
        (figures.late_lags if ingested_late else figures.lags)[i] = lag
    figures.lost = [i for i in range(lines) if i not in seen]
    return figures


def report(figures: Figures) -> str:
    lags = sorted(figures.lags.values())
    text = [
        f"ads-operator logs -f on the demo: {figures.lines} lines, one every {figures.every} s,"
        f" followed {figures.follow_seconds} s (--grace {figures.grace}),"
        f" exit code {figures.exit_code}",
        f"  line lag (arrival - OCI record time): p50 {stats.percentile(lags, 50):.2f} s,"
        f" p95 {stats.percentile(lags, 95):.2f} s, max {max(lags, default=0):.2f} s"
        f" over {len(lags)} lines",
        f"  lost {len(figures.lost)}, doubled {len(figures.doubled)}",
        f"  emulator calls while following (the operator's included): SearchLogs"
        f" {figures.search_calls}, GetJobRun {figures.get_run_calls}",
    ]
    if figures.late_share:
        late = sorted(figures.late_lags.values())
        text.append(
            f"  ingested late ({figures.late_share:.0%} asked): {len(late)} lines, lag"
            f" {min(late, default=0):.1f}-{max(late, default=0):.1f} s (their lateness)"
        )
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tail_lag", description=__doc__)
    parser.add_argument("--lines", type=int, default=60)
    parser.add_argument("--every", type=float, default=0.5, help="seconds between lines")
    parser.add_argument("--late-share", type=float, default=0.0)
    parser.add_argument("--late-seconds", default="30-120", help="MIN-MAX lateness")
    parser.add_argument("--grace", type=float, help="the tail's --grace (default: its own)")
    parser.add_argument("--save", type=Path, help="write the raw figures here (JSON)")
    args = parser.parse_args(argv)
    low, _, high = args.late_seconds.partition("-")
    late = (float(low), float(high or low))
    figures = measure(args.lines, args.every, args.late_share, late, args.grace)
    print(report(figures))
    if args.save:
        record = {"measured": datetime.now(UTC).isoformat(timespec="seconds"), **asdict(figures)}
        args.save.write_text(json.dumps(record, indent=1) + "\n")
    return 0 if not (figures.lost or figures.doubled) else 1


if __name__ == "__main__":
    raise SystemExit(main())
