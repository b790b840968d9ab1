"""The request log: every request with its operation and status, plus counters per operation.

Tests and benchmarks read it through ``GET /_emulator/requests`` to assert how an operator
talked to "OCI" (how many polls, which retries) without instrumenting the client.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Entry:
    time: str
    operation: str
    method: str
    path: str
    status: int
    requestId: str  # noqa: N815 (wire name)
    tenancy: str | None
    durationMs: float  # noqa: N815 (wire name)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=MAX_ENTRIES)
        self._counts: dict[str, dict[str, int]] = {}

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)
            per_op = self._counts.setdefault(entry.operation, {})
            per_op["total"] = per_op.get("total", 0) + 1
            key = str(entry.status)
            per_op[key] = per_op.get(key, 0) + 1

    def snapshot(self, *, limit: int = 1000) -> dict[str, Any]:
        with self._lock:
            entries = list(self._entries)[-limit:] if limit > 0 else []
            return {
                "counters": {op: dict(c) for op, c in self._counts.items()},
                "total": sum(c.get("total", 0) for c in self._counts.values()),
                "entries": [asdict(e) for e in entries],
            }

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._counts.clear()
