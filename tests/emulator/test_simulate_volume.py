"""Simulate mode writes the scripted number of lines even when its loop runs late."""

from __future__ import annotations

import asyncio
import time

from oci_emulator.settings import SimulateScript
from oci_emulator.simulate import simulate


async def test_a_late_loop_still_writes_every_scripted_line() -> None:
    lines: list[str] = []

    def slow_sink(stream: str, text: str) -> None:
        if not lines:
            time.sleep(0.5)  # a busy emulator: the loop wakes half a second late, once
        lines.append(text)

    script = SimulateScript(run_seconds=1.0, exit_code=0, lines_per_second=20)
    outcome = await simulate(script, slow_sink, cancel=asyncio.Event(), timeout_seconds=None)
    assert outcome.exit_code == 0
    # One line per 1/20 s of the second, in order; the last may fall on the deadline.
    assert 19 <= len(lines) <= 20
    assert lines == [f"simulated line {i}" for i in range(1, len(lines) + 1)]
