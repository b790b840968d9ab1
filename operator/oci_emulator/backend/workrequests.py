"""Asynchronous operations tracked by work requests (DeleteJob, CreateLog, ...).

A work request is ACCEPTED at once, IN_PROGRESS half-way and SUCCEEDED (or FAILED with the
error recorded) after ``work_request_seconds``; the action itself runs at the end so callers
that poll GetWorkRequest, as ADS and the SDK composites do, see the real progression.

Actions are named by operation type and take only persisted arguments, so work requests a
stopped emulator left pending are finished by the next one (:meth:`WorkRequests.resume`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oci_emulator import ids, lifecycle
from oci_emulator.backend.context import Scheduler
from oci_emulator.backend.store import Store
from oci_emulator.errors import ApiError, NotAuthorizedOrNotFound
from oci_emulator.settings import Settings

Doc = dict[str, Any]


@dataclass(frozen=True)
class Affected:
    """The resource a work request acts on, as WorkRequestResource reports it."""

    entity_type: str
    identifier: str
    entity_uri: str | None = None


Action = Callable[[str, Doc], None]


@dataclass
class WorkRequests:
    """Work requests of one service (``kind`` keeps Data Science and Logging apart).

    ``actions`` maps an operation type to what completes it, given the affected resource's
    OCID and the arguments stored with the work request.
    """

    _store: Store
    _scheduler: Scheduler
    _settings: Settings
    _kind: str
    actions: dict[str, Action] = field(default_factory=dict)

    def submit(
        self,
        *,
        operation_type: str,
        compartment_id: str,
        affected: Affected,
        action_type: str,
        args: Doc | None = None,
    ) -> str:
        resource: Doc = {
            "entityType": affected.entity_type,
            "actionType": "IN_PROGRESS",
            "identifier": affected.identifier,
        }
        if affected.entity_uri:
            resource["entityUri"] = affected.entity_uri
        doc: Doc = {
            "id": ids.new_ocid("datascienceworkrequest" if self._kind == "ds" else "workrequest"),
            "operationType": operation_type,
            "status": lifecycle.WR_ACCEPTED,
            "compartmentId": compartment_id,
            "percentComplete": 0.0,
            "resources": [resource],
            "timeAccepted": ids.now_iso(),
            "_finalAction": action_type,
            "_args": args or {},
            "_errors": [],
        }
        self._store.insert(self._wr_kind, doc, compartment=compartment_id, parent=None)
        self._schedule(str(doc["id"]))
        return str(doc["id"])

    def _schedule(self, wr_id: str) -> None:
        delay = max(self._settings.work_request_seconds, 0.0)
        self._scheduler.call_later(delay / 2, lambda: self._progress(wr_id))
        self._scheduler.call_later(delay, lambda: self._finish(wr_id))

    def resume(self) -> int:
        """Schedule the completion of work requests a previous process left pending."""
        pending = [
            doc["id"]
            for doc in self._store.query(self._wr_kind)
            if doc["status"] in (lifecycle.WR_ACCEPTED, lifecycle.WR_IN_PROGRESS)
        ]
        for wr_id in pending:
            self._schedule(wr_id)
        return len(pending)

    @property
    def _wr_kind(self) -> str:
        return f"{self._kind}.workrequest"

    def get(self, wr_id: str) -> Doc:
        doc = self._store.get(self._wr_kind, wr_id)
        if doc is None:
            raise NotAuthorizedOrNotFound(f"Work request {wr_id} not found.")
        return doc

    def list_in(self, compartment_id: str) -> list[Doc]:
        return self._store.query(self._wr_kind, compartment=compartment_id)

    def _progress(self, wr_id: str) -> None:
        doc = self.get(wr_id)
        if doc["status"] == lifecycle.WR_ACCEPTED:
            doc.update(status=lifecycle.WR_IN_PROGRESS, percentComplete=50.0)
            doc["timeStarted"] = ids.now_iso()
            self._store.save(doc)

    def _finish(self, wr_id: str) -> None:
        doc = self.get(wr_id)
        if doc["status"] not in (lifecycle.WR_ACCEPTED, lifecycle.WR_IN_PROGRESS):
            return
        doc.setdefault("timeStarted", ids.now_iso())
        try:
            action = self.actions[doc["operationType"]]
            action(doc["resources"][0]["identifier"], doc.get("_args") or {})
        except ApiError as error:
            doc["status"] = lifecycle.WR_FAILED
            doc["_errors"] = [{"code": error.code, "message": error.message}]
        else:
            doc["status"] = lifecycle.WR_SUCCEEDED
            doc["resources"][0]["actionType"] = doc["_finalAction"]
            doc["percentComplete"] = 100.0
        doc["timeFinished"] = ids.now_iso()
        self._store.save(doc)

    def errors(self, wr_id: str) -> list[Doc]:
        doc = self.get(wr_id)
        return [dict(e, timestamp=doc.get("timeFinished")) for e in doc.get("_errors", [])]
