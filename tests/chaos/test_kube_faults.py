"""Faults on the Kubernetes side: the operator reaches its API server through a proxy
that slows requests, resets connections and answers 429 as API Priority and Fairness
does (``tests/fixtures/apiproxy.py``), and that API server's etcd compacts its history
every :data:`COMPACTION` so that resumed watches are answered ``410 Gone``.

The control plane is this test's own: etcd with ``--auto-compaction-mode=periodic
--auto-compaction-retention=2s``, and kube-apiserver with ``--watch-cache=false`` (with
its watch cache the API server serves watches from memory and etcd's compaction never
shows; without it a watch resumed from a compacted resourceVersion is refused, which is
what a busy production etcd does to a client that was away for a while). The proxy also
resets every watch connection every few seconds, so watches resume often.

Jobs and runs are applied while the faults are on, and stay on until every run settled.
What must hold: every run reaches the phase its exit code means and its whole log is in
its Events, each line once; each lifecycle Event (Created, every OCI state and detail the operator
saw) is there exactly once; the operator logged no error (no daemon crashed on a fault:
the Kubernetes adapter retries what is safe to retry, and a run's pass that still fails
is tried again later); the emulator saw exactly one CreateJob per job and one
CreateJobRun per run (nothing created twice, nothing relaunched); deleting everything,
still under the faults, leaves no OCI job or run behind; and each kind of fault was in
fact injected (a test whose faults never fired would prove nothing).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.conftest import Chaos, ProxiedCluster, proxied_control_plane
from tests.chaos.workload import (
    apply_all,
    assert_each_line_once,
    assert_exactly_once,
    delete_all_and_assert_nothing_left,
    log_events,
    oci_log_lines,
    wait_settled,
)
from tests.fixtures.apiproxy import Faults
from tests.fixtures.cluster import Cluster

COMPACTION = "2s"
COMPACTING_ETCD = ("--auto-compaction-mode=periodic", f"--auto-compaction-retention={COMPACTION}")
NO_WATCH_CACHE = ("--watch-cache=false",)
FAULTS = Faults(latency=0.15, rate429=0.1, reset_rate=0.05, retry_after=1, watch_reset_every=4.0)
JOBS = 3
RUNS_PER_JOB = 4
EXIT_CODES = (0, 0, 1, 3)
NAMESPACE = "kube-faults"
#: The reasons of the Events a run's lifecycle posts: its creation and its OCI states.
LIFECYCLE = ("Created", "ACCEPTED", "IN_PROGRESS", "SUCCEEDED", "FAILED")


@pytest.fixture
def proxied(tmp_path: Path, chaos_seed: int) -> Iterator[ProxiedCluster]:
    """A control plane of this test's own whose etcd compacts every :data:`COMPACTION` and
    whose API server has no watch cache, behind the fault proxy."""
    with proxied_control_plane(
        tmp_path / "controlplane",
        NAMESPACE,
        chaos_seed,
        etcd_flags=COMPACTING_ETCD,
        apiserver_flags=NO_WATCH_CACHE,
    ) as started:
        yield started


def test_operator_converges_through_apiserver_faults_and_compacted_watches(
    proxied: ProxiedCluster,
    chaos: Chaos,
) -> None:
    cluster, proxy = proxied.cluster, proxied.proxy
    operator = chaos.start_operator(NAMESPACE, cluster_=proxied.through_proxy, POLL_INTERVAL="0.5")
    proxy.set_faults(FAULTS)
    print(f"seed {chaos.seed}: {FAULTS}, etcd compaction every {COMPACTION}, no watch cache")

    docs, expected = chaos.workload(
        JOBS,
        RUNS_PER_JOB,
        exit_codes=EXIT_CODES,
        seconds=(4.0, 10.0),
        digits=1,
        lines_per_second=2,
    )
    apply_all(cluster, NAMESPACE, docs)  # the test's own calls go around the proxy

    runs = wait_settled(cluster, NAMESPACE, expected, timeout=300, log=lambda: operator.log)
    assert operator.process is not None
    assert operator.process.poll() is None, f"the operator died\n{operator.log}"
    assert_exactly_once(cluster, NAMESPACE, chaos.oci, runs, expected)
    assert_each_line_once(log_events(cluster, NAMESPACE), oci_log_lines(chaos.oci, runs))
    errors = operator_errors(operator.log_file.read_text(errors="replace"))
    restarts = sum("failed with an exception" in line for line in errors)
    print(f"{restarts} handler or daemon restarts, {len(errors)} error lines")
    assert_lifecycle_events_once(cluster, expected)
    assert not errors, f"{len(errors)} error(s) in the operator's log:\n" + "\n".join(errors[:20])
    created = chaos.emulator.requests(limit=0)["counters"]
    assert int(created.get("CreateJob", {}).get("total", 0)) == JOBS, created.get("CreateJob")
    assert int(created.get("CreateJobRun", {}).get("total", 0)) == len(expected), created.get(
        "CreateJobRun"
    )
    settled_counts = proxy.snapshot()

    # Deletion under the same faults: finalizers released through 429s and resets.
    delete_all_and_assert_nothing_left(
        cluster, NAMESPACE, chaos.oci, timeout=180, log=lambda: operator.log
    )
    counts = proxy.snapshot()
    proxy.set_faults(Faults())
    for fault in ("429", "resets before", "resets after", "watch resets", "410 Gone"):
        assert settled_counts.get(fault, 0) > 0, f"no {fault!r} before settling: {settled_counts}"
    answered = ("429", "resets before", "resets after")
    deletion_faults = sum(counts.get(f, 0) - settled_counts.get(f, 0) for f in answered)
    assert deletion_faults > 0, f"no fault during deletion: {settled_counts} then {counts}"
    print(
        f"kube faults: {settled_counts} until settled, {counts} after deletion;"
        f" {len(expected)} runs of {JOBS} jobs, each created once, nothing left in OCI"
    )


def assert_lifecycle_events_once(cluster: Cluster, expected: dict[str, int]) -> None:
    """Per run: one Created, one Event of its terminal state, at least one IN_PROGRESS,
    and no lifecycle Event (reason and message) twice."""
    raw = cluster.kubectl("get", "events", "-n", NAMESPACE, "-o", "json", timeout=60).stdout
    seen: dict[str, Counter[tuple[str, str]]] = {name: Counter() for name in expected}
    for event in json.loads(raw)["items"]:
        name = event["involvedObject"]["name"]
        if event.get("reason") in LIFECYCLE and name in seen:
            seen[name][(event["reason"], str(event.get("message")))] += 1
    problems = []
    for name, events in sorted(seen.items()):
        reasons = Counter(reason for reason, _ in events.elements())
        final = "SUCCEEDED" if expected[name] == 0 else "FAILED"
        twice = sorted(key for key, n in events.items() if n > 1)
        if reasons["Created"] != 1 or reasons[final] != 1 or not reasons["IN_PROGRESS"] or twice:
            problems.append(f"{name}: {dict(reasons)}, twice: {twice}")
    assert not problems, "lifecycle Events lost or duplicated:\n" + "\n".join(problems)


def operator_errors(log: str) -> list[str]:
    """The lines of the operator's log that tell of an error: a handler or daemon that
    crashed (kopf logs it at ERROR with a traceback and starts it again) or an Event
    given up. Not kopf's own API client saying it tries a request again ("Request
    attempt #1/9 failed; will retry", at ERROR): kopf retries its own calls."""
    marks = (" ERROR ", "Traceback", "could not post Event")
    return [
        line
        for line in log.splitlines()
        if any(mark in line for mark in marks) and "failed; will retry" not in line
    ]
