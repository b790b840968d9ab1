"""Cron schedules: parsing, time zones and DST, and CronJob's missed-schedule rules,
all with an injected clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ads_operator.models.policy import CRON_PATTERN
from ads_operator.reconcile import schedule
from ads_operator.reconcile.identity import label_value
from ads_operator.reconcile.schedule import CronError, decide, next_after, parse, zone

UTC_ZONE = zone(None)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("*/15 * * * *", "2026-11-26T10:07:00", "2026-11-26T10:15:00"),
        ("0 9 * * mon-fri", "2026-11-27T09:00:00", "2026-11-30T09:00:00"),  # Fri -> Mon
        ("30 2 1 * *", "2026-11-26T00:00:00", "2026-12-01T02:30:00"),
        ("0 0 * * 7", "2026-11-26T00:00:00", "2026-11-29T00:00:00"),  # 7 is Sunday
        ("@hourly", "2026-11-26T10:00:00", "2026-11-26T11:00:00"),
        ("@yearly", "2026-11-26T10:00:00", "2027-01-01T00:00:00"),
        ("0 0 29 feb *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("5-10/5 1,3 * JAN-mar *", "2026-11-26T00:00:00", "2027-01-01T01:05:00"),
        # both day fields restricted: either matches (the 13th, or any Friday)
        ("0 12 13 * fri", "2026-11-26T00:00:00", "2026-11-27T12:00:00"),
        # */2 restricts the day of month (only "*" itself does not): the 27th, though not a
        # Monday (Debian's cron, and cronsim read as is, would wait for an odd Monday)
        ("0 12 */2 * mon", "2026-11-26T00:00:00", "2026-11-27T12:00:00"),
    ],
)
def test_next_time(expr: str, after: str, expected: str) -> None:
    assert next_after(parse(expr), t(after), UTC_ZONE) == t(expected)


@pytest.mark.parametrize(
    "expr",
    [
        "* * * *",
        "60 * * * *",
        "* 24 * * *",
        "*/0 * * * *",
        "5-1 * * * *",
        "x * * * *",
        "1,,2 * * * *",
    ],
)
def test_bad_expressions_say_what_is_wrong(expr: str) -> None:
    with pytest.raises(CronError):
        parse(expr)


def test_impossible_dates_never_fire() -> None:
    assert next_after(parse("0 0 30 feb *"), t("2026-01-01T00:00:00"), UTC_ZONE) is None


def test_time_zones_match_the_wall_clock() -> None:
    berlin = zone("Europe/Berlin")
    # 09:00 in Berlin is 08:00 UTC in winter
    assert next_after(parse("0 9 * * *"), t("2026-11-26T00:00:00"), berlin) == t(
        "2026-11-26T08:00:00"
    )
    with pytest.raises(CronError):
        zone("Mars/Olympus_Mons")


def test_dst_gap_is_skipped_and_the_repeated_hour_fires_once() -> None:
    berlin = zone("Europe/Berlin")
    # 2026-03-29 02:30 does not exist in Berlin: the next 02:30 is the day after
    assert next_after(parse("30 2 * * *"), t("2026-03-28T12:00:00"), berlin) == t(
        "2026-03-30T00:30:00"
    )
    # 2026-10-25 02:30 happens twice in Berlin: once, at the first (CEST, 00:30 UTC)
    first = next_after(parse("30 2 * * *"), t("2026-10-24T12:00:00"), berlin)
    assert first == t("2026-10-25T00:30:00")
    assert next_after(parse("30 2 * * *"), first, berlin) == t("2026-10-26T01:30:00")
    # the same for an hourly time: 02:30 once, then 03:30 (not 02:30 again, in CET)
    hourly = next_after(parse("30 * * * *"), first, berlin)
    assert hourly == t("2026-10-25T02:30:00")
    # nor in the gap: after 01:30 CET comes 03:30 CEST (01:30 UTC), 02:30 does not exist
    assert next_after(parse("30 * * * *"), t("2026-03-29T00:30:00"), berlin) == t(
        "2026-03-29T01:30:00"
    )


def _decide(
    now: str, *, created: str, last: str | None = None, deadline: int | None = None
) -> schedule.Decision:
    return decide(
        parse("*/5 * * * *"),
        UTC_ZONE,
        now=t(now),
        created=t(created),
        last_scheduled=t(last) if last else None,
        starting_deadline_seconds=deadline,
    )


def test_nothing_is_due_before_the_first_time() -> None:
    d = _decide("2026-11-26T10:03:00", created="2026-11-26T10:01:00")
    assert (d.run_at, d.next_at, d.missed) == (None, t("2026-11-26T10:05:00"), 0)


def test_a_due_time_starts_once_and_then_the_next_is_awaited() -> None:
    d = _decide("2026-11-26T10:05:02", created="2026-11-26T10:01:00")
    assert (d.run_at, d.missed, d.skipped) == (t("2026-11-26T10:05:00"), 1, None)
    again = _decide(
        "2026-11-26T10:06:00", created="2026-11-26T10:01:00", last="2026-11-26T10:05:00"
    )
    assert again.run_at is None
    assert again.next_at == t("2026-11-26T10:10:00")


def test_only_the_most_recent_missed_time_starts() -> None:
    d = _decide("2026-11-26T10:31:00", created="2026-11-26T10:01:00")
    assert (d.run_at, d.missed) == (t("2026-11-26T10:30:00"), 6)


def test_starting_deadline_limits_what_counts_and_reports_a_missed_start() -> None:
    # the operator was down from 10:04 to 10:13: 10:05 and 10:10 were missed
    late = _decide("2026-11-26T10:13:00", created="2026-11-26T10:01:00", deadline=60)
    assert (late.run_at, late.skipped) == (None, t("2026-11-26T10:10:00"))
    within = _decide("2026-11-26T10:13:00", created="2026-11-26T10:01:00", deadline=200)
    assert (within.run_at, within.skipped, within.missed) == (t("2026-11-26T10:10:00"), None, 1)
    # reported once: with the skipped time recorded as the last one, nothing more
    after = _decide(
        "2026-11-26T10:14:00",
        created="2026-11-26T10:01:00",
        last="2026-11-26T10:10:00",
        deadline=60,
    )
    assert (after.run_at, after.skipped) == (None, None)


def test_more_than_a_hundred_missed_times_are_reported_and_the_latest_still_starts() -> None:
    d = _decide("2026-11-27T10:02:00", created="2026-11-26T10:01:00")
    assert d.too_many_missed
    assert d.run_at == t("2026-11-27T10:00:00")
    bounded = _decide("2026-11-27T10:02:00", created="2026-11-26T10:01:00", deadline=600)
    assert not bounded.too_many_missed
    assert bounded.run_at == t("2026-11-27T10:00:00")


def test_run_names_are_stable_per_time_and_short_enough() -> None:
    moment = t("2026-11-26T10:05:00")
    assert schedule.run_name("nightly", moment) == schedule.run_name("nightly", moment)
    assert schedule.run_name("nightly", moment) != schedule.run_name(
        "nightly", moment + timedelta(minutes=5)
    )
    assert len(schedule.run_name("x" * 253, moment)) <= 63
    # Long names that share their first 52 characters still get runs of their own.
    head = "a" * 52
    assert schedule.run_name(head + "-one", moment) != schedule.run_name(head + "-two", moment)
    # A name that fits is used as it is (runs made before keep their names).
    assert schedule.run_name("n" * 52, moment).startswith("n" * 52 + "-")
    # The cut never leaves a dot or dash before the time (an invalid name).
    assert ".-" not in schedule.run_name("a" * 40 + "." * 20, moment)


@pytest.mark.parametrize("length", [1, 62, 63, 64, 100, 253])
def test_label_values_fit_and_differ(length: int) -> None:
    """Issue 17, bug 2: a job name over 63 characters as a label value was refused."""
    name = ("abc-def.ghi" * 30)[: length - 1] + "z"
    value = label_value(name)
    assert len(value) <= 63
    assert re.fullmatch(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", value)
    assert value == (name if length <= 63 else value)
    if length > 63:
        assert value != label_value(name[:-1] + "y")


def test_the_test_clock_file_is_read_and_a_bad_one_stops_scheduling(tmp_path: Path) -> None:
    from ads_operator.settings import Settings
    from ads_operator.usecases.schedule import clock

    path = tmp_path / "clock"
    path.write_text("2026-11-26T10:05:00+00:00\n")
    assert clock(Settings(schedule_clock_file=str(path))) == t("2026-11-26T10:05:00")
    path.write_text("not a time")
    assert clock(Settings(schedule_clock_file=str(path))) is None
    assert clock(Settings(schedule_clock_file=str(tmp_path / "missing"))) is None
    assert clock(Settings()) is not None


def test_only_unfinished_runs_of_this_schedule_are_active() -> None:
    from ads_operator.reconcile.scheduled_runs import SCHEDULED_BY, active_runs

    def run(name: str, job: str | None, phase: str | None, **meta: str) -> dict[str, object]:
        labels = {SCHEDULED_BY: job} if job else {}
        status = {"phase": phase} if phase else {}
        return {"metadata": {"name": name, "labels": labels, **meta}, "status": status}

    runs = [
        run("new", "nightly", None),
        run("running", "nightly", "Running"),
        run("done", "nightly", "Succeeded"),
        run("by-hand", None, "Running"),
        run("other", "hourly", "Pending"),
        run("leaving", "nightly", "Running", deletionTimestamp="x"),
    ]
    assert [r["metadata"]["name"] for r in active_runs(runs, "nightly")] == ["new", "running"]  # type: ignore[index]
    long = "n" * 80
    assert active_runs([run("x", label_value(long), "Running")], long)


# --- what the CRD refuses at apply, and what only the operator can tell ----------------------

_CRON_ALPHABET = "0123456789*/,- @abcdefghijklmnopqrstuvwxyzAEJMS"


@given(st.text(alphabet=_CRON_ALPHABET, max_size=40))
@settings(max_examples=400, deadline=None)
def test_the_crd_pattern_refuses_every_expression_the_parser_refuses_by_its_fields(
    text: str,
) -> None:
    """CEL (the same RE2 pattern) never refuses what the parser accepts, and accepts what
    it refuses only for a range that runs backwards (which ScheduleValid reports)."""
    matches = re.match(CRON_PATTERN, text) is not None
    try:
        parse(text)
        parsed = True
    except CronError as exc:
        parsed = False
        backwards = "runs backwards" in str(exc)
    assert matches == parsed or (matches and not parsed and backwards), text


@pytest.mark.parametrize(
    "expr", ["0 2 * * *", "*/5 2-4 1,15 jan-mar mon-fri", "@daily", " @Hourly ", "00 05 01 01 07"]
)
def test_the_crd_pattern_accepts_valid_expressions(expr: str) -> None:
    assert re.match(CRON_PATTERN, expr)
    parse(expr)


@pytest.mark.parametrize(
    "expr", ["61 2 * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 2 * * 8", "*/0 * * * *"]
)
def test_the_crd_pattern_refuses_values_out_of_range(expr: str) -> None:
    assert not re.match(CRON_PATTERN, expr)
    with pytest.raises(CronError):
        parse(expr)


def test_problem_names_what_only_the_operator_can_tell() -> None:
    now = t("2026-11-26T10:00:00")
    assert schedule.problem("0 2 * * *", "Europe/Berlin", now=now) is None
    assert "unknown time zone 'Europe/Berln'" in str(
        schedule.problem("0 2 * * *", "Europe/Berln", now=now)
    )
    assert "runs backwards" in str(schedule.problem("5-1 * * * *", None, now=now))
    assert "matches no time" in str(schedule.problem("0 0 31 feb *", None, now=now))
