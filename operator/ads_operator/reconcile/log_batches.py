"""Log lines packed into Events with names that make posting them idempotent.

Mirroring must survive a SIGKILL at any point (issue 8, finding F1). Kubernetes offers no
transaction across "persist the cursor" and "create the Events", so the operator writes
ahead, in an Event (issue 21): the first Event of a log step, its *step Event*, is named
after the run's UID, attempt and the step's number, and carries in an annotation
(:class:`StepRecord`) the log fields of the status after the step and the step's other
Events. It is created before them, and the status is written once they all exist (at
most every ``LOG_STATUS_INTERVAL`` while log steps queue: a run's status patch is the API
server's costliest write, see ``docs/scale.md``); it holds the number of steps done.
After a crash the next incarnation looks up the step Events after that number, one by
one, until one does not exist: the last it finds gives the status, and its other Events
are created again. Each of those is named after the run's UID and the record ids it
carries, so creating it again is answered with 409 AlreadyExists instead of a second
copy. A step with no log-line Event writes ahead in the status instead
(``status.logPending``, then the Events). These functions are pure: the same records
always give the same messages and names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ads_operator.models.oci_records import LogRecord
from ads_operator.models.run import LOG_PENDING_EVENTS

LOG_REASON: Final = "LogLines"
LIMIT_REASON: Final = "LogEventsLimited"
#: The annotation of a step Event that holds its :class:`StepRecord`.
STEP_ANNOTATION: Final = "ads.oci.dev/log-step"
#: The largest :class:`StepRecord` a step Event carries (annotations may hold 256 KiB in
#: all); a larger step writes ahead in the status as before.
MAX_STEP_RECORD: Final = 192 * 1024
#: The most Events one pass may leave pending: keeps ``status.logPending`` small
#: (at most this many messages of at most 1 KiB each).
MAX_PENDING: Final = LOG_PENDING_EVENTS
_ELLIPSIS: Final = "…"
#: Room for the suffix in an Event name (a DNS subdomain of at most 253 characters).
_NAME_ROOM: Final = 253 - len(".log.") - 20


@dataclass(frozen=True)
class PendingEvent:
    """One Event to create under a fixed name (so that creating it twice is harmless)."""

    name: str
    reason: str
    message: str
    warning: bool = False
    #: For a step Event: its :class:`StepRecord`, JSON (the Event's annotation).
    record: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "reason": self.reason,
            "message": self.message,
            "warning": self.warning,
        }

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> PendingEvent:
        return cls(
            name=str(raw["name"]),
            reason=str(raw.get("reason") or LOG_REASON),
            message=str(raw.get("message") or ""),
            warning=bool(raw.get("warning")),
        )


def fit(line: str, max_bytes: int) -> str:
    """``line`` cut (on a character boundary) so its UTF-8 form fits ``max_bytes``."""
    data = line.encode()
    if len(data) <= max_bytes:
        return line
    room = max_bytes - len(_ELLIPSIS.encode())
    return data[:room].decode("utf-8", errors="ignore") + _ELLIPSIS


def batch_records(
    records: Sequence[LogRecord], max_bytes: int
) -> list[tuple[tuple[str, ...], str]]:
    """Pack records, in order, into newline-joined messages of at most ``max_bytes``
    bytes; each with the ids of the records it carries. A line too long for a message on
    its own is cut with an ellipsis (the full line stays in the OCI log)."""
    batches: list[tuple[tuple[str, ...], str]] = []
    ids: list[str] = []
    lines: list[str] = []
    size = 0
    for record in records:
        line = fit(record.message.rstrip("\n"), max_bytes)
        cost = len(line.encode()) + (1 if lines else 0)
        if lines and size + cost > max_bytes:
            batches.append((tuple(ids), "\n".join(lines)))
            ids, lines, size = [], [], 0
            cost = len(line.encode())
        ids.append(record.id)
        lines.append(line)
        size += cost
    if lines:
        batches.append((tuple(ids), "\n".join(lines)))
    return batches


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:20]


def event_name(run_name: str, run_uid: str, ids: Sequence[str]) -> str:
    """The Event name for the lines with these record ids: the same ids, the same name.

    The run UID (not only its name) goes into the digest, so a run deleted and created
    again under the same name does not collide with the old run's Events."""
    return f"{run_name[:_NAME_ROOM].rstrip('-.')}.log.{_digest(run_uid, *ids)}"


def limit_event_name(run_name: str, run_uid: str) -> str:
    """The one "rate limit bit" Event of a run (posting it again is a no-op)."""
    return f"{run_name[:_NAME_ROOM].rstrip('-.')}.lim.{_digest(run_uid, 'limited')}"


def once_name(name: str, uid: str, *parts: str) -> str:
    """A fixed name for an Event that happens once per object and ``parts`` (a run's
    state change: its attempt, reason and message): posting it again, after a pass that
    failed half-way or a reset that hid whether the create was done, is a 409, not a
    second Event."""
    return f"{name[:_NAME_ROOM].rstrip('-.')}.evt.{_digest(uid, *parts)}"


def step_event_name(run_name: str, run_uid: str, attempt: int, step: int) -> str:
    """The name of the run attempt's ``step``-th step Event: found again by its number
    alone after a crash. Each attempt counts its steps from 1 (its cursor starts over)."""
    digest = _digest(run_uid, "step", str(attempt), str(step))
    return f"{run_name[:_NAME_ROOM].rstrip('-.')}.log.{digest}"


@dataclass(frozen=True)
class StepRecord:
    """What a step Event carries: the log fields of the status once the step's Events
    exist (``status``, with the step's number in its cursor), and those Events but the
    step Event itself (``rest``)."""

    status: Mapping[str, Any]
    rest: tuple[PendingEvent, ...]

    def to_json(self) -> str:
        body = {"status": dict(self.status), "rest": [p.to_wire() for p in self.rest]}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> StepRecord | None:
        """None for what this version did not write (the step is then read again)."""
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("status"), dict):
            return None
        return cls(body["status"], tuple(from_wire(body.get("rest"))))


def with_step_record(
    events: Sequence[PendingEvent], name: str, status: Mapping[str, Any]
) -> list[PendingEvent] | None:
    """``events`` with the first log-line Event made the step Event (renamed ``name``,
    carrying ``status`` and the others), in the order to create them: the step Event
    first. None when there is no log-line Event or the record is too large for an
    annotation: the step then writes ahead in the status."""
    first = next((i for i, e in enumerate(events) if e.reason == LOG_REASON), None)
    if first is None:
        return None
    rest = tuple(e for i, e in enumerate(events) if i != first)
    text = StepRecord(status, rest).to_json()
    if len(text.encode()) > MAX_STEP_RECORD:
        return None
    head = events[first]
    return [PendingEvent(name, head.reason, head.message, head.warning, text), *rest]


def to_wire(pending: Sequence[PendingEvent]) -> list[dict[str, Any]] | None:
    """``status.logPending`` for these Events (None clears it)."""
    return [p.to_wire() for p in pending] or None


def from_wire(raw: Any) -> list[PendingEvent]:
    return [PendingEvent.from_wire(x) for x in raw or [] if isinstance(x, Mapping) and "name" in x]
