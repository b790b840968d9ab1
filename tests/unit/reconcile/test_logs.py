"""Log cursor properties: every record mirrored exactly once, however the polls slice the
stream, when records become visible within the settle time (or settle plus overlap)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ads_operator.models import Phase
from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile import lifecycle, logs
from tests.fixtures.fake_oci import T0, at

OVERLAP = timedelta(seconds=30)
SETTLE = timedelta(seconds=10)
NONE = timedelta(0)


def rec(i: int, seconds: float) -> LogRecord:
    return LogRecord(id=f"id-{i}", time=at(seconds), message=f"m{i}")


def read(
    cursor: logs.Cursor,
    records: list[LogRecord],
    visible_at: dict[str, datetime],
    now: datetime,
    *,
    settle: timedelta,
    overlap: timedelta,
    max_ids: int = 512,
) -> logs.Merged:
    """One poll against a log where each record is searchable from ``visible_at``."""
    window = logs.read_window(cursor, time_accepted=T0, now=now, settle=settle, overlap=overlap)
    if window is None:
        return logs.Merged((), cursor)
    fetched = [
        r for r in records if window.start <= r.time < window.end and visible_at[r.id] <= now
    ]
    return logs.merge(cursor, fetched, window=window, overlap=overlap, max_ids=max_ids)


@settings(max_examples=300, deadline=None)
@given(
    times=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=60),
    lateness=st.lists(st.integers(min_value=0, max_value=100), min_size=60, max_size=60),
    polls=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=25),
    settle=st.sampled_from([0, 2, 10]),
    overlap=st.sampled_from([0, 5, 30]),
    max_ids=st.sampled_from([3, 512]),
)
def test_each_record_once_whatever_the_polls_if_it_is_visible_within_settle_plus_overlap(
    times: list[int],
    lateness: list[int],
    polls: list[int],
    settle: int,
    overlap: int,
    max_ids: int,
) -> None:
    """Records (times in quarter seconds) become visible up to settle + overlap late;
    whatever the polls, each is mirrored exactly once."""
    records = [rec(i, t / 4) for i, t in enumerate(sorted(times))]
    latest = timedelta(seconds=settle + overlap)
    visible_at = {r.id: r.time + latest * lateness[i] / 100 for i, r in enumerate(records)}
    cursor = logs.Cursor()
    mirrored: list[LogRecord] = []
    for now in [*sorted(at(p / 4) for p in polls), at(1000)]:
        merged = read(
            cursor,
            records,
            visible_at,
            now,
            settle=timedelta(seconds=settle),
            overlap=timedelta(seconds=overlap),
            max_ids=max_ids,
        )
        mirrored.extend(merged.new)
        cursor = merged.cursor
        assert len(cursor.ids) <= max_ids
        if overlap == 0:
            assert cursor.ids == ()  # nothing is re-read, so nothing is remembered
    ids = [r.id for r in mirrored]
    assert len(ids) == len(set(ids)), "a record was mirrored twice"
    if max_ids == 512 or overlap == 0:
        assert set(ids) == {r.id for r in records}, "a record was missed"
    assert [r.time for r in mirrored] == sorted(r.time for r in mirrored) or overlap > 0


def test_a_record_later_than_settle_is_missed_without_overlap_and_caught_with_it() -> None:
    late = rec(1, 5)
    visible_at = {late.id: at(5 + 12)}  # 12 s late, settle is 10 s
    for overlap, expected in ((NONE, []), (timedelta(seconds=5), ["id-1"])):
        cursor, mirrored = logs.Cursor(), []
        for now in (at(16), at(20), at(40)):
            merged = read(cursor, [late], visible_at, now, settle=SETTLE, overlap=overlap)
            mirrored += [r.id for r in merged.new]
            cursor = merged.cursor
        assert mirrored == expected


def test_windows_are_half_open_and_follow_the_watermark() -> None:
    first = logs.read_window(
        logs.Cursor(), time_accepted=T0, now=at(30), settle=SETTLE, overlap=NONE
    )
    assert first == logs.Window(T0 - logs.START_MARGIN, at(20))
    edge = [rec(1, 19.5), rec(2, 20)]  # the second is at the window's end: next time
    merged = logs.merge(logs.Cursor(), edge, window=first, overlap=NONE, max_ids=10)
    assert [r.id for r in merged.new] == ["id-1"]
    assert merged.cursor == logs.Cursor(last_time=at(19.5), watermark=at(20))
    second = logs.read_window(
        merged.cursor, time_accepted=T0, now=at(33), settle=SETTLE, overlap=NONE
    )
    assert second == logs.Window(at(20), at(23))
    again = logs.merge(merged.cursor, edge, window=second, overlap=NONE, max_ids=10)
    assert [r.id for r in again.new] == ["id-2"]


def test_no_search_until_something_has_settled() -> None:
    cursor = logs.Cursor(watermark=at(20))
    assert (
        logs.read_window(cursor, time_accepted=T0, now=at(30), settle=SETTLE, overlap=NONE) is None
    )
    assert (
        logs.read_window(cursor, time_accepted=T0, now=at(29), settle=SETTLE, overlap=NONE) is None
    )
    young = logs.Cursor()  # accepted a moment ago, settle longer than the start margin
    late_settle = timedelta(seconds=90)
    assert (
        logs.read_window(young, time_accepted=at(0), now=at(20), settle=late_settle, overlap=NONE)
        is None
    )


def test_the_overlap_re_reads_before_the_watermark_but_not_before_acceptance() -> None:
    cursor = logs.Cursor(last_time=at(95), watermark=at(100))
    window = logs.read_window(cursor, time_accepted=T0, now=at(200), settle=SETTLE, overlap=OVERLAP)
    assert window == logs.Window(at(70), at(190))
    long_overlap = timedelta(seconds=180)
    window = logs.read_window(
        cursor, time_accepted=at(90), now=at(200), settle=SETTLE, overlap=long_overlap
    )
    assert window is not None
    assert window.start == at(90) - logs.START_MARGIN
    floored = logs.Cursor(last_time=at(95), watermark=at(100), floor=at(85))
    window = logs.read_window(
        floored, time_accepted=T0, now=at(200), settle=SETTLE, overlap=OVERLAP
    )
    assert window is not None
    assert window.start == at(85)


def test_a_batch_is_sorted_by_time_and_re_read_ids_are_skipped() -> None:
    window = logs.Window(at(0), at(10))
    merged = logs.merge(
        logs.Cursor(), [rec(2, 2), rec(1, 1)], window=window, overlap=OVERLAP, max_ids=10
    )
    assert [r.id for r in merged.new] == ["id-1", "id-2"]
    assert merged.cursor.ids == ("id-1", "id-2")
    later = logs.Window(at(0), at(20))
    again = logs.merge(
        merged.cursor, [rec(1, 1), rec(2, 2), rec(3, 3)], window=later, overlap=OVERLAP, max_ids=10
    )
    assert [r.id for r in again.new] == ["id-3"]
    assert again.cursor.last_time == at(3)
    assert again.cursor.watermark == at(20)


def test_ids_before_the_re_read_depth_are_forgotten() -> None:
    window = logs.Window(at(0), at(110))
    merged = logs.merge(
        logs.Cursor(), [rec(1, 0), rec(2, 100)], window=window, overlap=OVERLAP, max_ids=10
    )
    assert merged.cursor.ids == ("id-2",)  # 100 >= 110 - 30 > 0


def test_too_many_ids_keep_the_newest_whole_time_groups_and_set_a_floor() -> None:
    window = logs.Window(at(0), at(10))
    same_time = [rec(i, 5) for i in range(3)]
    merged = logs.merge(
        logs.Cursor(), [rec(9, 1), *same_time], window=window, overlap=OVERLAP, max_ids=3
    )
    assert merged.cursor.ids == ("id-0", "id-1", "id-2")
    assert merged.cursor.floor == at(5)
    too_big = logs.merge(logs.Cursor(), same_time, window=window, overlap=OVERLAP, max_ids=2)
    assert too_big.cursor.ids == ()
    assert too_big.cursor.floor == at(5) + timedelta(microseconds=1)


def test_a_legacy_floor_id_is_read_as_the_floor() -> None:
    cursor = logs.Cursor.from_wire(at(9), [logs.FLOOR_PREFIX + at(5).isoformat(), "a", "b"])
    assert cursor == logs.Cursor(last_time=at(9), ids=("a", "b"), floor=at(5))
    explicit = logs.Cursor.from_wire(at(9), ["a"], floor=at(7), watermark=at(8))
    assert explicit == logs.Cursor(last_time=at(9), ids=("a",), floor=at(7), watermark=at(8))


def test_an_upgraded_operator_neither_doubles_nor_misses_lines_of_a_legacy_cursor() -> None:
    """The earlier version read up to ``now`` with a 180 s overlap and kept no watermark.
    Its cursor resumes 180 s before its newest record (the overlap is 0 now) with its ids
    de-duplicating, including records past the new version's first watermark."""
    old_lines = [rec(i, i) for i in range(100)]  # 0..99 s, mirrored by the old version
    late = rec(100, 97.5)  # not yet visible when the old version last read (at 100 s)
    new_lines = [rec(101 + i, 100 + i) for i in range(30)]
    records = [*old_lines, late, *new_lines]
    visible_at = {r.id: r.time for r in records} | {late.id: at(104)}
    legacy = logs.Cursor.from_wire(
        at(99), [r.id for r in old_lines if r.time >= at(99) - timedelta(seconds=180)]
    )
    cursor, mirrored = legacy, []
    for now in (at(105), at(107), at(120), at(200)):  # the first ends at 95 s, below 99 s
        merged = read(cursor, records, visible_at, now, settle=SETTLE, overlap=NONE)
        mirrored += [r.id for r in merged.new]
        cursor = merged.cursor
    assert sorted(mirrored) == sorted(r.id for r in [late, *new_lines])
    assert len(mirrored) == len(set(mirrored))
    assert cursor.ids == ()  # past the legacy records, nothing is remembered any more


def test_reading_continues_for_the_grace_period_after_finishing() -> None:
    grace = timedelta(seconds=90)
    assert logs.keep_reading(terminal=False, time_finished=None, now=at(0), grace=grace)
    assert logs.keep_reading(terminal=True, time_finished=at(0), now=at(90), grace=grace)
    assert not logs.keep_reading(terminal=True, time_finished=at(0), now=at(91), grace=grace)
    assert not logs.keep_reading(terminal=True, time_finished=None, now=at(0), grace=grace)


def test_a_settle_longer_than_the_grace_keeps_reading_until_the_finish_has_settled() -> None:
    grace, settle = timedelta(seconds=5), timedelta(seconds=30)
    kw = {"terminal": True, "time_finished": at(0), "grace": grace, "settle": settle}
    assert logs.keep_reading(now=at(20), **kw)  # type: ignore[arg-type]
    assert logs.keep_reading(now=at(30), **kw)  # type: ignore[arg-type]
    assert not logs.keep_reading(now=at(31), **kw)  # type: ignore[arg-type]


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


def test_read_windows_have_whole_millisecond_edges() -> None:
    """Record times and the API's window are milliseconds: an edge between two would be
    rounded by the service one way and compared by merge the other."""
    from ads_operator.reconcile.logs import Cursor, read_window

    now = datetime(2026, 11, 26, 12, 0, 0, 123_456, tzinfo=UTC)
    first = read_window(
        Cursor(),
        time_accepted=now - timedelta(seconds=30, microseconds=789),
        now=now,
        settle=timedelta(seconds=10),
        overlap=timedelta(0),
    )
    assert first is not None
    assert first.end == datetime(2026, 11, 26, 11, 59, 50, 123_000, tzinfo=UTC)
    assert first.start.microsecond % 1000 == 0
