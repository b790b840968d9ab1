"""Our CreateJobDetails against what ADS itself sends, recorded.

The payloads under ``"ads"`` were recorded from oracle-ads 2.16.1 (``Job.from_dict(...)
.create()`` with ``DataScienceClient.create_job`` replaced by a function that captured
the request, code sources copied to local files with the same names, and ``None`` values
dropped as the SDK drops unset attributes). Recording needs ADS and its dependencies
(about 1 GB), so they are data here and the test needs only our code: if the translation
drifts from ADS, this fails.

Runs were recorded the same way from ``job.run(**ads_call)`` after ``job.create()``
(``create_job_run`` captured). The cases are ``golden/ads_jobs.json`` (``spec`` and what
ADS sent, ``ads``) and ``golden/ads_runs.json`` (``job``, ``run``, ``ads_call``, ``ads``).
Differences we keep on purpose are listed in ``KNOWN_DIFFERENCES`` /
``KNOWN_RUN_DIFFERENCES`` with the reason.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Final

import pytest

from ads_operator.ads import translate
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec

_HERE = Path(__file__).parent

#: (case, dotted path) -> (ADS's value, our value, why we differ)
KNOWN_DIFFERENCES: Final[dict[tuple[str, str], tuple[Any, Any, str]]] = {
    (
        "container-multinode",
        "jobNodeConfigurationDetails.jobNodeGroupConfigurationDetailsList.0."
        "jobInfrastructureConfigurationDetails.blockStorageSizeInGBs",
    ): (
        None,
        50,
        "OCI requires blockStorageSizeInGBs for MULTI_NODE infrastructure; ADS applies its "
        "50 GB default only to single-node jobs",
    ),
}

GOLDEN: Final[dict[str, dict[str, Any]]] = json.loads((_HERE / "golden/ads_jobs.json").read_text())[
    "cases"
]


def _set(document: dict[str, Any], path: str, value: Any) -> Any:
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if re.fullmatch(r"\d+", part) else node[part]
    previous = node.get(last)
    node[last] = value
    return previous


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_job_details_match_what_ads_sends(case: str) -> None:
    spec = DataScienceJobSpec.model_validate(GOLDEN[case]["spec"])
    expected = copy.deepcopy(GOLDEN[case]["ads"])
    for (name, path), (ads_value, our_value, _) in KNOWN_DIFFERENCES.items():
        if name == case:
            assert _set(expected, path, our_value) == ads_value
    assert translate.job_details(spec) == expected


def test_every_known_difference_belongs_to_a_case() -> None:
    assert {name for name, _ in KNOWN_DIFFERENCES} <= set(GOLDEN)
    assert {name for name, _ in KNOWN_RUN_DIFFERENCES} <= set(GOLDEN_RUNS)


_JOB_ID = "ocid1.datasciencejob.oc1.iad.aaaaaaaaexamplejob"
_GROUP = "jobNodeConfigurationOverrideDetails.jobNodeGroupConfigurationDetailsList.0."

#: (case, dotted path) -> (ADS's value, our value, why we differ)
KNOWN_RUN_DIFFERENCES: Final[dict[tuple[str, str], tuple[Any, Any, str]]] = {
    ("container-override", "jobEnvironmentConfigurationOverrideDetails.entrypoint"): (
        None,
        ["/bin/sh", "-c"],
        "an override carries the job's other container fields: OCI does not document a "
        "field-by-field merge",
    ),
    ("multinode-override", _GROUP + "jobConfigurationDetails"): (
        None,
        {"environmentVariables": {"E": "1"}, "jobType": "DEFAULT"},
        "ADS writes JobConfigurationDetails (capitalised), which the SDK drops: its "
        "multi-node run overrides never reach OCI",
    ),
    ("multinode-override", _GROUP + "jobEnvironmentConfigurationDetails"): (
        None,
        {"image": "iad.ocir.io/t/i:3", "jobEnvironmentType": "OCIR_CONTAINER"},
        "same ADS bug as above, for the container override",
    ),
}

GOLDEN_RUNS: Final[dict[str, dict[str, Any]]] = json.loads(
    (_HERE / "golden/ads_runs.json").read_text()
)["cases"]


@pytest.mark.parametrize("case", sorted(GOLDEN_RUNS))
def test_run_details_match_what_ads_sends(case: str) -> None:
    job_spec = DataScienceJobSpec.model_validate(GOLDEN_RUNS[case]["job"])
    run_spec = DataScienceJobRunSpec.model_validate(GOLDEN_RUNS[case]["run"])
    expected = copy.deepcopy(GOLDEN_RUNS[case]["ads"])
    for (name, path), (ads_value, our_value, _) in KNOWN_RUN_DIFFERENCES.items():
        if name == case:
            assert _set(expected, path, our_value) == ads_value
    details = translate.run_details(
        job_spec,
        run_spec,
        job_id=_JOB_ID,
        project_id=job_spec.infrastructure.spec.project_id or "",
        compartment_id=job_spec.infrastructure.spec.compartment_id or "",
    )
    assert details == expected
