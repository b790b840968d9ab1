"""Our CreateJobRunDetails for the run overrides against what ADS itself sends, recorded.

``golden/ads_run_overrides.json`` was written by ``hack/record_ads_run_golden.py`` with
oracle-ads 2.16.1: for each case the ADS job YAML, the ``job.run(**kwargs)`` keywords,
the ``DataScienceJobRun`` spec meaning the same, and the request ADS sent. ADS passes
these keywords through to the SDK's model, so the expected body is ADS's exactly, with
no known differences.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pytest

from ads_operator.ads import translate
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.models.run_overrides import OVERRIDE_FIELDS

GOLDEN: Final = json.loads((Path(__file__).parent / "golden/ads_run_overrides.json").read_text())
CASES: Final[dict[str, dict[str, Any]]] = GOLDEN["cases"]


def test_recorded_with_ads_2_16_1() -> None:
    assert GOLDEN["about"]["recorded_with"].startswith("oracle-ads 2.16.1,")


def test_every_override_field_has_a_recorded_case() -> None:
    covered = {key for case in CASES.values() for key in case["run"]}
    assert set(OVERRIDE_FIELDS) <= covered


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_details_match_what_ads_sends(case: str) -> None:
    recorded = CASES[case]
    job_spec = DataScienceJobSpec.model_validate(recorded["ads_yaml"]["spec"])
    run_spec = DataScienceJobRunSpec.model_validate({"jobRef": {"name": "j"}, **recorded["run"]})
    expected = recorded["create_job_run_details"]
    infra = job_spec.infra.spec
    details = translate.run_details(
        job_spec,
        run_spec,
        job_id=expected["jobId"],
        project_id=infra.project_id or "",
        compartment_id=infra.compartment_id or "",
    )
    assert details == expected
