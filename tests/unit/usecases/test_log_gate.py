"""The log-step gate (:class:`ads_operator.usecases.log_gate.LogStepGate`): nothing waits
below its low mark; above it steps wait, in arrival order, and are let in as a wave once
the steps in flight fall below the mark; a step canceled while waiting or just after it
was let in never holds a place."""

from __future__ import annotations

import asyncio

import pytest

from ads_operator.usecases.log_gate import LogStepGate


async def _settle() -> None:
    """Lets every ready task run until all wait again (a few loop turns)."""
    for _ in range(5):
        await asyncio.sleep(0)


class _Steps:
    """Steps that enter the gate and stay inside until released, recording the order."""

    def __init__(self, gate: LogStepGate) -> None:
        self.gate = gate
        self.entered: list[int] = []
        self._release: dict[int, asyncio.Event] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, n: int) -> None:
        self._release[n] = asyncio.Event()
        self.tasks[n] = asyncio.get_running_loop().create_task(self._step(n))

    async def _step(self, n: int) -> None:
        async with self.gate.admitted():
            self.entered.append(n)
            await self._release[n].wait()

    def release(self, n: int) -> None:
        self._release[n].set()


async def test_below_the_mark_nothing_waits() -> None:
    gate = LogStepGate(low=3)
    steps = _Steps(gate)
    for n in range(3):
        steps.start(n)
    await _settle()
    assert steps.entered == [0, 1, 2]
    assert gate.in_flight == 3


async def test_waiting_steps_are_let_in_as_a_wave_in_arrival_order() -> None:
    gate = LogStepGate(low=2)
    steps = _Steps(gate)
    for n in range(6):
        steps.start(n)
    await _settle()
    assert steps.entered == [0, 1]
    assert gate.waiting == 4
    steps.release(0)  # 1 in flight < 2: a wave of up to 2
    await _settle()
    assert steps.entered == [0, 1, 2, 3]
    assert gate.in_flight == 3
    steps.release(1)  # 2 in flight: not below the mark, nobody more
    await _settle()
    assert steps.entered == [0, 1, 2, 3]
    steps.release(2)
    await _settle()
    assert steps.entered == [0, 1, 2, 3, 4, 5]
    for n in (3, 4, 5):
        steps.release(n)
    await _settle()
    assert gate.in_flight == 0
    assert gate.waiting == 0


async def test_a_step_canceled_while_waiting_or_just_let_in_holds_no_place() -> None:
    gate = LogStepGate(low=1)
    steps = _Steps(gate)
    for n in range(3):
        steps.start(n)
    await _settle()
    steps.tasks[1].cancel()  # canceled while waiting: skipped by the wave
    await _settle()
    steps.release(0)
    await _settle()
    assert steps.entered == [0, 2]
    # Step 3 is let in and canceled before it runs: its place is given back.
    steps.start(3)
    await _settle()
    steps.release(2)
    await asyncio.sleep(0)  # step 2 leaves and lets step 3 in; step 3 has not run yet
    assert gate.in_flight == 1
    assert 3 not in steps.entered
    steps.tasks[3].cancel()
    await _settle()
    assert 3 not in steps.entered
    assert gate.in_flight == 0
    with pytest.raises(asyncio.CancelledError):
        await steps.tasks[3]
    steps.start(4)
    await _settle()
    assert steps.entered[-1] == 4
    steps.release(4)
    await _settle()
    assert gate.in_flight == 0
