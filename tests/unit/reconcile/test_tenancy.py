"""The tenancy policy, judged by the operator: each refusal names the policy key that
refused; nothing unlisted is allowed; a policy with a typo or an empty selector does
not parse (the CRD refuses both at apply, see tests/e2e/test_tenancy_policy.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.models.tenancy import DataScienceTenancyPolicySpec
from ads_operator.reconcile.tenancy import (
    gpu_count,
    job_refusal,
    run_refusal,
    tenant_for,
    unknown_shape_patterns,
)

COMPARTMENT = "ocid1.compartment.oc1..team"
OTHER_COMPARTMENT = "ocid1.compartment.oc1..other"
PROJECT = "ocid1.datascienceproject.oc1.iad.team"
SUBNET = "ocid1.subnet.oc1.iad.team"
MOUNT_TARGET = "ocid1.mounttarget.oc1.iad.team"
EXPORT = "ocid1.export.oc1.iad.team"
OTHER_MOUNT_TARGET = "ocid1.mounttarget.oc1.iad.other"
OTHER_EXPORT = "ocid1.export.oc1.iad.other"


def policy(**tenant: Any) -> DataScienceTenancyPolicySpec:
    entry = {
        "name": "team-a",
        "namespaces": {"names": ["team-a"]},
        "credentials": "DefaultIdentityAllowed",
        "compartments": [COMPARTMENT],
        "projects": [PROJECT],
        "subnets": [SUBNET],
        "shapes": [
            {"pattern": r"VM\.Standard\.E4\.Flex", "maxOcpus": 4, "maxMemoryInGBs": 32},
            {"pattern": r"VM\.GPU\.A10\.[0-9]+", "maxGpus": 1},
        ],
        **tenant,
    }
    return DataScienceTenancyPolicySpec.model_validate({"tenants": [entry]})


def job(**infra: Any) -> DataScienceJobSpec:
    spec = {"compartmentId": COMPARTMENT, "projectId": PROJECT, "shapeName": "VM.Standard.E4.Flex"}
    return DataScienceJobSpec.model_validate(
        {
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {**spec, **infra},
            },
            "runtime": {"kind": "runtime", "type": "container", "spec": {"image": "r/i:1"}},
        }
    )


def test_an_allowed_job_passes() -> None:
    assert job_refusal(policy(), "team-a", {}, job(subnetId=SUBNET)) is None


@pytest.mark.parametrize(
    ("infra", "rule"),
    [
        ({"compartmentId": OTHER_COMPARTMENT}, "not in compartments of entry 'team-a'"),
        ({"projectId": "ocid1.datascienceproject.oc1.iad.x"}, "not in projects"),
        ({"subnetId": "ocid1.subnet.oc1.iad.x"}, "not in subnets"),
        ({"logGroupId": "ocid1.loggroup.oc1.iad.x"}, "not in logGroups"),
        ({"shapeName": "BM.Standard3.64"}, "shapeName BM.Standard3.64 is not allowed"),
        ({"shapeConfigDetails": {"ocpus": 8}}, "exceeds maxOcpus 4"),
        ({"shapeConfigDetails": {"memoryInGBs": 64}}, "exceeds maxMemoryInGBs 32"),
        ({"shapeName": "VM.GPU.A10.2"}, "has 2 GPUs, over maxGpus 1"),
        ({"storageMount": [{"src": "oci://b@ns/p", "dest": "d"}]}, "b@ns is not allowed"),
    ],
)
def test_each_disallowed_choice_is_refused_naming_the_rule(
    infra: dict[str, Any], rule: str
) -> None:
    refusal = job_refusal(policy(), "team-a", {}, job(**infra))
    assert refusal is not None
    assert rule in refusal, refusal


def test_a_namespace_no_entry_matches_may_use_nothing() -> None:
    refusal = job_refusal(policy(), "team-b", {}, job())
    assert refusal is not None
    assert "matches no entry" in refusal


def test_a_missing_policy_denies() -> None:
    refusal = job_refusal(None, "team-a", {}, job())
    assert refusal is not None
    assert "denies by default" in refusal


def test_namespaces_are_matched_by_all_their_labels_and_the_first_entry_wins() -> None:
    by_labels = policy(namespaces={"matchLabels": {"team": "a", "tier": "dev"}})
    assert tenant_for(by_labels, "x", {"team": "a", "tier": "dev", "other": "1"}) is not None
    assert tenant_for(by_labels, "x", {"team": "a"}) is None


def test_own_secrets_only_needs_an_auth_secret_and_adoption_must_be_allowed() -> None:
    strict = policy(credentials="OwnSecretsOnly")
    refusal = job_refusal(strict, "team-a", {}, job())
    assert refusal is not None
    assert "OwnSecretsOnly" in refusal
    with_secret = job().model_copy(update={"auth_secret_ref": {"name": "oci"}})
    assert job_refusal(strict, "team-a", {}, with_secret) is None
    adopt = DataScienceJobSpec.model_validate({"id": "ocid1.datasciencejob.oc1.iad.j"})
    assert "allowAdoption" in (job_refusal(policy(), "team-a", {}, adopt) or "")
    assert job_refusal(policy(allowAdoption=True), "team-a", {}, adopt) is None


def test_a_run_override_is_judged_like_the_job() -> None:
    def run(**spec: Any) -> DataScienceJobRunSpec:
        return DataScienceJobRunSpec.model_validate({"jobRef": {"name": "j"}, **spec})

    assert run_refusal(policy(), "team-a", {}, run()) is None
    other = run(compartmentId=OTHER_COMPARTMENT)
    assert "compartments" in (run_refusal(policy(), "team-a", {}, other) or "")
    gpu = run(
        jobInfrastructureConfigurationOverrideDetails={
            "jobInfrastructureType": "ME_STANDALONE",
            "shapeName": "VM.GPU.A10.2",
            "blockStorageSizeInGBs": 50,
        }
    )
    assert "maxGpus" in (run_refusal(policy(), "team-a", {}, gpu) or "")


def file_mount(src: str) -> dict[str, Any]:
    return {"storageMount": [{"src": src, "dest": "data"}]}


def test_file_storage_mounts_need_their_mount_target_and_export_allowed() -> None:
    """Issue 22: File Storage mounts were not judged at all (any mount target, any export)."""
    allowed = policy(mountTargets=[MOUNT_TARGET], exports=[EXPORT])
    mine = file_mount(f"{MOUNT_TARGET}:{EXPORT}")
    assert job_refusal(allowed, "team-a", {}, job(**mine)) is None
    assert "not in mountTargets" in (job_refusal(policy(), "team-a", {}, job(**mine)) or "")
    cases = {
        f"{OTHER_MOUNT_TARGET}:{EXPORT}": f"mount target {OTHER_MOUNT_TARGET} is not allowed",
        f"{MOUNT_TARGET}:{OTHER_EXPORT}": f"export {OTHER_EXPORT} is not allowed",
        "10.0.0.5:/team-a": "names a File Storage mount by address",
        f"{MOUNT_TARGET}:/team-a": "names a File Storage mount by address",
    }
    for src, rule in cases.items():
        refusal = job_refusal(allowed, "team-a", {}, job(**file_mount(src)))
        assert refusal is not None, src
        assert rule in refusal, (src, refusal)
        assert "entry 'team-a'" in refusal


def test_a_run_file_storage_override_is_judged_like_the_job() -> None:
    def run(target: str, export: str) -> DataScienceJobRunSpec:
        mount = {
            "storageType": "FILE_STORAGE",
            "mountTargetId": target,
            "exportId": export,
            "destinationDirectoryName": "data",
        }
        return DataScienceJobRunSpec.model_validate(
            {"jobRef": {"name": "j"}, "jobStorageMountConfigurationOverrideDetailsList": [mount]}
        )

    allowed = policy(mountTargets=[MOUNT_TARGET], exports=[EXPORT])
    assert run_refusal(allowed, "team-a", {}, run(MOUNT_TARGET, EXPORT)) is None
    other = run_refusal(allowed, "team-a", {}, run(OTHER_MOUNT_TARGET, EXPORT)) or ""
    assert "mountTargetId ocid1.mounttarget.oc1.iad.other is not allowed" in other
    export = run_refusal(allowed, "team-a", {}, run(MOUNT_TARGET, OTHER_EXPORT)) or ""
    assert "not in exports" in export


def test_gpu_count_is_read_from_gpu_shape_names_only() -> None:
    assert [gpu_count(s) for s in ("VM.GPU.A10.2", "BM.GPU4.8", "VM.Standard2.1")] == [2, 8, 0]


@pytest.mark.parametrize(
    "broken",
    [
        {"namespaces": {}},  # empty selector: would match everything
        {"namespaces": {"names": [], "matchLabels": {}}},
        {"compartment": [COMPARTMENT]},  # typo of compartments
        {"shapes": []},  # no shape at all: nothing could run, say so at apply
    ],
)
def test_a_policy_with_a_typo_or_an_empty_selector_does_not_parse(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        policy(**broken)


def test_a_shape_pattern_matching_no_known_shape_is_reported() -> None:
    typo = {"pattern": r"VM\.Standrd\.E4\.Flex"}
    assert unknown_shape_patterns(policy()) == []
    assert unknown_shape_patterns(policy(shapes=[typo])) == [r"team-a: VM\.Standrd\.E4\.Flex"]


@pytest.mark.parametrize(
    ("uri", "refused"),
    [
        ("oci://code@team/train.py", None),
        ("oci://secrets@other/key.pem", "scriptPathURI bucket secrets@other is not allowed"),
        ("https://artifacts.example.com/train.py?token=s3cr3t", None),
        ("https://169.254.169.254/latest?token=s3cr3t", "host 169.254.169.254 is not allowed"),
        ("configmap://code/train.py", None),
    ],
)
def test_code_sources_come_only_from_allowed_buckets_and_hosts(
    uri: str, refused: str | None
) -> None:
    allowed = policy(buckets=["code@team"], httpsHosts=["artifacts.example.com"])
    runtime = {"kind": "runtime", "type": "python", "spec": {"scriptPathURI": uri}}
    spec = DataScienceJobSpec.model_validate({**job().to_wire(), "runtime": runtime})
    refusal = job_refusal(allowed, "team-a", {}, spec)
    if refused is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert refused in refusal
        assert "s3cr3t" not in refusal  # named by host or bucket, never the whole URI
