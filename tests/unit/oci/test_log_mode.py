"""Fresh or settled log reads (issue 21): fresh while the Logging budget has headroom,
settled without one, and for a while after a search was throttled, failed or slow;
sweeps for late records are batched apart from the regular reads; the runs furthest
behind are searched first."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from ads_operator.models.oci_errors import NotFoundError, ThrottledError
from ads_operator.models.oci_records import LogPage
from ads_operator.oci import log_mode, logreader
from ads_operator.oci.log_mode import LogMode
from ads_operator.oci.logreader import LogSearchBatcher, LogWant
from tests.fixtures.fake_oci import COMPARTMENT
from tests.unit.oci.test_poller_batching import SearchPort, _no_wait, at, lines


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_fresh_with_headroom_settled_without_and_after_trouble() -> None:
    clock, headroom = Clock(), [0.9]
    mode = LogMode(clock=clock)
    assert not mode.fresh()  # no budget wired: settled, as before
    mode.headroom = lambda: headroom[0]
    assert mode.fresh()
    headroom[0] = 0.7
    assert mode.fresh()  # hysteresis: stays fresh while 65 % is left
    headroom[0] = 0.6
    assert not mode.fresh()
    headroom[0] = 0.8
    assert not mode.fresh()  # and needs 85 % to come back
    headroom[0] = 0.9
    assert mode.fresh()
    mode.trouble()
    assert not mode.fresh()
    clock.now = log_mode.TROUBLE_PAUSE - 1
    assert not mode.fresh()
    clock.now = log_mode.TROUBLE_PAUSE
    assert mode.fresh()
    assert mode.troubles == 1


def want(run: str, start: float, end: float, sweep: bool = False, log: str = "l1") -> LogWant:
    return LogWant(COMPARTMENT, "g", log, run, at(start), at(end), sweep=sweep)


async def test_a_throttled_search_stops_fresh_reads_a_missing_log_does_not() -> None:
    port = SearchPort({"r1": lines("r1", 3)})
    batcher = LogSearchBatcher(window=0.1, sleep=_no_wait)
    batcher.mode.headroom = lambda: 1.0
    assert batcher.mode.fresh()
    port.fail = NotFoundError("no such log", status=404)
    results = await asyncio.gather(batcher.search(port, want("r1", 0, 5)), return_exceptions=True)  # type: ignore[arg-type]
    assert isinstance(results[0], NotFoundError)
    assert batcher.mode.fresh()
    port.fail = ThrottledError("slow down", status=429)
    results = await asyncio.gather(batcher.search(port, want("r1", 0, 5)), return_exceptions=True)  # type: ignore[arg-type]
    assert isinstance(results[0], ThrottledError)
    assert not batcher.mode.fresh()


async def test_a_slow_page_stops_fresh_reads(monkeypatch: Any) -> None:
    class SlowPort(SearchPort):
        async def search_logs(self, **kwargs: Any) -> LogPage:
            ticks[0] += logreader.SLOW_PAGE + 1  # the page took longer than SLOW_PAGE
            return await super().search_logs(**kwargs)

    ticks = [0.0]
    monkeypatch.setattr(logreader.time, "monotonic", lambda: ticks[0])
    port = SlowPort({"r1": lines("r1", 3)})
    batcher = LogSearchBatcher(window=0, sleep=_no_wait)
    batcher.mode.headroom = lambda: 1.0
    found = await batcher.search(port, want("r1", 0, 5))  # type: ignore[arg-type]
    assert len(found) == 3  # the lines are read all the same
    assert batcher.mode.troubles == 1


async def test_sweeps_are_batched_apart_and_the_runs_furthest_behind_go_first() -> None:
    port = SearchPort({f"r{i}": lines(f"r{i}", 300) for i in range(4)})
    seen: list[tuple[datetime, datetime, str]] = []
    search = port.search_logs

    async def record(**kwargs: Any) -> LogPage:
        seen.append((kwargs["time_start"], kwargs["time_end"], kwargs["query"]))
        return await search(**kwargs)

    port.search_logs = record  # type: ignore[method-assign]
    batcher = LogSearchBatcher(window=0.1, sleep=_no_wait)
    found = await asyncio.gather(
        batcher.search(port, want("r0", 280, 290)),  # type: ignore[arg-type]
        batcher.search(port, want("r1", 0, 230, sweep=True)),  # type: ignore[arg-type]
        batcher.search(port, want("r2", 100, 290)),  # type: ignore[arg-type]
        batcher.search(port, want("r3", 285, 290)),  # type: ignore[arg-type]
    )
    assert [len(f) for f in found] == [10, 230, 190, 5]
    windows = {(s, e) for s, e, _ in seen}
    # the sweep's deep window is a query of its own, so is the regular read three minutes
    # behind (r2); the two near each other (r0, r3) share one
    assert windows == {(at(0), at(230)), (at(100), at(290)), (at(280), at(290))}


async def test_the_runs_furthest_behind_are_searched_first(monkeypatch: Any) -> None:
    monkeypatch.setattr(logreader, "MAX_RUNS_PER_QUERY", 1)
    port = SearchPort({f"r{i}": lines(f"r{i}", 300) for i in range(3)})
    batcher = LogSearchBatcher(window=0.1, sleep=_no_wait)
    await asyncio.gather(
        batcher.search(port, want("r0", 280, 290, log="l0")),  # type: ignore[arg-type]
        batcher.search(port, want("r1", 285, 290, log="l1")),  # type: ignore[arg-type]
        batcher.search(port, want("r2", 100, 290, log="l2")),  # type: ignore[arg-type]
    )
    assert [q.split("'*")[1].split("'")[0] for q in port.queries] == ["r2", "r0", "r1"]


def test_a_run_far_behind_does_not_make_a_whole_log_query_deep(monkeypatch: Any) -> None:
    """Three runs of one log are crowded (more than 2 per query): the two near each other
    share a whole-log query, the one two minutes behind gets its own."""
    monkeypatch.setattr(logreader, "MAX_RUNS_PER_QUERY", 1)
    wants = [want("r0", 280, 290), want("r1", 160, 290), want("r2", 282, 290)]
    assert logreader.plan_queries(wants) == [(True, [0, 2]), (False, [1])]
    wants.append(want("r3", 285, 290, log="l2"))
    assert logreader.plan_queries(wants) == [(True, [0, 2]), (False, [1]), (False, [3])]
