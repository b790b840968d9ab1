"""The settle time follows the ingest delays the records show (issue 21): ``LOG_SETTLE``
until records were seen, then the longest recent delay plus a margin, within bounds;
late records (beyond ``LOG_SETTLE``) do not lengthen it, and slow spells are forgotten
after a few minutes. The batcher feeds it every page it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ads_operator.models.oci_records import LogRecord
from ads_operator.oci import settle_time
from ads_operator.oci.logreader import LogSearchBatcher
from ads_operator.oci.settle_time import SettleTime
from tests.fixtures.fake_oci import at
from tests.unit.oci.test_log_mode import Clock, want
from tests.unit.oci.test_poller_batching import SearchPort, _no_wait

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def record(delay: float | None, n: int = 0) -> LogRecord:
    """A record ingested ``delay`` seconds after its time (None: it does not say)."""
    time = T0 + timedelta(seconds=n)
    ingested = None if delay is None else time + timedelta(seconds=delay)
    return LogRecord(id=f"r{n}", time=time, message="m", ingested=ingested)


def test_the_longest_settle_until_records_say_how_late_they_come() -> None:
    settle = SettleTime(10.0, Clock())
    assert settle.seconds() == 10.0
    settle.observe([record(None), record(None, 1)])
    assert settle.seconds() == 10.0


def test_prompt_records_settle_for_the_shortest_slower_ones_for_their_delay() -> None:
    settle = SettleTime(10.0, Clock())
    settle.observe([record(0.05), record(0.3, 1), record(-0.2, 2)])  # skewed clocks too
    assert settle.seconds() == settle_time.SHORTEST
    settle.observe([record(4.0, 3), record(0.1, 4)])
    assert settle.seconds() == 4.0 + settle_time.MARGIN
    settle.observe([record(9.5, 5)])
    assert settle.seconds() == 10.0  # never longer than LOG_SETTLE


def test_late_records_do_not_lengthen_the_settle() -> None:
    settle = SettleTime(10.0, Clock())
    settle.observe([record(0.2), record(45.0, 1), record(120.0, 2)])
    assert settle.seconds() == settle_time.SHORTEST
    only_late = SettleTime(10.0, Clock())
    only_late.observe([record(30.0)])
    assert only_late.seconds() == 10.0  # nothing seen within the bound: the longest


def test_a_slow_spell_is_forgotten_after_a_few_minutes() -> None:
    clock = Clock()
    settle = SettleTime(10.0, clock)
    settle.observe([record(6.0)])
    clock.now = settle_time.REMEMBERED - settle_time.BUCKET
    settle.observe([record(0.1)])
    assert settle.seconds() == 6.0 + settle_time.MARGIN
    clock.now = settle_time.REMEMBERED + settle_time.BUCKET
    assert settle.seconds() == settle_time.SHORTEST
    clock.now = 10 * settle_time.REMEMBERED  # nothing recent at all: the longest again
    assert settle.seconds() == 10.0
    for _ in range(30):  # a long run of reads keeps a bounded memory
        clock.now += 60
        settle.observe([record(1.0)])
    assert len(settle._delays) <= settle_time.REMEMBERED / settle_time.BUCKET + 1


def test_a_settle_shorter_than_the_shortest_stays() -> None:
    settle = SettleTime(1.0, Clock())
    settle.observe([record(0.1)])
    assert settle.seconds() == 1.0


async def test_the_batcher_learns_from_every_page_it_reads() -> None:
    records = [
        LogRecord(f"x{i}", at(i), "m", "r1", ingested=at(i) + timedelta(seconds=3))
        for i in range(3)
    ]
    batcher = LogSearchBatcher(window=0, sleep=_no_wait, longest_settle=10.0)
    assert batcher.settle.seconds() == 10.0
    found = await batcher.search(SearchPort({"r1": records}), want("r1", 0, 5))  # type: ignore[arg-type]
    assert len(found) == 3
    assert batcher.settle.seconds() == 3.0 + settle_time.MARGIN
