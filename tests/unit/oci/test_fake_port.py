"""The in-memory OCI port of the unit tests behaves as the service does where it matters."""

from __future__ import annotations

from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort


async def test_fake_port_create_run_is_idempotent_on_its_token() -> None:
    port = FakePort()
    details = {"jobId": "j", "compartmentId": COMPARTMENT, "projectId": PROJECT}
    first = await port.create_job_run(details=details, retry_token="t")
    second = await port.create_job_run(details=details, retry_token="t")
    assert first.id == second.id
    assert len(port.runs) == 1
