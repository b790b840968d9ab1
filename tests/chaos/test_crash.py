"""The operator SIGKILLed at seeded random points while it creates 10 jobs and 40 runs
(50 creations), while the runs are active, and while everything is being deleted.

Kill points are progress counts: creating OCI calls the emulator has seen, then runs
settled, then deleting OCI calls; so the same seed crashes the operator at the same place
in the work, not at the same wall-clock time. After each kill the operator is started
again at once.

What must hold afterwards: one OCI job per DataScienceJob and one OCI run per
DataScienceJobRun; every run's status shows the state its simulated exit code means; no
line of the OCI log is missing from the run's Events; after the resources are deleted no
OCI job or run is left undeleted. That each line appears *only* once is the subject of
``test_crash_log_lines.py``, which kills the operator right after it posted log Events.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.chaos.conftest import Chaos
from tests.chaos.emulator_process import CREATING_OPERATIONS, ChaosEmulator
from tests.chaos.workload import (
    assert_exactly_once,
    assert_no_line_lost,
    delete_all_and_assert_nothing_left,
    items,
    log_events,
    oci_log_lines,
    settled,
    wait_settled,
)
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import request_count
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.waiting import wait_for

JOBS = 10
RUNS_PER_JOB = 4
#: Exit codes drawn per run; 0 is SUCCEEDED, anything else FAILED with that code.
EXIT_CODES = (0, 0, 0, 1, 3)


def _operator_count(emulator: ChaosEmulator, operations: frozenset[str]) -> int:
    return request_count(emulator, *operations)


def _settled_at_least(cluster: Cluster, namespace: str, count: int) -> Callable[[], bool]:
    def probe() -> bool:
        runs = items(cluster, namespace, "dsjobrun").values()
        return sum(1 for run in runs if settled(run)) >= count

    return probe


def _crash_when(
    emulator: ChaosEmulator,
    operator: OperatorProcess,
    operations: frozenset[str],
    threshold: int,
) -> None:
    """SIGKILL the operator as soon as the emulator has seen ``threshold`` such calls."""
    wait_for(
        lambda: _operator_count(emulator, operations) >= threshold,
        timeout=90,
        interval=0.02,
        what=f"{threshold} calls of {sorted(operations)}\n{operator.log[-2000:]}",
    )
    operator.kill()
    operator.start()


def test_sigkilled_operator_creates_each_job_and_run_once_and_leaves_nothing(chaos: Chaos) -> None:
    cluster, namespace = chaos.cluster, chaos.namespace
    operator = chaos.start_operator(namespace, POLL_INTERVAL="1")
    docs, expected_exit = chaos.workload(
        JOBS, RUNS_PER_JOB, exit_codes=EXIT_CODES, seconds=(1.0, 3.0), digits=2
    )
    creations = JOBS + JOBS * RUNS_PER_JOB
    creating_calls = JOBS * 2 + JOBS * RUNS_PER_JOB
    create_kills = sorted(chaos.rng.sample(range(1, creating_calls - 5), 3))
    active_kills = sorted(chaos.rng.sample(range(1, JOBS * RUNS_PER_JOB - 5), 2))
    delete_kill = chaos.rng.randint(1, 10)
    print(
        f"seed {chaos.seed}: kills at creating calls {create_kills}, then when"
        f" {active_kills} runs have settled, then at delete call {delete_kill}"
    )
    crashes = 0

    chaos.apply(docs)
    for threshold in create_kills:
        _crash_when(chaos.emulator, operator, CREATING_OPERATIONS, threshold)
        crashes += 1
    for settled_count in active_kills:
        wait_for(
            _settled_at_least(cluster, namespace, settled_count),
            timeout=120,
            what=f"{settled_count} runs to settle\n{operator.log[-2000:]}",
        )
        operator.kill()
        operator.start()
        crashes += 1

    runs = wait_settled(
        cluster, namespace, expected_exit, timeout=180, log=lambda: operator.log[-3000:]
    )
    assert_exactly_once(cluster, namespace, chaos.oci, runs, expected_exit)
    assert len(runs) + JOBS == creations
    lines = assert_no_line_lost(log_events(cluster, namespace), oci_log_lines(chaos.oci, runs))

    deleting = frozenset({"CancelJobRun", "DeleteJobRun", "DeleteJob"})
    already = _operator_count(chaos.emulator, deleting)
    cluster.kubectl("delete", "dsjobrun,dsjob", "--all", "-n", namespace, "--wait=false")
    _crash_when(chaos.emulator, operator, deleting, already + delete_kill)
    crashes += 1
    delete_all_and_assert_nothing_left(
        cluster, namespace, chaos.oci, timeout=120, log=lambda: operator.log[-3000:]
    )
    print(
        f"crash tier: {creations} creations, {crashes} SIGKILLs survived,"
        f" {lines} log lines all mirrored, 0 duplicate OCI objects, 0 orphans"
    )
