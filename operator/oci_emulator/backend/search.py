"""SearchLogs execution: resolve the query's streams to logs, then page through records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oci_emulator import ids, logsearch
from oci_emulator.backend.logmanagement import LOG, LOG_GROUP
from oci_emulator.backend.store import LogRecordRow, Store

Doc = dict[str, Any]


@dataclass(frozen=True)
class SearchPage:
    results: list[Doc]
    next_page: str | None


def resolve_logs(store: Store, streams: tuple[logsearch.Stream, ...]) -> list[str]:
    """Log OCIDs named by the streams; groups and logs may be given by OCID or name."""
    found: list[str] = []
    for stream in streams:
        if stream.log is not None and stream.log.startswith("ocid1."):
            # A log by OCID (what the SDK users send): one read, not the whole group's
            # logs per stream (a query naming 50 logs of a 2,000-log group read 100,000).
            log = store.get(LOG, stream.log)
            group = store.get(LOG_GROUP, log["logGroupId"]) if log is not None else None
            if (
                log is not None
                and group is not None
                and group.get("compartmentId") == stream.compartment
                and (
                    stream.log_group is None
                    or stream.log_group in (group["id"], group["displayName"])
                )
            ):
                found.append(log["id"])
            continue
        groups = [
            g
            for g in store.query(LOG_GROUP, compartment=stream.compartment)
            if stream.log_group is None or stream.log_group in (g["id"], g["displayName"])
        ]
        for group in groups:
            for log in store.query(LOG, parent=group["id"]):
                if stream.log is None or stream.log in (log["id"], log["displayName"]):
                    found.append(log["id"])
    return list(dict.fromkeys(found))


def search(
    store: Store,
    *,
    query_text: str,
    time_start: int,
    time_end: int,
    limit: int,
    page: str | None,
    visibility_delay_seconds: float,
    ties_reversed: bool = False,
) -> SearchPage:
    logsearch.check_window(time_start, time_end)
    query = logsearch.parse_query(query_text)
    log_ids = resolve_logs(store, query.streams)
    visibility_ms = int(visibility_delay_seconds * 1000)
    visible_before = ids.now_ms() - visibility_ms
    if query.count_as is not None:
        rows = count_rows(store, query, log_ids, time_start, time_end, visible_before)
        return _page_of_rows(rows, limit=limit, page=page)
    after = logsearch.decode_page(page) if page else None
    results: list[Doc] = []
    last_key: tuple[int, int] | None = None
    more = False
    where = logsearch.sql_filter(query)
    for row in store.scan_log_records(
        log_ids,
        time_start=time_start,
        time_end=time_end,
        visible_before=visible_before,
        descending=query.descending,
        after=after,
        ties_reversed=ties_reversed,
        where=where,
    ):
        doc = record_document(row, visibility_ms=visibility_ms)
        if where is None and not logsearch.matches(query, doc):
            continue
        if len(results) == limit:
            more = True
            break
        results.append(doc)
        last_key = (row.time_ms, row.seq)
    next_page = logsearch.encode_page(last_key) if more and last_key is not None else None
    return SearchPage(results=results, next_page=next_page)


def count_rows(
    store: Store,
    query: logsearch.Query,
    log_ids: list[str],
    time_start: int,
    time_end: int,
    visible_before: int,
    *,
    in_python: bool = False,
) -> list[Doc]:
    """``summarize count() [as n] [by ...]``: one row per group, in the groups' order.
    SQLite counts when the filter and the groups are columns; else (or ``in_python``,
    for tests that compare the two) the documents are grouped here."""
    assert query.count_as is not None
    where = logsearch.sql_filter(query)
    columns = logsearch.group_columns(query)
    groups: dict[tuple[Any, ...], int] = {}
    if not in_python and columns is not None and (where is not None or not query.where):
        for *key, count in store.count_log_records(
            log_ids,
            time_start=time_start,
            time_end=time_end,
            visible_before=visible_before,
            where=where,
            columns=columns,
        ):
            groups[tuple(key)] = int(count)
    else:
        for row in store.scan_log_records(
            log_ids,
            time_start=time_start,
            time_end=time_end,
            visible_before=visible_before,
            descending=False,
            after=None,
        ):
            doc = record_document(row)
            if logsearch.matches(query, doc):
                found = tuple(logsearch.field_value(doc, f) for f in query.group_by)
                groups[found] = groups.get(found, 0) + 1
    if not query.group_by and not groups:
        groups[()] = 0  # a count without groups is one row, also of nothing
    return [
        {**dict(zip(query.group_by, key, strict=True)), query.count_as: count}
        for key, count in sorted(groups.items(), key=lambda item: [str(k) for k in item[0]])
    ]


def _page_of_rows(rows: list[Doc], *, limit: int, page: str | None) -> SearchPage:
    """A page of aggregated rows; the page token is the offset of the next row."""
    start = logsearch.decode_page(page)[1] if page else 0
    more = len(rows) > start + limit
    next_page = logsearch.encode_page((-1, start + limit)) if more else None
    return SearchPage(results=rows[start : start + limit], next_page=next_page)


def record_document(row: LogRecordRow, *, visibility_ms: int = 0) -> Doc:
    """``results[].data`` of one record, in the service's top-level logging format. Its
    ``ingestedtime`` is when it became searchable: stored, plus the visibility delay."""
    return {
        "datetime": row.time_ms,
        "logContent": {
            "data": {"message": row.message},
            "id": row.record_id,
            "oracle": {
                "compartmentid": row.compartment,
                "ingestedtime": ids.format_time(row.ingested_ms + visibility_ms),
                "loggroupid": row.log_group_id,
                "logid": row.log_id,
                "tenantid": row.tenancy,
            },
            "source": row.source,
            "specversion": "1.0",
            "subject": "",
            "time": ids.format_time(row.time_ms),
            "type": row.type,
        },
    }
