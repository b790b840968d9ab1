"""Log lines packed into Events with names that make posting them idempotent.

Mirroring must survive a SIGKILL at any point (issue 8, finding F1). Kubernetes offers no
transaction across "persist the cursor" and "create the Events", so the operator writes
ahead: it persists the new cursor *together with* the Events it is about to create (as
``status.logPending``), then creates them. Each Event's name is derived from the run's
UID and the record ids it carries, so creating it again after a crash is answered with
409 AlreadyExists instead of a second copy. A crash before the write-ahead patch loses
nothing (the cursor did not move); a crash after it re-posts the pending Events, which
are either new or already there. These functions are pure: the same records always give
the same messages and names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ads_operator.models.oci_records import LogRecord
from ads_operator.models.run import LOG_PENDING_EVENTS

LOG_REASON: Final = "LogLines"
LIMIT_REASON: Final = "LogEventsLimited"
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


def to_wire(pending: Sequence[PendingEvent]) -> list[dict[str, Any]] | None:
    """``status.logPending`` for these Events (None clears it)."""
    return [p.to_wire() for p in pending] or None


def from_wire(raw: Any) -> list[PendingEvent]:
    return [PendingEvent.from_wire(x) for x in raw or [] if isinstance(x, Mapping) and "name" in x]
