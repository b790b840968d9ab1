"""``convert`` with local code paths: small code into a ConfigMap beside the job, anything
else with ``--upload``, and one-line errors that leave nothing written."""

from __future__ import annotations

import argparse
import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from ads_operator.ads import yaml_io
from ads_operator.commands import convert, localcode

C = "ocid1.compartment.oc1..aaaaaaaaexample"
P = "ocid1.datascienceproject.oc1.iad.aaaaaaaaexample"


def ads_job(runtime: dict[str, Any], rtype: str = "python") -> dict[str, Any]:
    return {
        "kind": "job",
        "spec": {
            "name": "Train",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {"compartmentId": C, "projectId": P, "shapeName": "VM.Standard.E4.Flex"},
            },
            "runtime": {"kind": "runtime", "type": rtype, "spec": runtime},
        },
    }


def converted(
    tmp_path: Path, runtime: dict[str, Any], upload: str | None = None, rtype: str = "python"
) -> tuple[list[dict[str, Any]], localcode.CodePlan]:
    plan = localcode.CodePlan()
    documents = convert.convert_documents(
        [ads_job(runtime, rtype)],
        name=None,
        namespace="team",
        ads_only=False,
        upload=upload,
        base=tmp_path,
        plan=plan,
    )
    return documents, plan


def test_a_small_script_becomes_a_configmap_before_its_job(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print(1)\n")
    (configmap, job), plan = converted(tmp_path, {"script_path_uri": "train.py"})
    assert configmap == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "train-code", "namespace": "team"},
        "data": {"train.py": "print(1)\n"},
    }
    assert job["spec"]["runtime"]["spec"]["scriptPathURI"] == "configmap://train-code/train.py"
    assert not plan.uploads


def test_a_flat_folder_becomes_a_configmap_named_after_it(tmp_path: Path) -> None:
    """The artifact keeps the folder's name (an entrypoint may start with it)."""
    code = tmp_path / "src"
    code.mkdir()
    (code / "main.py").write_text("import util\n")
    (code / "util.py").write_text("X = 1\n")
    (code / "model.bin").write_bytes(b"\xff\x00")
    (configmap, job), _ = converted(
        tmp_path, {"scriptPathURI": "./src", "entrypoint": "src/main.py"}
    )
    assert configmap["metadata"]["name"] == "src"
    assert configmap["data"] == {"main.py": "import util\n", "util.py": "X = 1\n"}
    assert configmap["binaryData"] == {"model.bin": base64.b64encode(b"\xff\x00").decode()}
    assert job["spec"]["runtime"]["spec"]["scriptPathURI"] == "configmap://src"


def test_a_notebook_source_folder_and_a_notebook_file(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "a.ipynb").write_text("{}")
    (_, job), _ = converted(
        tmp_path, {"source": "nb", "entrypoint": "nb/a.ipynb"}, rtype="notebook"
    )
    assert job["spec"]["runtime"]["spec"]["source"] == "configmap://nb"
    (_, job), _ = converted(
        tmp_path, {"notebook_path_uri": f"file://{tmp_path}/nb/a.ipynb"}, rtype="notebook"
    )
    assert job["spec"]["runtime"]["spec"]["notebookPathURI"] == "configmap://train-code/a.ipynb"


def test_upload_plans_objects_under_the_prefix_and_points_at_them(tmp_path: Path) -> None:
    code = tmp_path / "proj"
    (code / "pkg").mkdir(parents=True)
    (code / "run.py").write_text("1")
    (code / "pkg" / "m.py").write_text("2")
    (job,), plan = converted(
        tmp_path, {"scriptPathURI": "proj", "entrypoint": "proj/run.py"}, "oci://b@ns/jobs/"
    )
    assert job["spec"]["runtime"]["spec"]["scriptPathURI"] == "oci://b@ns/jobs/proj/"
    assert plan.uploads == {("ns", "b"): {"jobs/proj/run.py": b"1", "jobs/proj/pkg/m.py": b"2"}}
    (tmp_path / "t.py").write_text("3")
    (job,), plan = converted(tmp_path, {"scriptPathURI": "t.py"}, "oci://b@ns")
    assert job["spec"]["runtime"]["spec"]["scriptPathURI"] == "oci://b@ns/t.py"
    assert plan.uploads == {("ns", "b"): {"t.py": b"3"}}


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: (p / "code" / "sub").mkdir(parents=True), "with subfolders"),
        (
            lambda p: (
                (p / "code").mkdir()
                or (p / "code" / "big.py").write_text("x" * (localcode.CONFIGMAP_BUDGET + 1))
            ),
            f"more than {localcode.CONFIGMAP_BUDGET}",
        ),
        (
            lambda p: (p / "code").mkdir() or (p / "code" / "a b.py").write_text("1"),
            "a file name a ConfigMap key cannot be",
        ),
    ],
)
def test_code_a_configmap_cannot_hold_needs_upload_and_the_error_says_both_ways(
    tmp_path: Path, make: Any, problem: str
) -> None:
    make(tmp_path)
    for item in (tmp_path / "code").rglob("*"):
        if item.is_dir() and not any(item.iterdir()):
            (item / "f.py").write_text("1")
    with pytest.raises(yaml_io.ConversionError) as raised:
        converted(tmp_path, {"scriptPathURI": "code"})
    message = str(raised.value)
    assert problem in message
    assert "ConfigMap" in message
    assert "--upload oci://bucket@namespace/prefix" in message
    assert "\n" not in message


def test_a_folder_whose_name_cannot_name_a_configmap(tmp_path: Path) -> None:
    (tmp_path / "My_Code").mkdir()
    (tmp_path / "My_Code" / "a.py").write_text("1")
    with pytest.raises(yaml_io.ConversionError, match=r"cannot name a ConfigMap.*--upload"):
        converted(tmp_path, {"scriptPathURI": "My_Code"})


def test_a_missing_path_is_one_line_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(yaml_io.ConversionError) as raised:
        converted(tmp_path, {"scriptPathURI": "nope.py"})
    assert str(raised.value) == (
        f"spec.runtime.spec.scriptPathURI: local path 'nope.py' does not exist "
        f"(relative paths are read from {tmp_path})"
    )


def test_bad_upload_target(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("1")
    with pytest.raises(yaml_io.ConversionError, match="expected oci://bucket@namespace/prefix"):
        converted(tmp_path, {"scriptPathURI": "t.py"}, "s3://bucket/x")


def test_remote_sources_are_left_alone(tmp_path: Path) -> None:
    (job,), plan = converted(tmp_path, {"scriptPathURI": "oci://b@ns/t.py"})
    assert job["spec"]["runtime"]["spec"]["scriptPathURI"] == "oci://b@ns/t.py"
    assert not plan.configmaps
    assert not plan.uploads


def _cli(tmp_path: Path, **extra: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "file": str(tmp_path / "job.yaml"),
        "output": str(tmp_path / "out.yaml"),
        "name": None,
        "namespace": None,
        "ads_only": False,
        "upload": None,
        "oci_config": None,
        "oci_endpoint": None,
    }
    values.update(extra)
    return argparse.Namespace(**values)


def test_an_upload_without_credentials_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # main() exports --oci-config for the SDK; monkeypatch restores the variable after
    monkeypatch.setenv("ADS_OPERATOR_OCI_CONFIG_FILE", str(tmp_path / "no-config"))
    (tmp_path / "t.py").write_text("1")
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(ads_job({"scriptPathURI": "t.py"})))
    args = _cli(tmp_path, upload="oci://b@ns/p", oci_config=str(tmp_path / "no-config"))
    assert convert.main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot upload to oci://b@ns/p" in err
    assert "the output was not written" in err
    assert "--oci-config" in err
    assert not (tmp_path / "out.yaml").exists()


def test_cli_writes_configmap_code_as_a_literal_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.py").write_text("a = 1\nprint(a)\n")
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(ads_job({"scriptPathURI": "t.py"})))
    assert convert.main(_cli(tmp_path)) == 0
    text = (tmp_path / "out.yaml").read_text()
    assert "t.py: |\n    a = 1\n    print(a)\n" in text
    configmap, _job = yaml.safe_load_all(text)
    assert configmap["data"]["t.py"] == "a = 1\nprint(a)\n"


def test_an_ads_document_without_a_spec_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(yaml_io.ConversionError, match="needs a spec mapping"):
        convert.convert_documents(
            [{"kind": "job"}], name=None, namespace=None, ads_only=False, base=tmp_path
        )


def test_two_jobs_cannot_share_a_folder_configmap(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("1")
    first, second = ads_job({"scriptPathURI": "src"}), ads_job({"scriptPathURI": "src"})
    second["spec"]["name"] = "Other"
    with pytest.raises(yaml_io.ConversionError, match="two jobs put code into ConfigMap 'src'"):
        convert.convert_documents(
            [first, second], name=None, namespace=None, ads_only=False, base=tmp_path
        )
