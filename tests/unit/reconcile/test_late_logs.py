"""The pure log window (issue 21): fresh and settled reads, sweeps for late records and
their bounded memory. Property: however reads are timed and modes switched, every record
searchable within the bound is mirrored exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile import late_logs, logs
from ads_operator.reconcile.late_logs import LateIds
from tests.fixtures.fake_oci import T0, at

SETTLE = timedelta(seconds=10)
BOUND = timedelta(seconds=180)
NONE = timedelta(0)


def rec(i: int, seconds: float) -> LogRecord:
    return LogRecord(id=f"id-{i}", time=at(seconds), message=f"m{i}")


class Reader:
    """The operator's log step, pure: a regular read, then a sweep when due."""

    def __init__(self, records: list[LogRecord], visible_at: dict[str, datetime]) -> None:
        self.records, self.visible_at = records, visible_at
        self.cursor = logs.Cursor()
        self.late: LateIds | None = None
        self.swept_at: datetime | None = None
        self.mirrored: list[str] = []

    def fetch(self, window: logs.Window, now: datetime) -> list[LogRecord]:
        return [
            r
            for r in self.records
            if window.start <= r.time < window.end and self.visible_at[r.id] <= now
        ]

    def step(self, now: datetime, *, fresh: bool, final: bool = False) -> None:
        window = logs.read_window(
            self.cursor, time_accepted=T0, now=now, settle=SETTLE, overlap=NONE, fresh=fresh
        )
        if window is not None:
            fetched = self.fetch(window, now)
            merged = logs.merge(
                self.cursor, fetched, window=window, overlap=NONE, max_ids=512, settled=now - SETTLE
            )
            self.cursor = merged.cursor
            self.mirrored += [r.id for r in merged.new]
            self.late = late_logs.remember(
                self.late if self.late is not None else LateIds(window.start), fetched
            )
        if self.late is None:
            return
        if not (final or late_logs.sweep_due(self.swept_at, now=now, bound=BOUND)):
            return
        self.swept_at = now
        sweep = late_logs.sweep_window(
            self.late,
            watermark=self.cursor.watermark,
            overlap=NONE,
            now=now,
            bound=BOUND,
            eager=fresh or final,
        )
        if sweep is not None:
            found, self.late = late_logs.sweep(
                self.late, self.fetch(sweep, now), window=sweep, now=now, bound=BOUND
            )
            self.mirrored += [r.id for r in found]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 300),  # time
            st.one_of(st.floats(0, 9), st.floats(0, 180)),  # becomes searchable this late
        ),
        max_size=60,
    ),
    st.lists(st.tuples(st.floats(0.5, 30), st.booleans()), min_size=1, max_size=120),
)
def test_every_record_within_the_bound_is_mirrored_once_in_any_mode(
    spec: list[tuple[float, float]], reads: list[tuple[float, bool]]
) -> None:
    records = [rec(i, t) for i, (t, _) in enumerate(spec)]
    visible_at = {
        r.id: r.time + timedelta(seconds=d) for r, (_, d) in zip(records, spec, strict=True)
    }
    reader = Reader(records, visible_at)
    seconds = 0.0
    for gap, fresh in reads:
        seconds += gap
        reader.step(at(seconds), fresh=fresh)
    while seconds < 300 + 180 + 20:  # the log ends at 300 s: read on, settled, past the bound
        seconds += 10
        reader.step(at(seconds), fresh=False)
    reader.step(at(seconds), fresh=False, final=True)
    assert len(reader.mirrored) == len(set(reader.mirrored))
    assert set(reader.mirrored) == {r.id for r in records}


def test_a_sweep_window_is_eager_up_to_the_watermark_or_economical_up_to_the_bound() -> None:
    late = LateIds(at(0))
    now = at(400)
    eager = late_logs.sweep_window(
        late, watermark=at(390), overlap=NONE, now=now, bound=BOUND, eager=True
    )
    assert eager == logs.Window(at(0), at(390))
    cheap = late_logs.sweep_window(
        late, watermark=at(390), overlap=NONE, now=now, bound=BOUND, eager=False
    )
    assert cheap == logs.Window(at(0), at(220))
    # never into the re-read zone of the regular reads (its ids are in the cursor)
    deep = late_logs.sweep_window(
        late, watermark=at(390), overlap=timedelta(seconds=200), now=now, bound=BOUND, eager=True
    )
    assert deep == logs.Window(at(0), at(190))
    assert (
        late_logs.sweep_window(late, watermark=None, overlap=NONE, now=now, bound=BOUND, eager=True)
        is None
    )
    young = late_logs.sweep_window(
        late, watermark=at(100), overlap=NONE, now=at(110), bound=BOUND, eager=False
    )
    assert young is None  # nothing is 180 s old yet: no call


def test_a_sweep_finds_only_what_was_not_mirrored_and_forgets_what_is_final() -> None:
    late = LateIds(at(0))
    late.add([rec(1, 10), rec(2, 20)])
    window = logs.Window(at(0), at(300))
    found, after = late_logs.sweep(
        late,
        [rec(1, 10), rec(2, 20), rec(3, 15), rec(3, 15)],
        window=window,
        now=at(300),
        bound=BOUND,
    )
    assert [r.id for r in found] == ["id-3"]
    assert after.until == at(120)  # now - bound: what is older is never swept again
    assert len(after) == 0
    assert len(late) == 2  # the memory before the sweep is unchanged (a copy was swept)
    assert not late_logs.sweep_due(at(0), now=at(59), bound=BOUND)
    assert late_logs.sweep_due(at(0), now=at(60), bound=BOUND)
    assert not late_logs.sweep_due(None, now=at(60), bound=NONE)  # a bound of 0: no sweeps


def test_the_memory_is_bounded_and_forgets_whole_milliseconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(late_logs, "MAX_LATE_IDS", 4)
    late = LateIds(at(0))
    late.add([rec(1, 1), rec(2, 2), rec(3, 2), rec(4, 3), rec(5, 4)])
    assert len(late) == 2  # the 2 s group went whole, not half of it
    assert at(2) < late.until <= at(3)
    found, _ = late_logs.sweep(
        late,
        [rec(3, 2), rec(4, 3), rec(6, 3)],
        window=logs.Window(late.until, at(5)),
        now=at(5),
        bound=BOUND,
    )
    assert [r.id for r in found] == ["id-6"]  # below `until` is never swept again


def test_the_fresh_mode_has_hysteresis() -> None:
    assert not logs.fresh_next(False, 0.8)
    assert logs.fresh_next(False, 0.85)
    assert logs.fresh_next(True, 0.7)  # stays fresh while the cadence spends headroom
    assert not logs.fresh_next(True, 0.6)


def test_logs_are_read_fresh_exactly_while_the_cadence_spends_headroom() -> None:
    from ads_operator.oci import cadence

    assert logs.FRESH_ENTER == 1 - cadence.SPEND_BELOW
    assert logs.FRESH_LEAVE == 1 - cadence.SAVE_ABOVE


def test_a_fresh_read_moves_the_watermark_only_to_the_settled_time() -> None:
    cursor = logs.Cursor()
    now = at(100)
    window = logs.read_window(
        cursor, time_accepted=T0, now=now, settle=SETTLE, overlap=NONE, fresh=True
    )
    assert window is not None
    assert window.end == now
    merged = logs.merge(
        cursor,
        [rec(1, 50), rec(2, 95)],
        window=window,
        overlap=NONE,
        max_ids=512,
        settled=now - SETTLE,
    )
    assert merged.cursor.watermark == at(90)
    assert merged.cursor.ids == ("id-2",)  # the unsettled record, read again next time
    again = logs.read_window(
        merged.cursor, time_accepted=T0, now=at(101), settle=SETTLE, overlap=NONE, fresh=False
    )
    assert again == logs.Window(at(90), at(91))


def test_the_memory_takes_8_bytes_a_record_and_outlives_49_days() -> None:
    late = LateIds(at(0))
    late.add([rec(i, i) for i in range(1000)])
    assert late._digests.itemsize + late._times.itemsize == 8
    far = 50 * 24 * 3600.0  # past 2**32 ms after the first record
    late.advance(at(far - 10))
    late.add([rec(1, far), rec(2, far + 1)])
    window = logs.Window(late.until, at(far + 5))
    found, _ = late_logs.sweep(
        late,
        [rec(1, far), rec(2, far + 1), rec(3, far + 2)],
        window=window,
        now=at(far + 5),
        bound=BOUND,
    )
    assert [r.id for r in found] == ["id-3"]


def test_sweep_windows_end_on_the_grid_but_a_last_read_s_reaches_its_read() -> None:
    late = LateIds(at(0))
    on_grid = late_logs.sweep_window(
        late, watermark=at(397), overlap=NONE, now=at(407), bound=BOUND, eager=True
    )
    assert on_grid == logs.Window(at(0), at(390))  # 10 s steps at the default bound
    last = late_logs.sweep_window(
        late, watermark=at(397), overlap=NONE, now=at(407), bound=BOUND, eager=True, aligned=False
    )
    assert last == logs.Window(at(0), at(397))


def test_runs_whose_last_sweeps_differ_sweep_on_the_same_tick() -> None:
    ticks = [
        [late_logs.sweep_due(at(last), now=at(now), bound=BOUND) for now in (59, 60, 61)]
        for last in (1, 17, 59)
    ]
    assert ticks == [[False, True, True]] * 3  # due from the 60 s tick on, for each
    assert not late_logs.sweep_due(at(61), now=at(119), bound=BOUND)


def test_the_count_of_a_window_is_of_distinct_records_in_it() -> None:
    late = LateIds(at(0))
    late.add([rec(1, 1), rec(2, 5), rec(3, 9.999), rec(4, 10)])
    late.add([rec(2, 5)])  # met again in a re-read zone
    assert late.count_in(at(0), at(10)) == 3
    assert late.count_in(at(5), at(11)) == 3
    assert late.count_in(at(20), at(30)) == 0


def test_the_count_of_a_sweep_covers_the_sweep_intervals_its_window_touches() -> None:
    window = logs.Window(at(3.5), at(40))
    known = at(200)
    counted = late_logs.count_window(window, BOUND, known_until=known, final=False)
    assert counted == logs.Window(at(0), at(60))  # 60 s intervals at the default bound
    near = late_logs.count_window(window, BOUND, known_until=at(45), final=False)
    assert near == logs.Window(at(0), at(40))  # not past what the regular reads read
    final = late_logs.count_window(window, BOUND, known_until=at(45), final=True)
    assert final == logs.Window(at(0), at(60))  # nothing after a finished run's last read
