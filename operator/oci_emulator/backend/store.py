"""SQLite persistence for every resource the emulator holds.

Resources are stored as their wire documents (camelCase JSON) in one table keyed by OCID,
so a GET is a lookup plus a dump and a restart loses nothing. Private bookkeeping lives in
keys that start with ``_`` and is stripped before anything goes on the wire. Artifacts,
objects, log records and retry tokens have their own tables because they are bulky or
queried differently. All access happens on the emulator's event-loop thread, so a single
connection suffices.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    compartment TEXT,
    parent TEXT,
    seq INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_kind ON resources (kind, compartment);
CREATE INDEX IF NOT EXISTS resources_parent ON resources (kind, parent);
CREATE TABLE IF NOT EXISTS artifacts (
    job_id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    data BLOB NOT NULL,
    md5 TEXT NOT NULL,
    etag TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    namespace TEXT NOT NULL,
    bucket TEXT NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    md5 TEXT NOT NULL,
    etag TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY (namespace, bucket, name)
);
CREATE TABLE IF NOT EXISTS log_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    log_id TEXT NOT NULL,
    log_group_id TEXT NOT NULL,
    compartment TEXT NOT NULL,
    tenancy TEXT NOT NULL,
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    ingested_ms INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_records_time ON log_records (log_id, time_ms, seq);
CREATE TABLE IF NOT EXISTS retry_tokens (
    scope TEXT NOT NULL,
    token TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (scope, token)
);
"""


@dataclass(frozen=True)
class LogRecordRow:
    """One stored log line, as search needs it."""

    seq: int
    log_id: str
    log_group_id: str
    compartment: str
    tenancy: str
    source: str
    type: str
    time_ms: int
    ingested_ms: int
    record_id: str
    message: str


@dataclass(frozen=True)
class NewLogRecord:
    log_id: str
    log_group_id: str
    compartment: str
    tenancy: str
    source: str
    type: str
    time_ms: int
    ingested_ms: int
    record_id: str
    message: str


@dataclass(frozen=True)
class StoredBlob:
    """An artifact or object with the metadata its HEAD/GET headers need."""

    name: str
    data: bytes
    md5: str
    etag: str
    time_ms: int
    content_type: str = "application/octet-stream"
    meta: dict[str, str] | None = None
    #: Byte count; listings fill it without loading ``data``.
    size: int = -1

    @property
    def length(self) -> int:
        return self.size if self.size >= 0 else len(self.data)


class Store:
    """Typed access to the emulator database (a file path or ``:memory:``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL + WAL survives a process crash; only an OS crash could lose a commit.
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM resources").fetchone()
        self._seq = int(row[0])
        #: Documents of :meth:`query_shared`, by scope and id, with the text they were
        #: parsed from: each scope holds the rows of its last query only.
        self._parsed: dict[tuple[str, str | None, str | None], dict[str, tuple[str, Doc]]] = {}

    def close(self) -> None:
        self._db.close()

    # -- resources ------------------------------------------------------------------------

    def insert(self, kind: str, doc: Doc, *, compartment: str | None, parent: str | None) -> Doc:
        self._seq += 1
        self._db.execute(
            "INSERT INTO resources (id, kind, compartment, parent, seq, doc) VALUES (?,?,?,?,?,?)",
            (doc["id"], kind, compartment, parent, self._seq, json.dumps(doc)),
        )
        return doc

    def save(self, doc: Doc) -> Doc:
        self._db.execute("UPDATE resources SET doc = ? WHERE id = ?", (json.dumps(doc), doc["id"]))
        return doc

    def delete(self, resource_id: str) -> None:
        self._db.execute("DELETE FROM resources WHERE id = ?", (resource_id,))

    def get(self, kind: str, resource_id: str) -> Doc | None:
        row = self._db.execute(
            "SELECT doc FROM resources WHERE id = ? AND kind = ?", (resource_id, kind)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def query(
        self, kind: str, *, compartment: str | None = None, parent: str | None = None
    ) -> list[Doc]:
        """Resources of one kind in insertion order, optionally narrowed by scope."""
        rows = self._scope(kind, compartment, parent)
        return [dict(json.loads(text)) for _, text in rows]

    def _scope(self, kind: str, compartment: str | None, parent: str | None) -> sqlite3.Cursor:
        """``(id, doc)`` rows of one kind in insertion order, optionally narrowed by scope."""
        sql = "SELECT id, doc FROM resources WHERE kind = ?"
        args: list[Any] = [kind]
        if compartment is not None:
            sql += " AND compartment = ?"
            args.append(compartment)
        if parent is not None:
            sql += " AND parent = ?"
            args.append(parent)
        return self._db.execute(sql + " ORDER BY seq", args)

    def query_shared(
        self, kind: str, *, compartment: str | None = None, parent: str | None = None
    ) -> list[Doc]:
        """:meth:`query` for callers that only read the documents: those whose stored text
        did not change since the last such query are the same objects, not parsed again.
        A thousand runs listed in pages of 100 parsed every run's document for each page
        (a sixth of the emulator's time at a thousand runs)."""
        scope = (kind, compartment, parent)
        known = self._parsed.get(scope, {})
        parsed: dict[str, tuple[str, Doc]] = {}
        for resource_id, text in self._scope(kind, compartment, parent):
            cached = known.get(resource_id)
            parsed[resource_id] = (
                cached if cached is not None and cached[0] == text else (text, json.loads(text))
            )
        self._parsed[scope] = parsed
        return [doc for _, doc in parsed.values()]

    # -- artifacts ------------------------------------------------------------------------

    def put_artifact(self, job_id: str, blob: StoredBlob) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO artifacts VALUES (?,?,?,?,?,?)",
            (job_id, blob.name, blob.data, blob.md5, blob.etag, blob.time_ms),
        )

    def get_artifact(self, job_id: str) -> StoredBlob | None:
        row = self._db.execute(
            "SELECT filename, data, md5, etag, time_ms FROM artifacts WHERE job_id = ?", (job_id,)
        ).fetchone()
        if row is None:
            return None
        return StoredBlob(name=row[0], data=bytes(row[1]), md5=row[2], etag=row[3], time_ms=row[4])

    # -- objects --------------------------------------------------------------------------

    def put_object(self, namespace: str, bucket: str, blob: StoredBlob) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?,?,?,?)",
            (
                namespace,
                bucket,
                blob.name,
                blob.data,
                blob.md5,
                blob.etag,
                blob.time_ms,
                blob.content_type,
                json.dumps(blob.meta or {}),
            ),
        )

    def get_object(self, namespace: str, bucket: str, name: str) -> StoredBlob | None:
        row = self._db.execute(
            "SELECT name, data, md5, etag, time_ms, content_type, meta FROM objects "
            "WHERE namespace = ? AND bucket = ? AND name = ?",
            (namespace, bucket, name),
        ).fetchone()
        return None if row is None else _blob(row)

    def delete_object(self, namespace: str, bucket: str, name: str) -> bool:
        cursor = self._db.execute(
            "DELETE FROM objects WHERE namespace = ? AND bucket = ? AND name = ?",
            (namespace, bucket, name),
        )
        return cursor.rowcount > 0

    def list_objects(self, namespace: str, bucket: str, start: str) -> Iterator[StoredBlob]:
        """Objects in name order from ``start`` on; the caller stops when it has enough."""
        rows = self._db.execute(
            "SELECT name, x'', md5, etag, time_ms, content_type, meta, length(data) "
            "FROM objects WHERE namespace = ? AND bucket = ? AND name >= ? ORDER BY name",
            (namespace, bucket, start),
        )
        for row in rows:
            yield StoredBlob(
                name=row[0],
                data=b"",
                md5=row[2],
                etag=row[3],
                time_ms=row[4],
                content_type=row[5],
                meta=dict(json.loads(row[6])),
                size=int(row[7]),
            )

    # -- log records ----------------------------------------------------------------------

    def add_log_records(self, records: Iterable[NewLogRecord]) -> int:
        """Inserts the records in one transaction. In autocommit mode each row would
        commit on its own: at a thousand runs' lines that was a third of the emulator's
        CPU. (The store is used from the emulator's one loop thread, so nothing else
        runs inside the transaction.)"""
        self._db.execute("BEGIN")
        try:
            cursor = self._db.executemany(
                "INSERT INTO log_records (log_id, log_group_id, compartment, tenancy, source, type,"
                " time_ms, ingested_ms, record_id, message) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r.log_id,
                        r.log_group_id,
                        r.compartment,
                        r.tenancy,
                        r.source,
                        r.type,
                        r.time_ms,
                        r.ingested_ms,
                        r.record_id,
                        r.message,
                    )
                    for r in records
                ],
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return cursor.rowcount

    def scan_log_records(
        self,
        log_ids: list[str],
        *,
        time_start: int,
        time_end: int,
        visible_before: int,
        descending: bool,
        after: tuple[int, int] | None,
        ties_reversed: bool = False,
        where: tuple[str, list[str]] | None = None,
    ) -> Iterator[LogRecordRow]:
        """Records of the given logs in ``[time_start, time_end)`` by time, ascending or
        ``descending``; records of the same millisecond in ingestion order (``seq``), or
        newest first with ``ties_reversed``, whichever the time order.

        ``after`` is the (time, seq) key of the last record of the previous page: keyset
        paging keeps pages stable while new lines keep arriving. ``where`` is a further
        condition with its arguments (:func:`oci_emulator.logsearch.sql_filter`).
        """
        if not log_ids:
            return
        marks = ",".join("?" * len(log_ids))
        # Only "?" placeholders and fixed keywords are interpolated into the statement.
        columns = "seq, log_id, log_group_id, compartment, tenancy, source, type, time_ms"
        columns += ", ingested_ms, record_id, message"
        within = f"log_id IN ({marks}) AND time_ms >= ? AND time_ms < ? AND ingested_ms <= ?"
        sql = f"SELECT {columns} FROM log_records WHERE {within}"  # noqa: S608
        args: list[Any] = [*log_ids, time_start, time_end, visible_before]
        time_op, time_order = ("<", "DESC") if descending else (">", "ASC")
        seq_op, seq_order = ("<", "DESC") if ties_reversed else (">", "ASC")
        if after is not None:
            sql += f" AND (time_ms {time_op} ? OR (time_ms = ? AND seq {seq_op} ?))"
            args.extend([after[0], after[0], after[1]])
        if where is not None:
            sql += f" AND ({where[0]})"
            args.extend(where[1])
        sql += f" ORDER BY time_ms {time_order}, seq {seq_order}"
        for row in self._db.execute(sql, args):
            yield LogRecordRow(*row)

    def count_log_records(
        self,
        log_ids: list[str],
        *,
        time_start: int,
        time_end: int,
        visible_before: int,
        where: tuple[str, list[str]] | None,
        columns: list[str],
    ) -> list[tuple[Any, ...]]:
        """``(*group, count)`` of the records of ``scan_log_records``'s window, grouped
        by ``columns`` (names from :data:`oci_emulator.logsearch._COLUMNS`)."""
        if not log_ids:
            return []
        marks = ",".join("?" * len(log_ids))
        group = ", ".join(columns)
        within = f"log_id IN ({marks}) AND time_ms >= ? AND time_ms < ? AND ingested_ms <= ?"
        selected = f"{group}, count(*)" if columns else "count(*)"
        sql = f"SELECT {selected} FROM log_records WHERE {within}"  # noqa: S608
        args: list[Any] = [*log_ids, time_start, time_end, visible_before]
        if where is not None:
            sql += f" AND ({where[0]})"
            args.extend(where[1])
        if columns:
            sql += f" GROUP BY {group}"
        rows = self._db.execute(sql, args).fetchall()
        return [tuple(row) for row in rows if row[-1]]

    # -- retry tokens ---------------------------------------------------------------------

    def get_retry(self, scope: str, token: str) -> tuple[str, int, dict[str, str], bytes] | None:
        row = self._db.execute(
            "SELECT body_hash, status, headers, body FROM retry_tokens"
            " WHERE scope = ? AND token = ?",
            (scope, token),
        ).fetchone()
        if row is None:
            return None
        return row[0], int(row[1]), dict(json.loads(row[2])), bytes(row[3])

    def put_retry(
        self,
        scope: str,
        token: str,
        body_hash: str,
        status: int,
        headers: dict[str, str],
        body: bytes,
        time_ms: int,
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO retry_tokens VALUES (?,?,?,?,?,?,?)",
            (scope, token, body_hash, status, json.dumps(headers), body, time_ms),
        )

    def expire_retry_tokens(self, older_than_ms: int) -> None:
        self._db.execute("DELETE FROM retry_tokens WHERE time_ms < ?", (older_than_ms,))


def _blob(row: Any) -> StoredBlob:
    return StoredBlob(
        name=row[0],
        data=bytes(row[1]),
        md5=row[2],
        etag=row[3],
        time_ms=row[4],
        content_type=row[5],
        meta=dict(json.loads(row[6])),
    )
