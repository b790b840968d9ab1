"""A sleeping run is woken early when a state read for other runs shows it moved on."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from kopf._cogs.aiokits.aioenums import AsyncFlagWaiter, FlagSetter

from ads_operator.oci.poller import RunStateReader
from ads_operator.usecases import run as run_handling


def _pausing(state: str) -> tuple[RunStateReader, FlagSetter[Any], asyncio.Future[None]]:
    """A run in ``state`` pausing for 60 s: its reader, its stop flag, the pause."""
    reader = RunStateReader(min_batch=3, window=0.0)
    op: Any = SimpleNamespace(reader=reader)
    setter: FlagSetter[Any] = FlagSetter()
    status = {"ocid": "r1", "lifecycleState": state, "logId": "l"}
    pause = asyncio.ensure_future(run_handling._pause(op, status, AsyncFlagWaiter(setter), 60.0))
    return reader, setter, pause


async def test_a_live_run_sleeps_until_woken_and_then_no_longer_follows() -> None:
    reader, _, pause = _pausing("IN_PROGRESS")
    await asyncio.sleep(0)  # one turn of the loop: the pause registers before it waits
    state, wake = reader._followed["r1"]
    assert state == "IN_PROGRESS"
    wake()
    await asyncio.wait_for(pause, 5)  # a deadline: woken, not the 60 s sleep
    assert "r1" not in reader._followed


async def test_stopping_ends_the_pause_and_a_run_without_a_live_state_is_not_followed() -> None:
    reader, setter, pause = _pausing("ACCEPTED")
    await asyncio.sleep(0)
    setter.set()
    await asyncio.wait_for(pause, 5)
    assert reader._followed == {}
    ended = {"ocid": "r1", "lifecycleState": "SUCCEEDED", "logId": "l"}
    op: Any = SimpleNamespace(reader=reader)
    await run_handling._pause(op, ended, AsyncFlagWaiter(setter), 60.0)  # stopped: at once
    assert reader._followed == {}
