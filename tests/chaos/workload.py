"""Resources the chaos tests create, and the checks every chaos test ends with.

The checks are the promises that cloud-job controllers break under stress (see
``shared/reference/peers.md``): one OCI job and one OCI run per resource whatever
happened, the run's true terminal state in its status, each log line mirrored once, and
nothing left in OCI after the resources are deleted. They compare what the cluster says
with what the emulator holds, read through the real SDK as a separate principal, so the
operator's own view is never taken on trust.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import oci
from oci.loggingsearch.models import SearchLogsDetails
from oci.pagination import list_call_get_all_results

from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import OciClients
from tests.fixtures.resources import PROJECT, job_run, script_configmap, script_job
from tests.fixtures.waiting import wait_for

TERMINAL_PHASES = frozenset({"Succeeded", "Failed", "Canceled"})
#: What a run resource's phase must be for the state OCI reports.
PHASE_OF_STATE = {"SUCCEEDED": "Succeeded", "FAILED": "Failed", "CANCELED": "Canceled"}
SCRIPT = "main.py"


def new_compartment() -> str:
    """A compartment of its own per test, so listings see only that test's objects."""
    return f"ocid1.compartment.oc1..aaaaaaaachaos{uuid.uuid4().hex[:12]}"


def job_manifest(name: str, *, compartment: str, log_group: str) -> dict[str, Any]:
    job = script_job(name, script=SCRIPT, log_group=log_group)
    job["spec"]["infrastructure"]["spec"]["compartmentId"] = compartment
    job["spec"]["infrastructure"]["spec"]["projectId"] = PROJECT
    job["spec"]["runtime"]["spec"]["scriptPathURI"] = f"configmap://code/{SCRIPT}"
    return job


def run_manifest(
    name: str, job: str, *, seconds: float, exit_code: int, lines_per_second: float = 4.0
) -> dict[str, object]:
    """A run the emulator (simulate mode) plays for ``seconds``, then exits ``exit_code``."""
    return job_run(
        name,
        job,
        envVars={
            "EMULATOR_SIM_SECONDS": str(seconds),
            "EMULATOR_SIM_EXIT_CODE": str(exit_code),
            "EMULATOR_SIM_LINES_PER_SECOND": str(lines_per_second),
        },
    )


def code_configmap() -> dict[str, object]:
    # Simulate mode never executes it; the operator still uploads it as the job artifact.
    return script_configmap("code", {SCRIPT: "print('chaos')\n"})


def apply_all(cluster: Cluster, namespace: str, docs: Iterable[dict[str, Any]]) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)})
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=body, timeout=120)


def items(cluster: Cluster, namespace: str, kind: str) -> dict[str, dict[str, Any]]:
    """Every resource of ``kind`` in the namespace, by name (one kubectl call)."""
    raw = cluster.kubectl("get", kind, "-n", namespace, "-o", "json", timeout=60).stdout
    return {i["metadata"]["name"]: i for i in json.loads(raw)["items"]}


def condition(resource: dict[str, Any], kind: str) -> dict[str, Any]:
    conds = (resource.get("status") or {}).get("conditions") or []
    return next((c for c in conds if c.get("type") == kind), {})


def settled(run: dict[str, Any]) -> bool:
    """Terminal, and the operator has finished reading its log."""
    status = run.get("status") or {}
    return status.get("phase") in TERMINAL_PHASES and condition(run, "Logging").get("reason") in (
        "Complete",
        "LoggingNotConfigured",
    )


def wait_settled(
    cluster: Cluster, namespace: str, names: Iterable[str], *, timeout: float, log: Any
) -> dict[str, dict[str, Any]]:
    wanted = set(names)

    def all_settled() -> dict[str, dict[str, Any]] | None:
        runs = items(cluster, namespace, "dsjobrun")
        pending = sorted(n for n in wanted if n not in runs or not settled(runs[n]))
        if pending:
            raise AssertionError(f"not settled yet: {pending[:8]} ({len(pending)})")
        return runs

    return wait_for(
        all_settled, timeout=timeout, interval=1.0, what=f"every run to settle\n{log()}"
    )


def log_events(cluster: Cluster, namespace: str) -> dict[str, list[str]]:
    """Log lines carried by ``LogLines`` Events, per run name, in posting order."""
    raw = cluster.kubectl("get", "events", "-n", namespace, "-o", "json", timeout=60).stdout
    events = sorted(
        (e for e in json.loads(raw)["items"] if e.get("reason") == "LogLines"),
        key=lambda e: str(e.get("eventTime") or e.get("firstTimestamp") or ""),
    )
    lines: dict[str, list[str]] = defaultdict(list)
    for event in events:
        lines[event["involvedObject"]["name"]].extend(str(event.get("message", "")).split("\n"))
    return lines


#: An observer's retry of a throttled read (429, or the connection failing): backing off,
#: up to a deadline; any other error is the answer.
THROTTLED_RETRY = oci.retry.RetryStrategyBuilder(
    max_attempts_check=False,
    total_elapsed_time_check=True,
    total_elapsed_time_seconds=120,
    service_error_check=True,
    service_error_retry_config={429: []},
    service_error_retry_on_any_5xx=False,
    retry_max_wait_between_calls_seconds=5,
).get_retry_strategy()


@dataclass(frozen=True)
class OciView:
    """The emulator's truth, read through the SDK with a key of another tenancy."""

    clients: OciClients
    compartment: str

    def jobs(self) -> list[Any]:
        ds = self.clients.data_science
        return list(list_call_get_all_results(ds.list_jobs, self.compartment).data)

    def runs(self) -> list[Any]:
        ds = self.clients.data_science
        return list(list_call_get_all_results(ds.list_job_runs, self.compartment).data)

    def log_lines(self, ocid: str, *, page_size: int = 1000) -> list[str]:
        """The run's log records as the service holds them, oldest first, through every
        page of SearchLogs (whose throttling the emulator applies to this observer too)."""
        run = self.clients.data_science.get_job_run(ocid).data
        details = run.log_details
        if details is None or not details.log_id:
            return []
        query = (
            f'search "{self.compartment}/{details.log_group_id}/{details.log_id}"'
            f" | where source = '{ocid}' | sort by datetime asc"
        )
        request = SearchLogsDetails(
            time_start=run.time_accepted - timedelta(minutes=1),
            time_end=datetime.now(UTC) + timedelta(minutes=1),
            search_query=query,
        )
        lines: list[str] = []
        page = None
        while True:
            answer = self.clients.log_search.search_logs(
                request, limit=page_size, page=page, retry_strategy=THROTTLED_RETRY
            )
            records = answer.data.results or []
            lines += [str(r.data["logContent"]["data"]["message"]) for r in records]
            page = answer.next_page
            if not page:
                return lines


def by_uid_tag(objects: Iterable[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for obj in objects:
        uid = (obj.freeform_tags or {}).get("k8s-uid")
        grouped[str(uid)].append(obj)
    return grouped


def assert_exactly_once(
    cluster: Cluster,
    namespace: str,
    view: OciView,
    runs: dict[str, dict[str, Any]],
    expected_exit: dict[str, int],
) -> None:
    """One OCI job per job resource, one OCI run per run resource, and the true terminal
    state (the one the run's exit code means) in each run's status."""
    jobs = items(cluster, namespace, "dsjob")
    oci_jobs = by_uid_tag(view.jobs())
    for name, job in jobs.items():
        found = oci_jobs.get(job["metadata"]["uid"], [])
        assert len(found) == 1, f"job {name}: {len(found)} OCI jobs {[j.id for j in found]}"
        assert job["status"]["ocid"] == found[0].id
    oci_runs = by_uid_tag(view.runs())
    for name, run in runs.items():
        found = oci_runs.get(run["metadata"]["uid"], [])
        assert len(found) == 1, f"run {name}: {len(found)} OCI runs {[r.id for r in found]}"
        oci_run = found[0]
        status = run["status"]
        assert status["ocid"] == oci_run.id, name
        assert status["lifecycleState"] == oci_run.lifecycle_state, name
        assert status["phase"] == PHASE_OF_STATE[oci_run.lifecycle_state], name
        if name in expected_exit:
            want = expected_exit[name]
            assert oci_run.lifecycle_state == ("SUCCEEDED" if want == 0 else "FAILED"), name
            if want:
                assert status.get("exitCode") == want, (name, status.get("lifecycleDetails"))


def oci_log_lines(view: OciView, runs: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Each run's lines as the OCI log holds them (the truth Events are compared with)."""
    return {name: view.log_lines(str(run["status"]["ocid"])) for name, run in runs.items()}


def assert_no_line_lost(mirrored: dict[str, list[str]], truth: dict[str, list[str]]) -> int:
    """Every OCI log line reached the run's Events, in order of first appearance.

    Duplicates are judged separately (:func:`assert_each_line_once`); returns the number
    of lines checked.
    """
    for name, lines in truth.items():
        assert lines, f"run {name} wrote no log lines"
        first_seen = list(dict.fromkeys(mirrored.get(name, [])))
        assert first_seen == list(dict.fromkeys(lines)), (
            f"run {name}: Events carry {mirrored.get(name)} but the OCI log has {lines}"
        )
    return sum(len(v) for v in truth.values())


def assert_each_line_once(mirrored: dict[str, list[str]], truth: dict[str, list[str]]) -> None:
    """Events carry exactly the OCI log's lines: each once, in order, nothing else."""
    for name, lines in truth.items():
        assert lines, f"run {name} wrote no log lines"
        assert mirrored.get(name, []) == lines, (
            f"run {name}: Events carry {mirrored.get(name)} but the OCI log has {lines}"
        )


def delete_all_and_assert_nothing_left(
    cluster: Cluster, namespace: str, view: OciView, *, timeout: float, log: Any
) -> None:
    """Delete every run and job resource; then no OCI job or run may be left undeleted."""
    cluster.kubectl("delete", "dsjobrun,dsjob", "--all", "-n", namespace, "--wait=false")

    def gone() -> bool:
        left = cluster.kubectl(
            "get", "dsjobrun,dsjob", "-n", namespace, "-o", "name", timeout=60
        ).stdout.split()
        if left:
            raise AssertionError(f"still present: {left[:8]}")
        return True

    wait_for(gone, timeout=timeout, interval=1.0, what=f"every resource to be deleted\n{log()}")
    leftovers = [j.id for j in view.jobs() if j.lifecycle_state != "DELETED"]
    leftovers += [r.id for r in view.runs() if r.lifecycle_state != "DELETED"]
    assert not leftovers, f"orphaned OCI objects: {leftovers}"
