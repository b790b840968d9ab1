"""Restarts under a running operator: kube-apiserver + etcd crashed and started again on
the same data while runs are active, and the OCI emulator crashed and started again on
the same SQLite file while runs are active.

After a control-plane restart the operator must recover its watches (runs created after
the restart are picked up) and converge: one OCI run per resource, the true terminal
state, each line once. After an emulator restart, runs that were active are FAILED (the
emulator loses their processes, as documented) and the operator must report exactly
that, create nothing twice, and go on to run new resources normally.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.conftest import Chaos
from tests.chaos.controlplane_restart import crash_and_restart
from tests.chaos.workload import (
    apply_all,
    assert_each_line_once,
    assert_exactly_once,
    code_configmap,
    items,
    log_events,
    oci_log_lines,
    run_manifest,
    wait_settled,
)
from tests.fixtures.cluster import Cluster, control_plane
from tests.fixtures.operator import install_crds
from tests.fixtures.waiting import wait_for

RESTARTED_DETAILS = "the emulator restarted"


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[tuple[Cluster, Path]]:
    """A control plane of this test's own (the session's must not be restarted), with the
    CRDs installed."""
    directory = tmp_path / "controlplane"
    with control_plane(directory) as cluster:
        install_crds(cluster)
        cluster.kubectl("create", "namespace", "restarts")
        yield cluster, directory


def _running(cluster: Cluster, namespace: str, names: list[str]) -> bool:
    runs = items(cluster, namespace, "dsjobrun")
    phases = {n: (runs.get(n, {}).get("status") or {}).get("phase") for n in names}
    if any(p != "Running" for p in phases.values()):
        raise AssertionError(f"phases: {phases}")
    return True


def _each_wrote_a_line(chaos: Chaos) -> bool:
    lines = oci_log_lines(chaos.oci, items(chaos.cluster, chaos.namespace, "dsjobrun"))
    if not all(lines.values()):
        raise AssertionError(f"log lines so far: {lines}")
    return True


def test_operator_recovers_its_watches_after_apiserver_and_etcd_restart(
    own_cluster: tuple[Cluster, Path], chaos: Chaos
) -> None:
    cluster, directory = own_cluster
    namespace = "restarts"
    operator = chaos.start_operator(namespace, cluster_=cluster, POLL_INTERVAL="0.5")
    before = {f"before-{i}": chaos.rng.choice((0, 0, 4)) for i in range(3)}
    after = {f"after-{i}": chaos.rng.choice((0, 0, 4)) for i in range(2)}
    docs: list[dict[str, object]] = [code_configmap(), chaos.job("survivor")]
    docs += [run_manifest(n, "survivor", seconds=12.0, exit_code=c) for n, c in before.items()]
    apply_all(cluster, namespace, docs)  # on the control plane of its own
    wait_for(
        lambda: _running(cluster, namespace, list(before)),
        timeout=90,
        what=f"the first runs to be Running\n{operator.log[-2000:]}",
    )
    crash_and_restart(directory)
    apply_all(  # on the control plane of its own
        cluster,
        namespace,
        [run_manifest(n, "survivor", seconds=2.0, exit_code=c) for n, c in after.items()],
    )
    expected = {**before, **after}
    runs = wait_settled(cluster, namespace, expected, timeout=150, log=lambda: operator.log[-3000:])
    assert operator.process is not None
    assert operator.process.poll() is None, f"the operator died\n{operator.log}"
    assert_exactly_once(cluster, namespace, chaos.oci, runs, expected)
    assert_each_line_once(log_events(cluster, namespace), oci_log_lines(chaos.oci, runs))
    print(f"control plane restarted once under {len(before)} active runs; 0 duplicates")


def test_operator_converges_after_the_emulator_restarts_mid_run(chaos: Chaos) -> None:
    cluster, namespace = chaos.cluster, chaos.namespace
    operator = chaos.start_operator(namespace, POLL_INTERVAL="0.5", BACKOFF_INITIAL="1")
    interrupted = [f"lost-{i}" for i in range(3)]
    docs: list[dict[str, object]] = [code_configmap(), chaos.job("phoenix")]
    docs += [run_manifest(n, "phoenix", seconds=60.0, exit_code=0) for n in interrupted]
    chaos.apply(docs)
    # Running, and each has a line in its log: the lines the Events must carry (a run
    # seen Running within its first quarter second had written none yet, and the check
    # below then had nothing to compare).
    wait_for(
        lambda: _running(cluster, namespace, interrupted) and _each_wrote_a_line(chaos),
        timeout=90,
        what=f"the runs to be Running with a log line\n{operator.log[-2000:]}",
    )
    chaos.emulator.restart()
    fresh = {f"fresh-{i}": chaos.rng.choice((0, 5)) for i in range(2)}
    chaos.apply([run_manifest(n, "phoenix", seconds=2.0, exit_code=c) for n, c in fresh.items()])
    runs = wait_settled(
        cluster, namespace, [*interrupted, *fresh], timeout=120, log=lambda: operator.log[-3000:]
    )
    for name in interrupted:
        status = runs[name]["status"]
        assert status["lifecycleState"] == "FAILED", (name, status)
        assert RESTARTED_DETAILS in status["lifecycleDetails"], (name, status)
    assert_exactly_once(cluster, namespace, chaos.oci, runs, fresh)
    assert_each_line_once(log_events(cluster, namespace), oci_log_lines(chaos.oci, runs))
    print(f"emulator restarted {chaos.emulator.restarts}x under {len(interrupted)} active runs")
