"""The workload figures docs/reliability.md states are those the chaos tests apply: each
is derived here from the test's own constants (read from its source, not imported: a
chaos module pulls in its tier's fixtures) and from the bad-input corpus on disk, so a
change of workload that leaves the document behind fails here, not in a reader's head."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.chaos.corpus import CORPUS_DIRS, corpus

REPO = Path(__file__).resolve().parents[3]
CHAOS = REPO / "tests" / "chaos"
DOC = (REPO / "docs" / "reliability.md").read_text()


def constant(module: str, name: str) -> int:
    """The module-level ``NAME = <int>`` of a chaos test module."""
    tree = ast.parse((CHAOS / module).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, int), (module, name, value)
            return value
    raise AssertionError(f"{module} has no constant {name}")


def stated(*phrases: str) -> list[str]:
    """The phrases docs/reliability.md does not contain."""
    return [p for p in phrases if p not in DOC]


def test_the_crash_workload_is_the_one_stated() -> None:
    jobs = constant("test_crash.py", "JOBS")
    runs = jobs * constant("test_crash.py", "RUNS_PER_JOB")
    missing = stated(
        f"{jobs} DataScienceJobs + {runs} runs ({jobs + runs} creations)",
        f"| Creations under crashes | {jobs + runs} ({jobs} jobs, {runs} runs) |",
    )
    assert not missing, missing


def test_the_storm_surge_and_kube_fault_workloads_are_the_ones_stated() -> None:
    storm_runs = constant("test_fault_storm.py", "RUNS")
    fault_jobs = constant("test_kube_faults.py", "JOBS")
    fault_runs = fault_jobs * constant("test_kube_faults.py", "RUNS_PER_JOB")
    missing = stated(
        f"one DataScienceJob and {storm_runs} runs",
        f"while {fault_jobs} jobs and {fault_runs} runs are applied",
        f"{constant('test_log_surge.py', 'LOUD_LINES'):,} lines in a minute",
        f"beside {constant('test_log_surge.py', 'QUIET')} quiet runs",
    )
    assert not missing, missing


def test_the_bad_input_count_is_the_corpus_on_disk() -> None:
    cases = corpus()
    invalid, bad_input = (len(list(d.glob("*.yaml"))) for d in CORPUS_DIRS)
    refused = sum(c.outcome == "refused" for c in cases)
    line = (
        f"| Bad inputs tried | {len(cases)} manifests ({invalid} from `tests/manifests/invalid/`"
        f" + {bad_input} from `tests/manifests/bad-input/`: {refused} refused at apply,"
        f" {len(cases) - refused} held by the operator) + ~900 hypothesis examples |"
    )
    assert line in DOC, f"docs/reliability.md should say:\n{line}"
