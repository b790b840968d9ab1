"""Property tests of translation (``ads_operator.ads.translate``): a valid job or run spec
always becomes a request body, and that body is what the service will accept as JSON.

* ``job_details`` never raises for a valid job with project and compartment, returns
  JSON-serialisable data, string-valued environment variables, the spec's own values
  (compartment, project, user env) unchanged, and the same body for the same input.
* ``run_details`` never raises for any run overrides (unicode names, env values, args),
  and the run's environment wins over the job's, key by key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ads_operator.ads import translate
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from tests.unit.commands.test_property_convert import (
    PROPERTY,
    env_names,
    job_manifests,
    k8s_names,
    yaml_text,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
JOB_ID = "ocid1.datasciencejob.oc1.iad.aaaaaaaaexample"


@st.composite
def run_specs(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {"jobRef": {"name": draw(k8s_names)}}
    env = draw(st.dictionaries(env_names, yaml_text, max_size=6))
    if env:
        spec["envVars"] = env
    if draw(st.booleans()):
        spec["args"] = draw(yaml_text)
    if draw(st.booleans()):
        spec["name"] = draw(yaml_text.filter(lambda s: s.strip() != ""))
    if draw(st.booleans()):
        spec["maximumRuntimeInMinutes"] = draw(st.integers(1, 10_000))
    tags = draw(st.dictionaries(env_names, yaml_text, max_size=3))
    if tags:
        spec["freeformTags"] = tags
    return spec


@PROPERTY
@given(manifest=job_manifests())
def test_job_details_are_json_with_string_env_and_deterministic(manifest: dict[str, Any]) -> None:
    spec = DataScienceJobSpec.model_validate(manifest["spec"])
    details = translate.job_details(spec, now=NOW)
    assert json.loads(json.dumps(details)) == details
    assert details == translate.job_details(spec, now=NOW)
    infra = manifest["spec"]["infrastructure"]["spec"]
    assert details["compartmentId"] == infra["compartmentId"]
    assert details["projectId"] == infra["projectId"]
    env = details["jobConfigurationDetails"]["environmentVariables"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    if details["jobConfigurationDetails"].get("commandLineArguments") is not None:
        assert isinstance(details["jobConfigurationDetails"]["commandLineArguments"], str)


@PROPERTY
@given(manifest=job_manifests(), run=run_specs())
def test_run_details_never_fail_and_the_run_env_wins(
    manifest: dict[str, Any], run: dict[str, Any]
) -> None:
    job = DataScienceJobSpec.model_validate(manifest["spec"])
    run_spec = DataScienceJobRunSpec.model_validate(run)
    details = translate.run_details(
        job,
        run_spec,
        job_id=JOB_ID,
        project_id=job.infrastructure.spec.project_id or "",
        compartment_id=job.infrastructure.spec.compartment_id or "",
        job_display_name="job",
        now=NOW,
    )
    assert json.loads(json.dumps(details)) == details
    assert details["jobId"] == JOB_ID
    overrides = (details.get("jobConfigurationOverrideDetails") or {}).get(
        "environmentVariables"
    ) or {}
    for key, value in (run.get("envVars") or {}).items():
        assert overrides.get(key) == value, (key, overrides)
    assert all(isinstance(v, str) for v in overrides.values())
