"""The real :class:`~ads_operator.oci.port.OciPort`: the ``oci`` SDK, run in threads.

Decisions made on purpose here:

* **No SDK retries, no SDK circuit breaker.** The SDK's default strategy retries for up to
  600 s inside one worker thread, ignores ``retry-after`` and, with the circuit breaker,
  lets one resource's failures fail every other resource's calls for 30 s. The operator
  owns retrying instead: errors are classified once (:mod:`.errors`) and kopf / the run
  loop wait as the service asks.
* **Our own retry tokens.** Creates carry a token derived from the Kubernetes UID, so a
  retry after a crash is idempotent on the service side too.
* **One token bucket** paces all calls of the operator.
* The SDK is synchronous; every call runs in a thread to keep kopf's loop free, in a pool
  of OCI's own: at a thousand runs the loop's default pool is busy with hundreds of
  status patches a second, and a run-state list page queued behind them took seconds.
  The pages of a batched state read follow each other in one thread per end of the list
  (taking their tokens there), since each return to the busy loop cost tenths of a
  second; the runs found are handed to the loop page by page.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from ads_operator import metrics
from ads_operator.ads.mounts import Found
from ads_operator.models.oci_errors import NotFoundError, ThrottledError
from ads_operator.models.oci_records import LogPage, OciJob, OciJobRun, WorkRequest
from ads_operator.models.wire import CreateJobDetails, CreateJobRunDetails, UpdateJobDetails
from ads_operator.oci import sdk_clients
from ads_operator.oci.auth import Credentials
from ads_operator.oci.errors import from_exception
from ads_operator.oci.port import KnownRun, RunLog
from ads_operator.oci.ratelimit import TenancyBudget
from ads_operator.oci.resource_search import free_text_search
from ads_operator.oci.run_scan import RunScan
from ads_operator.oci.sdk_records import (
    SearchResultData,
    count_of,
    job_of,
    parse_log_result,
    run_of,
    run_of_wire,
)
from ads_operator.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class SdkOciPort:
    """One set of SDK clients for one credential set and region."""

    def __init__(
        self, credentials: Credentials, settings: Settings, limiter: TenancyBudget
    ) -> None:
        import oci

        self._limiter = limiter
        self._threads = sdk_clients.oci_threads(settings.worker_threads)
        self.region = credentials.region

        def client(kind: Callable[..., T], **extra: object) -> T:
            return sdk_clients.build(kind, credentials, settings, **extra)

        self._ds = client(oci.data_science.DataScienceClient)
        # Log searches and the run lists of state reads come back as JSON, not the SDK's
        # models: building those by reflection was most of the operator's CPU at a
        # thousand runs (see sdk_records.run_of_wire).
        self._ds_lists = client(oci.data_science.DataScienceClient, skip_deserialization=True)
        self._search = client(oci.loggingsearch.LogSearchClient, skip_deserialization=True)
        self._logging = client(oci.logging.LoggingManagementClient)
        self._os = client(oci.object_storage.ObjectStorageClient)
        self._resources = client(oci.resource_search.ResourceSearchClient)
        for pooled in (self._ds, self._ds_lists, self._search, self._logging, self._os):
            sdk_clients.widen_pool(pooled, settings.worker_threads)
        self._search_details = oci.loggingsearch.models.SearchLogsDetails

    async def _call(self, operation: str, fn: Callable[[], T], *, counted: bool = True) -> T:
        """``fn`` in an OCI thread, after a token of the budget. ``counted=False``: ``fn``
        counts its calls in the metrics itself (a failed one is counted here)."""
        await self._limiter.acquire(operation)
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._threads, fn)
        except Exception as exc:
            error = from_exception(exc, operation=operation)
            metrics.oci_call(operation, status=error.status, code=error.code, ok=False)
            if isinstance(error, ThrottledError):  # the cadence backs off (ratelimit.py)
                self._limiter.bucket(operation).throttled()
            raise error from None
        if counted:
            metrics.oci_call(operation, status=getattr(result, "status", None), code=None, ok=True)
        return result

    async def create_job(self, *, details: CreateJobDetails, retry_token: str) -> OciJob:
        resp = await self._call(
            "CreateJob", lambda: self._ds.create_job(details, opc_retry_token=retry_token)
        )
        return job_of(resp.data)

    async def create_job_artifact(
        self, *, job_id: str, file_name: str, content: bytes, retry_token: str
    ) -> None:
        await self._call(
            "CreateJobArtifact",
            lambda: self._ds.create_job_artifact(
                job_id,
                content,
                content_disposition=f"attachment; filename={file_name}",
                opc_retry_token=retry_token,
            ),
        )

    async def has_job_artifact(self, *, job_id: str) -> bool:
        try:
            await self._call("HeadJobArtifact", lambda: self._ds.head_job_artifact(job_id))
        except NotFoundError:
            return False
        return True

    async def get_job(self, *, job_id: str) -> OciJob:
        resp = await self._call("GetJob", lambda: self._ds.get_job(job_id))
        return job_of(resp.data)

    async def list_jobs(self, *, compartment_id: str, project_id: str | None) -> list[OciJob]:
        jobs: list[OciJob] = []
        page: str | None = None
        while True:
            call = functools.partial(
                self._ds.list_jobs, compartment_id, limit=100, project_id=project_id, page=page
            )
            resp = await self._call("ListJobs", call)
            jobs.extend(job_of(item) for item in resp.data)
            page = resp.next_page
            if not page:
                return jobs

    async def update_job(self, *, job_id: str, details: UpdateJobDetails) -> OciJob:
        resp = await self._call("UpdateJob", lambda: self._ds.update_job(job_id, details))
        return job_of(resp.data)

    async def delete_job(self, *, job_id: str, delete_related_job_runs: bool) -> str | None:
        resp = await self._call(
            "DeleteJob",
            lambda: self._ds.delete_job(job_id, delete_related_job_runs=delete_related_job_runs),
        )
        return resp.headers.get("opc-work-request-id")  # type: ignore[no-any-return]

    async def get_work_request(self, *, work_request_id: str) -> WorkRequest:
        resp = await self._call(
            "GetWorkRequest", lambda: self._ds.get_work_request(work_request_id)
        )
        return WorkRequest(id=resp.data.id, status=str(resp.data.status))

    async def create_job_run(self, *, details: CreateJobRunDetails, retry_token: str) -> OciJobRun:
        resp = await self._call(
            "CreateJobRun", lambda: self._ds.create_job_run(details, opc_retry_token=retry_token)
        )
        return run_of(resp.data)

    async def get_job_run(self, *, run_id: str, known: KnownRun | None = None) -> OciJobRun:
        """One GetJobRun (``known`` is for batching decorators)."""
        resp = await self._call("GetJobRun", lambda: self._ds.get_job_run(run_id))
        return run_of(resp.data)

    async def list_job_runs(self, *, compartment_id: str, job_id: str) -> list[OciJobRun]:
        runs: list[OciJobRun] = []
        page: str | None = None
        while True:
            call = functools.partial(
                self._ds.list_job_runs, compartment_id, job_id=job_id, limit=100, page=page
            )
            resp = await self._call("ListJobRuns", call)
            runs.extend(run_of(item) for item in resp.data)
            page = resp.next_page
            if not page:
                return runs

    async def scan_job_runs(
        self,
        *,
        compartment_id: str,
        scan: RunScan,
        page_size: int,
        found: Callable[[Sequence[OciJobRun]], None],
    ) -> None:
        loop = asyncio.get_running_loop()
        budget = self._limiter.bucket("ListJobRuns")

        def pages(newest_first: bool, more: bool) -> None:
            """Pages from one end of the list, one after another in this thread while
            tokens are free (the first page's was taken in the loop)."""
            while True:
                resp = self._ds_lists.list_job_runs(
                    compartment_id,
                    limit=page_size,
                    sort_by="timeCreated",
                    sort_order="DESC" if newest_first else "ASC",
                    lifecycle_state=scan.state,
                    page=scan.next_page(newest_first),
                )
                metrics.oci_call("ListJobRuns", status=resp.status, code=None, ok=True)
                items = [run_of_wire(item) for item in resp.data or ()]
                new = scan.add(newest_first, items, resp.next_page)
                if new:
                    loop.call_soon_threadsafe(found, new)
                if not more or scan.done() or budget.try_take() > 0:
                    return

        async def from_one_end(newest_first: bool) -> None:
            while not scan.done():
                await self._call(
                    "ListJobRuns", functools.partial(pages, newest_first, True), counted=False
                )

        if scan.done():
            return
        with budget.reserving():
            # The first page alone: it often is the whole list (then one end is enough).
            await self._call("ListJobRuns", functools.partial(pages, True, False), counted=False)
            await asyncio.gather(*(from_one_end(end) for end in scan.ends()))  # the first error

    async def cancel_job_run(self, *, run_id: str) -> None:
        await self._call("CancelJobRun", lambda: self._ds.cancel_job_run(run_id))

    async def delete_job_run(self, *, run_id: str) -> None:
        await self._call("DeleteJobRun", lambda: self._ds.delete_job_run(run_id))

    async def get_log_compartment(self, *, log_group_id: str, log_id: str) -> str:
        resp = await self._call("GetLog", lambda: self._logging.get_log(log_group_id, log_id))
        return str(resp.data.compartment_id)

    async def search_logs(
        self,
        *,
        query: str,
        time_start: datetime,
        time_end: datetime,
        limit: int,
        page: str | None,
        run: RunLog | None = None,
    ) -> LogPage:
        """One page of the query (``run`` is for batching decorators)."""
        details = self._search_details(time_start=time_start, time_end=time_end, search_query=query)

        def call() -> LogPage:  # a thousand records are parsed in the thread, not the loop
            resp = self._search.search_logs(details, limit=limit, page=page)
            results = (resp.data or {}).get("results") or ()
            records = [parse_log_result(r.get("data") or SearchResultData()) for r in results]
            return LogPage(tuple(r for r in records if r is not None), resp.next_page)

        return await self._call("SearchLogs", call)

    async def count_logs(
        self, *, query: str, time_start: datetime, time_end: datetime, run: RunLog | None = None
    ) -> dict[str, int]:
        """Every page of a ``summarize count() ... by source`` query (``run`` is for
        batching decorators)."""
        details = self._search_details(time_start=time_start, time_end=time_end, search_query=query)
        counts: dict[str, int] = {}
        page: str | None = None
        while True:
            call = functools.partial(self._search.search_logs, details, limit=1000, page=page)
            resp = await self._call("SearchLogs", call)
            for result in (resp.data or {}).get("results") or ():
                source, count = count_of(result.get("data") or {})
                counts[source] = counts.get(source, 0) + count
            page = resp.next_page
            if not page:
                return counts

    async def get_object(self, *, namespace: str, bucket: str, name: str) -> bytes:
        resp = await self._call(
            "GetObject", lambda: self._os.get_object(namespace, bucket, name).data.content
        )
        return bytes(resp)

    async def list_objects(self, *, namespace: str, bucket: str, prefix: str) -> list[str]:
        names: list[str] = []
        start: str | None = None
        while True:
            call = functools.partial(
                self._os.list_objects, namespace, bucket, prefix=prefix, start=start
            )
            resp = await self._call("ListObjects", call)
            names.extend(o.name for o in resp.data.objects)
            start = resp.data.next_start_with
            if not start:
                return names

    async def search_resources(self, *, text: str) -> list[Found]:
        call = functools.partial(free_text_search, self._resources, text)
        return await self._call("SearchResources", call)
