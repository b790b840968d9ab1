"""A run whose overrides its job cannot take fails Terminal before any OCI call; a run in
a compartment of its own is found there again after a crash."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile.conditions import get_condition
from ads_operator.reconcile.log_batches import PendingEvent
from ads_operator.reconcile.run_overrides import REASON
from ads_operator.settings import Settings
from ads_operator.usecases.run_executor import JobInfo, RunContext, run_once
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort, at

SINGLE_NODE_JOB = DataScienceJobSpec.model_validate(
    {
        "infrastructure": {
            "kind": "infrastructure",
            "type": "dataScienceJob",
            "spec": {
                "compartmentId": COMPARTMENT,
                "projectId": PROJECT,
                "shapeName": "VM.Standard2.1",
            },
        },
        "runtime": {"kind": "runtime", "type": "container", "spec": {"image": "iad.ocir.io/t/i:1"}},
    }
)
NODE_OVERRIDE = {
    "jobNodeType": "MULTI_NODE",
    "jobNodeGroupConfigurationDetailsList": [{"name": "node-group", "replicas": 4}],
}


class Kube:
    """The run's Kubernetes side: Events recorded, nothing else kept."""

    def __init__(self, events: list[tuple[str, str]]) -> None:
        self.events = events

    async def persist(self, patch: dict[str, Any], conditions_from: Any = None) -> None:
        return None

    async def post(self, reason: str, message: str, warning: bool) -> None:
        self.events.append((reason, message))

    def plan_lines(self, records: Sequence[LogRecord]) -> tuple[list[PendingEvent], int]:
        return [], 0

    async def post_events(self, pending: Sequence[PendingEvent]) -> list[PendingEvent]:
        return []

    async def resolve_job(self) -> JobInfo:
        return JobInfo("ocid1.datasciencejob.oc1.iad.j0", COMPARTMENT, PROJECT, SINGLE_NODE_JOB)

    async def admit(self) -> None:
        return None


def context(
    port: FakePort, events: list[tuple[str, str]], status: dict[str, Any] | None = None, **spec: Any
) -> RunContext:
    return RunContext(
        namespace="team-a",
        name="run-1",
        uid="run-uid",
        generation=1,
        spec=DataScienceJobRunSpec.model_validate({"jobRef": {"name": "j"}, **spec}),
        status=dict(status or {}),
        settings=Settings(),
        port=port,
        kube=Kube(events),
        now=lambda: at(0),
    )


async def test_a_node_override_on_a_single_node_job_is_terminal_without_an_oci_run() -> None:
    port, events = FakePort(), list[tuple[str, str]]()
    ctx = context(port, events, jobNodeConfigurationOverrideDetails=NODE_OVERRIDE)
    assert await run_once(ctx) is None
    assert ctx.status["phase"] == "Failed"
    terminal = get_condition(ctx.status["conditions"], "Terminal") or {}
    assert (terminal.get("status"), terminal.get("reason")) == ("True", REASON)
    assert "jobNodeConfigurationOverrideDetails" in str(terminal.get("message"))
    assert events[-1][0] == REASON
    assert port.calls["create_job_run"] == 0
    assert not port.runs


async def test_an_infrastructure_override_on_it_is_created() -> None:
    port, events = FakePort(), list[tuple[str, str]]()
    infra = {
        "jobInfrastructureType": "ME_STANDALONE",
        "shapeName": "VM.Standard.E4.Flex",
        "blockStorageSizeInGBs": 60,
    }
    ctx = context(port, events, jobInfrastructureConfigurationOverrideDetails=infra)
    await run_once(ctx)
    await ctx.wait_logs()
    assert port.calls["create_job_run"] == 1


async def test_a_run_in_its_own_compartment_is_adopted_there_after_a_crash() -> None:
    port, events = FakePort(), list[tuple[str, str]]()
    other = "ocid1.compartment.oc1..other"
    first = context(port, events, compartmentId=other)
    await run_once(first)
    await first.wait_logs()
    (created,) = port.runs.values()
    assert created.compartment_id == other
    port.tokens.clear()  # OCI keeps retry tokens 24 h: a late restart cannot count on them
    # Restarted between CreateJobRun and saving its OCID: only the marker was saved.
    again = context(port, events, status={"createRequested": 1}, compartmentId=other)
    await run_once(again)
    await again.wait_logs()
    assert port.calls["create_job_run"] == 1
    assert again.status["ocid"] == created.id
