"""Which Events to post: log lines batched and rate-limited, other Events bounded per
object and reason. Pure: :class:`ads_operator.kube.events.EventPoster` posts them.

Kubernetes Events are best effort and limited to 1 KiB per message; the run's
``status.logTail`` and the OCI log stay the complete record. So log lines are packed
several per Event in order, each Event at most ``log_event_max_bytes``, and two token
buckets (per run, per operator) bound how many Events the operator posts. When a bucket
is empty the lines are not queued up (that would grow without bound); one Event says that
the limit bit and where the complete log is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile import log_batches
from ads_operator.reconcile.log_batches import PendingEvent
from ads_operator.settings import Settings

COMPONENT: Final = "ads.oci.dev/ads-operator"
LOG_REASON: Final = log_batches.LOG_REASON
LIMIT_REASON: Final = log_batches.LIMIT_REASON
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def batch_lines(lines: Sequence[str], max_bytes: int) -> list[str]:
    """Pack lines, in order, into newline-joined messages of at most ``max_bytes`` bytes.

    A line too long for one message on its own is cut with an ellipsis; the full line is in
    the OCI log and ``ads-operator logs``.
    """
    records = [LogRecord(id="", time=_EPOCH, message=line) for line in lines]
    return [message for _, message in log_batches.batch_records(records, max_bytes)]


@dataclass
class _Bucket:
    """``per_minute`` tokens a minute, at most ``capacity`` (default ``per_minute``) saved."""

    per_minute: float
    clock: Callable[[], float]
    capacity: float = 0.0
    tokens: float = -1.0
    stamp: float = 0.0

    def _refill(self) -> None:
        now = self.clock()
        top = self.capacity or float(self.per_minute)
        if self.tokens < 0:
            self.tokens, self.stamp = top, now
        self.tokens = min(top, self.tokens + (now - self.stamp) * self.per_minute / 60)
        self.stamp = now

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def full(self) -> bool:
        self._refill()
        return self.tokens >= (self.capacity or float(self.per_minute))


@dataclass
class LogEventLimiter:
    """Per-run and per-operator budgets of log-line Events (tokens per minute)."""

    per_run: int
    global_: int
    clock: Callable[[], float] = time.monotonic
    _runs: dict[str, _Bucket] = field(default_factory=dict)
    _global: _Bucket | None = None
    _told: set[str] = field(default_factory=set)

    def allow(self, run_uid: str) -> bool:
        bucket = self._runs.setdefault(run_uid, _Bucket(self.per_run, self.clock))
        if self._global is None:
            self._global = _Bucket(self.global_, self.clock)
        # Check the run's own budget first so a chatty run does not drain the global one.
        return bucket.take() and self._global.take()

    def first_refusal(self, run_uid: str) -> bool:
        """True once per run: whether to post the "limit bit" Event now."""
        if run_uid in self._told:
            return False
        self._told.add(run_uid)
        return True

    def forget(self, run_uid: str) -> None:
        self._runs.pop(run_uid, None)
        self._told.discard(run_uid)


@dataclass
class RepeatLimiter:
    """A budget per object and reason for the Events that are not log lines.

    Something that keeps going wrong the same way (a create OCI answers oddly, a handler
    retrying) must not post an Event on every attempt: ``burst`` Events per object and
    reason at once, then ``per_minute``. The condition on the resource stays the complete
    record of the current state; suppressed Events are logged at debug level.
    """

    burst: int = 10
    per_minute: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)

    def allow(self, uid: str, reason: str) -> bool:
        key = (uid, reason)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_idle()
            bucket = self._buckets[key] = _Bucket(self.per_minute, self.clock, self.burst)
        return bucket.take()

    def _forget_idle(self) -> None:
        """Drop the buckets that refilled: they behave exactly like new ones."""
        for key in [k for k, b in self._buckets.items() if b.full()]:
            del self._buckets[key]


#: Above this many (object, reason) budgets, refilled ones are dropped before adding one.
_MAX_BUCKETS: Final = 10_000


@dataclass(frozen=True)
class Plan:
    """The Events to post for a batch of lines, and how many lines got no Event."""

    messages: tuple[str, ...]
    dropped_lines: int
    announce_limit: bool


def plan_log_events(
    lines: Sequence[str], *, run_uid: str, limiter: LogEventLimiter, max_bytes: int
) -> Plan:
    posted: list[str] = []
    dropped = 0
    announce = False
    for message in batch_lines(lines, max_bytes):
        if limiter.allow(run_uid):
            posted.append(message)
        else:
            dropped += message.count("\n") + 1
    if dropped:
        announce = limiter.first_refusal(run_uid)
    return Plan(tuple(posted), dropped, announce)


def plan_named_events(
    records: Sequence[LogRecord],
    *,
    run_name: str,
    run_uid: str,
    limiter: LogEventLimiter,
    settings: Settings,
) -> tuple[list[PendingEvent], int]:
    """The Events (with idempotent names) for newly read records after the rate limits,
    and how many lines got none. At most :data:`log_batches.MAX_PENDING` Events per pass
    (the rest count as limited), so the write-ahead status stays small."""
    posted: list[PendingEvent] = []
    dropped = 0
    room = log_batches.MAX_PENDING - 1  # one left for the "limit bit" Event
    for ids, message in log_batches.batch_records(records, settings.log_event_max_bytes):
        if len(posted) < room and limiter.allow(run_uid):
            name = log_batches.event_name(run_name, run_uid, ids)
            posted.append(PendingEvent(name, LOG_REASON, message))
        else:
            dropped += len(ids)
    if dropped and limiter.first_refusal(run_uid):
        posted.append(
            PendingEvent(
                log_batches.limit_event_name(run_name, run_uid),
                LIMIT_REASON,
                log_batches.fit(limit_message(dropped, settings), 1024),
                warning=True,
            )
        )
    return posted, dropped


def limit_message(dropped: int, settings: Settings) -> str:
    return (
        f"Log-line Events are rate limited ({settings.log_events_per_minute_per_run}/min per run,"
        f" {settings.log_events_per_minute}/min for the operator); {dropped} line(s) and possibly"
        " later ones are not shown as Events. status.logTail keeps the last lines; the complete"
        " log is in OCI Logging (ads-operator logs <run>)."
    )
