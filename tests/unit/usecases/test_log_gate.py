"""The log steps' lane (:class:`ads_operator.usecases.log_gate.LogLane`): nothing waits
below its low mark; above it steps wait, in arrival order, and are let in as a wave once
the steps in flight fall below the mark (and know they waited); a step canceled while
waiting or just after it was let in never holds a place."""

from __future__ import annotations

import asyncio

import pytest

from ads_operator.usecases.log_gate import LogLane


async def _settle() -> None:
    """Lets every ready task run until all wait again (a few loop turns)."""
    for _ in range(5):
        await asyncio.sleep(0)


class _Steps:
    """Steps that enter the gate and stay inside until released, recording the order."""

    def __init__(self, lane: LogLane) -> None:
        self.lane = lane
        self.entered: list[int] = []
        self.waited: list[int] = []
        self._release: dict[int, asyncio.Event] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, n: int) -> None:
        self._release[n] = asyncio.Event()
        self.tasks[n] = asyncio.get_running_loop().create_task(self._step(n))

    async def _step(self, n: int) -> None:
        async with self.lane.admitted() as waited:
            self.entered.append(n)
            if waited:
                self.waited.append(n)
            await self._release[n].wait()

    def leave_soon(self, n: int) -> None:
        """Lets step ``n`` leave at the loop's next turn."""
        self._release[n].set()

    async def release(self, *steps: int) -> None:
        """Lets these steps leave, and the loop run until everything waits again."""
        for n in steps:
            self.leave_soon(n)
        await _settle()


async def _started(low: int, count: int) -> tuple[LogLane, _Steps]:
    """A lane with a low mark of ``low`` and steps ``0..count-1`` started, in order."""
    lane = LogLane(low=low, writes=1)
    steps = _Steps(lane)
    for n in range(count):
        steps.start(n)
    await _settle()
    return lane, steps


async def test_below_the_mark_nothing_waits() -> None:
    lane, steps = await _started(low=3, count=3)
    assert steps.entered == [0, 1, 2]
    assert steps.waited == []
    assert lane.in_flight == 3


async def test_the_lane_is_busy_from_its_mark_or_while_steps_wait() -> None:
    lane, steps = await _started(low=3, count=2)
    assert not lane.busy
    steps.start(2)
    steps.start(3)
    await _settle()
    assert lane.busy  # three in flight (the mark), step 3 waiting
    await steps.release(0)
    assert lane.busy  # step 3 let in: three in flight again
    await steps.release(1, 2)
    assert not lane.busy  # one in flight, nobody waiting
    await steps.release(3)


async def test_waiting_steps_are_let_in_as_a_wave_in_arrival_order() -> None:
    lane, steps = await _started(low=2, count=6)
    assert steps.entered == [0, 1]
    await steps.release(0)  # 1 in flight < 2: a wave of up to 2
    assert steps.entered == [0, 1, 2, 3]
    assert lane.in_flight == 3
    await steps.release(1)  # 2 in flight: not below the mark, nobody more
    assert steps.entered == [0, 1, 2, 3]
    await steps.release(2)
    assert steps.entered == [0, 1, 2, 3, 4, 5]
    assert steps.waited == [2, 3, 4, 5]
    await steps.release(3, 4, 5)
    assert lane.in_flight == 0


async def test_a_step_canceled_while_waiting_or_just_let_in_holds_no_place() -> None:
    lane, steps = await _started(low=1, count=3)
    steps.tasks[1].cancel()  # canceled while waiting: skipped by the wave
    await _settle()
    await steps.release(0)
    assert steps.entered == [0, 2]
    # Step 3 is let in and canceled before it runs: its place is given back.
    steps.start(3)
    await _settle()
    steps.leave_soon(2)
    await asyncio.sleep(0)  # step 2 leaves and lets step 3 in; step 3 has not run yet
    assert lane.in_flight == 1
    assert 3 not in steps.entered
    steps.tasks[3].cancel()
    await _settle()
    assert 3 not in steps.entered
    assert lane.in_flight == 0
    with pytest.raises(asyncio.CancelledError):
        await steps.tasks[3]
    steps.start(4)
    await _settle()
    assert steps.entered[-1] == 4
    await steps.release(4)
    assert lane.in_flight == 0


async def test_the_write_slots_bound_the_writes() -> None:
    lane = LogLane(low=10, writes=2)
    inside = 0
    most = 0

    async def write() -> None:
        nonlocal inside, most
        async with lane.writing():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(write() for _ in range(6)))
    assert most == 2
