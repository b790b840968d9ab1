"""The live tail's reads (``ads-operator logs -f``): which window, which records are new."""

from __future__ import annotations

from datetime import datetime, timedelta

from ads_operator.commands.tail import DEEP_EVERY, LATE_BOUND, Read, Trail
from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile.logs import Window
from tests.fixtures.fake_oci import at

QUICK = timedelta(seconds=10)


def rec(name: str, seconds: float) -> LogRecord:
    return LogRecord(id=f"id-{name}", time=at(seconds), message=name)


class Log:
    """Records in ingestion order; a record is searchable once ``visible`` has passed."""

    def __init__(self) -> None:
        self.records: list[tuple[LogRecord, datetime]] = []

    def write(self, record: LogRecord, *, visible: datetime) -> None:
        self.records.append((record, visible))

    def search(self, read: Read, now: datetime) -> list[LogRecord]:
        return [
            r
            for r, visible in self.records
            if visible <= now and read.window.start <= r.time < read.window.end
        ]


def follow(trail: Trail, log: Log, *, start: float, stop: float, step: float = 1.0) -> list[str]:
    """Reads every ``step`` seconds from ``start`` to ``stop``, the last one ``last``."""
    shown: list[str] = []
    moment = start
    while moment <= stop:
        now, last = at(moment), moment + step > stop
        read = trail.next_read(now=now, time_accepted=at(0), last=last)
        if read is not None:
            shown += [r.message for r in trail.take(log.search(read, now), read, now=now)]
        moment += step
    return shown


def test_first_read_covers_the_run_then_quick_reads_resume_before_the_last_end() -> None:
    trail = Trail(quick=QUICK)
    first = trail.next_read(now=at(100), time_accepted=at(5))
    assert first == Read(Window(at(5) - timedelta(seconds=60), at(100)), deep=True)
    trail.take([], first, now=at(100))
    quick = trail.next_read(now=at(101), time_accepted=at(5))
    assert quick == Read(Window(at(90), at(101)), deep=False)
    deep = trail.next_read(now=at(100) + DEEP_EVERY, time_accepted=at(5))
    reach = max(at(5) - timedelta(seconds=60), at(115) - LATE_BOUND - DEEP_EVERY)
    assert deep == Read(Window(reach, at(115)), deep=True)
    last = trail.next_read(now=at(102), time_accepted=at(5), last=True)
    assert last == Read(Window(reach, at(102)), deep=True)


def test_each_record_once_in_time_order_when_ingested_on_time() -> None:
    log = Log()
    for i in range(40):
        log.write(rec(f"line {i}", i / 2), visible=at(i / 2 + 2))
    shown = follow(Trail(quick=QUICK), log, start=1, stop=40)
    assert shown == [f"line {i}" for i in range(40)]


def test_a_record_ingested_up_to_the_late_bound_is_shown_once() -> None:
    log = Log()
    log.write(rec("on time", 10), visible=at(11))
    # Searchable long after lines that came after it were shown, beyond the quick re-read.
    log.write(rec("late", 12), visible=at(12) + LATE_BOUND)
    log.write(rec("after", 13), visible=at(14))
    shown = follow(Trail(quick=QUICK), log, start=5, stop=400)
    assert shown == ["on time", "after", "late"]


def test_the_last_read_reaches_back_for_late_records() -> None:
    log = Log()
    log.write(rec("early", 1), visible=at(2))
    log.write(rec("late", 3), visible=at(40))  # after the quick re-read passed it
    trail = Trail(quick=QUICK, deep_every=timedelta(hours=1))  # no deep read but the last
    assert follow(trail, log, start=5, stop=39) == ["early"]
    assert follow(trail, log, start=41, stop=41) == ["late"]


def test_records_sharing_a_timestamp_are_all_shown_in_service_order() -> None:
    log = Log()
    for name in ("c", "a", "b"):
        log.write(rec(name, 5), visible=at(6))
    log.write(rec("d", 5), visible=at(9))  # same millisecond, ingested later
    assert follow(Trail(quick=QUICK), log, start=6, stop=30) == ["c", "a", "b", "d"]


def test_a_page_repeating_a_record_shows_it_once() -> None:
    trail = Trail(quick=QUICK)
    read = trail.next_read(now=at(10), time_accepted=at(0))
    assert read is not None
    twice = [rec("x", 1), rec("x", 1), rec("y", 2)]
    assert [r.message for r in trail.take(twice, read, now=at(10))] == ["x", "y"]


def test_remembered_ids_are_bounded_by_the_deep_read() -> None:
    log = Log()
    for i in range(1000):
        log.write(rec(f"l{i}", i), visible=at(i + 1))
    trail = Trail(quick=QUICK)
    shown = follow(trail, log, start=2, stop=1000)
    assert len(shown) == len(set(shown)) == 1000
    assert 0 < len(trail.shown) <= (LATE_BOUND + DEEP_EVERY).total_seconds() + 1
    assert min(trail.shown.values()) >= at(1000) - LATE_BOUND - DEEP_EVERY
