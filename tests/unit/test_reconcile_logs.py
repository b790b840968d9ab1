"""Log cursor properties: every record mirrored exactly once, in time order, however the
polls slice the stream and whenever records become visible (within the overlap)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ads_operator.models import Phase
from ads_operator.oci.domain import LogRecord
from ads_operator.reconcile import lifecycle, logs
from tests.unit.test_reconcile_support import T0, at

OVERLAP = timedelta(seconds=30)


def rec(i: int, seconds: float) -> LogRecord:
    return LogRecord(id=f"id-{i}", time=at(seconds), message=f"m{i}")


@settings(max_examples=200, deadline=None)
@given(
    times=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=60),
    delays=st.lists(st.integers(min_value=0, max_value=20), min_size=60, max_size=60),
    polls=st.lists(st.integers(min_value=1, max_value=250), min_size=1, max_size=25),
    max_ids=st.sampled_from([3, 512]),
)
def test_each_record_once_whatever_the_polls(
    times: list[int], delays: list[int], polls: list[int], max_ids: int
) -> None:
    records = [rec(i, t / 4) for i, t in enumerate(sorted(times))]
    visible_at = {r.id: r.time + timedelta(seconds=delays[i] / 4) for i, r in enumerate(records)}
    cursor = logs.Cursor()
    mirrored: list[LogRecord] = []
    now_points = [*sorted(at(p / 4) for p in polls), at(1000)]
    for now in now_points:
        start = logs.window_start(cursor, time_accepted=T0, now=now, overlap=OVERLAP)
        fetched = [r for r in records if start <= r.time < now and visible_at[r.id] <= now]
        merged = logs.merge(cursor, fetched, overlap=OVERLAP, max_ids=max_ids)
        mirrored.extend(merged.new)
        cursor = merged.cursor
    ids = [r.id for r in mirrored]
    assert len(ids) == len(set(ids)), "a record was mirrored twice"
    if max_ids == 512:
        # Late records (<= 5 s) are well inside the 30 s overlap: nothing may be missing.
        assert set(ids) == {r.id for r in records}
    assert len(cursor.ids) <= max_ids


def test_a_batch_is_sorted_by_time_and_known_ids_are_skipped() -> None:
    merged = logs.merge(logs.Cursor(), [rec(2, 2), rec(1, 1)], overlap=OVERLAP, max_ids=10)
    assert [r.id for r in merged.new] == ["id-1", "id-2"]
    again = logs.merge(
        merged.cursor, [rec(1, 1), rec(2, 2), rec(3, 3)], overlap=OVERLAP, max_ids=10
    )
    assert [r.id for r in again.new] == ["id-3"]
    assert again.cursor.last_time == at(3)


def test_ids_older_than_the_overlap_are_forgotten() -> None:
    merged = logs.merge(logs.Cursor(), [rec(1, 0), rec(2, 100)], overlap=OVERLAP, max_ids=10)
    assert merged.cursor.ids == ("id-2",)


def test_the_window_reaches_back_by_the_overlap_but_not_before_acceptance() -> None:
    cursor = logs.Cursor(last_time=at(100))
    assert logs.window_start(cursor, time_accepted=T0, now=at(200), overlap=OVERLAP) == at(70)
    long_overlap = timedelta(seconds=180)
    start = logs.window_start(cursor, time_accepted=at(90), now=at(200), overlap=long_overlap)
    assert start == at(90) - logs.START_MARGIN


def test_reading_continues_for_the_grace_period_after_finishing() -> None:
    grace = timedelta(seconds=90)
    assert logs.keep_reading(terminal=False, time_finished=None, now=at(0), grace=grace)
    assert logs.keep_reading(terminal=True, time_finished=at(0), now=at(90), grace=grace)
    assert not logs.keep_reading(terminal=True, time_finished=at(0), now=at(91), grace=grace)
    assert not logs.keep_reading(terminal=True, time_finished=None, now=at(0), grace=grace)


def test_query_is_the_one_ads_builds_in_ascending_order() -> None:
    query = logs.search_query("c", "g", "l", "ocid1.datasciencejobrun.oc1..r")
    assert query == (
        "search \"c/g/l\" | where source = '*ocid1.datasciencejobrun.oc1..r' | sort by datetime asc"
    )


def test_phases_exit_codes_and_the_deleted_state() -> None:
    assert lifecycle.run_phase("ACCEPTED") is Phase.PENDING
    assert lifecycle.run_phase("NEEDS_ATTENTION") is Phase.RUNNING
    assert lifecycle.run_phase("CANCELING") is Phase.RUNNING
    assert lifecycle.run_phase("DELETED", Phase.SUCCEEDED) is Phase.SUCCEEDED
    assert lifecycle.run_phase("DELETED", Phase.RUNNING) is Phase.CANCELED
    assert lifecycle.run_phase("SOMETHING_NEW", Phase.RUNNING) is Phase.RUNNING
    assert lifecycle.exit_code("SUCCEEDED", None) == 0
    assert (
        lifecycle.exit_code("FAILED", "Job run artifact execution failed with exit code 16") == 16
    )
    assert lifecycle.exit_code("FAILED", "Out of memory") is None
    assert "NEEDS_ATTENTION" not in lifecycle.RUN_TERMINAL
