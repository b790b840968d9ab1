"""A log surge: one run printing 50,000 lines in a minute beside 50 quiet runs.

What the operator promises about a chatty run: Events stay within the rate limits
(``LOG_EVENTS_PER_MINUTE_PER_RUN`` for the run, ``LOG_EVENTS_PER_MINUTE`` for the
operator), the lines left out are counted in the run's ``status.logLinesNotMirrored``
(with the ``Logging`` condition naming ``kubectl ads logs``), and the other runs go on as
before: every quiet run reaches its phase with each of its lines in its Events once.

The loud run is the emulator's simulate mode (``EMULATOR_SIM_LINES_PER_SECOND``): the
emulator writes its lines into the OCI log as a fast-printing process would, through the
same path a real script's output takes, without a process on the 2-core machine spending
a core on printing. The test measures, side by side, 50 quiet runs alone and 50 quiet runs
beside the loud one: the operator's requests to the API server by kind (it reaches the
API server only through the counting proxy of ``tests/fixtures/apiproxy.py``, with no
faults) and each quiet run's status lag (OCI's time of a state change to the moment a
watch sees the run's ``.status.phase`` change). Those figures are printed, not asserted
(no timed assertions in tests); ``bench/results/2026-12-04-log-surge.md`` keeps them.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import OpenApiException
from urllib3.exceptions import HTTPError

from tests.chaos.conftest import Chaos, ProxiedCluster, proxied_control_plane
from tests.chaos.workload import (
    OciView,
    apply_all,
    assert_each_line_once,
    code_configmap,
    condition,
    run_manifest,
    wait_settled,
)
from tests.fixtures.cluster import Cluster

NAMESPACE = "log-surge"
QUIET = 50
QUIET_SECONDS = 15.0
#: A quiet run's lines: 3 in its 15 s (the operator budget is shared by all runs).
QUIET_LINES_PER_SECOND = 0.2
LOUD_SECONDS = 60.0
LOUD_LINES = 50_000
#: A little over 50,000 a minute: the emulator's last wake-up falls just before the end.
LOUD_LINES_PER_SECOND = 850.0
#: The operator's Event budgets (its defaults, stated so the test can check them).
PER_RUN_PER_MINUTE = 30
PER_OPERATOR_PER_MINUTE = 300


@pytest.fixture
def proxied(tmp_path: Path, chaos_seed: int) -> Iterator[ProxiedCluster]:
    """A control plane of this test's own behind the counting proxy (no faults)."""
    with proxied_control_plane(tmp_path / "controlplane", NAMESPACE, chaos_seed) as started:
        yield started


class PhaseWatch:
    """A watch on the namespace's runs, in a thread: the wall-clock time each run was
    first seen in each phase (a watch answers within milliseconds of the write)."""

    def __init__(self, cluster: Cluster) -> None:
        self.api = kubernetes.client.CustomObjectsApi(
            kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig))
        )
        self.seen: dict[tuple[str, str], float] = {}
        self.dropped: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PhaseWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        version: str | None = None  # each watch resumes where the last one ended
        while not self._stop.is_set():
            watch = kubernetes.watch.Watch()
            try:
                for change in watch.stream(
                    self.api.list_namespaced_custom_object,
                    "ads.oci.dev",
                    "v1alpha1",
                    NAMESPACE,
                    "datasciencejobruns",
                    resource_version=version,
                    timeout_seconds=5,
                ):
                    run = change["object"]
                    version = run["metadata"]["resourceVersion"]
                    phase = (run.get("status") or {}).get("phase")
                    if phase:
                        self.seen.setdefault((run["metadata"]["name"], phase), time.time())
                    if self._stop.is_set():
                        watch.stop()
            except kubernetes.client.ApiException as exc:
                if exc.status != 410:
                    self.dropped.append(f"{exc.status} {exc.reason}")
                    self._stop.wait(1)  # an answer that will not change at once: no hot loop
                version = None  # 410: gone from the history, list again
            except (OSError, ValueError, HTTPError, OpenApiException) as exc:
                self.dropped.append(repr(exc))  # a dropped connection: watch again


def status_lags(
    watch: PhaseWatch, view: OciView, runs: dict[str, dict[str, Any]], names: list[str]
) -> list[float]:
    """Seconds from OCI's time of each state change (started, finished) of these runs to
    the watch seeing the run's phase change to match."""
    lags = []
    for name in names:
        oci_run = view.clients.data_science.get_job_run(runs[name]["status"]["ocid"]).data
        final = runs[name]["status"]["phase"]
        for phase, at in (("Running", oci_run.time_started), (final, oci_run.time_finished)):
            seen = watch.seen.get((name, phase))
            if seen is not None and at is not None:
                lags.append(seen - at.timestamp())
    return lags


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def events_of(cluster: Cluster) -> list[dict[str, Any]]:
    raw = cluster.kubectl("get", "events", "-n", NAMESPACE, "-o", "json", timeout=120).stdout
    events: list[dict[str, Any]] = json.loads(raw)["items"]
    return events


def lines_by_run(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {}
    ordered = sorted(
        (e for e in events if e.get("reason") == "LogLines"),
        key=lambda e: str(e.get("eventTime") or e.get("firstTimestamp") or ""),
    )
    for event in ordered:
        name = event["involvedObject"]["name"]
        lines.setdefault(name, []).extend(str(event.get("message", "")).split("\n"))
    return lines


def quiet_runs(prefix: str) -> dict[str, dict[str, object]]:
    return {
        f"{prefix}-{i}": run_manifest(
            f"{prefix}-{i}",
            "talk",
            seconds=QUIET_SECONDS,
            exit_code=0,
            lines_per_second=QUIET_LINES_PER_SECOND,
        )
        for i in range(QUIET)
    }


def writes(counts: dict[str, int]) -> dict[str, int]:
    verbs = ("POST", "PUT", "PATCH", "DELETE")
    return {k: v for k, v in sorted(counts.items()) if k.split(" ", 1)[0] in verbs}


def test_a_log_surge_stays_within_the_event_budgets_beside_quiet_runs(
    proxied: ProxiedCluster,
    chaos: Chaos,
) -> None:
    cluster, proxy = proxied.cluster, proxied.proxy
    operator = chaos.start_operator(
        NAMESPACE,
        cluster_=proxied.through_proxy,
        LOG_EVENTS_PER_MINUTE_PER_RUN=str(PER_RUN_PER_MINUTE),
        LOG_EVENTS_PER_MINUTE=str(PER_OPERATOR_PER_MINUTE),
    )
    apply_all(cluster, NAMESPACE, [code_configmap(), chaos.job("talk")])
    figures: dict[str, dict[str, Any]] = {}
    with PhaseWatch(cluster) as watch:
        for label, prefix, loud in (("alone", "calm", False), ("beside the surge", "busy", True)):
            quiet = quiet_runs(prefix)
            docs = list(quiet.values())
            if loud:
                docs.insert(
                    0,
                    run_manifest(
                        "loud",
                        "talk",
                        seconds=LOUD_SECONDS,
                        exit_code=0,
                        lines_per_second=LOUD_LINES_PER_SECOND,
                    ),
                )
            before = proxy.snapshot()
            started = time.monotonic()
            apply_all(cluster, NAMESPACE, docs)
            names = list(quiet) + (["loud"] if loud else [])
            runs = wait_settled(cluster, NAMESPACE, names, timeout=600, log=lambda: operator.log)
            elapsed = time.monotonic() - started
            after = proxy.snapshot()
            counts = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            lags = status_lags(watch, chaos.oci, runs, list(quiet))
            assert len(lags) == 2 * QUIET, (
                f"the watch missed state changes: {len(lags)} lags, {len(watch.seen)} seen,"
                f" dropped watches {watch.dropped[:3]}"
            )
            for name in quiet:
                assert runs[name]["status"]["phase"] == "Succeeded", name
            figures[label] = {
                "runs": runs,
                "elapsed": elapsed,
                "writes": writes(counts),
                "requests": counts.get("requests", 0),
                "lag p50": statistics.median(lags),
                "lag p99": percentile(lags, 0.99),
                "lag max": max(lags),
            }

    for label, figure in figures.items():
        print(
            f"\n  {QUIET} quiet runs {label}: settled in {figure['elapsed']:.1f} s;"
            f" status lag p50 {figure['lag p50']:.2f} s, p99 {figure['lag p99']:.2f} s,"
            f" max {figure['lag max']:.2f} s; operator requests {figure['requests']},"
            f" writes {figure['writes']}"
        )
    events = events_of(cluster)
    mirrored = lines_by_run(events)
    # Every quiet run, in both phases: each of its lines in its Events once.
    for figure in figures.values():
        quiet_names = {n: r for n, r in figure["runs"].items() if n != "loud"}
        quiet_truth = {n: chaos.oci.log_lines(r["status"]["ocid"]) for n, r in quiet_names.items()}
        assert_each_line_once(mirrored, quiet_truth)
        for name in quiet_names:
            assert not quiet_names[name]["status"].get("logLinesNotMirrored"), name

    # The loud run: what its Events carry plus what its status counts is its whole log.
    loud = figures["beside the surge"]["runs"]["loud"]
    truth = chaos.oci.log_lines(loud["status"]["ocid"])
    shown = mirrored.get("loud", [])
    assert len(truth) >= LOUD_LINES, f"the loud run wrote {len(truth)} lines"
    assert len(set(shown)) == len(shown), "a loud line was mirrored twice"
    assert set(shown) <= set(truth), "an Event carries a line the log does not have"
    not_mirrored = loud["status"]["logLinesNotMirrored"]
    assert not_mirrored == len(truth) - len(shown), (not_mirrored, len(truth), len(shown))
    logging = condition(loud, "Logging")
    assert "kubectl ads logs loud" in logging["message"], logging

    # The rate limits held: the loud run's LogLines Events within its budget for the time
    # it was followed (a full bucket at the start, then the per-minute refill).
    loud_events = Counter(e["reason"] for e in events if e["involvedObject"]["name"] == "loud")
    followed_minutes = figures["beside the surge"]["elapsed"] / 60
    budget = PER_RUN_PER_MINUTE * (1 + followed_minutes)
    assert loud_events["LogLines"] <= budget, (loud_events, budget)
    assert loud_events["LogEventsLimited"] == 1, loud_events

    print(
        f"log surge (seed {chaos.seed}): loud run {len(truth)} lines, {len(shown)} in"
        f" {loud_events['LogLines']} Events (budget {budget:.0f}),"
        f" status.logLinesNotMirrored {not_mirrored}"
    )
