"""The pydantic models: they parse every example, refuse what the CRD refuses, and speak
camelCase on the wire while Python code uses snake_case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from ads_operator import models
from ads_operator.models import (
    Condition,
    DataScienceJobRunSpec,
    DataScienceJobRunStatus,
    DataScienceJobSpec,
    DataScienceJobStatus,
    DeletionPolicy,
    RuntimeType,
)
from ads_operator.models.runtime_rules import RUNTIME_KEYS
from ads_operator.models.runtime_spec import RuntimeSpec

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
INVALID = sorted((ROOT / "tests" / "manifests" / "invalid").glob("*.yaml"))


#: A valid value for every runtime key, to show a key is refused only for its type.
SAMPLE_VALUES: dict[str, Any] = {
    "scriptPathURI": "configmap://code/main.py",
    "notebookPathURI": "configmap://nb/a.ipynb",
    "source": "configmap://nb",
    "url": "https://example.com/r.git",
    "branch": "main",
    "commit": "abc123",
    "gitSecretId": "ocid1.vaultsecret.oc1.iad.aaaa",
    "entrypoint": "main.py",
    "entryFunction": "main",
    "workingDir": "src",
    "pythonPath": ["lib"],
    "outputDir": "out",
    "outputUri": "oci://b@ns/out",
    "notebookEncoding": "utf-8",
    "excludeTags": ["skip"],
    "skipMetadataUpdate": True,
    "image": "iad.ocir.io/t/x:1",
    "cmd": ["echo"],
    "imageDigest": "sha256:00",
    "imageSignatureId": "ocid1.containerimagesignature.oc1.iad.aaaa",
    "replicas": 2,
    "git": {"url": "https://example.com/r.git"},
    "inputs": {"oci://b@ns/data": "data"},
    "dependencies": {"pipPackages": "numpy"},
    "command": "torchrun a.py",
    "deepspeed": True,
    "conda": {"type": "service", "slug": "x"},
    "env": [{"name": "A", "value": "1"}],
    "args": ["a"],
    "freeformTags": {"a": "b"},
    "definedTags": {"ns": {"a": "b"}},
    "maximumRuntimeInMinutes": 5,
}


def test_sample_values_cover_every_runtime_key() -> None:
    assert set(SAMPLE_VALUES) == set().union(*RUNTIME_KEYS.values())


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def parse(document: dict[str, Any]) -> object:
    spec = document.get("spec", {})
    if document["kind"] == models.JOB_KIND:
        return DataScienceJobSpec.model_validate(spec)
    return DataScienceJobRunSpec.model_validate(spec)


def test_constants() -> None:
    assert models.GROUP == "ads.oci.dev"
    assert models.VERSION == "v1alpha1"
    assert models.API_VERSION == "ads.oci.dev/v1alpha1"
    assert (models.JOB_PLURAL, models.RUN_PLURAL) == ("datasciencejobs", "datasciencejobruns")


def test_examples_cover_every_runtime_type_with_a_run() -> None:
    seen: set[str] = set()
    runs: set[str] = set()
    jobs: dict[str, str] = {}
    for path in EXAMPLES:
        for doc in documents(path):
            if doc["kind"] == models.JOB_KIND:
                jobs[doc["metadata"]["name"]] = doc["spec"]["runtime"]["type"]
            elif doc["kind"] == models.RUN_KIND:
                runs.add(doc["spec"]["jobRef"]["name"])
    seen = set(jobs.values())
    assert seen == {t.value for t in RuntimeType}
    assert set(jobs) <= runs, "every example job has a run"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_parse_and_serialise_back_to_the_same_wire_form(path: Path) -> None:
    for doc in documents(path):
        if doc["kind"] not in (models.JOB_KIND, models.RUN_KIND):
            continue
        parsed = parse(doc)
        assert isinstance(parsed, DataScienceJobSpec | DataScienceJobRunSpec)
        assert parsed.to_wire() == doc["spec"]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_models_refuse_what_the_crd_refuses(path: Path) -> None:
    docs = documents(path)
    if len(docs) == 2:
        # Transitions are the API server's to check (CEL); the original must be valid.
        parse(docs[0])
        return
    with pytest.raises(ValidationError):
        parse(docs[0])


def test_snake_case_names_are_accepted_and_camel_case_is_written() -> None:
    spec = RuntimeSpec(script_path_uri="configmap://code/main.py", maximum_runtime_in_minutes=5)
    assert spec.to_wire() == {
        "scriptPathURI": "configmap://code/main.py",
        "maximumRuntimeInMinutes": 5,
    }
    again = RuntimeSpec.model_validate(spec.to_wire())
    assert again == spec


def test_local_source_message_suggests_configmap() -> None:
    with pytest.raises(ValidationError, match="configmap://"):
        RuntimeSpec(script_path_uri="/home/me/train.py")


@pytest.mark.parametrize("runtime_type", list(RuntimeType))
def test_keys_of_other_runtime_types_are_refused(runtime_type: RuntimeType) -> None:
    foreign = sorted(set().union(*RUNTIME_KEYS.values()) - RUNTIME_KEYS[runtime_type])
    assert foreign, "every type lacks some keys"
    for key in foreign:
        value = SAMPLE_VALUES[key]
        spec = {"kind": "runtime", "type": runtime_type.value, "spec": {key: value}}
        with pytest.raises(ValidationError, match=f"runtime key {key} is only valid"):
            models.Runtime.model_validate(spec)


def test_container_accepts_a_string_or_a_list_but_script_entrypoint_is_a_string() -> None:
    models.Runtime.model_validate(
        {
            "kind": "runtime",
            "type": "container",
            "spec": {"image": "x:1", "cmd": "a,b", "entrypoint": ["/bin/sh", "-c"]},
        }
    )
    with pytest.raises(ValidationError, match="entrypoint must be a string"):
        models.Runtime.model_validate(
            {
                "kind": "runtime",
                "type": "script",
                "spec": {"scriptPathURI": "configmap://c/a.py", "entrypoint": ["a.py"]},
            }
        )


def test_notebook_source_needs_its_entrypoint() -> None:
    with pytest.raises(ValidationError, match="needs entrypoint"):
        models.Runtime.model_validate(
            {"kind": "runtime", "type": "notebook", "spec": {"source": "configmap://nb"}}
        )


def test_deletion_policy_defaults_to_delete() -> None:
    run = DataScienceJobRunSpec.model_validate({"jobRef": {"name": "j"}})
    assert run.effective_deletion_policy is DeletionPolicy.DELETE
    run = DataScienceJobRunSpec.model_validate(
        {"jobId": "ocid1.datasciencejob.oc1.iad.x", "deletionPolicy": "Orphan"}
    )
    assert run.effective_deletion_policy is DeletionPolicy.ORPHAN


def test_status_models_round_trip_through_the_wire_form() -> None:
    run_status = {
        "ocid": "ocid1.datasciencejobrun.oc1.iad.x",
        "jobOcid": "ocid1.datasciencejob.oc1.iad.x",
        "lifecycleState": "FAILED",
        "lifecycleDetails": "Job run artifact execution failed with exit code 3",
        "phase": "Failed",
        "exitCode": 3,
        "timeAccepted": "2026-01-02T03:04:05Z",
        "logTail": [{"time": "2026-01-02T03:04:06Z", "message": "boom"}],
        "logCursor": {"lastTime": "2026-01-02T03:04:06Z", "ids": ["a", "b"]},
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "ExitCode3",
                "lastTransitionTime": "2026-01-02T03:04:07Z",
            }
        ],
    }
    parsed = DataScienceJobRunStatus.model_validate(run_status)
    assert parsed.exit_code == 3
    assert parsed.to_wire()["timeAccepted"] == "2026-01-02T03:04:05Z"
    job_status = {
        "ocid": "ocid1.datasciencejob.oc1.iad.x",
        "artifact": {"fileName": "a.py", "sha256": "0" * 64, "size": 3},
        "runs": {"total": 2, "active": 1},
    }
    assert DataScienceJobStatus.model_validate(job_status).to_wire() == job_status


def test_condition_status_is_a_kubernetes_word() -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate({"type": "Ready", "status": "yes"})


def test_adopting_needs_only_the_job_ocid() -> None:
    """Issue 17: adopting with spec.id required restating the whole spec."""
    minimal = {"id": "ocid1.datasciencejob.oc1.iad.aaaa", "deletionPolicy": "Orphan"}
    spec = DataScienceJobSpec.model_validate(minimal)
    assert spec.infrastructure is None
    assert spec.runtime is None
    assert spec.to_wire() == minimal
    with pytest.raises(ValidationError, match=r"required unless spec\.id"):
        DataScienceJobSpec.model_validate({"deletionPolicy": "Orphan"})
    with pytest.raises(ValueError, match=r"required unless spec\.id"):
        _ = spec.rt


def test_a_run_of_a_job_adopted_by_id_alone_is_made_like_one_given_by_ocid() -> None:
    from ads_operator.ads import translate

    adopted = DataScienceJobSpec.model_validate({"id": "ocid1.datasciencejob.oc1.iad.aaaa"})
    run = DataScienceJobRunSpec.model_validate({"jobRef": {"name": "j"}, "args": "x"})
    ids = {"job_id": "ocid1.datasciencejob.oc1.iad.aaaa", "project_id": "p", "compartment_id": "c"}
    assert translate.run_details(adopted, run, **ids) == translate.run_details(None, run, **ids)
