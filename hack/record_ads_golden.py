"""Record what oracle-ads 2.16.1 sends for the ADS job YAML spellings ``convert`` accepts.

Run with an interpreter that has ADS (about 1 GB of dependencies, so not in the
project's venv), from the repository root::

    python3 -m venv /tmp/ads && /tmp/ads/bin/pip install oracle-ads==2.16.1
    /tmp/ads/bin/python -m hack.record_ads_golden

It writes ``tests/unit/ads/golden/ads_spellings.json``: for each case the ADS YAML
document and the ``CreateJobDetails`` ADS builds from it (``Job.from_dict(doc)
.create()``), as the JSON the SDK would send. Nothing leaves the machine: the SDK's
request function is replaced by one that refuses, ``create_job`` by one that captures
its argument, and the API key in the throwaway config is generated here. Code sources
(``oci://.../train.py``) are replaced by local files of the same name, since ADS would
otherwise download them; the operator's translation treats both the same way.
``tests/unit/ads/test_spellings_golden.py`` compares our translation with the result.
"""

from __future__ import annotations

import copy
import json
import pathlib
import posixpath
import sys
import tempfile
from typing import Any
from unittest import mock

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests/unit/ads/golden/ads_spellings.json"
C = "ocid1.compartment.oc1..aaaa"
P = "ocid1.datascienceproject.oc1.iad.aaaa"
CODE_KEYS = ("scriptPathURI", "script_path_uri", "notebookPathURI", "notebook_path_uri")


def job(
    name: str | None, infra: dict[str, Any], rtype: str, runtime: dict[str, Any]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "infrastructure": {"kind": "infrastructure", "type": "dataScienceJob", "spec": infra},
        "runtime": {"kind": "runtime", "type": rtype, "spec": runtime},
    }
    if name:
        spec = {"name": name, **spec}
    return {"kind": "job", "apiVersion": "v1.0", "spec": spec}


FLEX = "VM.Standard.E4.Flex"
TAGS = {"freeform_tags": {"team": "a"}, "defined_tags": {"NS": {"k": "v"}}}
PYTHON_SNAKE = {
    "output_dir": "out",
    "output_uri": "oci://bkt@ns/outputs",
    "python_path": ["lib"],
    "entry_function": "main",
    "working_dir": "src",
}
CONDA = {"conda": {"type": "service", "slug": "pytorch21_p39_gpu_v1"}}
IMAGE = "iad.ocir.io/t/i:1"

CASES: dict[str, dict[str, Any]] = {
    "infra-other-case": job(
        "upper",
        {
            "PROJECT_ID": P,
            "Compartment_Id": C,
            "JOB_TYPE": "DEFAULT",
            "Job_Infrastructure_Type": "ME_STANDALONE",
            "SHAPE_NAME": FLEX,
            "BLOCK_STORAGE_SIZE": 70,
            "SHAPE_CONFIG_DETAILS": {"OCPUS": 2, "MEMORY_IN_GBS": 16},
            "LOG_GROUP_ID": "ocid1.loggroup.oc1.iad.aaaa",
            "Log_Id": "ocid1.log.oc1.iad.aaaa",
            "STORAGE_MOUNT": [{"src": "oci://bkt@ns/pre", "dest": "/opt/data/in"}],
            "FREEFORM_TAGS": {"team": "infra"},
            "DEFINED_TAGS": {"NS": {"k": "infra"}},
        },
        "container",
        {"image": IMAGE},
    ),
    "infra-payload-names": job(
        "payload",
        {
            "project_id": P,
            "compartment_id": C,
            "display_name": "from-infra",
            "job_type": "DEFAULT",
            "job_infrastructure_type": "STANDALONE",
            "shape_name": FLEX,
            "subnet_id": "ocid1.subnet.oc1.iad.aaaa",
            "block_storage_size_in_gbs": 120,
            "job_shape_config_details": {"ocpus": 1, "memory_in_gbs": 8},
            "log_group_id": "ocid1.loggroup.oc1.iad.aaaa",
            "storage_mount": [{"src": "oci://bkt@ns", "dest": "data"}],
            "freeform_tags": {"team": "infra"},
            "defined_tags": {"NS": {"k": "infra"}},
        },
        "container",
        {"image": IMAGE},
    ),
    "infra-shape-config-snake-inside": job(
        "inside",
        {
            "projectId": P,
            "compartmentId": C,
            "shapeName": FLEX,
            "shapeConfigDetails": {"ocpus": 2, "memory_in_gbs": 32, "cpu_baseline": "BASELINE_1_2"},
        },
        "container",
        {"image": IMAGE},
    ),
    "runtime-script": job(
        "script",
        {"projectId": P, "compartmentId": C, "shapeName": FLEX},
        "script",
        {"script_path_uri": "oci://bkt@ns/code/run.sh", **TAGS},
    ),
    "runtime-python": job(
        "python",
        {"projectId": P, "compartmentId": C, "shapeName": FLEX},
        "python",
        {"script_path_uri": "oci://bkt@ns/code/train.py", **PYTHON_SNAKE, **TAGS, **CONDA},
    ),
    "runtime-notebook": job(
        "notebook",
        {"projectId": P, "compartmentId": C, "shapeName": FLEX},
        "notebook",
        {
            "notebook_path_uri": "oci://bkt@ns/nb/analysis.ipynb",
            "notebook_encoding": "utf-8",
            "output_uri": "oci://bkt@ns/nb-out",
            "exclude_tags": ["skip"],
            **TAGS,
            **CONDA,
        },
    ),
    "runtime-notebook-outputURI": job(
        "notebook-alt",
        {"projectId": P, "compartmentId": C, "shapeName": FLEX},
        "notebook",
        {
            "notebookPathURI": "oci://bkt@ns/nb/analysis.ipynb",
            "outputURI": "oci://bkt@ns/nb-out",
            **CONDA,
        },
    ),
    "runtime-gitPython": job(
        "git",
        {"projectId": P, "compartmentId": C, "shapeName": FLEX},
        "gitPython",
        {
            "url": "https://github.com/example/repo.git",
            "branch": "main",
            "git_secret_id": "ocid1.vaultsecret.oc1.iad.aaaa",
            "skip_metadata_update": True,
            "entrypoint": "src/train.py",
            **PYTHON_SNAKE,
            **TAGS,
            **CONDA,
        },
    ),
    "runtime-container": job(
        "container",
        {"projectId": P, "compartmentId": C, "shapeName": FLEX},
        "container",
        {
            "image": IMAGE,
            "image_digest": "sha256:0123456789abcdef",
            "image_signature_id": "ocid1.containerimagesignature.oc1.iad.aaaa",
            **TAGS,
        },
    ),
    "runtime-pyTorchDistributed": job(
        "ddp",
        {"projectId": P, "compartmentId": C, "shapeName": FLEX},
        "pyTorchDistributed",
        {
            "script_path_uri": "oci://bkt@ns/code/train.py",
            "replicas": 2,
            "command": "torchrun train.py",
            **PYTHON_SNAKE,
            **TAGS,
            **CONDA,
        },
    ),
    "file-storage-by-address": job(
        "fss",
        {
            **{"projectId": P, "compartmentId": C, "shapeName": FLEX},
            "storageMount": [
                {"src": "10.0.0.5:/exports/data", "dest": "/opt/fss/data"},
                {"src": "ocid1.mounttarget.oc1.iad.mt:/exports/data", "dest": "mixed"},
            ],
        },
        "container",
        {"image": IMAGE},
    ),
    "args-as-one-string": job(
        "args",
        {"projectId": P, "compartmentId": C, "shapeName": FLEX},
        "container",
        {"image": IMAGE, "args": "--epochs 3 'two words'"},
    ),
}

#: Keys ADS keeps but never reads: case -> (document, dotted path of the key, the key
#: ADS reads instead). ``convert`` refuses each; the recording shows the setting is lost.
BASE_INFRA = {"projectId": P, "compartmentId": C, "shapeName": FLEX}
IGNORED: dict[str, tuple[dict[str, Any], str, str]] = {
    "ignored-blockStorageSizeInGBs": (
        job("i1", {**BASE_INFRA, "blockStorageSizeInGBs": 100}, "container", {"image": IMAGE}),
        "spec.infrastructure.spec.blockStorageSizeInGBs",
        "blockStorageSize",
    ),
    "ignored-jobShapeConfigDetails": (
        job(
            "i2",
            {**BASE_INFRA, "jobShapeConfigDetails": {"ocpus": 4, "memoryInGBs": 64}},
            "container",
            {"image": IMAGE},
        ),
        "spec.infrastructure.spec.jobShapeConfigDetails",
        "shapeConfigDetails",
    ),
    "ignored-SubnetId": (
        job(
            "i3",
            {**BASE_INFRA, "SubnetId": "ocid1.subnet.oc1.iad.aaaa"},
            "container",
            {"image": IMAGE},
        ),
        "spec.infrastructure.spec.SubnetId",
        "subnetId",
    ),
    "ignored-MEMORY_IN_GBS-inside": (
        job(
            "i4",
            {**BASE_INFRA, "shapeConfigDetails": {"ocpus": 1, "MEMORY_IN_GBS": 64}},
            "container",
            {"image": IMAGE},
        ),
        "spec.infrastructure.spec.shapeConfigDetails.MEMORY_IN_GBS",
        "memoryInGBs",
    ),
    "ignored-maximum_runtime_in_minutes": (
        job("i5", BASE_INFRA, "container", {"image": IMAGE, "maximum_runtime_in_minutes": 30}),
        "spec.runtime.spec.maximum_runtime_in_minutes",
        "maximumRuntimeInMinutes",
    ),
    "ignored-container-script_path_uri": (
        job(
            "i6",
            BASE_INFRA,
            "container",
            {"image": IMAGE, "script_path_uri": "oci://bkt@ns/code/extra.py"},
        ),
        "spec.runtime.spec.script_path_uri",
        "scriptPathURI",
    ),
    "ignored-pip_requirements": (
        job(
            "i7",
            BASE_INFRA,
            "pyTorchDistributed",
            {
                "scriptPathURI": "oci://bkt@ns/code/train.py",
                "dependencies": {"pip_requirements": "requirements.txt"},
                **CONDA,
            },
        ),
        "spec.runtime.spec.dependencies.pip_requirements",
        "pipRequirements",
    ),
}

#: What Resource Search answers in the recording (text -> (type, OCID, created)): the IP
#: finds two private IPs (ADS takes the newest), that one finds its mount target.
RESOURCE_SEARCH: dict[str, list[tuple[str, str, str]]] = {
    "10.0.0.5": [
        ("PrivateIp", "ocid1.privateip.oc1.iad.new", "2026-02-01T00:00:00+00:00"),
        ("PrivateIp", "ocid1.privateip.oc1.iad.old", "2025-01-01T00:00:00+00:00"),
    ],
    "ocid1.privateip.oc1.iad.new": [
        ("Vnic", "ocid1.vnic.oc1.iad.v", "2026-02-01T00:00:00+00:00"),
        ("MountTarget", "ocid1.mounttarget.oc1.iad.mt", "2026-02-01T00:00:00+00:00"),
    ],
    "ocid1.privateip.oc1.iad.old": [
        ("MountTarget", "ocid1.mounttarget.oc1.iad.stale", "2025-01-01T00:00:00+00:00"),
    ],
    "/exports/data": [
        ("Export", "ocid1.export.oc1.iad.ex", "2026-02-01T00:00:00+00:00"),
        ("FileSystem", "ocid1.filesystem.oc1.iad.fs", "2026-02-01T00:00:00+00:00"),
    ],
}


def localised(document: dict[str, Any], code_dir: pathlib.Path) -> dict[str, Any]:
    """The document with each oci:// code source replaced by a local file of its name."""
    document = copy.deepcopy(document)
    runtime = document["spec"]["runtime"]["spec"]
    for key in CODE_KEYS:
        if key in runtime:
            local = code_dir / posixpath.basename(runtime[key])
            local.write_text("{}\n" if local.suffix == ".ipynb" else "print('hello')\n")
            runtime[key] = str(local)
    return document


def throwaway_oci_config(prefix: str) -> pathlib.Path:
    """An OCI config file with a fresh key and made-up OCIDs, in a new temporary folder:
    enough for ADS and the SDK to build their requests, which the recorders intercept
    (nothing leaves the machine)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    work = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (work / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    config = work / "config"
    config.write_text(
        "[DEFAULT]\nuser=ocid1.user.oc1..u\n"
        f"fingerprint={':'.join(['aa'] * 16)}\ntenancy=ocid1.tenancy.oc1..t\n"
        f"region=us-ashburn-1\nkey_file={work / 'key.pem'}\n"
    )
    return config


def main() -> int:
    import oci

    config = throwaway_oci_config("ads-golden-")
    work = config.parent
    import ads  # type: ignore[import-not-found]
    from ads.jobs import Job  # type: ignore[import-not-found]

    ads.set_auth("api_key", oci_config_location=str(config))
    client = oci.data_science.DataScienceClient(oci.config.from_file(str(config)))
    captured: list[Any] = []
    created: dict[str, Any] = {}

    def create_job(self: Any, details: Any, **_: Any) -> Any:
        captured.append(details)
        created["job"] = oci.data_science.models.Job(
            id="ocid1.datasciencejob.oc1.iad.recorded",
            lifecycle_state="ACTIVE",
            display_name=details.display_name,
            compartment_id=details.compartment_id,
            project_id=details.project_id,
        )
        return mock.Mock(data=created["job"])

    def get_job(self: Any, job_id: str, **_: Any) -> Any:
        return mock.Mock(data=created["job"])

    def no_artifact(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise oci.exceptions.ServiceError(404, "NotFound", {}, "no artifact (recording)")

    def search_resources(self: Any, search_details: Any, **_: Any) -> Any:
        import datetime

        items = [
            oci.resource_search.models.ResourceSummary(
                resource_type=kind,
                identifier=ocid,
                time_created=datetime.datetime.fromisoformat(created),
            )
            for kind, ocid, created in RESOURCE_SEARCH.get(search_details.text, [])
        ]
        return mock.Mock(data=mock.Mock(items=items))

    def refuse(self: Any, resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"recording must not call OCI: {method} {resource_path}")

    recorded: dict[str, Any] = {}
    dsc = oci.data_science.DataScienceClient
    with (
        mock.patch.object(oci.base_client.BaseClient, "call_api", refuse),
        mock.patch.object(dsc, "create_job", create_job),
        mock.patch.object(dsc, "get_job", get_job),
        mock.patch.object(dsc, "head_job_artifact", no_artifact),
        mock.patch.object(dsc, "create_job_artifact", return_value=None),
        mock.patch.object(
            oci.resource_search.ResourceSearchClient, "search_resources", search_resources
        ),
    ):
        everything = {**CASES, **{name: doc for name, (doc, _, _) in IGNORED.items()}}
        for name, document in everything.items():
            captured.clear()
            code_dir = work / name
            code_dir.mkdir()
            try:
                Job.from_dict(localised(document, code_dir)).create()
            except Exception as exc:  # ADS reading back our stub of a job: request is made
                if not captured:
                    raise
                print(f"{name}: after create_job, ADS raised {type(exc).__name__}: {exc}")
            body = client.base_client.sanitize_for_serialization(captured[0])
            recorded[name] = {"ads_yaml": document, "create_job_details": body}
            if name in IGNORED:
                recorded[name]["ignored_key"] = IGNORED[name][1]
                recorded[name]["ads_reads"] = IGNORED[name][2]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "resource_search": RESOURCE_SEARCH,
        "recorded_with": f"oracle-ads {ads.__version__}, oci {oci.__version__}",
        "by": "hack/record_ads_golden.py",
    }
    OUT.write_text(
        json.dumps({"about": header, "cases": recorded}, indent=1, sort_keys=True) + "\n"
    )
    print(f"wrote {len(recorded)} cases to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
