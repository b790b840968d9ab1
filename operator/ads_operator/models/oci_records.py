"""Frozen records the port returns instead of SDK model objects.

They hold only what the operator decides on, so fakes in unit tests are one line each and
the SDK's models (and their ``UNKNOWN_ENUM_VALUE`` quirks) stay inside the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class OciJob:
    id: str
    lifecycle_state: str
    compartment_id: str
    project_id: str
    display_name: str = ""
    lifecycle_details: str = ""
    freeform_tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OciJobRun:
    id: str
    job_id: str
    lifecycle_state: str
    compartment_id: str
    project_id: str = ""
    display_name: str = ""
    lifecycle_details: str = ""
    time_accepted: datetime | None = None
    time_started: datetime | None = None
    time_finished: datetime | None = None
    log_group_id: str | None = None
    log_id: str | None = None
    freeform_tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkRequest:
    id: str
    status: str


@dataclass(frozen=True)
class LogRecord:
    """One line of a run's log as Logging Search returns it."""

    id: str
    time: datetime
    message: str
    #: ``logContent.source``: the run OCID for job-run logs (splits batched searches).
    source: str = ""
    #: ``logContent.oracle.ingestedtime``: when the service took the record in (how long
    #: records take to settle, :class:`~ads_operator.oci.settle_time.SettleTime`).
    ingested: datetime | None = None


@dataclass(frozen=True)
class LogPage:
    records: tuple[LogRecord, ...]
    next_page: str | None = None
