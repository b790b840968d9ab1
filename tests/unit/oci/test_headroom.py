"""The headroom of the shared OCI call budget: the share of it not in use lately."""

from __future__ import annotations

import asyncio

import pytest

from ads_operator.oci.ratelimit import RECOVERY, USE_WINDOW, TenancyBudget, TokenBucket


def test_an_unused_bucket_has_all_its_headroom() -> None:
    assert TokenBucket(rate=10, clock=lambda: 0.0).headroom() == 1.0


def test_a_steady_use_reads_back_as_its_share_of_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, clock=lambda: now[0])
    for _ in range(int(10 * USE_WINDOW)):  # 3 calls a second for 10 windows: 30 % used
        now[0] += 1 / 3
        assert bucket.try_take() == 0
    assert bucket.headroom() == pytest.approx(0.7, abs=0.02)


def test_headroom_comes_back_smoothly_when_calls_stop() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, clock=lambda: now[0])
    for _ in range(int(10 * USE_WINDOW) * 8):  # 8 calls a second: 80 % used
        now[0] += 1 / 8
        bucket.try_take()
    busy = bucket.headroom()
    now[0] += USE_WINDOW / 10
    later = bucket.headroom()
    now[0] += 5 * USE_WINDOW
    assert busy < later < 0.5 < bucket.headroom()


def test_headroom_is_a_pure_read() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, clock=lambda: now[0])
    bucket.try_take()
    now[0] = 3.0
    assert bucket.headroom() == bucket.headroom()


async def test_calls_queued_for_a_token_count_as_use() -> None:
    """A queue is demand the rate cannot serve yet: a thousand creates applied together
    leave no headroom at once, not only after the window has filled with them."""
    bucket = TokenBucket(rate=1, burst=1)
    await bucket.acquire()
    queued = [asyncio.create_task(bucket.acquire()) for _ in range(50)]
    await asyncio.sleep(0)
    assert bucket.headroom() == 0.0
    for task in queued:
        task.cancel()
    await asyncio.gather(*queued, return_exceptions=True)


def test_a_tenancy_budget_tells_each_services_headroom_and_the_least() -> None:
    budget = TenancyBudget(rate=1)
    assert budget.headroom() == 1.0  # no call yet
    for _ in range(3):
        budget.bucket("SearchLogs").try_take()
    assert budget.headroom("SearchLogs") < 1.0
    assert budget.headroom("GetJobRun") == 1.0
    assert budget.headroom() == pytest.approx(budget.headroom("SearchLogs"))
    assert "datascience" not in budget.buckets  # reading made no bucket


def test_after_oci_throttled_a_call_there_is_no_headroom_coming_back_smoothly() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=10, clock=lambda: now[0])
    bucket.throttled()
    assert bucket.headroom() == 0.0
    now[0] += USE_WINDOW / 2
    assert bucket.headroom() == pytest.approx(0.5)
    now[0] += USE_WINDOW
    assert bucket.headroom() == 1.0


def test_once_use_falls_headroom_comes_back_over_minutes_not_at_once() -> None:
    """As a large wave of runs ends, the last ones must not be read faster at once."""
    now = [0.0]
    bucket = TokenBucket(rate=10, clock=lambda: now[0])
    for _ in range(int(10 * USE_WINDOW) * 5):  # 5 calls a second: half the budget
        now[0] += 1 / 5
        bucket.try_take()
    now[0] += USE_WINDOW  # the use itself has mostly decayed by now
    assert bucket.headroom() < 0.65
    now[0] += 3 * RECOVERY
    assert bucket.headroom() > 0.95
