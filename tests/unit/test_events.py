"""Log-line Events: packed in order, never above the size limit, rate-limited per run and
per operator, and the limit announced once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ads_operator.events import LogEventLimiter, batch_lines, plan_log_events


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
