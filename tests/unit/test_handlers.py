"""The kopf side: outcomes become kopf's retry semantics in one place; kopf's own Events
share the operator's budget."""

from __future__ import annotations

import logging

import kopf
import pytest

from ads_operator.handlers import KopfEventFilter, limit_kopf_events, raise_for
from ads_operator.kube.events import RepeatLimiter
from ads_operator.usecases.outcome import Done, Failed, RetryAfter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_outcome_becomes_kopfs_retry_or_permanent_error_or_nothing() -> None:
    raise_for(Done())
    raise_for(None)
    with pytest.raises(kopf.TemporaryError) as retry:
        raise_for(RetryAfter(7.5, "the OCI job is being created"))
    assert (retry.value.delay, str(retry.value)) == (7.5, "the OCI job is being created")
    with pytest.raises(kopf.PermanentError, match="the OCI job is FAILED"):
        raise_for(Failed("the OCI job is FAILED"))


def test_kopfs_own_retry_events_get_the_same_budget() -> None:
    clock = Clock()
    flt = KopfEventFilter(RepeatLimiter(burst=2, per_minute=1.0, clock=clock))

    def record() -> logging.LogRecord:
        rec = logging.LogRecord(
            "kopf.objects", logging.ERROR, "", 0, "failed temporarily", (), None
        )
        rec.k8s_ref = {"uid": "uid-1", "name": "job"}
        return rec

    assert [flt.filter(record()) for _ in range(4)] == [True, True, False, False]


def test_the_filter_sits_on_kopfs_event_poster() -> None:
    import logging

    limiter = RepeatLimiter()
    limit_kopf_events(limiter)
    limit_kopf_events(limiter)  # idempotent
    posters = [
        h for h in logging.getLogger("kopf.objects").handlers if type(h).__name__ == "K8sPoster"
    ]
    assert posters
    assert all(sum(isinstance(f, KopfEventFilter) for f in h.filters) == 1 for h in posters)
