"""Spec -> CreateJobDetails / CreateJobRunDetails, as ADS builds them.

Covers every runtime type's environment-variable contract, every infrastructure key, and
the ADS edge cases: argument quoting, comma-split container commands, tag precedence,
``${VAR}``/``$$`` substitution and name templating. Field names are checked against the
``oci`` SDK's own models, so a typo in a wire name cannot pass.
"""

from __future__ import annotations

import configparser
import shlex
from datetime import UTC, datetime
from typing import Any

import oci
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ads_operator.ads import envcontract, spec_values, translate
from ads_operator.ads.envvars import SubstitutionError, substitute, template_name
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaexample"
PROJECT = "ocid1.datascienceproject.oc1.iad.aaaaaaaaexample"
JOB_ID = "ocid1.datasciencejob.oc1.iad.aaaaaaaaexample"
NOW = datetime(2026, 5, 1, 13, 45, 7, tzinfo=UTC)
SERVICE_CONDA = {"type": "service", "slug": "generalml_p311_cpu_x86_64_v1"}


def job(runtime_type: str, runtime: dict[str, Any], **infra: Any) -> DataScienceJobSpec:
    infra_spec = {"compartmentId": COMPARTMENT, "projectId": PROJECT, "shapeName": "VM.Standard2.1"}
    infra_spec.update(infra)
    return DataScienceJobSpec.model_validate(
        {
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": infra_spec,
            },
            "runtime": {"kind": "runtime", "type": runtime_type, "spec": runtime},
        }
    )


def env_of(details: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = details["jobConfigurationDetails"]["environmentVariables"]
    return env


# -- the SDK's wire names --------------------------------------------------------------

MODELS = oci.data_science.models


def wire_names(model: type) -> set[str]:
    return set(model().attribute_map.values())


def assert_known(payload: dict[str, Any], model: type) -> None:
    unknown = set(payload) - wire_names(model)
    assert not unknown, f"{model.__name__} has no {sorted(unknown)}"


def assert_job_details_match_sdk(details: dict[str, Any]) -> None:
    assert_known(details, MODELS.CreateJobDetails)
    if "jobConfigurationDetails" in details:
        assert_known(details["jobConfigurationDetails"], MODELS.DefaultJobConfigurationDetails)
    infra = details.get("jobInfrastructureConfigurationDetails")
    if infra is not None:
        model = {
            "STANDALONE": MODELS.StandaloneJobInfrastructureConfigurationDetails,
            "ME_STANDALONE": MODELS.ManagedEgressStandaloneJobInfrastructureConfigurationDetails,
        }[infra["jobInfrastructureType"]]
        assert_known(infra, model)
        if "jobShapeConfigDetails" in infra:
            assert_known(infra["jobShapeConfigDetails"], MODELS.JobShapeConfigDetails)
    if "jobEnvironmentConfigurationDetails" in details:
        assert_known(
            details["jobEnvironmentConfigurationDetails"],
            MODELS.OcirContainerJobEnvironmentConfigurationDetails,
        )
    if "jobLogConfigurationDetails" in details:
        assert_known(details["jobLogConfigurationDetails"], MODELS.JobLogConfigurationDetails)
    for mount in details.get("jobStorageMountConfigurationDetailsList", []):
        model = {
            "OBJECT_STORAGE": MODELS.ObjectStorageMountConfigurationDetails,
            "FILE_STORAGE": MODELS.FileStorageMountConfigurationDetails,
        }[mount["storageType"]]
        assert_known(mount, model)
    nodes = details.get("jobNodeConfigurationDetails")
    if nodes is not None:
        assert_known(nodes, MODELS.MultiNodeJobNodeConfigurationDetails)
        for group in nodes["jobNodeGroupConfigurationDetailsList"]:
            assert_known(group, MODELS.JobNodeGroupConfigurationDetails)
            assert_known(
                group["jobInfrastructureConfigurationDetails"],
                MODELS.MultiNodeJobInfrastructureConfigurationDetails,
            )


# -- runtime types ---------------------------------------------------------------------


def test_script_runtime_env_and_conda() -> None:
    details = translate.job_details(
        job(
            "script",
            {
                "scriptPathURI": "configmap://code",
                "entrypoint": "code/run.sh",
                "conda": SERVICE_CONDA,
            },
        )
    )
    assert env_of(details) == {
        "CONDA_ENV_TYPE": "service",
        "CONDA_ENV_SLUG": "generalml_p311_cpu_x86_64_v1",
        "JOB_RUN_ENTRYPOINT": "code/run.sh",
    }
    assert_job_details_match_sdk(details)


def test_script_single_file_writes_no_entrypoint() -> None:
    details = translate.job_details(job("script", {"scriptPathURI": "oci://b@ns/hello.py"}))
    assert env_of(details) == {}
    assert details["jobConfigurationDetails"] == {"jobType": "DEFAULT", "environmentVariables": {}}


def test_python_runtime_env() -> None:
    details = translate.job_details(
        job(
            "python",
            {
                "scriptPathURI": "oci://bucket@ns/src/",
                "entrypoint": "src/train.py",
                "entryFunction": "main",
                "workingDir": "src",
                "pythonPath": ["lib", "vendor/x"],
                "outputDir": "out",
                "outputUri": "oci://bucket@ns/out/$JOB_RUN_OCID",
            },
        )
    )
    assert env_of(details) == {
        "CODE_ENTRYPOINT": "src/train.py",
        "ENTRY_FUNCTION": "main",
        "PYTHON_PATH": "lib:vendor/x",
        "OUTPUT_DIR": "out",
        "OUTPUT_URI": "oci://bucket@ns/out/$JOB_RUN_OCID",
        "WORKING_DIR": "src",
        "JOB_RUN_ENTRYPOINT": "driver_python.py",
    }


def test_python_entrypoint_defaults_to_the_source_basename() -> None:
    details = translate.job_details(job("python", {"scriptPathURI": "https://h/x/train.py"}))
    assert env_of(details) == {
        "CODE_ENTRYPOINT": "train.py",
        "JOB_RUN_ENTRYPOINT": "driver_python.py",
    }


def test_notebook_runtime_single_notebook() -> None:
    details = translate.job_details(
        job(
            "notebook",
            {
                "notebookPathURI": "configmap://nb/analysis.ipynb",
                "excludeTags": ["skip", "slow"],
                "notebookEncoding": "latin-1",
                "outputUri": "oci://b@ns/nb",
            },
        )
    )
    assert env_of(details) == {
        "JOB_RUN_NOTEBOOK": "analysis.ipynb",
        "JOB_RUN_ENTRYPOINT": "driver_notebook.py",
        "NOTEBOOK_ENCODING": "latin-1",
        "NOTEBOOK_EXCLUDE_TAGS": '["skip", "slow"]',
        "OUTPUT_URI": "oci://b@ns/nb",
    }


def test_notebook_runtime_folder_source() -> None:
    details = translate.job_details(
        job("notebook", {"source": "oci://b@ns/work/notebooks/", "entrypoint": "sub/a.ipynb"})
    )
    assert env_of(details)["JOB_RUN_NOTEBOOK"] == "notebooks/sub/a.ipynb"


def test_git_python_runtime_env() -> None:
    details = translate.job_details(
        job(
            "gitPython",
            {
                "url": "https://github.com/o/r.git",
                "branch": "dev",
                "commit": "abc123",
                "entrypoint": "pkg/run.py",
                "entryFunction": "go",
                "pythonPath": ["pkg"],
                "gitSecretId": "ocid1.vaultsecret.oc1.iad.aaaa",
                "outputDir": "out",
                "outputUri": "oci://b@ns/o",
                "workingDir": "pkg",
                "skipMetadataUpdate": True,
                "conda": {
                    "type": "published",
                    "uri": "oci://packs@tenancy/conda/my_pack_v1",
                    "region": "eu-frankfurt-1",
                },
            },
        )
    )
    assert env_of(details) == {
        "CONDA_ENV_TYPE": "published",
        "CONDA_ENV_NAMESPACE": "tenancy",
        "CONDA_ENV_BUCKET": "packs",
        "CONDA_ENV_OBJECT_NAME": "conda/my_pack_v1",
        "CONDA_ENV_REGION": "eu-frankfurt-1",
        "GIT_URL": "https://github.com/o/r.git",
        "GIT_BRANCH": "dev",
        "GIT_COMMIT": "abc123",
        "GIT_ENTRYPOINT": "pkg/run.py",
        "ENTRY_FUNCTION": "go",
        "PYTHON_PATH": "pkg",
        "GIT_SECRET_OCID": "ocid1.vaultsecret.oc1.iad.aaaa",
        "OUTPUT_DIR": "out",
        "OUTPUT_URI": "oci://b@ns/o",
        "WORKING_DIR": "pkg",
        "SKIP_METADATA_UPDATE": "1",
        "JOB_RUN_ENTRYPOINT": "driver_oci.py",
    }


def test_published_conda_region_falls_back_to_the_job_region_or_fails() -> None:
    spec = job(
        "python",
        {
            "scriptPathURI": "configmap://c/a.py",
            "conda": {"type": "published", "uri": "oci://p@ns/pack"},
        },
    )
    details = translate.job_details(spec, region="us-ashburn-1")
    assert env_of(details)["CONDA_ENV_REGION"] == "us-ashburn-1"
    with pytest.raises(translate.TranslationError, match=r"conda\.region"):
        translate.job_details(spec)


def test_container_runtime_environment_and_comma_split_commands() -> None:
    details = translate.job_details(
        job(
            "container",
            {
                "image": "iad.ocir.io/t/app:1",
                "entrypoint": "/bin/sh, -c",
                "cmd": "sleep 5 && echo hi",
                "imageDigest": "sha256:abc",
                "imageSignatureId": "ocid1.containerimagesignature.oc1.iad.aaaa",
                "env": [{"name": "A", "value": "1"}],
                "args": ["x"],
            },
        )
    )
    assert details["jobEnvironmentConfigurationDetails"] == {
        "jobEnvironmentType": "OCIR_CONTAINER",
        "image": "iad.ocir.io/t/app:1",
        "entrypoint": ["/bin/sh", "-c"],
        "cmd": ["sleep 5 && echo hi"],
        "imageDigest": "sha256:abc",
        "imageSignatureId": "ocid1.containerimagesignature.oc1.iad.aaaa",
    }
    assert env_of(details) == {"A": "1"}
    assert details["jobConfigurationDetails"]["commandLineArguments"] == "x"
    assert_job_details_match_sdk(details)


def test_container_list_commands_pass_through() -> None:
    details = translate.job_details(
        job("container", {"image": "x:1", "cmd": ["a,b", " c "], "entrypoint": []})
    )
    environment = details["jobEnvironmentConfigurationDetails"]
    assert environment["cmd"] == ["a,b", " c "]
    assert environment["entrypoint"] == []


def test_split_exec_matches_ads() -> None:
    assert spec_values.split_exec("/bin/sh,-c") == ["/bin/sh", "-c"]
    assert spec_values.split_exec(" a , b ") == ["a", "b"]
    assert spec_values.split_exec("") == []
    assert spec_values.split_exec(None) is None


def test_multi_node_container_with_subnet() -> None:
    details = translate.job_details(
        job(
            "container",
            {"image": "x:1", "replicas": 3},
            subnetId="ocid1.subnet.oc1.iad.aaaa",
            shapeName="VM.Standard.E4.Flex",
            shapeConfigDetails={"ocpus": 2, "memoryInGBs": 16},
        )
    )
    assert "jobConfigurationDetails" not in details
    assert "jobInfrastructureConfigurationDetails" not in details
    nodes = details["jobNodeConfigurationDetails"]
    assert nodes["jobNodeType"] == "MULTI_NODE"
    assert nodes["startupOrder"] == "IN_PARALLEL"
    assert nodes["jobNetworkConfiguration"] == {
        "jobNetworkType": "CUSTOM_NETWORK",
        "subnetId": "ocid1.subnet.oc1.iad.aaaa",
    }
    [group] = nodes["jobNodeGroupConfigurationDetailsList"]
    assert group["name"] == "node-group"
    assert group["replicas"] == group["minimumSuccessReplicas"] == 3
    assert group["jobInfrastructureConfigurationDetails"] == {
        "jobInfrastructureType": "MULTI_NODE",
        "shapeName": "VM.Standard.E4.Flex",
        "blockStorageSizeInGBs": 50,
        "jobShapeConfigDetails": {"ocpus": 2.0, "memoryInGBs": 16.0},
    }
    assert group["jobConfigurationDetails"]["environmentVariables"] == {"NODE_COUNT": "3"}
    assert group["jobEnvironmentConfigurationDetails"]["image"] == "x:1"
    assert_job_details_match_sdk(details)


def test_pytorch_runtime_env_and_default_network() -> None:
    details = translate.job_details(
        job(
            "pyTorchDistributed",
            {
                "git": {"url": "https://github.com/o/r.git", "branch": "main", "commit": "abc1"},
                "replicas": 2,
                "inputs": {"oci://b@ns/data": "data"},
                "dependencies": {"pipPackages": "torch numpy", "pipRequirements": "req.txt"},
                "command": "torchrun train.py",
                "deepspeed": True,
                "conda": SERVICE_CONDA,
            },
        )
    )
    nodes = details["jobNodeConfigurationDetails"]
    assert nodes["jobNetworkConfiguration"] == {"jobNetworkType": "DEFAULT_NETWORK"}
    [group] = nodes["jobNodeGroupConfigurationDetailsList"]
    assert "jobEnvironmentConfigurationDetails" not in group
    assert group["jobConfigurationDetails"]["environmentVariables"] == {
        "CONDA_ENV_TYPE": "service",
        "CONDA_ENV_SLUG": "generalml_p311_cpu_x86_64_v1",
        "OCI__LAUNCH_CMD": "torchrun train.py",
        "CODE_ENTRYPOINT": "",
        "JOB_RUN_ENTRYPOINT": "driver_pytorch.py",
        "NODE_COUNT": "2",
        "OCI__INPUT_MAPPINGS": '{"oci://b@ns/data": "data"}',
        "OCI__RUNTIME_URI": "https://github.com/o/r.git",
        "OCI__RUNTIME_GIT_BRANCH": "main",
        "OCI__RUNTIME_GIT_COMMIT": "abc1",
        "OCI__PIP_PKG": "torch numpy",
        "OCI__PIP_REQUIREMENTS": "req.txt",
        "OCI__DEEPSPEED": "1",
    }


def test_single_replica_pytorch_is_a_single_node_job_with_node_count() -> None:
    details = translate.job_details(
        job("pyTorchDistributed", {"scriptPathURI": "configmap://ddp", "command": "torchrun a.py"})
    )
    assert "jobNodeConfigurationDetails" not in details
    assert env_of(details)["NODE_COUNT"] == "1"
    assert env_of(details)["JOB_RUN_ENTRYPOINT"] == "driver_pytorch.py"


def test_ads_variables_win_over_user_variables_of_the_same_name() -> None:
    details = translate.job_details(
        job(
            "python",
            {
                "scriptPathURI": "configmap://c/a.py",
                "env": [{"name": "JOB_RUN_ENTRYPOINT", "value": "mine.py"}],
            },
        )
    )
    assert env_of(details)["JOB_RUN_ENTRYPOINT"] == "driver_python.py"


# -- infrastructure keys ---------------------------------------------------------------


def test_every_infrastructure_key() -> None:
    spec = job(
        "script",
        {"scriptPathURI": "configmap://c/a.py"},
        displayName="shown",
        jobType="DEFAULT",
        jobInfrastructureType="STANDALONE",
        shapeName="VM.Standard.E4.Flex",
        blockStorageSize=120,
        subnetId="ocid1.subnet.oc1.iad.aaaa",
        shapeConfigDetails={"ocpus": 1.5, "memoryInGBs": 24, "cpuBaseline": "BASELINE_1_2"},
        logGroupId="ocid1.loggroup.oc1.iad.aaaa",
        logId="ocid1.log.oc1.iad.aaaa",
        storageMount=[
            {"src": "oci://bucket@ns/prefix/x", "dest": "data"},
            {"src": "oci://bucket@ns", "dest": "/opt/models/m"},
            {"src": "ocid1.mounttarget.oc1.iad.aaaa:ocid1.export.oc1.iad.bbbb", "dest": "fs"},
        ],
        freeformTags={"team": "ds"},
        definedTags={"Ops": {"CostCenter": "42"}},
    )
    details = translate.job_details(spec)
    assert details["projectId"] == PROJECT
    assert details["compartmentId"] == COMPARTMENT
    assert details["displayName"] == "shown"
    assert details["jobConfigurationDetails"]["jobType"] == "DEFAULT"
    assert details["jobInfrastructureConfigurationDetails"] == {
        "jobInfrastructureType": "STANDALONE",
        "shapeName": "VM.Standard.E4.Flex",
        "blockStorageSizeInGBs": 120,
        "subnetId": "ocid1.subnet.oc1.iad.aaaa",
        "jobShapeConfigDetails": {"ocpus": 1.5, "memoryInGBs": 24.0, "cpuBaseline": "BASELINE_1_2"},
    }
    assert details["jobLogConfigurationDetails"] == {
        "enableLogging": True,
        "enableAutoLogCreation": False,
        "logId": "ocid1.log.oc1.iad.aaaa",
        "logGroupId": "ocid1.loggroup.oc1.iad.aaaa",
    }
    assert details["jobStorageMountConfigurationDetailsList"] == [
        {
            "storageType": "OBJECT_STORAGE",
            "bucket": "bucket",
            "namespace": "ns",
            "prefix": "prefix/x",
            "destinationDirectoryName": "data",
        },
        {
            "storageType": "OBJECT_STORAGE",
            "bucket": "bucket",
            "namespace": "ns",
            "destinationDirectoryName": "m",
            "destinationPath": "/opt/models",
        },
        {
            "storageType": "FILE_STORAGE",
            "mountTargetId": "ocid1.mounttarget.oc1.iad.aaaa",
            "exportId": "ocid1.export.oc1.iad.bbbb",
            "destinationDirectoryName": "fs",
        },
    ]
    assert details["freeformTags"] == {"team": "ds"}
    assert details["definedTags"] == {"Ops": {"CostCenter": "42"}}
    assert_job_details_match_sdk(details)


def test_defaults_applied_in_translation() -> None:
    details = translate.job_details(job("script", {"scriptPathURI": "configmap://c/a.py"}))
    assert details["jobInfrastructureConfigurationDetails"] == {
        "jobInfrastructureType": "ME_STANDALONE",
        "shapeName": "VM.Standard2.1",
        "blockStorageSizeInGBs": 50,
    }
    assert "jobLogConfigurationDetails" not in details
    assert "freeformTags" not in details


def test_subnet_forces_standalone() -> None:
    details = translate.job_details(
        job("script", {"scriptPathURI": "configmap://c/a.py"}, subnetId="ocid1.subnet.oc1.iad.a")
    )
    assert details["jobInfrastructureConfigurationDetails"]["jobInfrastructureType"] == (
        "STANDALONE"
    )


def test_log_group_alone_asks_for_auto_log_creation() -> None:
    details = translate.job_details(
        job(
            "script",
            {"scriptPathURI": "configmap://c/a.py"},
            logGroupId="ocid1.loggroup.oc1.iad.aaaa",
        )
    )
    assert details["jobLogConfigurationDetails"] == {
        "enableLogging": True,
        "enableAutoLogCreation": True,
        "logGroupId": "ocid1.loggroup.oc1.iad.aaaa",
    }


def test_file_storage_by_ip_is_resolved_before_translation_never_sent_as_is() -> None:
    spec = job(
        "script",
        {"scriptPathURI": "configmap://c/a.py"},
        storageMount=[{"src": "10.0.0.5:/exports/data", "dest": "data"}],
    )
    with pytest.raises(
        translate.TranslationError, match=r"resolved with Resource Search before translation"
    ):
        translate.job_details(spec)


@pytest.mark.parametrize(
    ("key", "message"),
    [("projectId", "projectId"), ("compartmentId", "compartmentId"), ("shapeName", "shapeName")],
)
def test_required_infrastructure_keys(key: str, message: str) -> None:
    spec = job("script", {"scriptPathURI": "configmap://c/a.py"})
    setattr(
        spec.infrastructure.spec,
        {"projectId": "project_id", "compartmentId": "compartment_id", "shapeName": "shape_name"}[
            key
        ],
        None,
    )
    with pytest.raises(translate.TranslationError, match=message):
        translate.job_details(spec)


# -- tags --------------------------------------------------------------------------------


def test_runtime_tags_replace_infrastructure_tags_per_kind() -> None:
    details = translate.job_details(
        job(
            "script",
            {"scriptPathURI": "configmap://c/a.py", "freeformTags": {"a": "runtime"}},
            freeformTags={"a": "infra", "b": "infra"},
            definedTags={"Ops": {"k": "infra"}},
        )
    )
    assert details["freeformTags"] == {"a": "runtime"}  # not merged
    assert details["definedTags"] == {"Ops": {"k": "infra"}}  # runtime had no defined tags


def test_run_tags_merge_with_runtime_tags_and_runtime_wins() -> None:
    spec = job(
        "script",
        {"scriptPathURI": "configmap://c/a.py", "freeformTags": {"team": "runtime"}},
        freeformTags={"infra": "never on runs"},
    )
    run = DataScienceJobRunSpec.model_validate(
        {
            "jobRef": {"name": "j"},
            "freeformTags": {"team": "run", "purpose": "demo"},
            "definedTags": {"Ops": {"k": "v"}},
        }
    )
    details = translate.run_details(
        spec, run, job_id=JOB_ID, project_id=PROJECT, compartment_id=COMPARTMENT, now=NOW
    )
    assert details["freeformTags"] == {"team": "runtime", "purpose": "demo"}
    assert details["definedTags"] == {"Ops": {"k": "v"}}


# -- arguments and substitution ----------------------------------------------------------


def test_arguments_are_shell_quoted() -> None:
    args = ["plain", "two words", "it's", "$HOME", "--key", "", "a;b"]
    line = spec_values.command_line(args)
    assert line == "plain 'two words' 'it'\"'\"'s' '$HOME' --key '' 'a;b'"
    assert shlex.split(line or "") == args


@settings(deadline=None)  # timing is not what these tests are about
@given(
    st.lists(
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
            max_size=12,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_quoting_round_trips_through_shlex(args: list[str]) -> None:
    assert shlex.split(spec_values.command_line(args) or "") == args


def test_env_substitution_as_ads_does_it() -> None:
    env = substitute(
        [
            ("A", "alpha"),
            ("B", "${A}-beta"),
            ("C", "$${A} is literal, $A stays, ${B} nests"),
            ("D", "${MISSING} then $$ survives"),
            ("E", "cost: 5$"),
            ("F", None),
            ("G", 7),
            ("H", {"k": [1]}),
            ("I", "${envs:A}"),
        ]
    )
    assert env == {
        "A": "alpha",
        "B": "alpha-beta",
        "C": "${A} is literal, $A stays, alpha-beta nests",
        "D": "${MISSING} then $$ survives",
        "E": "cost: 5$",
        "F": "",
        "G": "7",
        "H": '{"k": [1]}',
        "I": "alpha",
    }


def test_env_substitution_errors() -> None:
    with pytest.raises(SubstitutionError, match="bad reference"):
        substitute({"A": "${unclosed"})
    with pytest.raises(SubstitutionError, match="deeper"):
        substitute({"A": "${B}", "B": "${A}"})


def test_job_name_is_templated_from_env() -> None:
    spec = job(
        "script", {"scriptPathURI": "configmap://c/a.py", "env": [{"name": "WHO", "value": "w$$x"}]}
    )
    spec.name = "job-$WHO-${WHO}-$UNKNOWN"
    assert translate.job_details(spec)["displayName"] == "job-w$x-w$x-$UNKNOWN"
    assert template_name("$$A", {"A": "x"}) == "$A"


def test_default_job_name_follows_the_source() -> None:
    spec = job("python", {"scriptPathURI": "oci://b@ns/train.tar.gz"})
    assert translate.job_details(spec, now=NOW)["displayName"] == "train-2026-05-01-13:45.07"
    container = job("container", {"image": "iad.ocir.io/t/app:1.2"})
    assert spec_values.job_display_name(container, NOW) == "app-2026-05-01-13:45.07"


# -- runs --------------------------------------------------------------------------------


def test_run_overrides() -> None:
    spec = job(
        "python", {"scriptPathURI": "configmap://c/a.py", "env": [{"name": "WHO", "value": "x"}]}
    )
    spec.name = "train-2026-01-01-00:00.00"
    run = DataScienceJobRunSpec.model_validate(
        {
            "jobRef": {"name": "j"},
            "args": "--lr 0.1 'raw string'",
            "envVars": {"EXTRA": "1"},
            "maximumRuntimeInMinutes": 9,
        }
    )
    details = translate.run_details(
        spec, run, job_id=JOB_ID, project_id=PROJECT, compartment_id=COMPARTMENT, now=NOW
    )
    assert details == {
        "projectId": PROJECT,
        "compartmentId": COMPARTMENT,
        "jobId": JOB_ID,
        "displayName": "train-run-2026-05-01-13:45.07",
        "jobConfigurationOverrideDetails": {
            "commandLineArguments": "--lr 0.1 'raw string'",
            "environmentVariables": {"EXTRA": "1"},
            "maximumRuntimeInMinutes": 9,
            "jobType": "DEFAULT",
        },
    }
    assert_known(details, MODELS.CreateJobRunDetails)


def test_run_name_is_templated_from_job_and_run_env() -> None:
    spec = job(
        "script", {"scriptPathURI": "configmap://c/a.py", "env": [{"name": "A", "value": "job"}]}
    )
    run = DataScienceJobRunSpec.model_validate(
        {"jobRef": {"name": "j"}, "name": "$A-$B", "envVars": {"B": "run"}}
    )
    details = translate.run_details(
        spec, run, job_id=JOB_ID, project_id=PROJECT, compartment_id=COMPARTMENT
    )
    assert details["displayName"] == "job-run"


def test_run_of_a_job_by_ocid_without_a_spec() -> None:
    run = DataScienceJobRunSpec.model_validate({"jobId": JOB_ID, "cmd": ["echo", "hi"]})
    details = translate.run_details(
        None,
        run,
        job_id=JOB_ID,
        project_id=PROJECT,
        compartment_id=COMPARTMENT,
        job_display_name="theirs",
        now=NOW,
    )
    assert details["displayName"] == "theirs-run-2026-05-01-13:45.07"
    assert details["jobEnvironmentConfigurationOverrideDetails"] == {
        "cmd": ["echo", "hi"],
        "jobEnvironmentType": "OCIR_CONTAINER",
    }


def test_container_run_override_carries_the_jobs_other_values() -> None:
    spec = job("container", {"image": "iad.ocir.io/t/app:1", "entrypoint": "/bin/sh,-c"})
    run = DataScienceJobRunSpec.model_validate({"jobRef": {"name": "j"}, "cmd": ["b"]})
    details = translate.run_details(
        spec, run, job_id=JOB_ID, project_id=PROJECT, compartment_id=COMPARTMENT
    )
    override = details["jobEnvironmentConfigurationOverrideDetails"]
    assert override == {
        "cmd": ["b"],
        "jobEnvironmentType": "OCIR_CONTAINER",
        "image": "iad.ocir.io/t/app:1",
        "entrypoint": ["/bin/sh", "-c"],
    }
    assert_known(override, MODELS.OcirContainerJobEnvironmentConfigurationDetails)


def test_multi_node_run_overrides_are_wrapped_in_the_node_group() -> None:
    spec = job("container", {"image": "x:1", "replicas": 2})
    run = DataScienceJobRunSpec.model_validate(
        {"jobRef": {"name": "j"}, "envVars": {"A": "1"}, "image": "x:2"}
    )
    details = translate.run_details(
        spec, run, job_id=JOB_ID, project_id=PROJECT, compartment_id=COMPARTMENT
    )
    assert "jobConfigurationOverrideDetails" not in details
    assert details["jobNodeConfigurationOverrideDetails"] == {
        "jobNodeType": "MULTI_NODE",
        "jobNodeGroupConfigurationDetailsList": [
            {
                "name": "node-group",
                "jobConfigurationDetails": {
                    "environmentVariables": {"A": "1"},
                    "jobType": "DEFAULT",
                },
                "jobEnvironmentConfigurationDetails": {
                    "image": "x:2",
                    "jobEnvironmentType": "OCIR_CONTAINER",
                },
            }
        ],
    }
    assert_known(
        details["jobNodeConfigurationOverrideDetails"], MODELS.MultiNodeJobNodeConfigurationDetails
    )


def test_strip_name_timestamp() -> None:
    assert spec_values.strip_name_timestamp("train-2024-05-01-13:45.07") == "train"
    assert spec_values.strip_name_timestamp("train") == "train"


def test_contract_constants_are_the_ads_names() -> None:
    assert envcontract.DRIVER_GIT == "driver_oci.py"
    assert envcontract.NODE_COUNT == "NODE_COUNT"


def _configparser_oracle(env: dict[str, str]) -> dict[str, str]:
    """The standard library's ExtendedInterpolation, which ADS's parser extends: on
    values with only ``$$`` and resolvable ``${NAME}`` references the two agree."""
    parser = configparser.ConfigParser(interpolation=configparser.ExtendedInterpolation())
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser["envs"] = env
    return {name: parser["envs"][name] for name in env}


@st.composite
def resolvable_envs(draw: st.DrawFn) -> dict[str, str]:
    names = draw(
        st.lists(
            st.from_regex(r"[A-Z][A-Z0-9_]{0,5}", fullmatch=True),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    env: dict[str, str] = {}
    for index, name in enumerate(names):
        earlier = names[:index]  # references only point backwards: no cycles
        pieces = draw(
            st.lists(
                st.one_of(
                    st.text(alphabet="abc xyz-/:=.", max_size=4),
                    st.just("$$"),
                    *([st.sampled_from([f"${{{n}}}" for n in earlier])] if earlier else []),
                ),
                max_size=5,
            )
        )
        env[name] = "".join(pieces)
    return env


@settings(deadline=None)  # timing is not what these tests are about
@given(resolvable_envs())
def test_substitution_agrees_with_configparser(env: dict[str, str]) -> None:
    assert substitute(env) == _configparser_oracle(env)
