"""The ADS_PROGRESS marker: what counts, what is ignored, and that the run's status
follows the latest marker in its log."""

from __future__ import annotations

import pytest

from ads_operator.reconcile import progress
from tests.fixtures.fake_oci import FakePort, at
from tests.unit.usecases.test_run_executor import Clock, Recorder, make, run_pass


@pytest.mark.parametrize(
    ("line", "text", "percent"),
    [
        ("ADS_PROGRESS 42/100", "42/100", 42),
        ("epoch 3: ADS_PROGRESS 3 / 7 loss=0.2", "3/7", 42),
        ("ADS_PROGRESS 37.5%", "37.5%", 37),
        ("ADS_PROGRESS 100%", "100%", 100),
        ("ADS_PROGRESS 0/5", "0/5", 0),
        ("ADS_PROGRESS 1/4 then ADS_PROGRESS 2/4", "2/4", 50),
    ],
)
def test_markers_are_read(line: str, text: str, percent: int) -> None:
    found = progress.parse(line)
    assert found is not None
    assert (found.text, found.percent) == (text, percent)


@pytest.mark.parametrize(
    "line",
    [
        "progress 42/100",
        "ADS_PROGRESS",
        "ADS_PROGRESS 5/0",
        "ADS_PROGRESS 7/5",
        "ADS_PROGRESS 101%",
        "MY_ADS_PROGRESS 1/2",
        "ADS_PROGRESS: 1/2",
        "ADS_PROGRESS -1/2",
    ],
)
def test_other_lines_and_nonsense_numbers_are_ignored(line: str) -> None:
    assert progress.parse(line) is None


def test_the_latest_valid_marker_wins() -> None:
    found = progress.latest(["ADS_PROGRESS 1/10", "noise", "ADS_PROGRESS 4/10", "ADS_PROGRESS 9/0"])
    assert found is not None
    assert found.as_status() == {"progress": "4/10", "progressPercent": 40}
    assert progress.latest(["nothing here"]) is None


async def test_the_run_status_follows_the_log() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    port.emit(run_id, ("ADS_PROGRESS 1/4", at(2)), ("training", at(2.5)))
    clock.seconds = 3
    await run_pass(ctx)
    assert (ctx.status["progress"], ctx.status["progressPercent"]) == ("1/4", 25)
    port.emit(run_id, ("no marker", at(3.5)))
    clock.seconds = 15  # the next log read (LOG_READ_INTERVAL)
    await run_pass(ctx)
    assert ctx.status["progress"] == "1/4"  # a pass without a marker keeps the last one
    port.emit(run_id, ("ADS_PROGRESS 4/4", at(15.5)))
    clock.seconds = 27
    await run_pass(ctx)
    assert (ctx.status["progress"], ctx.status["progressPercent"]) == ("4/4", 100)
