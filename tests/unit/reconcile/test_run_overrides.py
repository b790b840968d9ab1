"""Which run overrides a job can take: node overrides need a multi-node job (and its
group's name), an infrastructure override a single-node one; a job known only by OCID
is left to OCI."""

from __future__ import annotations

from typing import Any

import pytest

from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.reconcile.run_overrides import override_problem

INFRA = {
    "jobInfrastructureType": "ME_STANDALONE",
    "shapeName": "VM.Standard.E4.Flex",
    "blockStorageSizeInGBs": 100,
    "jobShapeConfigDetails": {"ocpus": 2, "memoryInGBs": 16},
}


def job(replicas: int | None = None) -> DataScienceJobSpec:
    runtime: dict[str, Any] = {"image": "iad.ocir.io/t/i:1"}
    if replicas is not None:
        runtime["replicas"] = replicas
    return DataScienceJobSpec.model_validate(
        {
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {"shapeName": "VM.Standard2.1"},
            },
            "runtime": {"kind": "runtime", "type": "container", "spec": runtime},
        }
    )


def run(**fields: Any) -> DataScienceJobRunSpec:
    return DataScienceJobRunSpec.model_validate({"jobRef": {"name": "j"}, **fields})


def nodes(*names: str) -> dict[str, Any]:
    groups = [{"name": n, "replicas": 2} for n in names]
    return {"jobNodeType": "MULTI_NODE", "jobNodeGroupConfigurationDetailsList": groups}


def test_fitting_overrides_pass() -> None:
    assert override_problem(job(), run(jobInfrastructureConfigurationOverrideDetails=INFRA)) is None
    node_run = run(jobNodeConfigurationOverrideDetails=nodes("node-group"))
    assert override_problem(job(3), node_run) is None
    logs = {"enableLogging": False}
    assert override_problem(job(3), run(jobLogConfigurationOverrideDetails=logs)) is None


@pytest.mark.parametrize(
    ("replicas", "fields", "words"),
    [
        (None, {"jobNodeConfigurationOverrideDetails": nodes("node-group")}, "one node"),
        (1, {"jobNodeConfigurationOverrideDetails": nodes("node-group")}, "one node"),
        (3, {"jobInfrastructureConfigurationOverrideDetails": INFRA}, "runs 3 replicas"),
        (2, {"jobNodeConfigurationOverrideDetails": nodes("workers")}, "'workers'"),
    ],
)
def test_overrides_the_job_cannot_take_are_named(
    replicas: int | None, fields: dict[str, Any], words: str
) -> None:
    problem = override_problem(job(replicas), run(**fields))
    assert problem is not None
    assert words in problem
    assert next(iter(fields)) in problem


def test_a_job_known_by_ocid_is_left_to_oci() -> None:
    assert override_problem(None, run(jobNodeConfigurationOverrideDetails=nodes("x"))) is None
