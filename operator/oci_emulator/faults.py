"""Injected faults and rate limits, both adjustable at runtime through the admin endpoint.

Faults are per operation (the SDK operation name, e.g. ``GetJobRun``; ``*`` applies to every
operation without its own rule): probabilities of 429 (with ``retry-after``), 500 and 503,
an added latency, and ``failNext`` (fail the next N calls, then serve).
``runNeedsAttention`` is the probability that a run goes to NEEDS_ATTENTION instead of
IN_PROGRESS.

Rate limits are token buckets per (tenancy, operation family). Defaults (requests/second,
burst): read 100/200, write 20/40, search 20/40, upload 10/20. They are far above what one
operator or test issues — so tests never trip them by accident — yet a runaway poll loop
without backoff does hit them, which is the behaviour worth reproducing. A rate of 0 turns a
family's limit off.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from oci_emulator.errors import (
    ApiError,
    InternalServerError,
    InvalidParameter,
    ServiceUnavailable,
    TooManyRequests,
)

FAMILIES = ("read", "write", "search", "upload")


@dataclass
class FaultRule:
    rate429: float = 0.0
    rate500: float = 0.0
    rate503: float = 0.0
    latencyMs: float = 0.0  # noqa: N815 (wire name)
    retryAfter: int = 1  # noqa: N815 (wire name)
    #: Fail exactly this many upcoming calls with ``failStatus``, then serve normally:
    #: deterministic retries for tests, where probabilities would make them flaky.
    failNext: int = 0  # noqa: N815 (wire name)
    failStatus: int = 503  # noqa: N815 (wire name)

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> FaultRule:
        rule = cls()
        for key, value in raw.items():
            if key not in asdict(rule):
                raise InvalidParameter(f"unknown fault setting {key!r}")
            setattr(rule, key, type(getattr(rule, key))(value))
        for key in ("rate429", "rate500", "rate503"):
            if not 0.0 <= getattr(rule, key) <= 1.0:
                raise InvalidParameter(f"{key} must be a probability between 0 and 1")
        if rule.failStatus not in (429, 500, 503):
            raise InvalidParameter("failStatus must be 429, 500 or 503")
        return rule


@dataclass
class RateLimit:
    rate: float
    burst: float


DEFAULT_LIMITS: dict[str, RateLimit] = {
    "read": RateLimit(100.0, 200.0),
    "write": RateLimit(20.0, 40.0),
    "search": RateLimit(20.0, 40.0),
    "upload": RateLimit(10.0, 20.0),
}


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class Faults:
    """Fault rules, rate limits and their token buckets (thread-safe; read per request)."""

    rules: dict[str, FaultRule] = field(default_factory=dict)
    run_needs_attention: float = 0.0
    limits: dict[str, RateLimit] = field(
        default_factory=lambda: {k: RateLimit(v.rate, v.burst) for k, v in DEFAULT_LIMITS.items()}
    )
    seed: int | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._random = random.Random(self.seed)  # noqa: S311 (fault dice, not crypto)

    def configure(self, raw: dict[str, Any]) -> None:
        """Apply ``{"operations": {...}, "runNeedsAttention": p, "rateLimits": {...}}``."""
        with self._lock:
            if "operations" in raw:
                self.rules = {
                    op: FaultRule.from_wire(dict(rule)) for op, rule in raw["operations"].items()
                }
            if "runNeedsAttention" in raw:
                self.run_needs_attention = float(raw["runNeedsAttention"])
            for family, limit in dict(raw.get("rateLimits") or {}).items():
                if family not in FAMILIES:
                    raise InvalidParameter(f"unknown operation family {family!r}")
                self.limits[family] = RateLimit(float(limit["rate"]), float(limit["burst"]))
                self._buckets = {k: v for k, v in self._buckets.items() if k[1] != family}
            if "seed" in raw:
                self._random.seed(raw["seed"])

    def to_wire(self) -> dict[str, Any]:
        return {
            "operations": {op: asdict(rule) for op, rule in self.rules.items()},
            "runNeedsAttention": self.run_needs_attention,
            "rateLimits": {k: asdict(v) for k, v in self.limits.items()},
        }

    def rule_for(self, operation: str) -> FaultRule | None:
        return self.rules.get(operation) or self.rules.get("*")

    def injected_error(self, operation: str) -> ApiError | None:
        """Roll the dice for ``operation``: an error to return instead of serving, or None."""
        rule = self.rule_for(operation)
        if rule is None:
            return None
        with self._lock:
            roll = self._random.random()
            forced = rule.failNext > 0
            if forced:
                rule.failNext -= 1
        if forced:
            return _error(rule.failStatus, operation, rule.retryAfter)
        if roll < rule.rate429:
            return _error(429, operation, rule.retryAfter)
        roll -= rule.rate429
        if roll < rule.rate500:
            return _error(500, operation, rule.retryAfter)
        roll -= rule.rate500
        if roll < rule.rate503:
            return _error(503, operation, rule.retryAfter)
        return None

    def latency_seconds(self, operation: str) -> float:
        rule = self.rule_for(operation)
        return 0.0 if rule is None else rule.latencyMs / 1000.0

    def roll_needs_attention(self) -> bool:
        with self._lock:
            return self._random.random() < self.run_needs_attention

    def take_token(self, tenancy: str, family: str, now: float | None = None) -> float | None:
        """Spend one token; None if allowed, else seconds until a token is available."""
        limit = self.limits.get(family)
        if limit is None or limit.rate <= 0:
            return None
        moment = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.setdefault((tenancy, family), _Bucket(limit.burst, moment))
            bucket.tokens = min(limit.burst, bucket.tokens + (moment - bucket.stamp) * limit.rate)
            bucket.stamp = moment
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / limit.rate


def _error(status: int, operation: str, retry_after: int) -> ApiError:
    if status == 429:
        return TooManyRequests(
            f"Too many requests for {operation} (injected fault).",
            headers={"retry-after": str(retry_after)},
        )
    if status == 500:
        return InternalServerError(f"Internal error in {operation} (injected fault).")
    return ServiceUnavailable(f"{operation} is temporarily unavailable (injected fault).")


def family_of(method: str, operation: str) -> str:
    """The rate-limit family of an operation."""
    if operation == "SearchLogs":
        return "search"
    if operation in ("CreateJobArtifact", "PutObject"):
        return "upload"
    return "read" if method in ("GET", "HEAD") else "write"
