"""Issue 22: a status patch the API server failed (after the adapter's retries) loses
nothing. The pass ends with the error, the fields it could not save are not taken as
saved, and the next pass saves them (and announces the change again: under its fixed
name that is the same Event)."""

from __future__ import annotations

from typing import Any

import pytest

from ads_operator.kube.port import KubeError
from ads_operator.models.run_wire import RunStatusWire
from tests.fixtures.fake_oci import FakePort, at
from tests.unit.usecases.test_run_executor import Clock, Recorder, RecordingKube, make, run_pass


class FailingOnce(RecordingKube):
    """Fails the first patch that carries ``key`` (a 429 that outlasted the retries)."""

    key = "lifecycleState"
    failed = False

    async def persist(self, patch: Any, conditions_from: Any = None) -> None:
        if self.key in patch and not self.failed:
            self.failed = True
            raise KubeError(429, "Too Many Requests", "try again later", retry_after=1)
        await super().persist(patch)


def saved(rec: Recorder) -> dict[str, Any]:
    """The status as the apiserver holds it: every patch that went through, merged."""
    merged: dict[str, Any] = {}
    for patch in rec.patches:
        merged.update(patch)
    return merged


async def test_a_state_the_api_server_failed_to_save_is_saved_by_the_next_pass() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    ctx.kube = FailingOnce(rec, None)
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    clock.seconds = 2
    with pytest.raises(KubeError):
        await run_pass(ctx)
    status: RunStatusWire = ctx.status
    assert status.get("lifecycleState") != "IN_PROGRESS"  # not taken as saved
    clock.seconds = 3
    await run_pass(ctx)
    assert saved(rec)["lifecycleState"] == "IN_PROGRESS"
    assert saved(rec)["phase"] == "Running"
    assert port.calls["create_job_run"] == 1
