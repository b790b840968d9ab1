"""Counts for sweeps (issue 21): many runs' counts are one query with a row per source,
kept a while for the runs that sweep the same stretch a little later, but never used
for a run that needs a count taken after it was."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from ads_operator.models.oci_errors import ThrottledError
from ads_operator.oci.batching import BatchingPort
from ads_operator.oci.log_counts import LogCountBatcher, by_run, logs_count_query
from ads_operator.oci.logreader import LogSearchBatcher, LogWant
from ads_operator.oci.port import OciPort, RunLog
from tests.fixtures.fake_oci import COMPARTMENT, at

RUNS = [f"ocid1.datasciencejobrun.oc1..r{i}" for i in range(120)]


class CountingLog:
    """A log all runs write to, counted as the Logging service does (by ``source``)."""

    def __init__(self) -> None:
        self.region = ""
        self.queries: list[str] = []
        self.held = {run: i % 7 for i, run in enumerate(RUNS)}
        self.fail: Exception | None = None

    async def count_logs(
        self, *, query: str, time_start: datetime, time_end: datetime, run: RunLog | None = None
    ) -> dict[str, int]:
        self.queries.append(query)
        if self.fail is not None:
            raise self.fail
        return {f"prefix/{r}": n for r, n in self.held.items() if n}


class Clock:
    def __init__(self) -> None:
        self.now = at(100)

    def __call__(self) -> datetime:
        return self.now


async def _no_wait(_: float) -> None:
    await asyncio.sleep(0)


def _want(run: str, start: float = 0, end: float = 10) -> LogWant:
    return LogWant(COMPARTMENT, "g", "l", run, at(start), at(end))


async def test_a_hundred_runs_counts_are_one_query_and_kept_for_later_sweeps() -> None:
    log, clock = CountingLog(), Clock()
    batcher = LogCountBatcher(window=0.01, sleep=_no_wait, clock=clock)
    port: OciPort = log  # type: ignore[assignment]  # only count_logs is called
    counts = await asyncio.gather(
        *(batcher.count(port, _want(r), count_from=at(90)) for r in RUNS[:100])
    )
    assert counts == [i % 7 for i in range(100)]
    assert log.queries == [logs_count_query(COMPARTMENT, "g", ["l"])]  # no where: whole log
    clock.now = at(105)
    assert await batcher.count(port, _want(RUNS[100]), count_from=at(95)) == 100 % 7
    assert len(log.queries) == 1  # kept: taken at 100, after 95
    await batcher.count(port, _want(RUNS[101]), count_from=at(101))
    assert len(log.queries) == 2  # a count taken at 100 cannot answer for 101
    await batcher.count(port, _want(RUNS[102], end=20), count_from=at(90))
    assert len(log.queries) == 3  # another stretch


async def test_a_failed_count_fails_every_run_in_it() -> None:
    log = CountingLog()
    log.fail = ThrottledError("slow down", status=429)
    batcher = LogCountBatcher(window=0.01, sleep=_no_wait)
    port: OciPort = log  # type: ignore[assignment]
    results = await asyncio.gather(
        *(batcher.count(port, _want(r), count_from=at(0)) for r in RUNS[:3]),
        return_exceptions=True,
    )
    assert all(isinstance(r, ThrottledError) for r in results)


async def test_the_batching_port_answers_a_run_with_its_own_count() -> None:
    log = CountingLog()
    port: OciPort = BatchingPort(
        log,  # type: ignore[arg-type]
        counts=LogCountBatcher(window=0.01, sleep=_no_wait),
    )
    hint = RunLog(COMPARTMENT, "g", "l", RUNS[3], sweep=True, count_from=at(0))
    counted = await port.count_logs(query="q", time_start=at(0), time_end=at(10), run=hint)
    assert counted == {RUNS[3]: 3}
    assert await port.count_logs(query="q", time_start=at(0), time_end=at(10)) == {
        f"prefix/{r}": n for r, n in log.held.items() if n
    }  # without the hint: the plain port's answer


@pytest.mark.parametrize(
    ("source", "tail"),
    [
        ("ocid1.datasciencejobrun.oc1..a", "ocid1.datasciencejobrun.oc1..a"),
        ("x/ocid1.datasciencejobrun.oc1..a", "ocid1.datasciencejobrun.oc1..a"),
        ("plain", "plain"),
    ],
)
def test_counts_go_to_the_run_whose_ocid_ends_the_source(source: str, tail: str) -> None:
    assert by_run({source: 4}) == {tail: 4}


async def test_a_throttled_count_makes_the_logs_read_settled_like_a_throttled_search() -> None:
    log = CountingLog()
    log.fail = ThrottledError("slow down", status=429)
    logs = LogSearchBatcher(window=0.01, sleep=_no_wait)
    port: OciPort = BatchingPort(
        log,  # type: ignore[arg-type]
        logs=logs,
        counts=LogCountBatcher(window=0.01, sleep=_no_wait),
    )
    hint = RunLog(COMPARTMENT, "g", "l", RUNS[3], sweep=True, count_from=at(0))
    with pytest.raises(ThrottledError):
        await port.count_logs(query="q", time_start=at(0), time_end=at(10), run=hint)
    assert logs.mode.troubles == 1
