"""Multi-tenant mode in the use cases: a job or run the tenancy policy refuses (stored
before the policy tightened, or past a bypassed admission) is Terminal with reason
TenancyPolicy and no OCI call; single-tenant mode reads no policy."""

from __future__ import annotations

from typing import Any

from ads_operator.models import JOB_PLURAL
from ads_operator.models.tenancy import POLICY_NAME, TENANCY_PLURAL
from ads_operator.reconcile.conditions import get_condition
from ads_operator.settings import Settings
from ads_operator.usecases import job
from ads_operator.usecases import run as run_usecase
from ads_operator.usecases.outcome import Done, Failed
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort
from tests.fixtures.fake_operator import fake_operator
from tests.unit.usecases.test_job import NS, current, job_body
from tests.unit.usecases.test_run_usecase import Stop, add_job, add_run, cond

MULTI = Settings(multi_tenant=True)


def with_policy(kube: FakeKube, compartments: list[str], **tenant: Any) -> None:
    entry = {
        "name": "team-a",
        "namespaces": {"matchLabels": {"ads.oci.dev/team": "a"}},
        "credentials": "DefaultIdentityAllowed",
        "compartments": compartments,
        "projects": [PROJECT],
        "shapes": [{"pattern": r"VM\.Standard2\.[0-9]+"}],
        **tenant,
    }
    kube.cluster[(TENANCY_PLURAL, POLICY_NAME)] = {"spec": {"tenants": [entry]}}
    kube.namespaces[NS] = {"ads.oci.dev/team": "a"}


def job_cluster() -> tuple[FakeKube, FakePort]:
    kube, port = FakeKube(), FakePort()
    kube.configmaps[(NS, "code")] = {"hello.py": b"print('hello')\n"}
    kube.add(JOB_PLURAL, job_body())
    return kube, port


async def test_a_job_in_a_compartment_the_policy_does_not_list_is_terminal_without_oci() -> None:
    kube, port = job_cluster()
    with_policy(kube, ["ocid1.compartment.oc1..someone-else"])
    outcome = await job.reconcile(fake_operator(kube, port, MULTI), current(kube), retry=0)
    assert isinstance(outcome, Failed)
    assert f"compartmentId {COMPARTMENT} is not allowed" in outcome.message
    terminal = get_condition(kube.status_of(JOB_PLURAL, NS, "hello")["conditions"], "Terminal")
    assert terminal is not None
    assert terminal["reason"] == "TenancyPolicy"
    assert "not in compartments of entry 'team-a'" in terminal["message"]
    assert kube.reasons() == ["TenancyPolicy"]
    assert not port.calls


async def test_without_the_policy_multi_tenant_mode_denies() -> None:
    kube, port = job_cluster()
    outcome = await job.reconcile(fake_operator(kube, port, MULTI), current(kube), retry=0)
    assert isinstance(outcome, Failed)
    assert "denies by default" in outcome.message
    assert not port.calls


async def test_an_allowed_job_is_created_and_single_tenant_mode_reads_no_policy() -> None:
    kube, port = job_cluster()
    with_policy(kube, [COMPARTMENT])
    assert await job.reconcile(fake_operator(kube, port, MULTI), current(kube), retry=0) == Done()
    assert port.calls["create_job"] == 1
    kube, port = job_cluster()  # no policy at all, single-tenant: today's behaviour
    assert await job.reconcile(fake_operator(kube, port), current(kube), retry=0) == Done()
    assert not kube.calls["get_cluster_resource"]
    assert not kube.calls["namespace_labels"]


async def test_a_run_overriding_its_compartment_is_terminal_without_an_oci_run() -> None:
    kube, port = FakeKube(), FakePort()
    with_policy(kube, [COMPARTMENT])
    add_job(kube)
    body = add_run(kube, compartmentId="ocid1.compartment.oc1..someone-else")
    op = fake_operator(kube, port, MULTI)
    await run_usecase.watch(op, body, Stop())
    assert cond(kube, "Terminal") == ("True", "TenancyPolicy")
    assert not port.calls
