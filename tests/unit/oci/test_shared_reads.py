"""SharedReads: one OCI read for everyone asking the same within its ttl."""

from __future__ import annotations

import asyncio

import pytest

from ads_operator.oci.shared_reads import SharedReads


async def test_concurrent_callers_share_one_read_and_a_later_one_reads_again() -> None:
    now = [0.0]
    reads = SharedReads[str](ttl=10.0, clock=lambda: now[0])
    gate = asyncio.Event()
    calls = 0

    async def read() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return f"job v{calls}"

    waiting = [asyncio.create_task(reads.get("job", read)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    assert set(await asyncio.gather(*waiting)) == {"job v1"}
    now[0] = 5.0
    assert await reads.get("job", read) == "job v1"  # within the ttl: no call
    now[0] = 10.5
    assert await reads.get("job", read) == "job v2"
    assert calls == 2 == reads.reads


async def test_a_failed_read_is_not_kept() -> None:
    reads = SharedReads[int](ttl=60.0)
    attempts = 0

    async def flaky() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("503")
        return 7

    with pytest.raises(ConnectionError):
        await reads.get("k", flaky)
    assert await reads.get("k", flaky) == 7
    assert attempts == 2
