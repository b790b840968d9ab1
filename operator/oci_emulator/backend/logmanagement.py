"""Logging Management (20200531): log groups, logs, and the records stored in logs.

Creates and deletes are asynchronous through work requests, as in the service; the new OCID
is reported in the work request's ``resources[0].identifier`` (what ADS reads).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from oci_emulator import ids
from oci_emulator.backend.context import Caller, Scheduler
from oci_emulator.backend.store import NewLogRecord, Store
from oci_emulator.backend.workrequests import Affected, WorkRequests
from oci_emulator.errors import Conflict, IncorrectState, InvalidParameter, NotAuthorizedOrNotFound
from oci_emulator.settings import Settings
from oci_emulator.validation import check_tags, require_str

Doc = dict[str, Any]

LOG_GROUP = "logging.loggroup"
LOG = "logging.log"
LOG_TYPES = frozenset({"CUSTOM", "SERVICE"})
RETENTION_DAYS = frozenset({30, 60, 90, 120, 150, 180})

LOG_GROUP_SUMMARY_FIELDS = (
    "id",
    "compartmentId",
    "displayName",
    "description",
    "definedTags",
    "freeformTags",
    "systemTags",
    "timeCreated",
    "timeLastModified",
    "lifecycleState",
)
LOG_SUMMARY_FIELDS = (
    "id",
    "logGroupId",
    "displayName",
    "isEnabled",
    "lifecycleState",
    "logType",
    "configuration",
    "definedTags",
    "freeformTags",
    "systemTags",
    "timeCreated",
    "timeLastModified",
    "retentionDuration",
    "compartmentId",
)


class LoggingBackend:
    """Log groups, logs and their records."""

    def __init__(self, store: Store, scheduler: Scheduler, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self.work_requests = WorkRequests(store, scheduler, settings, "logging")
        self.work_requests.actions.update(
            CREATE_LOG_GROUP=lambda oid, _: self._set_state(LOG_GROUP, oid, "ACTIVE"),
            DELETE_LOG_GROUP=lambda oid, _: self._set_state(LOG_GROUP, oid, "DELETED"),
            CREATE_LOG=lambda oid, _: self._set_state(LOG, oid, "ACTIVE"),
            DELETE_LOG=lambda oid, _: self._set_state(LOG, oid, "DELETED"),
        )

    # -- log groups -----------------------------------------------------------------------

    def create_log_group(self, caller: Caller, body: Doc) -> str:
        compartment = require_str(body, "compartmentId")
        name = require_str(body, "displayName")
        check_tags(body)
        if any(g["displayName"] == name for g in self._live_groups(compartment)):
            raise Conflict(f"A log group named {name!r} already exists in the compartment.")
        now = ids.now_iso()
        doc: Doc = {
            "id": ids.new_ocid("loggroup"),
            "compartmentId": compartment,
            "displayName": name,
            "description": body.get("description"),
            "lifecycleState": "CREATING",
            "freeformTags": body.get("freeformTags") or {},
            "definedTags": body.get("definedTags") or {},
            "timeCreated": now,
            "timeLastModified": now,
            "_tenancy": caller.tenancy,
            "_etag": ids.new_etag(),
        }
        self._store.insert(LOG_GROUP, doc, compartment=compartment, parent=None)
        return self.work_requests.submit(
            operation_type="CREATE_LOG_GROUP",
            compartment_id=compartment,
            affected=Affected("loggroup", doc["id"]),
            action_type="CREATED",
        )

    def seed_log_group(self, *, group_id: str, compartment: str, name: str, tenancy: str) -> Doc:
        """An ACTIVE log group with a chosen OCID (admin only; no OCI call can do this).

        ``make demo`` seeds the placeholder log group the examples name, so that they run
        as written, their output lines becoming Events. Idempotent: an existing live group
        with that OCID is returned as it is."""
        existing = self._store.get(LOG_GROUP, group_id)
        if existing is not None and existing["lifecycleState"] != "DELETED":
            return existing
        if not group_id.startswith("ocid1.loggroup."):
            raise InvalidParameter(f"{group_id!r} is not a log group OCID (ocid1.loggroup...).")
        now = ids.now_iso()
        doc: Doc = {
            "id": group_id,
            "compartmentId": compartment,
            "displayName": name,
            "description": "seeded through the emulator's admin endpoint",
            "lifecycleState": "ACTIVE",
            "freeformTags": {},
            "definedTags": {},
            "timeCreated": now,
            "timeLastModified": now,
            "_tenancy": tenancy,
            "_etag": ids.new_etag(),
        }
        self._store.insert(LOG_GROUP, doc, compartment=compartment, parent=None)
        return doc

    def get_log_group(self, group_id: str) -> Doc:
        doc = self._store.get(LOG_GROUP, group_id)
        if doc is None or doc["lifecycleState"] == "DELETED":
            raise NotAuthorizedOrNotFound(f"Log group {group_id} not found.")
        return doc

    def list_log_groups(self, compartment: str, display_name: str | None) -> list[Doc]:
        groups = self._live_groups(compartment)
        if display_name is not None:
            groups = [g for g in groups if g["displayName"] == display_name]
        return groups

    def delete_log_group(self, group_id: str) -> str:
        group = self.get_log_group(group_id)
        if any(log["lifecycleState"] != "DELETED" for log in self._logs_of(group_id)):
            raise IncorrectState(f"Log group {group_id} still contains logs; delete them first.")
        return self.work_requests.submit(
            operation_type="DELETE_LOG_GROUP",
            compartment_id=group["compartmentId"],
            affected=Affected("loggroup", group_id),
            action_type="DELETED",
        )

    def _live_groups(self, compartment: str) -> list[Doc]:
        return [
            g
            for g in self._store.query(LOG_GROUP, compartment=compartment)
            if g["lifecycleState"] != "DELETED"
        ]

    # -- logs -----------------------------------------------------------------------------

    def create_log(self, caller: Caller, group_id: str, body: Doc) -> str:
        doc = self._new_log(caller, group_id, body, state="CREATING")
        return self.work_requests.submit(
            operation_type="CREATE_LOG",
            compartment_id=doc["compartmentId"],
            affected=Affected("log", doc["id"]),
            action_type="CREATED",
        )

    def create_log_now(self, caller: Caller, group_id: str, display_name: str) -> Doc:
        """A CUSTOM log created synchronously: what Data Science does for auto log creation."""
        return self._new_log(
            caller, group_id, {"displayName": display_name, "logType": "CUSTOM"}, state="ACTIVE"
        )

    def _new_log(self, caller: Caller, group_id: str, body: Doc, *, state: str) -> Doc:
        group = self.get_log_group(group_id)
        name = require_str(body, "displayName")
        log_type = require_str(body, "logType")
        if log_type not in LOG_TYPES:
            raise InvalidParameter(f"logType must be CUSTOM or SERVICE, got {log_type!r}.")
        configuration = body.get("configuration")
        if log_type == "SERVICE" and not isinstance(configuration, dict):
            raise InvalidParameter("A SERVICE log needs a configuration with a source.")
        if isinstance(configuration, dict):
            source = configuration.get("source")
            if not isinstance(source, dict) or source.get("sourceType") != "OCISERVICE":
                raise InvalidParameter("configuration.source.sourceType must be OCISERVICE.")
            for key in ("service", "resource", "category"):
                require_str(source, key, "configuration.source.")
            configuration = dict(configuration)
            configuration.setdefault("compartmentId", group["compartmentId"])
        retention = body.get("retentionDuration", 30)
        if retention not in RETENTION_DAYS:
            raise InvalidParameter("retentionDuration must be 30, 60, ... 180 days.")
        check_tags(body)
        if any(
            log["displayName"] == name and log["lifecycleState"] != "DELETED"
            for log in self._store.query_shared(LOG, parent=group_id)  # only read
        ):
            raise Conflict(f"A log named {name!r} already exists in log group {group_id}.")
        now = ids.now_iso()
        doc: Doc = {
            "id": ids.new_ocid("log"),
            "tenancyId": caller.tenancy,
            "logGroupId": group_id,
            "displayName": name,
            "logType": log_type,
            "isEnabled": body.get("isEnabled", True),
            "lifecycleState": state,
            "freeformTags": body.get("freeformTags") or {},
            "definedTags": body.get("definedTags") or {},
            "timeCreated": now,
            "timeLastModified": now,
            "retentionDuration": retention,
            "compartmentId": group["compartmentId"],
            "_etag": ids.new_etag(),
        }
        if configuration is not None:
            doc["configuration"] = configuration
        self._store.insert(LOG, doc, compartment=group["compartmentId"], parent=group_id)
        return doc

    def get_log(self, group_id: str, log_id: str) -> Doc:
        doc = self._store.get(LOG, log_id)
        if doc is None or doc["logGroupId"] != group_id or doc["lifecycleState"] == "DELETED":
            raise NotAuthorizedOrNotFound(f"Log {log_id} not found in log group {group_id}.")
        return doc

    def find_log(self, log_id: str) -> Doc | None:
        doc = self._store.get(LOG, log_id)
        return None if doc is None or doc["lifecycleState"] == "DELETED" else doc

    def list_logs(self, group_id: str, filters: dict[str, str | None]) -> list[Doc]:
        self.get_log_group(group_id)
        logs = [log for log in self._logs_of(group_id) if log["lifecycleState"] != "DELETED"]
        wanted = {k: v for k, v in filters.items() if v is not None}
        return [log for log in logs if all(str(log.get(k)) == v for k, v in wanted.items())]

    def delete_log(self, group_id: str, log_id: str) -> str:
        log = self.get_log(group_id, log_id)
        return self.work_requests.submit(
            operation_type="DELETE_LOG",
            compartment_id=log["compartmentId"],
            affected=Affected("log", log_id),
            action_type="DELETED",
        )

    def all_groups(self) -> list[Doc]:
        return [g for g in self._store.query(LOG_GROUP) if g["lifecycleState"] != "DELETED"]

    def _logs_of(self, group_id: str) -> list[Doc]:
        return self._store.query(LOG, parent=group_id)

    def _set_state(self, kind: str, resource_id: str, state: str) -> None:
        doc = self._store.get(kind, resource_id)
        if doc is None:
            raise NotAuthorizedOrNotFound(f"{resource_id} not found.")
        doc["lifecycleState"] = state
        doc["timeLastModified"] = ids.now_iso()
        doc["_etag"] = ids.new_etag()
        self._store.save(doc)

    # -- records --------------------------------------------------------------------------

    def append_lines(self, log: Doc, *, source: str, lines: Iterable[tuple[int, str, str]]) -> int:
        """Store ``(time_ms, stream, text)`` lines as records of ``log`` with ``source``."""
        return self.append_many([(log, source, lines)])

    def append_many(
        self, batches: Iterable[tuple[Doc, str, Iterable[tuple[int, str, str]]]]
    ) -> int:
        """:meth:`append_lines` for several (log, source, lines) at once, in one write."""
        now = ids.now_ms()
        group_tenancies: dict[str, str] = {}  # a group read once per write
        records: list[NewLogRecord] = []
        for log, source, lines in batches:
            group_id = log["logGroupId"]
            if group_id not in group_tenancies:
                group = self._store.get(LOG_GROUP, group_id)
                group_tenancies[group_id] = str((group or {}).get("_tenancy") or "")
            tenancy = group_tenancies[group_id] or str(log.get("tenancyId") or "")
            records += [
                NewLogRecord(
                    log_id=log["id"],
                    log_group_id=group_id,
                    compartment=log["compartmentId"],
                    tenancy=tenancy,
                    source=source,
                    type=f"com.oraclecloud.datascience.jobrun.{stream}",
                    time_ms=time_ms,
                    ingested_ms=max(now, time_ms + self._settings.late_ms(source, time_ms, text)),
                    record_id=str(uuid.uuid4()),
                    message=text,
                )
                for time_ms, stream, text in lines
            ]
        return self._store.add_log_records(records) if records else 0
