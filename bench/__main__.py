"""Scale benchmark (issues 7, 21): the operator against a naive per-run poller, same workload.

    .venv/bin/python -m bench [--runs 10 300] [--minutes 2] [--lines-per-second 5]
                              [--late-share 0.05 --late-seconds 30-120]
                              [--finished 10000] [--grace 10] [--skip-naive] [--skip-operator]

Each ``--runs`` size is measured on its own and printed as its own table (default: a small
N, 10, and a large one, 300; ``--runs 1000`` for the scale goals), the naive poller beside
the operator at the sizes up to ``--naive-up-to`` (100).

Everything is local: the OCI emulator in simulate mode (a child process, auth on, its rate
limits off so the emulator is not what throttles) and the local control plane
(``hack/localcluster.py``). Phases:

1. *operator*: ``--runs`` DataScienceJobRuns of one job, each IN_PROGRESS for
   ``--minutes`` writing ``--lines-per-second`` lines, followed by ``ads-operator run``;
2. *naive*: the same number of OCI runs created directly and followed by
   :mod:`bench.naive_poller` (GetJobRun every 3 s and one SearchLogs per run per poll);
3. *restart* (with ``--finished``): that many runs whose status says finished; the
   operator is started twice over them and the second start timed until it is idle,
   counting its OCI calls;
4. *late* (with ``--late-share``): the operator phase again with the emulator ingesting
   that share of log records ``--late-seconds`` late, for lines lost and doubled and the
   calls it costs (the log grace of every phase is then at least the lateness + 10 s, so
   that both operator phases pay the same grace).

For both followers it prints OCI calls per run-minute, p50/p99 lag from an OCI state
change (run started, run finished) to where the follower shows it, p99 lag from a log
line (when OCI made its record searchable) to its Event, with the spread over runs of
each run's p99, lines lost and doubled, RSS and CPU seconds.
Log-line Event limits are raised for the benchmark so that a dropped line means lost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kubernetes
import oci
from hack import buildtools, localcluster
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import OperatorProcess, install_crds
from tests.fixtures.resources import job_run, script_configmap, script_job

from bench import stats
from bench.emulator_throughput import NO_LIMITS, PROJECT, _clients, _job, _log_group
from oci_emulator.settings import Settings as EmulatorSettings
from oci_emulator.testing import EmulatorProcess, start_emulator_process, write_api_key

REPO = Path(__file__).resolve().parents[1]
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaabenchmark"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "DELETED", "NEEDS_ATTENTION"}
#: Seconds of searchable time per row of the line-lag timeline.
LAG_BUCKET = 10.0
GROUP, VERSION, RUNS = "ads.oci.dev", "v1alpha1", "datasciencejobruns"


@dataclass
class Result:
    """One follower's figures."""

    name: str
    runs: int
    minutes: float
    calls: dict[str, int]
    state_lags: list[float]
    line_lags: list[float]
    lines: stats.LineAccount
    rss_mb: float
    cpu_seconds: float
    notes: list[str] = field(default_factory=list)
    #: Share of ADS's polling schedule the follower kept (naive only; 1 = every poll on time).
    schedule_kept: float = 1.0
    #: The state lags by change ("started", "finished"): where the lag comes from.
    lags_by_change: dict[str, list[float]] = field(default_factory=dict)
    #: The state lags until the apiserver wrote the status (operator only; 1 s precision).
    write_lags: list[float] = field(default_factory=list)
    #: By change: (when it happened, epoch seconds; its lag), to see when lag builds up.
    lag_timeline: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    #: Each run's p99 line lag: how evenly the runs are followed.
    run_line_p99s: list[float] = field(default_factory=list)
    #: Per 10 s of searchable time: (its start, lines, p50, p99 line lag), to see when
    #: the line lag builds up (``--json`` only).
    line_lag_timeline: list[tuple[float, int, float, float]] = field(default_factory=list)
    #: (seconds since the first, operation) of the last 10,000 OCI calls (``--json``
    #: only): when the calls were made, e.g. whether the reads of one tick batched.
    call_timeline: list[tuple[float, str]] = field(default_factory=list)
    #: Records OCI ingested late (``--late-share``), and how many of them were lost.
    late_lines: int = 0
    late_lost: int = 0

    @property
    def polling_calls(self) -> int:
        """Calls spent following runs (creating jobs and runs is the same for both)."""
        creating = ("Create", "Delete", "Cancel", "Put", "Head", "Update")
        return sum(n for op, n in self.calls.items() if not op.startswith(creating))


def until(probe: Callable[[], Any], timeout: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)  # polling interval, bounded by the deadline
    raise TimeoutError(what)


class Env:
    """The emulator, the control plane and clients for both."""

    def __init__(self, tmp: Path, args: argparse.Namespace) -> None:
        self.tmp, self.args = tmp, args
        self.key = write_api_key(tmp / "oci")
        self.emulator: EmulatorProcess = start_emulator_process(
            keys=[self.key],
            db_path=str(tmp / "emulator.sqlite"),
            extra_args=[
                *("--mode", "simulate", "--accepted-seconds", str(args.accepted_seconds)),
                *("--log-visibility-delay", "0", "--log-level", "WARNING"),
                *("--work-root", str(tmp / "runs")),
            ],
            log_file=tmp / "emulator.log",
        )
        self.emulator.faults({"rateLimits": NO_LIMITS})
        self.config = oci.config.from_file(str(self.key.config_file))
        self.oci = _clients(self.config, self.emulator.endpoint)
        self.log_group = _log_group(self.oci)
        self.instance = localcluster.up(tmp / "controlplane")
        self.cluster = Cluster(
            self.instance.kubeconfig, self.instance.server, tuple(buildtools.bin_dirs())
        )
        install_crds(self.cluster)
        self.api = kubernetes.config.new_client_from_config(
            config_file=str(self.instance.kubeconfig)
        )
        self.api.configuration.connection_pool_maxsize = 16

    def close(self) -> None:
        self.emulator.stop()
        localcluster.down(self.tmp / "controlplane")

    def operator(self, namespace: str, log_name: str) -> OperatorProcess:
        env = self.cluster.env(
            {
                "ADS_OPERATOR_OCI_ENDPOINT": self.emulator.endpoint,
                "ADS_OPERATOR_OCI_CONFIG_FILE": str(self.key.config_file),
                "ADS_OPERATOR_LOG_GRACE": str(self.args.grace),
                "ADS_OPERATOR_CLUSTER_ID": "bench",
                "ADS_OPERATOR_LOG_EVENTS_PER_MINUTE": "1000000",
                "ADS_OPERATOR_LOG_EVENTS_PER_MINUTE_PER_RUN": "10000",
                "ADS_OPERATOR_OCI_REQUESTS_PER_SECOND": str(self.args.operator_rps),
                **dict(item.split("=", 1) for item in self.args.operator_env),
            }
        )
        return OperatorProcess((namespace,), env, self.tmp / log_name, verbose=False)

    def namespace(self, name: str) -> str:
        self.cluster.kubectl("create", "namespace", name)
        return name

    def apply(self, namespace: str, docs: list[dict[str, Any]]) -> None:
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
        self.cluster.kubectl("apply", "-n", namespace, "-f", "-", input=body, timeout=600)

    def oci_truth(self, run_ids: list[str]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
        """Each run as OCI has it, and its log records (read after the calls are counted)."""

        def one(run_id: str) -> tuple[Any, list[Any]]:
            run = self.oci["ds"].get_job_run(run_id).data
            log = run.log_details
            records: list[Any] = []
            if log is not None and log.log_id:
                query = (
                    f'search "{run.compartment_id}/{log.log_group_id}/{log.log_id}"'
                    f" | where source = '*{run_id}' | sort by datetime asc"
                )
                start = run.time_accepted - timedelta(minutes=5)
                end = datetime.now(UTC) + timedelta(minutes=1)
                page = None
                while True:
                    details = oci.loggingsearch.models.SearchLogsDetails(
                        time_start=start, time_end=end, search_query=query
                    )
                    resp = self.oci["search"].search_logs(details, limit=1000, page=page)
                    records += [r.data for r in resp.data.results]
                    page = resp.next_page
                    if not page:
                        break
            return run, records

        with ThreadPoolExecutor(8) as pool:
            pairs = list(pool.map(one, run_ids))
        return (
            {r.id: r for r, _ in pairs},
            {r.id: recs for r, recs in pairs},
        )


def state_changes(run: Any) -> dict[str, float]:
    """When OCI says the run started and finished (epoch seconds)."""
    out = {}
    if run.time_started is not None:
        out["started"] = run.time_started.timestamp()
    if run.time_finished is not None:
        out["finished"] = run.time_finished.timestamp()
    return out


def first_seen(states: dict[str, float]) -> dict[str, float]:
    """When a follower first showed the run started / finished, from state → first time."""
    out: dict[str, float] = {}
    started = [t for s, t in states.items() if s == "IN_PROGRESS" or s in TERMINAL]
    finished = [t for s, t in states.items() if s in TERMINAL]
    if started:
        out["started"] = min(started)
    if finished:
        out["finished"] = min(finished)
    return out


def record_lines(
    records: list[Any], late: EmulatorSettings | None = None
) -> list[tuple[str, float, float]]:
    """(message, record time, seconds after it that OCI made it searchable) per record;
    the lateness as the emulator draws it (``late``: its late-ingest settings)."""
    out = []
    for r in records:
        content = r.get("logContent") or {}
        message = str((content.get("data") or {}).get("message", ""))
        ms = int(r["datetime"])
        delay = late.late_ms(str(content.get("source", "")), ms, message) if late else 0
        out.append((message, ms / 1000, delay / 1000))
    return out


def late_settings(args: argparse.Namespace) -> EmulatorSettings:
    low, high = args.late_seconds
    return EmulatorSettings(
        log_late_share=args.late_share,
        log_late_min_seconds=low,
        log_late_max_seconds=high,
        log_late_seed=args.late_seed,
    )


def figures(
    name: str,
    args: argparse.Namespace,
    calls: dict[str, int],
    oci_runs: dict[str, Any],
    oci_records: dict[str, list[Any]],
    seen_states: dict[str, dict[str, float]],
    seen_lines: dict[str, list[tuple[str, float]]],
    rss_mb: float,
    cpu: float,
    late: EmulatorSettings | None = None,
) -> Result:
    state_lags: list[float] = []
    run_p99s: list[float] = []
    late_count = late_lost = 0
    line_lags: list[float] = []
    truth: dict[str, list[str]] = {}
    mirrored: dict[str, list[str]] = {}
    notes: list[str] = []
    by_change: dict[str, list[float]] = {"started": [], "finished": []}
    timeline: dict[str, list[tuple[float, float]]] = {"started": [], "finished": []}
    line_buckets: dict[float, list[float]] = {}
    for run_id, run in oci_runs.items():
        seen, happened = first_seen(seen_states.get(run_id, {})), state_changes(run)
        state_lags += stats.lags(seen, happened)
        for change, lags in by_change.items():
            lags += stats.lags(
                {k: v for k, v in seen.items() if k == change},
                {k: v for k, v in happened.items() if k == change},
            )
            if change in seen and change in happened:
                timeline[change].append((happened[change], seen[change] - happened[change]))
        lines = record_lines(oci_records[run_id], late)
        truth[run_id] = [m for m, _, _ in lines]
        got = seen_lines.get(run_id, [])
        mirrored[run_id] = [m for m, _ in got]
        when = {m: t for m, t, _ in lines}
        searchable = {m: t + delay for m, t, delay in lines}
        first_seen_at = dict(reversed(got))
        shown = [
            (at, max(0.0, first_seen_at[m] - at))
            for m, at in searchable.items()
            if m in first_seen_at
        ]
        run_lags = [lag for _, lag in shown]
        line_lags += run_lags
        for at, lag in shown:
            line_buckets.setdefault(at // LAG_BUCKET * LAG_BUCKET, []).append(lag)
        if run_lags:
            run_p99s.append(stats.percentile(run_lags, 99) or 0.0)
        missing = set(truth[run_id]) - set(mirrored[run_id])
        late_ones = {m for m, _, delay in lines if delay > 0}
        late_count += len(late_ones)
        late_lost += len(late_ones & missing)
        for line in sorted(missing)[: max(0, 5 - len(notes))]:
            end = run.time_finished.timestamp() if run.time_finished else None
            notes.append(
                f"{name}: lost {line!r} of {run_id} (record time {when[line]:.3f},"
                f" run finished {end}, {len(lines)} lines in OCI)"
            )
    return Result(
        name,
        len(oci_runs),
        args.minutes,
        calls,
        state_lags,
        line_lags,
        stats.account_lines(truth, mirrored),
        rss_mb,
        cpu,
        notes,
        lags_by_change=by_change,
        lag_timeline={k: sorted(v) for k, v in timeline.items()},
        run_line_p99s=run_p99s,
        line_lag_timeline=[
            (start, len(lags), stats.percentile(lags, 50) or 0.0, stats.percentile(lags, 99) or 0.0)
            for start, lags in sorted(line_buckets.items())
        ],
        late_lines=late_count,
        late_lost=late_lost,
    )


def service_times(env: Env) -> dict[str, str]:
    """p50/p99 milliseconds the emulator took per operation (the request log's last
    10,000 calls): whether OCI or the follower was slow."""
    by_op: dict[str, list[float]] = {}
    for entry in env.emulator.requests(limit=10_000)["entries"]:
        by_op.setdefault(entry["operation"], []).append(float(entry["durationMs"]))
    pct = stats.percentile
    return {
        op: f"{stats.fmt(pct(ms, 50), '', 0)}/{stats.fmt(pct(ms, 99), '', 0)}"
        for op, ms in sorted(by_op.items())
    }


def call_timeline(env: Env) -> list[tuple[float, str]]:
    entries = env.emulator.requests(limit=10_000)["entries"]
    times = [
        (datetime.fromisoformat(str(e["time"]).replace("Z", "+00:00")).timestamp(), e["operation"])
        for e in entries
    ]
    start = min((t for t, _ in times), default=0.0)
    return [(round(t - start, 3), op) for t, op in times]


def counters(env: Env) -> dict[str, int]:
    raw = env.emulator.requests(limit=1)["counters"]
    return {op: int(c.get("total", 0)) for op, c in raw.items()}


def sim_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        "EMULATOR_SIM_SECONDS": str(args.minutes * 60),
        "EMULATOR_SIM_EXIT_CODE": "0",
        "EMULATOR_SIM_LINES_PER_SECOND": str(args.lines_per_second),
    }


def status_written(obj: dict[str, Any]) -> float | None:
    """When the apiserver last wrote the object's status (its managedFields entry for the
    status subresource, to the second), as epoch seconds."""
    times = [
        datetime.fromisoformat(str(m["time"]).replace("Z", "+00:00")).timestamp()
        for m in obj["metadata"].get("managedFields") or []
        if m.get("subresource") == "status" and m.get("time")
    ]
    return max(times, default=None)


class Watcher(threading.Thread):
    """Records, with local time, when each run's status first showed a lifecycle state
    and when each log line first appeared in an Event."""

    def __init__(self, api: Any, namespace: str) -> None:
        super().__init__(daemon=True)
        self.api, self.namespace = api, namespace
        self.states: dict[str, dict[str, float]] = {}  # run name → state → time
        #: run name → state → when the apiserver wrote it (managedFields, whole seconds):
        #: tells the operator's share of the lag from the watch's.
        self.written: dict[str, dict[str, float]] = {}
        self.lines: dict[str, list[tuple[str, float]]] = {}  # run name → (line, time)
        #: The runs whose last seen status is settled (:func:`settled`).
        self.settled: set[str] = set()
        self.stop = threading.Event()
        self._events = threading.Thread(
            target=lambda: self._quietly(self._watch_events), daemon=True
        )

    def run(self) -> None:
        self._events.start()
        self._quietly(self._watch_runs)

    def _quietly(self, body: Callable[[], None]) -> None:
        """A watch broken by the control plane stopping ends the thread without noise."""
        try:
            body()
        except Exception:
            if not self.stop.is_set():
                raise

    def _watch_runs(self) -> None:
        custom = kubernetes.client.CustomObjectsApi(self.api)

        def seen(obj: dict[str, Any]) -> None:
            state = (obj.get("status") or {}).get("lifecycleState")
            name = obj["metadata"]["name"]
            if settled(obj):
                self.settled.add(name)
            else:
                self.settled.discard(name)
            if state:
                self.states.setdefault(name, {}).setdefault(state, time.time())
                wrote = status_written(obj)
                if wrote is not None:
                    self.written.setdefault(name, {}).setdefault(state, wrote)

        self._follow(
            lambda **kw: custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, RUNS, **kw
            ),
            seen,
        )

    def _follow(self, list_fn: Callable[..., Any], seen: Callable[[dict[str, Any]], None]) -> None:
        """Watches from where the last watch ended (its resourceVersion): a watch started
        afresh replays every existing object first, and at 10,000 Events that replay kept
        this process busy long enough to delay what it measures."""
        version: str | None = None
        while not self.stop.is_set():
            w = kubernetes.watch.Watch()
            kwargs: dict[str, Any] = {"timeout_seconds": 30}
            if version:
                kwargs["resource_version"] = version
            try:
                for change in w.stream(list_fn, **kwargs):  # raw dicts: no model parsing
                    if change["type"] == "ERROR":  # e.g. 410 Gone: start afresh
                        version = None
                        break
                    version = change["object"]["metadata"]["resourceVersion"]
                    seen(change["object"])
                    if self.stop.is_set():
                        w.stop()
            except kubernetes.client.ApiException as exc:
                if exc.status != 410:
                    raise
                version = None

    def _watch_events(self) -> None:
        core = kubernetes.client.CoreV1Api(self.api)
        names: set[str] = set()

        def seen(ev: dict[str, Any]) -> None:
            name = ev["metadata"]["name"]
            if ev.get("reason") != "LogLines" or name in names:
                return
            names.add(name)
            now = time.time()
            self.lines.setdefault(ev["involvedObject"]["name"], []).extend(
                (line, now) for line in (ev.get("message") or "").split("\n")
            )

        self._follow(
            lambda **kw: core.list_namespaced_event(
                self.namespace, field_selector="reason=LogLines", **kw
            ),
            seen,
        )


def all_events_lines(env: Env, namespace: str) -> dict[str, list[str]]:
    """Every LogLines Event's lines by run name (a full list, not the watch)."""
    core = kubernetes.client.CoreV1Api(env.api)
    out: dict[str, list[str]] = {}
    token = None
    while True:
        page = core.list_namespaced_event(namespace, limit=500, _continue=token)
        for ev in page.items:
            if ev.reason == "LogLines":
                out.setdefault(ev.involved_object.name, []).extend((ev.message or "").split("\n"))
        token = page.metadata._continue
        if not token:
            return out


def list_runs(env: Env, namespace: str) -> list[dict[str, Any]]:
    custom = kubernetes.client.CustomObjectsApi(env.api)
    return list(custom.list_namespaced_custom_object(GROUP, VERSION, namespace, RUNS)["items"])


def settled(run: dict[str, Any]) -> bool:
    status = run.get("status") or {}
    conds = {c.get("type"): c for c in status.get("conditions") or []}
    return status.get("lifecycleState") in TERMINAL and (conds.get("Logging") or {}).get(
        "reason"
    ) in ("Complete", "LoggingNotConfigured")


def bench_job(log_group: str) -> dict[str, Any]:
    """The job of the operator phase, in the compartment of the log group."""
    job = script_job("bench", script="bench.py", log_group=log_group)
    job["spec"]["infrastructure"]["spec"]["compartmentId"] = COMPARTMENT
    job["spec"]["infrastructure"]["spec"]["projectId"] = PROJECT
    return job


def operator_phase(
    env: Env, args: argparse.Namespace, runs: int, late: EmulatorSettings | None = None
) -> Result:
    """``runs`` DataScienceJobRuns followed by the operator; with ``late``, while the
    emulator ingests a share of log records late."""
    label = "operator-late" if late else "operator"
    ns = env.namespace(f"bench-{label}-{runs}")
    operator = env.operator(ns, f"{label}-{runs}.log")
    operator.start()
    try:
        env.apply(
            ns,
            [
                script_configmap("bench", {"bench.py": "print('bench')\n"}),
                bench_job(env.log_group),
            ],
        )
        custom = kubernetes.client.CustomObjectsApi(env.api)

        def job_ready() -> bool:
            job = custom.get_namespaced_custom_object(
                GROUP, VERSION, ns, "datasciencejobs", "bench"
            )
            conds = (job.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

        try:
            until(job_ready, 120, "the bench job to be Ready")
        except TimeoutError:
            text = operator.log_file.read_text(errors="replace").splitlines()
            print("\n".join(x[:400] for x in text if " DEBUG " not in x)[-4000:], file=sys.stderr)
            raise
        watcher = Watcher(env.api, ns)
        watcher.start()
        env.emulator.reset_requests()
        assert operator.process is not None
        before = stats.sample_process(operator.process.pid)
        names = [f"r-{i:05d}" for i in range(runs)]
        env.apply(ns, [job_run(n, "bench", envVars=sim_env(args)) for n in names])
        timeout = args.minutes * 60 + args.grace + 600
        until(
            # The watch says when; one list confirms it. Listing 1,000 runs (8 MB) every
            # 5 s cost the apiserver and this process CPU the operator competes for.
            lambda: (
                len(watcher.settled) == len(names)
                and sum(settled(r) for r in list_runs(env, ns)) == len(names)
            ),
            timeout,
            "every run to settle",
            every=5,
        )
        calls = counters(env)
        served = service_times(env)
        timeline = call_timeline(env)
        after = stats.sample_process(operator.process.pid)
        watcher.stop.set()
        by_name = {r["metadata"]["name"]: r for r in list_runs(env, ns)}
        ocid = {n: str(by_name[n]["status"]["ocid"]) for n in names}
        oci_runs, oci_records = env.oci_truth(list(ocid.values()))
        listed = all_events_lines(env, ns)
        first = {ocid[n]: dict(watcher.lines.get(n, [])[::-1]) for n in names}
        seen_lines = {
            ocid[n]: [(line, first[ocid[n]].get(line, time.time())) for line in listed.get(n, [])]
            for n in names
        }
        seen_states = {ocid[n]: watcher.states.get(n, {}) for n in names}
        written = [
            lag
            for n in names
            if ocid[n] in oci_runs
            for lag in stats.lags(
                first_seen(watcher.written.get(n, {})), state_changes(oci_runs[ocid[n]])
            )
        ]
        result = figures(
            label,
            args,
            calls,
            oci_runs,
            oci_records,
            seen_states,
            seen_lines,
            after.rss_peak_mb,
            after.cpu_seconds - before.cpu_seconds,
            late,
        )
        result.write_lags = written
        result.call_timeline = timeline
        result.notes.append(f"{label}: OCI service time p50/p99 ms (emulator side): {served}")
        return result
    finally:
        operator.stop()


def naive_phase(env: Env, args: argparse.Namespace, runs: int) -> Result:
    job = _job(env.oci, b"print('bench')\n", env.log_group)
    details = oci.data_science.models.CreateJobRunDetails(
        project_id=PROJECT,
        compartment_id=job.compartment_id,
        job_id=job.id,
        job_configuration_override_details=oci.data_science.models.DefaultJobConfigurationDetails(
            environment_variables=sim_env(args)
        ),
    )
    with ThreadPoolExecutor(8) as pool:
        run_ids = list(
            pool.map(lambda _: str(env.oci["ds"].create_job_run(details).data.id), range(runs))
        )
    runs_file, out = env.tmp / f"naive-runs-{runs}.json", env.tmp / f"naive-out-{runs}.json"
    runs_file.write_text(json.dumps(run_ids))
    env.emulator.reset_requests()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.naive_poller",
            *("--endpoint", env.emulator.endpoint, "--config", str(env.key.config_file)),
            *("--runs-file", str(runs_file), "--out", str(out), "--grace", str(args.grace)),
        ],
        check=True,
        cwd=REPO,
    )
    calls = counters(env)
    result = json.loads(out.read_text())
    oci_runs, oci_records = env.oci_truth(run_ids)
    seen_lines = {
        r: [(m, t) for _, m, t in result["runs"].get(r, {}).get("lines", [])] for r in run_ids
    }
    seen_states = {r: result["runs"].get(r, {}).get("states", {}) for r in run_ids}
    kept = float(result["polls"]) / max(float(result["polls_due"]), 1.0)
    naive = figures(
        "naive",
        args,
        calls,
        oci_runs,
        oci_records,
        seen_states,
        seen_lines,
        float(result["rss_peak_mb"]),
        float(result["cpu_seconds"]),
    )
    naive.schedule_kept = kept
    return naive


def finished_status(i: int, now: str) -> dict[str, Any]:
    cond = {"status": "True", "lastTransitionTime": now, "observedGeneration": 1}
    return {
        "ocid": f"ocid1.datasciencejobrun.oc1.iad.benchfinished{i:06d}",
        "phase": "Succeeded",
        "lifecycleState": "SUCCEEDED",
        "observedGeneration": 1,
        "conditions": [
            {**cond, "type": "Ready", "reason": "Succeeded"},
            {**cond, "type": "Succeeded", "reason": "Succeeded"},
            {**cond, "type": "Logging", "reason": "Complete"},
        ],
    }


def idle_after(pid: int, started: float, quiet: float = 3.0, timeout: float = 900) -> float:
    """Seconds from ``started`` until the process's CPU time last grew before a ``quiet``
    period with (almost) none."""
    last_cpu, last_change = stats.sample_process(pid).cpu_seconds, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)  # sampling interval, bounded by the deadline
        cpu = stats.sample_process(pid).cpu_seconds
        if cpu - last_cpu > 0.05:
            last_cpu, last_change = cpu, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return last_change - started
    raise TimeoutError("the operator did not become idle")


def restart_phase(env: Env, args: argparse.Namespace) -> dict[str, float]:
    ns = env.namespace("bench-restart")
    custom = kubernetes.client.CustomObjectsApi(env.api)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def make(i: int) -> None:
        name = f"done-{i:05d}"
        body = job_run(name, "bench")
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, RUNS, body)
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, ns, RUNS, name, {"status": finished_status(i, now)}
        )

    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(args.finished)))
    created = time.monotonic() - t0
    out: dict[str, float] = {"finished": args.finished, "create_seconds": created}
    for label in ("first_start", "restart"):
        env.emulator.reset_requests()
        operator = env.operator(ns, f"operator-{label}.log")
        started = time.monotonic()
        operator.start()
        assert operator.process is not None
        out[f"{label}_seconds"] = idle_after(operator.process.pid, started)
        out[f"{label}_oci_calls"] = sum(counters(env).values())
        out[f"{label}_rss_mb"] = stats.sample_process(operator.process.pid).rss_peak_mb
        operator.stop()
    return out


def report(results: list[Result], restart: dict[str, float] | None) -> str:
    base = next((r for r in results if r.name == "naive"), None)
    on_time = next((r for r in results if r.name == "operator"), None)
    rows: list[tuple[str, ...]] = [("figure", *(r.name for r in results), "naive/operator")]

    def row(label: str, get: Callable[[Result], float | None], unit: str, better: str) -> None:
        values = [get(r) for r in results]
        ours = get(on_time) if on_time else None
        baseline = get(base) if base else None
        ratio = stats.ratio(baseline, ours) if better == "lower" else ""
        rows.append((label, *(stats.fmt(v, unit, 2) for v in values), ratio))

    def following(r: Result) -> float:
        return stats.per_run_minute(r.polling_calls, r.runs, r.minutes)

    row("OCI calls / run-minute (following)", following, "", "lower")
    row(
        "OCI calls / run-minute (all)",
        lambda r: stats.per_run_minute(sum(r.calls.values()), r.runs, r.minutes),
        "",
        "lower",
    )
    row(
        "... at ADS's full 3 s schedule",
        lambda r: following(r) / r.schedule_kept,
        "",
        "lower",
    )
    row(
        "... SearchLogs / run-minute",
        lambda r: stats.per_run_minute(r.calls.get("SearchLogs", 0), r.runs, r.minutes),
        "",
        "",
    )
    if any(r.name == "operator-late" for r in results) and on_time:
        row(
            "... extra for late records",
            lambda r: following(r) - following(on_time) if r.name == "operator-late" else None,
            "",
            "",
        )
    row("state lag p50", lambda r: stats.percentile(r.state_lags, 50), " s", "lower")
    row("state lag p99", lambda r: stats.percentile(r.state_lags, 99), " s", "lower")
    for change in ("started", "finished"):  # which change the lag comes from

        def p99_of(r: Result, change: str = change) -> float | None:
            return stats.percentile(r.lags_by_change.get(change, []), 99)

        row(f"... p99 of '{change}'", p99_of, " s", "lower")
    row(
        "... p99 until written (1 s)",
        lambda r: stats.percentile(r.write_lags, 99),
        " s",
        "",
    )
    row("log line lag p99", lambda r: stats.percentile(r.line_lags, 99), " s", "lower")
    for label, p in (("median", 50), ("p99", 99), ("worst", 100)):

        def spread(r: Result, p: float = p) -> float | None:
            return stats.percentile(r.run_line_p99s, p)

        row(f"... each run's p99: {label} run", spread, " s", "")
    row("lines expected", lambda r: float(r.lines.expected), "", "")
    row("lines lost", lambda r: float(r.lines.lost), "", "")
    row("lines doubled", lambda r: float(r.lines.doubled), "", "")
    if any(r.late_lines for r in results):
        late = [f"{r.late_lines} ({r.late_lost})" for r in results]
        rows.append(("... late records (lost)", *late, ""))
    row("RSS peak", lambda r: r.rss_mb, " MB", "lower")
    row("CPU seconds", lambda r: r.cpu_seconds, " s", "lower")
    text = stats.table(rows)
    for r in results:
        text += f"\n{r.name} calls by operation: {json.dumps(dict(sorted(r.calls.items())))}"
        text += "".join(f"\n{note}" for note in r.notes)
    if restart:
        text += "\nrestart over finished runs: " + json.dumps(
            {k: round(v, 2) for k, v in restart.items()}
        )
    return text


def as_json(r: Result) -> dict[str, Any]:
    return {
        "name": r.name,
        "runs": r.runs,
        "calls": r.calls,
        "lines": r.lines.__dict__,
        "late_lines": r.late_lines,
        "late_lost": r.late_lost,
        "state_lag_p50": stats.percentile(r.state_lags, 50),
        "state_lag_p99": stats.percentile(r.state_lags, 99),
        "lags_by_change": r.lags_by_change,
        "lag_timeline": r.lag_timeline,
        "line_lag_p99": stats.percentile(r.line_lags, 99),
        "run_line_lag_p99s": r.run_line_p99s,
        "line_lag_timeline": r.line_lag_timeline,
        "rss_mb": r.rss_mb,
        "cpu_seconds": r.cpu_seconds,
        "schedule_kept": r.schedule_kept,
        "call_timeline": r.call_timeline,
    }


def seconds_range(text: str) -> tuple[float, float]:
    """``30-120`` (or one number) as (low, high) seconds."""
    low, _, high = text.partition("-")
    try:
        pair = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a range of seconds like 30-120: {text!r}") from None
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"need 0 <= low <= high: {text!r}")
    return pair


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        nargs="+",
        default=[10, 300],
        help="concurrent runs; each size measured and printed on its own (default: 10 300)",
    )
    parser.add_argument("--minutes", type=float, default=2.0, help="IN_PROGRESS time of each")
    parser.add_argument("--lines-per-second", type=float, default=5.0)
    parser.add_argument(
        "--finished", type=int, default=0, help="runs for the restart measurement (0: none)"
    )
    parser.add_argument("--grace", type=float, default=10.0, help="log grace (ADS: 90 s)")
    parser.add_argument("--accepted-seconds", type=float, default=3.0)
    parser.add_argument("--operator-rps", type=float, default=10.0, help="its OCI call budget")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--naive-up-to", type=int, default=100, help="the naive poller at sizes up to this"
    )
    parser.add_argument("--skip-operator", action="store_true")
    parser.add_argument(
        "--late-share",
        type=float,
        default=0.0,
        help="also measure the operator with this share of log records ingested late",
    )
    parser.add_argument(
        "--late-seconds",
        type=seconds_range,
        default=(30.0, 120.0),
        help="how late, e.g. 30-120 (seconds after the record's time)",
    )
    parser.add_argument("--late-seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--keep", action="store_true", help="keep logs and databases")
    parser.add_argument(
        "--operator-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra operator setting, e.g. ADS_OPERATOR_LOG_OVERLAP=30 (repeatable)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.late_share <= 1:
        parser.error("--late-share must be within 0..1")
    if args.late_share > 0 and args.grace < args.late_seconds[1] + 10:
        # A record of a run's last second may become searchable this late: a follower
        # that stops reading sooner loses it by design, not by fault.
        args.grace = args.late_seconds[1] + 10
        print(
            f"log grace raised to {args.grace:g} s (late records up to {args.late_seconds[1]:g} s)",
            flush=True,
        )
    return args


def measure(env: Env, args: argparse.Namespace, runs: int) -> list[Result]:
    """The phases of one size, each table printed as it is complete."""
    results: list[Result] = []
    title = f"\n== {runs} runs x {args.minutes:g} min, {args.lines_per_second:g} lines/s"

    def show() -> None:
        print(title + "\n" + report(results, None), flush=True)

    if not args.skip_naive and runs <= args.naive_up_to:
        results.append(naive_phase(env, args, runs))
        show()
    if not args.skip_operator:
        results.append(operator_phase(env, args, runs))
        show()
    if args.late_share > 0:
        late = late_settings(args)
        env.emulator.settings(
            **{k: v for k, v in late.to_wire().items() if k.startswith("log_late")}
        )
        try:
            results.append(operator_phase(env, args, runs, late))
        finally:
            env.emulator.settings(log_late_share=0.0)
        show()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # Every process the benchmark starts (emulator, operator, naive poller) runs this
    # checkout's code: a virtualenv shared with another checkout points its imports there.
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO / "operator"), str(REPO)])
    # `kill` (SIGTERM) unwinds like Ctrl-C, so the control plane, emulator and operator
    # it started are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="ads-bench-") as name:
        work = Path(tempfile.mkdtemp(prefix="ads-bench-kept-")) if args.keep else Path(name)
        if args.keep:
            print(f"work directory (kept): {work}", flush=True)
        env = Env(work, args)
        try:
            by_size = {runs: measure(env, args, runs) for runs in args.runs}
            restart = restart_phase(env, args) if args.finished else None
            print("\n==== summary")
            for runs, results in by_size.items():
                print(f"\n== {runs} runs x {args.minutes:g} min, {args.lines_per_second:g} lines/s")
                print(report(results, None))
            if restart:
                print(
                    "\nrestart over finished runs: "
                    + json.dumps({k: round(v, 2) for k, v in restart.items()})
                )
            if args.json:
                args.json.write_text(
                    json.dumps(
                        {
                            "args": {k: str(v) for k, v in vars(args).items()},
                            "sizes": {
                                str(runs): [as_json(r) for r in results]
                                for runs, results in by_size.items()
                            },
                            "restart": restart,
                        },
                        indent=2,
                    )
                )
        finally:
            env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
