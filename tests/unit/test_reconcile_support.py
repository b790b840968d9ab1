"""An in-memory OCI port for reconcile tests (no network), plus a check of the fake itself.

It follows the service where the operator depends on it: retry tokens make creates
idempotent, a job becomes ACTIVE once its artifact is uploaded, runs move only when the
test says so, and every call is counted.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ads_operator.oci.domain import LogPage, LogRecord, OciJob, OciJobRun, WorkRequest
from ads_operator.oci.errors import NotFoundError, OciError, RetryableError
from ads_operator.oci.run_scan import RunScan

T0 = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)
COMPARTMENT = "ocid1.compartment.oc1..aaaa"
PROJECT = "ocid1.datascienceproject.oc1.iad.aaaa"


class FakePort:
    def __init__(self) -> None:
        self.region = ""
        self.jobs: dict[str, OciJob] = {}
        self.runs: dict[str, OciJobRun] = {}
        self.artifacts: dict[str, tuple[str, bytes]] = {}
        self.tokens: dict[str, str] = {}
        self.logs: dict[str, list[LogRecord]] = {}
        self.calls: Counter[str] = Counter()
        self.fail_next: dict[str, OciError] = {}
        self.details: dict[str, dict[str, Any]] = {}
        #: CreateJob's first answer per job, as a repeated retry token replays it.
        self.answers: dict[str, OciJob] = {}
        self._ids = itertools.count(1)

    def _check(self, op: str) -> None:
        self.calls[op] += 1
        if op in self.fail_next:
            raise self.fail_next.pop(op)

    async def create_job(self, *, details: dict[str, Any], retry_token: str) -> OciJob:
        """Like OCI: a repeated token replays the first answer, whatever became of the
        job since; the same token with another body is a 409."""
        self._check("create_job")
        if retry_token in self.tokens:
            job_id = self.tokens[retry_token]
            if self.details[job_id] != details:
                raise RetryableError(
                    "token used for another request", status=409, code="InvalidatedRetryToken"
                )
            return self.answers[job_id]
        job = OciJob(
            id=f"ocid1.datasciencejob.oc1.iad.j{next(self._ids)}",
            lifecycle_state="CREATING",
            compartment_id=details["compartmentId"],
            project_id=details["projectId"],
            display_name=details.get("displayName", ""),
            freeform_tags=dict(details.get("freeformTags", {})),
        )
        self.jobs[job.id] = job
        self.answers[job.id] = job
        self.details[job.id] = details
        self.tokens[retry_token] = job.id
        return job

    async def create_job_artifact(
        self, *, job_id: str, file_name: str, content: bytes, retry_token: str
    ) -> None:
        self._check("create_job_artifact")
        self.artifacts[job_id] = (file_name, content)
        self.jobs[job_id] = replace(self.jobs[job_id], lifecycle_state="ACTIVE")

    async def has_job_artifact(self, *, job_id: str) -> bool:
        self._check("has_job_artifact")
        return job_id in self.artifacts

    async def get_job(self, *, job_id: str) -> OciJob:
        self._check("get_job")
        if job_id not in self.jobs:
            raise NotFoundError("no such job", status=404, code="NotAuthorizedOrNotFound")
        return self.jobs[job_id]

    async def list_jobs(self, *, compartment_id: str, project_id: str | None) -> list[OciJob]:
        self._check("list_jobs")
        return [j for j in self.jobs.values() if j.compartment_id == compartment_id]

    async def update_job(self, *, job_id: str, details: dict[str, Any]) -> OciJob:
        self._check("update_job")
        job = replace(self.jobs[job_id], display_name=details.get("displayName", ""))
        self.jobs[job_id] = job
        return job

    async def delete_job(self, *, job_id: str, delete_related_job_runs: bool) -> str | None:
        self._check("delete_job")
        self.jobs[job_id] = replace(self.jobs[job_id], lifecycle_state="DELETED")
        for run in list(self.runs.values()):
            if run.job_id == job_id and delete_related_job_runs:
                self.runs[run.id] = replace(run, lifecycle_state="DELETED")
        return "ocid1.workrequest.oc1..w"

    async def get_work_request(self, *, work_request_id: str) -> WorkRequest:
        return WorkRequest(work_request_id, "SUCCEEDED")

    async def create_job_run(self, *, details: dict[str, Any], retry_token: str) -> OciJobRun:
        self._check("create_job_run")
        if retry_token in self.tokens:
            return self.runs[self.tokens[retry_token]]
        run = OciJobRun(
            id=f"ocid1.datasciencejobrun.oc1.iad.r{next(self._ids)}",
            job_id=details["jobId"],
            lifecycle_state="ACCEPTED",
            compartment_id=details["compartmentId"],
            lifecycle_details="Infrastructure provisioning.",
            time_accepted=T0,
            log_group_id="ocid1.loggroup.oc1..lg",
            log_id="ocid1.log.oc1..l",
            freeform_tags=dict(details.get("freeformTags", {})),
        )
        self.runs[run.id] = run
        self.details[run.id] = details
        self.tokens[retry_token] = run.id
        return run

    async def get_job_run(self, *, run_id: str) -> OciJobRun:
        self._check("get_job_run")
        if run_id not in self.runs:
            raise NotFoundError("no such run", status=404, code="NotAuthorizedOrNotFound")
        return self.runs[run_id]

    async def list_job_runs(self, *, compartment_id: str, job_id: str) -> list[OciJobRun]:
        self._check("list_job_runs")
        return [r for r in self.runs.values() if r.job_id == job_id]

    async def scan_job_runs(
        self,
        *,
        compartment_id: str,
        scan: RunScan,
        page_size: int,
        found: Callable[[Sequence[OciJobRun]], None],
    ) -> None:
        """The newest page first, then (both ends) a page from each end in turn."""
        ends = [True, False] if scan.both_ends else [True]
        first = True
        while not scan.done():
            for newest_first in [True] if first else ends:
                if scan.done():
                    break
                runs, following = await self.list_recent_job_runs(
                    compartment_id=compartment_id,
                    page=scan.next_page(newest_first),
                    limit=page_size,
                    lifecycle_state=scan.state,
                    newest_first=newest_first,
                )
                new = scan.add(newest_first, runs, following)
                if new:
                    found(new)
            first = False

    async def list_recent_job_runs(
        self,
        *,
        compartment_id: str,
        page: str | None,
        limit: int,
        lifecycle_state: str | None = None,
        newest_first: bool = True,
    ) -> tuple[list[OciJobRun], str | None]:
        """One page of a state list (counted: tests count the pages a scan reads)."""
        self._check("list_recent_job_runs")
        ordered = reversed(self.runs.values()) if newest_first else iter(self.runs.values())
        runs = [
            r
            for r in ordered
            if r.compartment_id == compartment_id and lifecycle_state in (None, r.lifecycle_state)
        ]
        summaries = [replace(r, log_group_id=None, log_id=None) for r in runs]
        offset = int(page or 0)
        more = offset + limit < len(summaries)
        return summaries[offset : offset + limit], str(offset + limit) if more else None

    async def cancel_job_run(self, *, run_id: str) -> None:
        self._check("cancel_job_run")
        self.runs[run_id] = replace(self.runs[run_id], lifecycle_state="CANCELING")

    async def delete_job_run(self, *, run_id: str) -> None:
        self._check("delete_job_run")
        self.runs[run_id] = replace(self.runs[run_id], lifecycle_state="DELETED")

    async def get_log_compartment(self, *, log_group_id: str, log_id: str) -> str:
        self._check("get_log_compartment")
        return COMPARTMENT

    async def search_logs(
        self,
        *,
        query: str,
        time_start: datetime,
        time_end: datetime,
        limit: int,
        page: str | None,
    ) -> LogPage:
        self._check("search_logs")
        run_id = query.split("'*")[1].split("'")[0]
        records = [r for r in self.logs.get(run_id, []) if time_start <= r.time < time_end]
        records.sort(key=lambda r: r.time)
        offset = int(page or 0)
        chunk = records[offset : offset + limit]
        more = offset + limit < len(records)
        return LogPage(tuple(chunk), str(offset + limit) if more else None)

    async def get_object(self, *, namespace: str, bucket: str, name: str) -> bytes:
        raise NotFoundError("no objects here", status=404)

    async def list_objects(self, *, namespace: str, bucket: str, prefix: str) -> list[str]:
        return []

    # -- test controls ---------------------------------------------------------------------

    def move(self, run_id: str, state: str, details: str = "", **times: datetime) -> None:
        self.runs[run_id] = replace(
            self.runs[run_id], lifecycle_state=state, lifecycle_details=details, **times
        )

    def emit(self, run_id: str, *lines: tuple[str, datetime]) -> None:
        store = self.logs.setdefault(run_id, [])
        for message, time in lines:
            store.append(LogRecord(id=f"rec-{len(store)}-{message}", time=time, message=message))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_fake_port_create_run_is_idempotent_on_its_token() -> None:
    port = FakePort()
    details = {"jobId": "j", "compartmentId": COMPARTMENT, "projectId": PROJECT}
    first = await port.create_job_run(details=details, retry_token="t")
    second = await port.create_job_run(details=details, retry_token="t")
    assert first.id == second.id
    assert len(port.runs) == 1


def test_failure_conditions_mark_synced_terminal_and_ready_as_asked() -> None:
    from datetime import UTC, datetime

    from ads_operator.reconcile.conditions import failure_conditions

    now = datetime(2026, 1, 1, tzinfo=UTC)
    ready = [{"type": "Ready", "status": "True", "reason": "Active", "message": ""}]
    retry = failure_conditions(
        ready, reason="Throttled", message="slow down", terminal=False, not_ready=True,
        generation=3, now=now,
    )  # fmt: skip
    assert {c["type"]: c["status"] for c in retry} == {"Ready": "True", "Synced": "False"}
    final = failure_conditions(
        ready, reason="InvalidParameter", message="bad shape", terminal=True, not_ready=True,
        generation=3, now=now,
    )  # fmt: skip
    assert {c["type"]: c["status"] for c in final} == {
        "Ready": "False", "Synced": "False", "Terminal": "True",
    }  # fmt: skip
    kept = failure_conditions(
        ready, reason="InvalidParameter", message="bad", terminal=True, not_ready=False,
        generation=3, now=now,
    )  # fmt: skip
    assert {c["type"]: c["status"] for c in kept}["Ready"] == "True"
    assert all(c["observedGeneration"] == 3 for c in final)
