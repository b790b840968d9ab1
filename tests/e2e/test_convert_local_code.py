"""An ADS job YAML whose code is a local path, converted and applied, runs to Succeeded.

``ads-operator convert`` (the real command) puts the local script into a ConfigMap beside
the job, or with ``--upload`` into the emulator's Object Storage with the test's OCI
config; either output, applied with kubectl, gives a job whose run prints the script's
line and succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import oci
import pytest
import yaml

from oci_emulator.testing import ApiKey, EmulatorHandle
from tests.fixtures.emulator import OciClients, assert_one_file_storage_mount
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import COMPARTMENT, PROJECT, Kube, condition_of, job_run
from tests.fixtures.waiting import wait_for

SCRIPT = 'import sys\nprint("local code ran with", " ".join(sys.argv[1:]))\n'


def ads_job_yaml(directory: Path, log_group: str) -> Path:
    """An ADS file as a user writes it: snake_case keys and a relative local path."""
    (directory / "train.py").write_text(SCRIPT)
    document = {
        "kind": "job",
        "apiVersion": "v1.0",
        "spec": {
            "name": "local-code",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartment_id": COMPARTMENT,
                    "project_id": PROJECT,
                    "shape_name": "VM.Standard.E4.Flex",
                    "log_group_id": log_group,
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "python",
                "spec": {"script_path_uri": "train.py", "args": "--epochs 2"},
            },
        },
    }
    path = directory / "job.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def convert(directory: Path, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "ads_operator.cli", "convert", "job.yaml", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # only what the flags give: no ADS_OPERATOR_* from the test's environment
        env={k: v for k, v in os.environ.items() if not k.startswith("ADS_OPERATOR_")},
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.mark.parametrize("where", ["configmap", "upload"])
def test_converted_local_script_runs_to_succeeded(
    where: str,
    kube: Kube,
    operator: OperatorProcess,
    log_group: str,
    emulator: EmulatorHandle,
    emulator_api_key: ApiKey,
    oci_clients: OciClients,
    tmp_path: Path,
) -> None:
    ads_job_yaml(tmp_path, log_group)
    if where == "configmap":
        documents = convert(tmp_path, "--name", "local-code")
        assert [d["kind"] for d in documents] == ["ConfigMap", "DataScienceJob"]
        uri = "configmap://local-code-code/train.py"
    else:
        os_client = oci_clients.object_storage
        bucket_namespace = os_client.get_namespace().data
        bucket = f"code-{uuid.uuid4().hex[:8]}"
        os_client.create_bucket(
            bucket_namespace,
            oci.object_storage.models.CreateBucketDetails(name=bucket, compartment_id=COMPARTMENT),
        )
        target = f"oci://{bucket}@{bucket_namespace}/jobs"
        documents = convert(
            tmp_path,
            "--name",
            "local-code",
            "--upload",
            target,
            "--oci-config",
            str(emulator_api_key.config_file),
            "--oci-endpoint",
            emulator.endpoint,
        )
        assert [d["kind"] for d in documents] == ["DataScienceJob"]
        uploaded = os_client.get_object(bucket_namespace, bucket, "jobs/train.py").data.content
        assert uploaded.decode() == SCRIPT
        uri = f"oci://{bucket}@{bucket_namespace}/jobs/train.py"
    job: dict[str, Any] = documents[-1]
    assert job["spec"]["runtime"]["spec"]["scriptPathURI"] == uri
    kube.apply(*documents, job_run("local-code-run", "local-code"))
    status = kube.wait("dsjobrun/local-code-run", "Finished")
    assert status["phase"] == "Succeeded", status
    assert condition_of(status, "Succeeded")["status"] == "True"

    def printed() -> list[str] | None:
        lines = kube.log_lines("local-code-run")
        return lines if any("local code ran with --epochs 2" in line for line in lines) else None

    wait_for(printed, timeout=30, what="the script's line as an Event of the run")


def test_file_storage_by_address_is_resolved_and_the_job_mounts_it(
    kube: Kube,
    operator: OperatorProcess,
    emulator: EmulatorHandle,
    emulator_api_key: ApiKey,
    oci_clients: OciClients,
    tmp_path: Path,
) -> None:
    """ADS's `<IP>:<export path>`: convert finds the OCIDs with Resource Search (the user's
    config, as ADS does), and the OCI job the operator creates mounts them."""
    ip = f"10.{uuid.uuid4().int % 250}.0.5"
    seeded = emulator.seed_file_system(compartment=COMPARTMENT, ip_address=ip, export_path="/d")
    (tmp_path / "run.sh").write_text("echo mounted\n")
    document = {
        "kind": "job",
        "spec": {
            "name": "fss-job",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": COMPARTMENT,
                    "projectId": PROJECT,
                    "shapeName": "VM.Standard.E4.Flex",
                    "storageMount": [{"src": f"{ip}:/d", "dest": "/opt/fss/d"}],
                },
            },
            "runtime": {"kind": "runtime", "type": "script", "spec": {"scriptPathURI": "run.sh"}},
        },
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(document))
    documents = convert(
        tmp_path,
        "--oci-config",
        str(emulator_api_key.config_file),
        "--oci-endpoint",
        emulator.endpoint,
    )
    job: dict[str, Any] = documents[-1]
    (mount,) = job["spec"]["infrastructure"]["spec"]["storageMount"]
    assert mount["src"] == f"{seeded['mountTargetId']}:{seeded['exportId']}"
    kube.apply(*documents)
    ocid = str(kube.wait("dsjob/fss-job", "Ready", timeout=60)["ocid"])
    assert_one_file_storage_mount(oci_clients, ocid, seeded)
