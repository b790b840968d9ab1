"""Log-line Events: packed in order, never above the size limit, rate-limited per run and
per operator, and the limit announced once. Other Events: bounded per object and reason."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ads_operator.reconcile import events
from ads_operator.reconcile.events import (
    LogEventLimiter,
    RepeatLimiter,
    batch_lines,
    plan_log_events,
)
from ads_operator.reconcile.outcomes import pending_delay
from ads_operator.settings import Settings


@given(
    st.lists(st.text(min_size=0, max_size=3000), max_size=40),
    st.integers(min_value=16, max_value=1024),
)
def test_batches_keep_order_and_fit(lines: list[str], max_bytes: int) -> None:
    messages = batch_lines(lines, max_bytes)
    assert all(len(m.encode()) <= max_bytes for m in messages)
    rejoined = [part for m in messages for part in m.split("\n")]
    expected = [line.rstrip("\n") for line in lines]
    fits = [e for e in expected if "\n" not in e and len(e.encode()) <= max_bytes]
    if fits == expected:
        assert rejoined == expected


def test_several_short_lines_share_one_event() -> None:
    assert batch_lines(["a", "b", "c"], 1024) == ["a\nb\nc"]


def test_a_long_line_is_cut_with_an_ellipsis() -> None:
    (message,) = batch_lines(["é" * 2000], 1024)
    assert len(message.encode()) <= 1024
    assert message.endswith("…")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_per_run_limit_drops_lines_and_says_so_once() -> None:
    clock = Clock()
    limiter = LogEventLimiter(per_run=2, global_=100, clock=clock)
    lines = ["x" * 600] * 5  # one line per Event at 1 KiB
    plan = plan_log_events(lines, run_uid="r", limiter=limiter, max_bytes=1024)
    assert len(plan.messages) == 2
    assert plan.dropped_lines == 3
    assert plan.announce_limit
    again = plan_log_events(lines, run_uid="r", limiter=limiter, max_bytes=1024)
    assert not again.announce_limit
    other = plan_log_events(["y"], run_uid="other", limiter=limiter, max_bytes=1024)
    assert other.messages == ("y",)
    clock.now = 60.0  # a minute later the run's budget is back
    assert plan_log_events(["z"], run_uid="r", limiter=limiter, max_bytes=1024).messages == ("z",)


def test_global_limit_applies_across_runs() -> None:
    limiter = LogEventLimiter(per_run=10, global_=3, clock=Clock())
    posted = sum(
        len(plan_log_events(["l"], run_uid=f"r{i}", limiter=limiter, max_bytes=1024).messages)
        for i in range(6)
    )
    assert posted == 3


def test_an_event_repeating_for_one_object_and_reason_is_bounded() -> None:
    """Issue 17: a create loop posted ``Created`` every 3 s without end."""
    clock = Clock()
    limiter = RepeatLimiter(burst=3, per_minute=1.0, clock=clock)
    posted = 0
    for _ in range(40):  # two minutes of an attempt every 3 s
        posted += limiter.allow("uid-1", "Created")
        clock.now += 3.0
    assert posted == 3 + 1  # the burst, then one a minute
    assert limiter.allow("uid-1", "Replaced")  # another reason has its own budget
    assert limiter.allow("uid-2", "Created")  # and so has another object


def test_the_repeat_budgets_forget_idle_objects() -> None:
    clock = Clock()
    limiter = RepeatLimiter(burst=2, per_minute=1.0, clock=clock)
    for i in range(events._MAX_BUCKETS):
        limiter.allow(f"uid-{i}", "Created")
    clock.now += 120.0  # every budget refilled
    limiter.allow("new", "Created")
    assert len(limiter._buckets) == 1


def test_pending_waits_back_off_from_the_poll_interval() -> None:
    settings = Settings(poll_interval=3.0, backoff_max=60.0)
    assert [pending_delay(n, settings) for n in range(7)] == [3, 6, 12, 24, 48, 60, 60]
