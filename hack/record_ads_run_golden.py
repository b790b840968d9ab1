"""Record what oracle-ads 2.16.1 sends for ``job.run(**kwargs)`` with the run overrides.

ADS's ``Job.run`` hands keywords it does not name itself to the SDK's ``JobRun`` model:
``job_infrastructure_configuration_override_details``, ``..._log_...``,
``..._storage_mount_..._list``, ``..._node_...``, ``compartment_id``, ``project_id``, and
(a field of the job configuration) ``startup_probe_details``. For each case this creates
the job with ADS (``create_job`` captured), runs it with the keywords (``create_job_run``
captured) and writes the request body to ``tests/unit/ads/golden/ads_run_overrides.json``
beside the ``DataScienceJobRun`` spec that says the same; ``tests/unit/ads/
test_run_overrides_golden.py`` compares our translation with it. Run it like
``hack/record_ads_golden.py``: ``python -m hack.record_ads_run_golden`` with an interpreter
that has ADS, from the repository root; nothing
leaves the machine (the SDK's request function refuses every call).
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any
from unittest import mock

from hack.record_ads_golden import throwaway_oci_config

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests/unit/ads/golden/ads_run_overrides.json"
C = "ocid1.compartment.oc1..aaaa"
P = "ocid1.datascienceproject.oc1.iad.aaaa"
FLEX = "VM.Standard.E4.Flex"
IMAGE = "iad.ocir.io/t/i:1"
LOG_GROUP = "ocid1.loggroup.oc1.iad.aaaa"


def job(name: str, runtime: dict[str, Any]) -> dict[str, Any]:
    infra = {"projectId": P, "compartmentId": C, "shapeName": FLEX}
    return {
        "kind": "job",
        "apiVersion": "v1.0",
        "spec": {
            "name": name,
            "infrastructure": {"kind": "infrastructure", "type": "dataScienceJob", "spec": infra},
            "runtime": {"kind": "runtime", "type": "container", "spec": runtime},
        },
    }


INFRA = {
    "jobInfrastructureType": "ME_STANDALONE",
    "shapeName": FLEX,
    "blockStorageSizeInGBs": 120,
    "jobShapeConfigDetails": {"ocpus": 4, "memoryInGBs": 64, "cpuBaseline": "BASELINE_1_2"},
}
STANDALONE = {
    "jobInfrastructureType": "STANDALONE",
    "shapeName": "VM.Standard2.4",
    "blockStorageSizeInGBs": 50,
    "subnetId": "ocid1.subnet.oc1.iad.aaaa",
}
LOGS = {
    "enableLogging": True,
    "enableAutoLogCreation": False,
    "logGroupId": LOG_GROUP,
    "logId": "ocid1.log.oc1.iad.aaaa",
}
MOUNTS = [
    {
        "storageType": "OBJECT_STORAGE",
        "namespace": "ns",
        "bucket": "bkt",
        "prefix": "in/",
        "destinationDirectoryName": "data",
        "destinationPath": "/opt",
    },
    {
        "storageType": "FILE_STORAGE",
        "mountTargetId": "ocid1.mounttarget.oc1.iad.aaaa",
        "exportId": "ocid1.export.oc1.iad.aaaa",
        "destinationDirectoryName": "fs",
    },
]
PROBE = {
    "jobProbeCheckType": "EXEC",
    "command": ["test", "-f", "ready"],
    "periodInSeconds": 5,
    "failureThreshold": 3,
    "initialDelayInSeconds": 10,
}
NODES = {
    "jobNodeType": "MULTI_NODE",
    "maximumRuntimeInMinutes": 90,
    "jobNodeGroupConfigurationDetailsList": [
        {
            "name": "node-group",
            "replicas": 3,
            "minimumSuccessReplicas": 2,
            "jobInfrastructureConfigurationDetails": {
                "jobInfrastructureType": "MULTI_NODE",
                "shapeName": FLEX,
                "blockStorageSizeInGBs": 80,
                "jobShapeConfigDetails": {"ocpus": 2, "memoryInGBs": 16},
            },
            "jobConfigurationDetails": {
                "jobType": "DEFAULT",
                "environmentVariables": {"EPOCHS": "3"},
                "commandLineArguments": "--fast",
            },
            "jobEnvironmentConfigurationDetails": {
                "jobEnvironmentType": "OCIR_CONTAINER",
                "image": "iad.ocir.io/t/i:2",
                "cmd": ["python", "train.py"],
            },
        }
    ],
}
SINGLE = job("single", {"image": IMAGE, "cmd": ["echo", "hi"]})
MULTI = job("multi", {"image": IMAGE, "cmd": ["echo", "hi"], "replicas": 2})

#: case -> (ADS job YAML, DataScienceJobRun spec, the keywords given to ADS's job.run).
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "infrastructure-flex": (
        SINGLE,
        {"name": "r1", "jobInfrastructureConfigurationOverrideDetails": INFRA},
        {"name": "r1", "job_infrastructure_configuration_override_details": INFRA},
    ),
    "infrastructure-standalone": (
        SINGLE,
        {"name": "r2", "jobInfrastructureConfigurationOverrideDetails": STANDALONE},
        {"name": "r2", "job_infrastructure_configuration_override_details": STANDALONE},
    ),
    "log": (
        SINGLE,
        {"name": "r3", "jobLogConfigurationOverrideDetails": LOGS},
        {"name": "r3", "job_log_configuration_override_details": LOGS},
    ),
    "log-off": (
        SINGLE,
        {"name": "r4", "jobLogConfigurationOverrideDetails": {"enableLogging": False}},
        {"name": "r4", "job_log_configuration_override_details": {"enableLogging": False}},
    ),
    "storage-mounts": (
        SINGLE,
        {"name": "r5", "jobStorageMountConfigurationOverrideDetailsList": MOUNTS},
        {"name": "r5", "job_storage_mount_configuration_override_details_list": MOUNTS},
    ),
    "startup-probe-with-args": (
        SINGLE,
        {"name": "r6", "args": "--x 1", "maximumRuntimeInMinutes": 9, "startupProbeDetails": PROBE},
        {
            "name": "r6",
            "args": "--x 1",
            "maximum_runtime_in_minutes": 9,
            "startup_probe_details": PROBE,
        },
    ),
    "compartment-and-project": (
        SINGLE,
        {
            "name": "r7",
            "compartmentId": "ocid1.compartment.oc1..bbbb",
            "projectId": "ocid1.datascienceproject.oc1.iad.bbbb",
        },
        {
            "name": "r7",
            "compartment_id": "ocid1.compartment.oc1..bbbb",
            "project_id": "ocid1.datascienceproject.oc1.iad.bbbb",
        },
    ),
    "node-groups": (
        MULTI,
        {"name": "r8", "jobNodeConfigurationOverrideDetails": NODES},
        {"name": "r8", "job_node_configuration_override_details": NODES},
    ),
    # ADS also reads snake_case keys inside an override (the SDK's attribute names): the
    # request is the same as for the camelCase keys a DataScienceJobRun takes.
    "infrastructure-snake-case-keys": (
        SINGLE,
        {"name": "r10", "jobInfrastructureConfigurationOverrideDetails": INFRA},
        {
            "name": "r10",
            "job_infrastructure_configuration_override_details": {
                "job_infrastructure_type": "ME_STANDALONE",
                "shape_name": FLEX,
                "block_storage_size_in_gbs": 120,
                "job_shape_config_details": {
                    "ocpus": 4,
                    "memory_in_gbs": 64,
                    "cpu_baseline": "BASELINE_1_2",
                },
            },
        },
    ),
    "everything-single-node": (
        SINGLE,
        {
            "name": "r9",
            "envVars": {"A": "1"},
            "jobInfrastructureConfigurationOverrideDetails": INFRA,
            "jobLogConfigurationOverrideDetails": LOGS,
            "jobStorageMountConfigurationOverrideDetailsList": MOUNTS[:1],
        },
        {
            "name": "r9",
            "env_var": {"A": "1"},
            "job_infrastructure_configuration_override_details": INFRA,
            "job_log_configuration_override_details": LOGS,
            "job_storage_mount_configuration_override_details_list": MOUNTS[:1],
        },
    ),
}


def main() -> int:
    import oci

    config = throwaway_oci_config("ads-run-golden-")
    import ads  # type: ignore[import-not-found]
    from ads.jobs import Job  # type: ignore[import-not-found]

    ads.set_auth("api_key", oci_config_location=str(config))
    client = oci.data_science.DataScienceClient(oci.config.from_file(str(config)))
    models = oci.data_science.models
    runs: list[Any] = []
    created: dict[str, Any] = {}

    def create_job(self: Any, details: Any, **_: Any) -> Any:
        created["job"] = models.Job(
            id="ocid1.datasciencejob.oc1.iad.recorded",
            lifecycle_state="ACTIVE",
            display_name=details.display_name,
            compartment_id=details.compartment_id,
            project_id=details.project_id,
        )
        return mock.Mock(data=created["job"])

    def create_job_run(self: Any, details: Any, **_: Any) -> Any:
        runs.append(details)
        run = models.JobRun(id="ocid1.datasciencejobrun.oc1.iad.recorded")
        run.lifecycle_state = "ACCEPTED"
        return mock.Mock(data=run)

    def get_job(self: Any, job_id: str, **_: Any) -> Any:
        return mock.Mock(data=created["job"])

    def no_artifact(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise oci.exceptions.ServiceError(404, "NotFound", {}, "no artifact (recording)")

    def refuse(self: Any, resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"recording must not call OCI: {method} {resource_path}")

    dsc = oci.data_science.DataScienceClient
    recorded: dict[str, Any] = {}
    with (
        mock.patch.object(oci.base_client.BaseClient, "call_api", refuse),
        mock.patch.object(dsc, "create_job", create_job),
        mock.patch.object(dsc, "get_job", get_job),
        mock.patch.object(dsc, "create_job_run", create_job_run),
        mock.patch.object(dsc, "head_job_artifact", no_artifact),
    ):
        for name, (document, run_spec, ads_call) in CASES.items():
            runs.clear()
            job_object = Job.from_dict(json.loads(json.dumps(document))).create()
            job_object.run(**json.loads(json.dumps(ads_call)))
            body = client.base_client.sanitize_for_serialization(runs[0])
            recorded[name] = {
                "ads_yaml": document,
                "run": run_spec,
                "ads_call": ads_call,
                "create_job_run_details": body,
            }
    header = {
        "recorded_with": f"oracle-ads {ads.__version__}, oci {oci.__version__}",
        "by": "hack/record_ads_run_golden.py",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"about": header, "cases": recorded}, indent=1, sort_keys=True) + "\n"
    )
    print(f"wrote {len(recorded)} cases to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
