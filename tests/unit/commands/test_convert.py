"""ADS job YAML <-> DataScienceJob manifest: lossless for every example, and ADS's
alternative spellings normalised on import."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import yaml

from ads_operator.ads import yaml_io
from ads_operator.commands import convert

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
C = "ocid1.compartment.oc1..aaaaaaaaexample"
P = "ocid1.datascienceproject.oc1.iad.aaaaaaaaexample"


def example_jobs() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in EXAMPLES:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "DataScienceJob":
                found.append((f"{path.name}:{doc['metadata']['name']}", doc))
    return found


@pytest.mark.parametrize(("name", "manifest"), example_jobs(), ids=[n for n, _ in example_jobs()])
def test_every_example_round_trips_unchanged(name: str, manifest: dict[str, Any]) -> None:
    ads = yaml_io.manifest_to_ads(manifest)
    text = yaml.safe_dump(ads, sort_keys=False)  # through text, as a user would
    back = yaml_io.ads_to_manifest(yaml.safe_load(text))
    assert back == manifest


def test_export_is_an_ads_job_document() -> None:
    _, manifest = example_jobs()[0]
    ads = yaml_io.manifest_to_ads(manifest, ads_only=True)
    assert ads["kind"] == "job"
    assert ads["apiVersion"] == "v1.0"
    assert set(ads) == {"kind", "apiVersion", "spec"}
    assert set(ads["spec"]) <= {"name", "id", "infrastructure", "runtime"}


def test_operator_settings_travel_in_the_kubernetes_block() -> None:
    manifest = {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceJob",
        "metadata": {"name": "j", "namespace": "ns", "labels": {"a": "b"}, "uid": "dropped"},
        "spec": {
            "name": "j",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {"compartmentId": C},
            },
            "runtime": {"kind": "runtime", "type": "container", "spec": {"image": "x:1"}},
            "deletionPolicy": "Orphan",
            "region": "us-phoenix-1",
        },
    }
    ads = yaml_io.manifest_to_ads(manifest)
    assert "deletionPolicy" not in ads["spec"]
    assert ads["kubernetes"]["spec"] == {"deletionPolicy": "Orphan", "region": "us-phoenix-1"}
    back = yaml_io.ads_to_manifest(ads)
    assert back["spec"] == manifest["spec"]
    assert back["metadata"] == {"name": "j", "namespace": "ns", "labels": {"a": "b"}}


def ads_document(
    runtime: dict[str, Any], infra: dict[str, Any] | None = None, name: str | None = "My Job_1"
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "infrastructure": {
            "kind": "infrastructure",
            "type": "dataScienceJob",
            "spec": infra or {"compartmentId": C, "projectId": P},
        },
        "runtime": {"kind": "runtime", "type": "python", "spec": runtime},
    }
    if name is not None:
        spec["name"] = name
    return {"kind": "job", "apiVersion": "v1.0", "spec": spec}


def test_import_normalises_what_ads_accepts() -> None:
    document = ads_document(
        {
            "script_path_uri": "oci://b@ns/train.py",
            "env": {"A": 1, "B": None, "C": "x"},
            "args": ["--n", 3],
            "conda": {"type": "service", "slug": "s"},
        },
        {
            "compartment_id": C,
            "project_id": P,
            "block_storage_size_in_gbs": 100,
            "job_shape_config_details": {"ocpus": 1, "memory_in_gbs": 8},
            "shape_name": "VM.Standard.E4.Flex",
        },
    )
    manifest = yaml_io.ads_to_manifest(document, namespace="team-a")
    assert manifest["metadata"] == {"name": "my-job-1", "namespace": "team-a"}
    infra = manifest["spec"]["infrastructure"]["spec"]
    assert infra == {
        "compartmentId": C,
        "projectId": P,
        "blockStorageSize": 100,
        "shapeConfigDetails": {"ocpus": 1, "memoryInGBs": 8},
        "shapeName": "VM.Standard.E4.Flex",
    }
    runtime = manifest["spec"]["runtime"]["spec"]
    assert runtime["scriptPathURI"] == "oci://b@ns/train.py"
    assert runtime["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": ""},
        {"name": "C", "value": "x"},
    ]
    assert runtime["args"] == ["--n", "3"]


def test_notebook_output_uri_alias() -> None:
    document = ads_document({"notebookPathURI": "oci://b@ns/a.ipynb", "outputURI": "oci://b@ns/o"})
    document["spec"]["runtime"]["type"] = "notebook"
    manifest = yaml_io.ads_to_manifest(document, name="nb")
    assert manifest["spec"]["runtime"]["spec"]["outputUri"] == "oci://b@ns/o"


def test_import_errors_name_the_field() -> None:
    document = ads_document({"scriptPathURI": "/home/me/train.py"})
    with pytest.raises(yaml_io.ConversionError, match=r"spec\.runtime\.spec.*configmap://"):
        yaml_io.ads_to_manifest(document)


def test_a_job_without_a_name_needs_one() -> None:
    with pytest.raises(yaml_io.ConversionError, match="--name"):
        yaml_io.ads_to_manifest(ads_document({"scriptPathURI": "oci://b@ns/a.py"}, name=None))
    assert (
        yaml_io.ads_to_manifest(
            ads_document({"scriptPathURI": "oci://b@ns/a.py"}, name=None), name="given"
        )["metadata"]["name"]
        == "given"
    )


def test_cli_both_ways(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ads_file = tmp_path / "job.yaml"
    manifest_file = tmp_path / "manifest.yaml"
    back_file = tmp_path / "back.yaml"
    example = ROOT / "examples" / "hello-world.yaml"
    args = argparse.Namespace(
        file=str(example), output=str(ads_file), name=None, namespace=None, ads_only=False
    )
    assert convert.main(args) == 0
    [ads] = list(yaml.safe_load_all(ads_file.read_text()))
    assert ads["kind"] == "job"
    args = argparse.Namespace(
        file=str(ads_file),
        output=str(manifest_file),
        name="renamed",
        namespace="demo",
        ads_only=False,
    )
    assert convert.main(args) == 0
    [manifest] = list(yaml.safe_load_all(manifest_file.read_text()))
    assert manifest["metadata"] == {"name": "renamed", "namespace": "demo"}
    args = argparse.Namespace(
        file=str(manifest_file), output=str(back_file), name=None, namespace=None, ads_only=True
    )
    assert convert.main(args) == 0
    assert "kubernetes" not in yaml.safe_load(back_file.read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ConfigMap\n")
    assert (
        convert.main(
            argparse.Namespace(
                file=str(bad), output=None, name=None, namespace=None, ads_only=False
            )
        )
        == 1
    )
    assert "no ADS job" in capsys.readouterr().err


def test_convert_names_what_it_leaves_out_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An example file holds ConfigMaps and runs besides the job: none fits an ADS job YAML,
    and each is named on stderr with the reason (they used to vanish silently)."""
    source = ROOT / "examples" / "hello-world.yaml"
    args = argparse.Namespace(
        file=str(source), output=str(tmp_path / "out.yaml"), name=None, namespace=None,
        ads_only=False,
    )  # fmt: skip
    assert convert.main(args) == 0
    notes = capsys.readouterr().err.splitlines()
    assert notes == [
        "ads-operator convert: left out ConfigMap/hello-world: ADS reads code from a path or"
        " oci://, not a ConfigMap: upload its files and point the job's scriptPathURI at them",
        "ads-operator convert: left out DataScienceJobRun/hello-world-run: a run is not part of"
        " an ADS job YAML: start one with job.run() in ADS",
    ]


def test_a_manifest_may_give_env_as_ads_mapping(tmp_path: Path) -> None:
    """ADS writes `env: {STEPS: 3}`; it was refused as `unknown field
    "spec.runtime.spec.env.STEPS"`."""
    documents = yaml.safe_load_all((ROOT / "examples" / "hello-world.yaml").read_text())
    manifest = next(d for d in documents if d and d["kind"] == "DataScienceJob")
    manifest["spec"]["runtime"]["spec"]["env"] = {"STEPS": 3, "GREETING": "Hi"}
    (ads,) = convert.convert_documents([manifest], name=None, namespace=None, ads_only=True)
    assert ads["spec"]["runtime"]["spec"]["env"] == [
        {"name": "STEPS", "value": "3"},
        {"name": "GREETING", "value": "Hi"},
    ]


def test_infrastructure_keys_in_another_case_are_read_as_ads_reads_them() -> None:
    """ADS folds the case of infrastructure keys (`SHAPE_NAME`); convert said "Extra inputs
    are not permitted"."""
    document = ads_document(
        {"scriptPathURI": "oci://b@ns/train.py"},
        {"COMPARTMENT_ID": C, "Project_Id": P, "SHAPE_NAME": "VM.Standard.E4.Flex"},
    )
    infra = yaml_io.ads_to_manifest(document)["spec"]["infrastructure"]["spec"]
    assert infra == {"compartmentId": C, "projectId": P, "shapeName": "VM.Standard.E4.Flex"}


@pytest.mark.parametrize(
    ("where", "key", "value", "reads"),
    [
        ("infra", "blockStorageSizeInGBs", 100, "blockStorageSize"),
        ("infra", "jobShapeConfigDetails", {"ocpus": 1}, "shapeConfigDetails"),
        ("infra", "ShapeName", "VM.Standard.E4.Flex", "shapeName"),
        ("runtime", "maximum_runtime_in_minutes", 5, "maximumRuntimeInMinutes"),
        ("runtime", "scriptPathUri", "oci://b@ns/a.py", "scriptPathURI"),
    ],
)
def test_a_key_ads_ignores_is_refused_with_the_key_ads_reads(
    where: str, key: str, value: Any, reads: str
) -> None:
    """`blockStorageSizeInGBs: 100` used to become `blockStorageSize: 100`: a 100 GB job
    here, a 50 GB job under ADS, from the same file."""
    runtime: dict[str, Any] = {"scriptPathURI": "oci://b@ns/train.py"}
    infra: dict[str, Any] = {"compartmentId": C, "projectId": P}
    (infra if where == "infra" else runtime)[key] = value
    with pytest.raises(yaml_io.ConversionError) as raised:
        yaml_io.ads_to_manifest(ads_document(runtime, infra))
    assert str(raised.value) == (
        f"spec.{where.replace('infra', 'infrastructure')}.spec.{key}: "
        f"ADS ignores this key; did you mean {reads}?"
    )


def test_two_spellings_of_one_key_are_refused() -> None:
    document = ads_document(
        {"scriptPathURI": "oci://b@ns/train.py"},
        {"compartmentId": C, "projectId": P, "shapeName": "A.Flex", "SHAPE_NAME": "B.Flex"},
    )
    with pytest.raises(yaml_io.ConversionError, match="shapeName and SHAPE_NAME both set"):
        yaml_io.ads_to_manifest(document)


def test_a_snake_case_key_of_another_runtime_type_is_refused() -> None:
    """ADS's script runtime does not know `output_dir` (python's does), so ignores it."""
    document = ads_document({"scriptPathURI": "oci://b@ns/run.sh", "output_dir": "out"})
    document["spec"]["runtime"]["type"] = "script"
    with pytest.raises(yaml_io.ConversionError, match="output_dir: ADS ignores this key"):
        yaml_io.ads_to_manifest(document)


def test_args_as_one_string_is_kept_and_split_by_shell_rules() -> None:
    """ADS's own DataScienceJobRun.to_yaml() writes args as one string."""
    document = ads_document({"scriptPathURI": "oci://b@ns/a.py", "args": "--n 3 'two words'"})
    manifest = yaml_io.ads_to_manifest(document)
    assert manifest["spec"]["runtime"]["spec"]["args"] == "--n 3 'two words'"
    with pytest.raises(yaml_io.ConversionError, match="args cannot be split by shell rules"):
        yaml_io.ads_to_manifest(ads_document({"scriptPathURI": "oci://b@ns/a.py", "args": "'x"}))


def _with_mount(src: str) -> dict[str, Any]:
    infra = {"compartmentId": C, "projectId": P, "storageMount": [{"src": src, "dest": "d"}]}
    return ads_document({"scriptPathURI": "oci://b@ns/a.py"}, infra)


def test_a_file_storage_address_is_resolved_with_resource_search() -> None:
    """ADS resolves `<IP>:<export path>` when it creates the job; convert does the same."""
    from ads_operator.ads.mounts import Found

    answers = {
        "10.0.0.5": [Found("PrivateIp", "ocid1.privateip.oc1..p", "2026")],
        "ocid1.privateip.oc1..p": [Found("MountTarget", "ocid1.mounttarget.oc1..m")],
        "/data": [Found("Export", "ocid1.export.oc1..e")],
    }
    (manifest,) = convert.convert_documents(
        [_with_mount("10.0.0.5:/data")],
        name=None,
        namespace=None,
        ads_only=False,
        search=lambda text: answers.get(text, []),
    )
    (mount,) = manifest["spec"]["infrastructure"]["spec"]["storageMount"]
    assert mount == {"src": "ocid1.mounttarget.oc1..m:ocid1.export.oc1..e", "dest": "d"}
    with pytest.raises(yaml_io.ConversionError) as raised:
        convert.convert_documents(
            [_with_mount("10.0.0.6:/data")],
            name=None,
            namespace=None,
            ads_only=False,
            search=lambda text: answers.get(text, []),
        )
    assert str(raised.value) == (
        "spec.infrastructure.spec.storageMount[0].src '10.0.0.6:/data': Resource Search "
        "finds nothing at IP 10.0.0.6; or write <mount target OCID>:<export OCID>"
    )


def test_resolving_without_credentials_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # main() exports --oci-config for the SDK; monkeypatch restores the variable after
    monkeypatch.setenv("ADS_OPERATOR_OCI_CONFIG_FILE", str(tmp_path / "none"))
    source = tmp_path / "job.yaml"
    source.write_text(yaml.safe_dump(_with_mount("10.0.0.5:/data")))
    args = argparse.Namespace(
        file=str(source), output=str(tmp_path / "out.yaml"), name=None, namespace=None,
        ads_only=False, upload=None, oci_config=str(tmp_path / "none"), oci_endpoint=None,
    )  # fmt: skip
    assert convert.main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Resource Search, as ADS does, and that failed" in err
    assert "--oci-config FILE" in err
    assert not (tmp_path / "out.yaml").exists()
