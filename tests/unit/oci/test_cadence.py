"""The cadence law: state and log-read intervals as pure functions of the headroom."""

from __future__ import annotations

import itertools
import math

import pytest

from ads_operator.oci import cadence
from ads_operator.oci.ticks import state_interval as batched_schedule

BASE = 3.0  # poll_interval's default
RUNS = [  # (state, seconds IN_PROGRESS): the batched schedule's 3, 6 and 12 s
    ("ACCEPTED", None),
    ("IN_PROGRESS", 10.0),
    ("IN_PROGRESS", 120.0),
    ("IN_PROGRESS", 3600.0),
]
HEADROOMS = [i / 100 for i in range(101)]


def test_without_headroom_the_schedule_is_the_batched_one() -> None:
    for state, since in RUNS:
        for headroom in (0.0, 0.5, 1.0 - cadence.SAVE_ABOVE):
            assert cadence.state_interval(BASE, state, since, headroom) == batched_schedule(
                BASE, state, since
            )
    assert cadence.log_read_interval(10.0, 0.0) == 10.0


def test_with_most_of_the_budget_free_every_run_is_read_at_the_fastest() -> None:
    """Also a run long IN_PROGRESS: its end is what a user watching it waits for."""
    for state, since in RUNS:
        assert cadence.state_interval(BASE, state, since, 1.0) == 0.75
        assert cadence.state_interval(BASE, state, since, 1.0 - cadence.SPEND_BELOW) == 0.75
    assert cadence.log_read_interval(10.0, 1.0) == cadence.FASTEST_LOG_READ


@pytest.mark.parametrize(("state", "since"), RUNS)
def test_intervals_grow_as_the_headroom_shrinks(state: str, since: float | None) -> None:
    states = [cadence.state_interval(BASE, state, since, h) for h in HEADROOMS]
    logs = [cadence.log_read_interval(10.0, h) for h in HEADROOMS]
    assert states == sorted(states, reverse=True)
    assert logs == sorted(logs, reverse=True)


def test_the_log_read_interval_has_no_steps() -> None:
    logs = [cadence.log_read_interval(10.0, h / 1000) for h in range(1001)]
    assert max(abs(a - b) for a, b in itertools.pairwise(logs)) < 0.2


def test_state_intervals_stay_on_a_ladder_whose_ticks_nest() -> None:
    """Reads batch only on common wall-clock ticks: every interval is the poll interval
    times a power of two, and at most halved four times (0.75 s at the fastest)."""
    seen = {cadence.state_interval(BASE, s, t, h) for s, t in RUNS for h in HEADROOMS}
    assert seen == {0.75, 1.5, 3.0, 6.0, 12.0}
    for value in seen:
        assert math.log2(value / BASE).is_integer()


def test_thrift_is_continuous_and_bounded() -> None:
    values = [cadence.thrift(h / 1000) for h in range(1001)]
    assert values[0] == 1.0
    assert values[-1] == 0.0
    assert max(abs(a - b) for a, b in itertools.pairwise(values)) < 0.01


def test_a_log_read_interval_below_the_fastest_or_zero_is_kept() -> None:
    assert cadence.log_read_interval(1.0, 0.0) == 1.0
    assert cadence.log_read_interval(1.0, 1.0) == 1.0
    assert cadence.log_read_interval(0.0, 1.0) == 0.0  # 0: every pass


def _balance(runs: int, rate: float = 10.0, seconds: int = 600) -> list[tuple[float, float]]:
    """(state interval, log-read interval) over the last minute for ``runs`` runs long
    IN_PROGRESS writing 5 lines/s each, in one log group: a state read costs the pages
    of the live list (100 runs a page; beside a list of more than one page the top of
    SUCCEEDED), a log read one search per 50 runs, and the lines one page per 1,000; the
    headroom (of the tighter service) is smoothed as the budget does it."""
    state_pages = math.ceil(runs / 100) + (1 if runs > 100 else 0)
    queries, line_pages = math.ceil(runs / 50), runs * 5 / 1000
    state_used = logs_used = 0.0
    out = []
    for _ in range(seconds * 10):  # steps of 0.1 s
        headroom = max(0.0, 1 - max(state_used, logs_used) / rate)
        state = cadence.state_interval(BASE, "IN_PROGRESS", 120.0, headroom)
        logs = cadence.log_read_interval(10.0, headroom)
        out.append((state, logs))
        state_used += (state_pages / state - state_used) * 0.1 / 30.0  # the ~30 s average
        logs_used += (queries / logs + line_pages - logs_used) * 0.1 / 30.0
    return out[-600:]


def test_few_runs_are_read_at_the_fastest_and_a_thousand_on_the_batched_schedule() -> None:
    """The law meets the calls it causes in a balance that slows down as runs grow."""
    assert set(_balance(10)) == {(0.75, cadence.FASTEST_LOG_READ)}
    assert set(_balance(1000)) == {(batched_schedule(BASE, "IN_PROGRESS", 120.0), 10.0)}
    means = [
        [sum(v) / len(v) for v in zip(*_balance(n), strict=True)] for n in (10, 100, 300, 1000)
    ]
    assert means == sorted(means)
    assert (0.75, 2.0) < tuple(means[2]) < (6.0, 10.0)  # 300: part of the way


def _reads(first: float, headroom: float, until: float) -> list[float]:
    """The pass times (on 0.75 s or 3 s ticks) at which a run whose log was read at
    ``first`` reads it again."""
    passes = cadence.state_interval(BASE, None, None, headroom)
    last, out = first, []
    for i in range(1, int(until / passes)):
        now = first + i * passes + 0.05  # a pass: its tick plus some jitter
        if cadence.log_read_due(last, now, slowest=10.0, poll_interval=BASE, headroom=headroom):
            out.append(round(now - 0.05, 2))
            last = now
    return out


def test_with_headroom_log_reads_fall_on_common_ticks() -> None:
    """Two runs whose reads once fell a pass apart read together from the next tick on:
    one search for both."""
    start = 1_800_000_000.0  # a multiple of 0.75 s
    a = _reads(start, 1.0, 30.0)
    b = _reads(start + 0.75, 1.0, 30.0)
    assert a[1:] == b[1:]
    assert all(1.5 <= y - x <= 3.0 for x, y in itertools.pairwise(a))  # about every 2 s


def test_without_headroom_log_reads_count_from_each_runs_last_read() -> None:
    """The batched schedule as before: every third 3 s pass, each run on its own phase."""
    start = 1_800_000_000.0
    a = _reads(start, 0.0, 60.0)
    b = _reads(start + 3.0, 0.0, 60.0)
    assert [round(y - x, 2) for x, y in itertools.pairwise(a)] == [9.0] * (len(a) - 1)
    assert [x + 3.0 for x in a] == b[: len(a)]
