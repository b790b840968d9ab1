"""The OCI port: every OCI call the operator makes, as one async protocol.

Reconcile code and handlers depend on this protocol only; the SDK adapter implements it
for real OCI (or the emulator) and unit tests implement it in memory. Methods take
keyword arguments, return frozen records from :mod:`ads_operator.models.oci_records` and
raise the classes of :mod:`ads_operator.models.oci_errors`.

Two reads take an optional hint about the run they are for (:class:`KnownRun`,
:class:`RunLog`). A plain port ignores it; the batching decorator of
:mod:`ads_operator.oci.batching` uses it to answer many runs' reads with one call. So a
caller has one way to read a run's state and one to search its log, batched or not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ads_operator.ads.mounts import Found
from ads_operator.models.oci_records import LogPage, OciJob, OciJobRun, WorkRequest
from ads_operator.models.wire import CreateJobDetails, CreateJobRunDetails, UpdateJobDetails
from ads_operator.oci.run_scan import RunScan


@dataclass(frozen=True)
class KnownRun:
    """What a caller already knows of a run whose state it reads again.

    With it, a batching port may answer from a page of the compartment's runs in the
    run's state (ListJobRuns) instead of a GetJobRun. Such summaries carry no log ids,
    hence ``log_group_id``/``log_id`` here (they fill them in); ``state``, the state last
    seen, spares reading lists the run has already left (a run IN_PROGRESS is not looked
    for among the ACCEPTED ones); ``accepted``, when the run was accepted, tells where it is
    in lists sorted by creation time."""

    compartment_id: str
    log_id: str
    log_group_id: str | None = None
    state: str | None = None
    accepted: datetime | None = None


@dataclass(frozen=True)
class RunLog:
    """The run a log search is for, whose query is ADS's per-run query of that log.

    With it, a batching port may search the log of many runs with one query and answer
    each with the run's own records of the window, all on one page."""

    compartment_id: str
    log_group_id: str
    log_id: str
    run_id: str
    #: A sweep for late records (a deep window): batched with other sweeps only.
    sweep: bool = False
    #: For counts: a count taken at or after this moment may answer (one taken for
    #: other runs a little earlier); None: only a count taken now.
    count_from: datetime | None = None


class OciPort(Protocol):
    #: The region the calls go to: the resource's, else its credentials' (a Secret's
    #: config or the operator's settings); "" when none is known. Console links name it.
    region: str

    async def create_job(self, *, details: CreateJobDetails, retry_token: str) -> OciJob: ...

    async def create_job_artifact(
        self, *, job_id: str, file_name: str, content: bytes, retry_token: str
    ) -> None: ...

    async def has_job_artifact(self, *, job_id: str) -> bool: ...

    async def get_job(self, *, job_id: str) -> OciJob: ...

    async def list_jobs(self, *, compartment_id: str, project_id: str | None) -> list[OciJob]: ...

    async def update_job(self, *, job_id: str, details: UpdateJobDetails) -> OciJob: ...

    async def delete_job(self, *, job_id: str, delete_related_job_runs: bool) -> str | None:
        """Start deleting; returns the work request id when the service gives one."""
        ...

    async def get_work_request(self, *, work_request_id: str) -> WorkRequest: ...

    async def create_job_run(
        self, *, details: CreateJobRunDetails, retry_token: str
    ) -> OciJobRun: ...

    async def get_job_run(self, *, run_id: str, known: KnownRun | None = None) -> OciJobRun:
        """The run's state; ``known`` lets a batching port read it with other runs'."""
        ...

    async def list_job_runs(self, *, compartment_id: str, job_id: str) -> list[OciJobRun]: ...

    async def scan_job_runs(
        self,
        *,
        compartment_id: str,
        scan: RunScan,
        page_size: int,
        found: Callable[[Sequence[OciJobRun]], None],
    ) -> None:
        """Reads pages of the compartment's runs in ``scan.state`` (``page_size`` runs
        each; the newest page, then from the ends ``scan.ends()`` names; summaries: no
        log details) until ``scan`` is done. ``found`` gets the wanted runs of each page as
        soon as it is read, on the event loop, so that callers need not wait for the
        rest of the list."""
        ...

    async def cancel_job_run(self, *, run_id: str) -> None: ...

    async def delete_job_run(self, *, run_id: str) -> None: ...

    async def get_log_compartment(self, *, log_group_id: str, log_id: str) -> str: ...

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
        """A page of the query's records; ``run`` lets a batching port search the log
        with other runs' (it then answers the run's whole window on one page)."""
        ...

    async def count_logs(
        self,
        *,
        query: str,
        time_start: datetime,
        time_end: datetime,
        run: RunLog | None = None,
    ) -> dict[str, int]:
        """The records of ``query`` (one that ends in ``| summarize count() as n by
        source``) by ``source``, over all pages; ``run`` lets a batching port count many
        runs' records with one query (it then answers with that run's sources only)."""
        ...

    async def get_object(self, *, namespace: str, bucket: str, name: str) -> bytes: ...

    async def list_objects(self, *, namespace: str, bucket: str, prefix: str) -> list[str]: ...

    async def search_resources(self, *, text: str) -> list[Found]:
        """Every resource a free-text Resource Search for ``text`` finds, as ADS searches
        to resolve a File Storage mount written by address (see ``ads/mounts.py``)."""
        ...
