"""The benchmark's own figures: per-run line-lag spread, late records, its options."""

from __future__ import annotations

import argparse
from types import SimpleNamespace
from typing import Any

import pytest
from bench.__main__ import figures, late_settings, parse, record_lines, seconds_range

RUN = "ocid1.datasciencejobrun.oc1.iad.r1"


def _record(message: str, ms: int, source: str = RUN) -> dict[str, Any]:
    return {"datetime": ms, "logContent": {"data": {"message": message}, "source": source}}


def test_late_records_are_those_the_emulator_draws_late() -> None:
    args = parse(["--late-share", "0.5", "--late-seconds", "30-120"])
    late = late_settings(args)
    records = [_record(f"line {i}", 1_000_000 + i) for i in range(200)]
    lines = record_lines(records, late)
    delays = [d for _, _, d in lines]
    assert delays == [late.late_ms(RUN, 1_000_000 + i, f"line {i}") / 1000 for i in range(200)]
    assert 60 < sum(d > 0 for d in delays) < 140  # about half
    assert all(d == 0 or 30 <= d <= 120 for d in delays)
    assert all(d == 0 for _, _, d in record_lines(records))  # no late ingest: none late


def test_line_lag_counts_from_when_a_record_became_searchable_with_each_runs_p99() -> None:
    args = parse(["--late-share", "1", "--late-seconds", "60"])  # every record 60 s late
    records = {RUN: [_record("a", 10_000)], "r2": [_record("b", 10_000, "r2")]}
    seen = {RUN: [("a", 10.0 + 60 + 2)], "r2": []}  # r2's line was lost
    runs = {r: SimpleNamespace(time_started=None, time_finished=None) for r in records}
    result = figures("operator", args, {}, runs, records, {}, seen, 0.0, 0.0, late_settings(args))
    assert result.line_lags == [pytest.approx(2.0)]
    assert result.run_line_p99s == [pytest.approx(2.0)]
    # searchable at 70 s: the 70-80 s row of the timeline, one line, 2 s late
    assert result.line_lag_timeline == [(70.0, 1, pytest.approx(2.0), pytest.approx(2.0))]
    assert (result.late_lines, result.late_lost, result.lines.lost) == (2, 1, 1)


def test_late_ingest_raises_the_grace_to_the_lateness_and_sizes_default_to_10_and_300() -> None:
    args = parse(["--late-share", "0.05", "--late-seconds", "30-120"])
    assert args.grace == 130
    assert args.runs == [10, 300]
    assert parse(["--runs", "1000"]).runs == [1000]
    assert parse([]).grace == 10


@pytest.mark.parametrize("text", ["x", "120-30", "-5"])
def test_a_lateness_range_must_make_sense(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        seconds_range(text)
