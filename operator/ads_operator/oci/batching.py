"""The OCI port, with the reads of many runs batched: a decorator of :class:`OciPort`.

Callers read a run's state and search its log through the port as usual, giving the
hints of :class:`~ads_operator.oci.port.KnownRun` and :class:`~ads_operator.oci.port.RunLog`
when they have them. This decorator hands such reads to the operator's shared
:class:`~ads_operator.oci.poller.RunStateReader` (state reads per compartment, see
:mod:`.poller`) and :class:`~ads_operator.oci.logreader.LogSearchBatcher` (log searches per
log group, see :mod:`.logreader`); every other call goes straight to the port it wraps.
Both are shared by all ports of the operator (one wake-up registry, one bound on
searches in flight) and key their batches by the wrapped port, so runs of different
credentials or regions are never answered from one another's lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ads_operator.ads.mounts import Found
from ads_operator.models.oci_records import LogPage, OciJob, OciJobRun, WorkRequest
from ads_operator.models.wire import CreateJobDetails, CreateJobRunDetails, UpdateJobDetails
from ads_operator.oci.log_counts import LogCountBatcher
from ads_operator.oci.logreader import LogSearchBatcher, LogWant
from ads_operator.oci.poller import RunStateReader
from ads_operator.oci.port import KnownRun, OciPort, RunLog
from ads_operator.oci.run_scan import RunScan


class BatchingPort:
    """An :class:`OciPort` answering hinted state reads and log searches in batches."""

    def __init__(
        self,
        inner: OciPort,
        *,
        reader: RunStateReader | None = None,
        logs: LogSearchBatcher | None = None,
        counts: LogCountBatcher | None = None,
    ) -> None:
        self.inner = inner
        self.reader = reader
        self.logs = logs
        self.counts = counts
        self.region = inner.region

    async def get_job_run(self, *, run_id: str, known: KnownRun | None = None) -> OciJobRun:
        if known is None or self.reader is None:
            return await self.inner.get_job_run(run_id=run_id)
        return await self.reader.read(
            self.inner,
            run_id=run_id,
            compartment_id=known.compartment_id,
            batchable=True,
            log_group_id=known.log_group_id,
            log_id=known.log_id,
            known_state=known.state,
            accepted=known.accepted,
        )

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
        if run is None or self.logs is None:
            return await self.inner.search_logs(
                query=query, time_start=time_start, time_end=time_end, limit=limit, page=page
            )
        want = LogWant(
            run.compartment_id,
            run.log_group_id,
            run.log_id,
            run.run_id,
            time_start,
            time_end,
            sweep=run.sweep,
        )
        return LogPage(tuple(await self.logs.search(self.inner, want)))

    async def count_logs(
        self, *, query: str, time_start: datetime, time_end: datetime, run: RunLog | None = None
    ) -> dict[str, int]:
        if run is None or self.counts is None:
            return await self.inner.count_logs(
                query=query, time_start=time_start, time_end=time_end
            )
        want = LogWant(
            run.compartment_id, run.log_group_id, run.log_id, run.run_id, time_start, time_end
        )
        latest = datetime.max.replace(tzinfo=UTC)
        try:
            count = await self.counts.count(self.inner, want, count_from=run.count_from or latest)
        except Exception as exc:
            if self.logs is not None:  # throttled or failed like a search: read settled
                self.logs.mode.failed(exc)
            raise
        return {run.run_id: count}

    async def get_log_compartment(self, *, log_group_id: str, log_id: str) -> str:
        if self.logs is None:
            return await self.inner.get_log_compartment(log_group_id=log_group_id, log_id=log_id)
        return await self.logs.log_compartment(self.inner, log_group_id=log_group_id, log_id=log_id)

    # -- everything else: the wrapped port's own answer ------------------------------------

    async def create_job(self, *, details: CreateJobDetails, retry_token: str) -> OciJob:
        return await self.inner.create_job(details=details, retry_token=retry_token)

    async def create_job_artifact(
        self, *, job_id: str, file_name: str, content: bytes, retry_token: str
    ) -> None:
        await self.inner.create_job_artifact(
            job_id=job_id, file_name=file_name, content=content, retry_token=retry_token
        )

    async def has_job_artifact(self, *, job_id: str) -> bool:
        return await self.inner.has_job_artifact(job_id=job_id)

    async def get_job(self, *, job_id: str) -> OciJob:
        return await self.inner.get_job(job_id=job_id)

    async def list_jobs(self, *, compartment_id: str, project_id: str | None) -> list[OciJob]:
        return await self.inner.list_jobs(compartment_id=compartment_id, project_id=project_id)

    async def update_job(self, *, job_id: str, details: UpdateJobDetails) -> OciJob:
        return await self.inner.update_job(job_id=job_id, details=details)

    async def delete_job(self, *, job_id: str, delete_related_job_runs: bool) -> str | None:
        return await self.inner.delete_job(
            job_id=job_id, delete_related_job_runs=delete_related_job_runs
        )

    async def get_work_request(self, *, work_request_id: str) -> WorkRequest:
        return await self.inner.get_work_request(work_request_id=work_request_id)

    async def create_job_run(self, *, details: CreateJobRunDetails, retry_token: str) -> OciJobRun:
        return await self.inner.create_job_run(details=details, retry_token=retry_token)

    async def list_job_runs(self, *, compartment_id: str, job_id: str) -> list[OciJobRun]:
        return await self.inner.list_job_runs(compartment_id=compartment_id, job_id=job_id)

    async def scan_job_runs(
        self,
        *,
        compartment_id: str,
        scan: RunScan,
        page_size: int,
        found: Callable[[Sequence[OciJobRun]], None],
    ) -> None:
        await self.inner.scan_job_runs(
            compartment_id=compartment_id, scan=scan, page_size=page_size, found=found
        )

    async def cancel_job_run(self, *, run_id: str) -> None:
        await self.inner.cancel_job_run(run_id=run_id)

    async def delete_job_run(self, *, run_id: str) -> None:
        await self.inner.delete_job_run(run_id=run_id)

    async def get_object(self, *, namespace: str, bucket: str, name: str) -> bytes:
        return await self.inner.get_object(namespace=namespace, bucket=bucket, name=name)

    async def list_objects(self, *, namespace: str, bucket: str, prefix: str) -> list[str]:
        return await self.inner.list_objects(namespace=namespace, bucket=bucket, prefix=prefix)

    async def search_resources(self, *, text: str) -> list[Found]:
        return await self.inner.search_resources(text=text)
