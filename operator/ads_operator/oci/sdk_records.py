"""The SDK's models and SearchLogs results as the port's records (:mod:`.domain`).

Kept apart from the adapter's calls: these are pure conversions, and the tolerant
reading of log results (times as ISO text or epoch milliseconds, shapes that are not
log lines) is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict

from ads_operator.models.oci_records import LogRecord, OciJob, OciJobRun


def tags_of(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def job_of(model: Any) -> OciJob:
    return OciJob(
        id=model.id,
        lifecycle_state=str(model.lifecycle_state),
        compartment_id=model.compartment_id,
        project_id=model.project_id,
        display_name=model.display_name or "",
        lifecycle_details=getattr(model, "lifecycle_details", None) or "",
        freeform_tags=tags_of(model.freeform_tags),
    )


def run_of(model: Any) -> OciJobRun:
    """A JobRun or a JobRunSummary as a record (a summary has no logDetails: None ids)."""
    details = getattr(model, "log_details", None)
    return OciJobRun(
        id=model.id,
        job_id=model.job_id,
        lifecycle_state=str(model.lifecycle_state),
        compartment_id=model.compartment_id,
        project_id=model.project_id or "",
        display_name=model.display_name or "",
        lifecycle_details=model.lifecycle_details or "",
        time_accepted=model.time_accepted,
        time_started=model.time_started,
        time_finished=model.time_finished,
        log_group_id=getattr(details, "log_group_id", None),
        log_id=getattr(details, "log_id", None),
        freeform_tags=tags_of(model.freeform_tags),
    )


def time_of(value: object) -> datetime | None:
    """An RFC 3339 time as the service sends it (``...Z``); None when absent."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_of_wire(item: Mapping[str, Any]) -> OciJobRun:
    """A JobRunSummary as JSON (a list page read without the SDK's models) as a record.

    The SDK turns each item of a page into a model by reflection: at a thousand runs the
    list pages of the state reads spent more CPU there than anywhere else but log
    searches, in threads that hold the GIL the event loop needs."""
    details = item.get("logDetails") or {}
    return OciJobRun(
        id=item["id"],
        job_id=item["jobId"],
        lifecycle_state=str(item["lifecycleState"]),
        compartment_id=item["compartmentId"],
        project_id=item.get("projectId") or "",
        display_name=item.get("displayName") or "",
        lifecycle_details=item.get("lifecycleDetails") or "",
        time_accepted=time_of(item.get("timeAccepted")),
        time_started=time_of(item.get("timeStarted")),
        time_finished=time_of(item.get("timeFinished")),
        log_group_id=details.get("logGroupId"),
        log_id=details.get("logId"),
        freeform_tags=tags_of(item.get("freeformTags")),
    )


class LogContentData(TypedDict, total=False):
    message: str


class LogContentOracle(TypedDict, total=False):
    ingestedtime: str


class LogContent(TypedDict, total=False):
    id: str
    time: str
    source: str
    data: LogContentData
    oracle: LogContentOracle


class SearchResultData(TypedDict, total=False):
    """A SearchLogs result's ``data``, as far as a log line is read from it. It is JSON
    the service passes through, so every field is read as possibly missing."""

    datetime: int
    logContent: LogContent


def parse_log_result(data: SearchResultData) -> LogRecord | None:
    """A SearchLogs result's ``data`` as a record; None for shapes that are not log lines."""
    content = data.get("logContent") or LogContent()
    record_id = content.get("id")
    message = (content.get("data") or LogContentData()).get("message")
    if record_id is None or message is None:
        return None
    time: datetime | None = None
    raw_time = content.get("time")
    if isinstance(raw_time, str):
        try:
            time = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
        except ValueError:
            time = None
    if time is None and isinstance(data.get("datetime"), int | float):
        time = datetime.fromtimestamp(float(data["datetime"]) / 1000, tz=UTC)
    if time is None:
        return None
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    source = str(content.get("source") or "")
    return LogRecord(
        id=str(record_id),
        time=time,
        message=str(message),
        source=source,
        ingested=_ingested(content),
    )


def _ingested(content: LogContent) -> datetime | None:
    """When the service ingested the record; None when it does not say (or not readably:
    the record is mirrored all the same, it only does not inform the settle time)."""
    raw = (content.get("oracle") or LogContentOracle()).get("ingestedtime")
    try:
        return time_of(raw)
    except ValueError:
        return None


def count_of(data: Mapping[str, object]) -> tuple[str, int]:
    """A ``summarize count() ... by source`` row as ``(source, count)``. The count is the
    row's one number, whatever the query named it (``as n``, or the service's default)."""
    numbers = [v for k, v in data.items() if k != "source" and isinstance(v, int | float)]
    return str(data.get("source") or ""), int(numbers[0]) if numbers else 0
