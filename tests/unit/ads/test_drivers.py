"""Artifacts and the project's drivers, run for real on this host.

Each test builds the artifact exactly as the operator would (from an in-memory
SourceReader), unpacks it the way the Jobs service does, sets the environment the
translation writes into the job, and runs the driver with this interpreter. Only the
Object Storage upload is exercised against a recording client here; the upload through
a real Object Storage API belongs to the emulator tier.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ads_operator.ads import artifacts, job_parts
from ads_operator.ads.artifacts import Artifact, SourceFiles
from ads_operator.ads.drivers import driver_utils
from ads_operator.ads.sources import Source
from ads_operator.models import DataScienceJobSpec, RuntimeType
from ads_operator.usecases.artifacts import build_artifact

C = "ocid1.compartment.oc1..aaaaaaaaexample"
P = "ocid1.datascienceproject.oc1.iad.aaaaaaaaexample"
CONDA = {"type": "service", "slug": "generalml_p311_cpu_x86_64_v1"}


class MemorySources:
    """A SourceReader over fixed contents, keyed by URI."""

    def __init__(self, by_uri: Mapping[str, SourceFiles]) -> None:
        self.by_uri = dict(by_uri)
        self.read_uris: list[str] = []

    async def read(self, source: Source) -> SourceFiles:
        self.read_uris.append(source.uri)
        return self.by_uri[source.uri]


def job(runtime_type: str, runtime: dict[str, Any]) -> DataScienceJobSpec:
    return DataScienceJobSpec.model_validate(
        {
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {"compartmentId": C, "projectId": P, "shapeName": "VM.Standard2.1"},
            },
            "runtime": {"kind": "runtime", "type": runtime_type, "spec": runtime},
        }
    )


def folder(name: str, files: Mapping[str, str]) -> SourceFiles:
    return SourceFiles(name, {k: v.encode() for k, v in files.items()}, is_folder=True)


def single(name: str, text: str) -> SourceFiles:
    return SourceFiles(name, {name: text.encode()}, is_folder=False)


async def build(spec: DataScienceJobSpec, sources: Mapping[str, SourceFiles]) -> Artifact:
    artifact = await build_artifact(spec, MemorySources(sources))
    assert artifact is not None
    return artifact


def unpack(artifact: Artifact, into: Path) -> Path:
    """What the service does: a zip is extracted, anything else is placed as is."""
    into.mkdir(parents=True, exist_ok=True)
    if artifact.file_name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(artifact.content)) as archive:
            archive.extractall(into)  # noqa: S202 - our own artifact, as the service does
    else:
        (into / artifact.file_name).write_bytes(artifact.content)
    return into


def run(
    directory: Path, entry: str, env: Mapping[str, str], args: list[str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, str(directory / entry), *args],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def job_env(spec: DataScienceJobSpec) -> dict[str, str]:
    return job_parts.runtime_env(spec.runtime)


# -- python ------------------------------------------------------------------------------


async def test_python_driver_with_working_dir_python_path_and_entry_function(
    tmp_path: Path,
) -> None:
    sources = {
        "oci://bucket@ns/proj/": folder(
            "proj",
            {
                "src/train.py": (
                    "import os\nfrom helpers import shout\nfrom extra import EXTRA\n"
                    "def train(first, epochs='1', verbose=None):\n"
                    "    print(shout(f'{first} epochs={epochs} verbose={verbose} {EXTRA}'))\n"
                    "    print('cwd', os.path.basename(os.getcwd()))\n"
                ),
                "src/helpers.py": "def shout(text):\n    return text.upper()\n",
                "lib/extra.py": "EXTRA = 'from-lib'\n",
            },
        )
    }
    spec = job(
        "python",
        {
            "scriptPathURI": "oci://bucket@ns/proj/",
            "workingDir": "proj/src",
            "entrypoint": "train.py",
            "entryFunction": "train",
            "pythonPath": ["../lib"],
            "args": ["go", "--epochs", "3", "--verbose"],
        },
    )
    artifact = await build(spec, sources)
    assert artifact.file_name == "proj.zip"
    assert not artifact.warnings
    directory = unpack(artifact, tmp_path / "artifact")
    env = job_env(spec)
    result = run(
        directory, env["JOB_RUN_ENTRYPOINT"], env, ["go", "--epochs", "3", "--verbose"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "GO EPOCHS=3 VERBOSE=NONE FROM-LIB" in result.stdout
    assert "cwd src" in result.stdout


async def test_python_driver_runs_a_script_with_argv_and_keeps_its_exit_code(
    tmp_path: Path,
) -> None:
    sources = {
        "configmap://code/main.py": single(
            "main.py", "import sys\nprint('args', sys.argv[1:])\nsys.exit(int(sys.argv[1]))\n"
        )
    }
    spec = job("python", {"scriptPathURI": "configmap://code/main.py"})
    artifact = await build(spec, sources)
    assert artifact.file_name == "main.zip"
    names = set(zipfile.ZipFile(io.BytesIO(artifact.content)).namelist())
    assert names == {"driver_utils.py", "driver_python.py", "driver_notebook.py", "code/main.py"}
    directory = unpack(artifact, tmp_path / "a")
    env = job_env(spec)
    result = run(directory, "driver_python.py", env, ["3", "x y"], tmp_path)
    assert result.returncode == 3
    assert "args ['3', 'x y']" in result.stdout


async def test_python_archive_source_is_unpacked_into_code(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"print('from the archive')\n"
        info = tarfile.TarInfo("pkg/run.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    sources = {
        "https://example.com/dl/pkg.tar.gz": SourceFiles(
            "pkg.tar.gz", {"pkg.tar.gz": buffer.getvalue()}, is_folder=False
        )
    }
    spec = job(
        "python", {"scriptPathURI": "https://example.com/dl/pkg.tar.gz", "entrypoint": "pkg/run.py"}
    )
    artifact = await build(spec, sources)
    assert artifact.file_name == "pkg.zip"
    directory = unpack(artifact, tmp_path / "a")
    result = run(directory, "driver_python.py", job_env(spec), [], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from the archive" in result.stdout


async def test_missing_entrypoint_is_a_warning_with_a_hint() -> None:
    sources = {"configmap://code": folder("code", {"main.py": "print(1)\n"})}
    spec = job("python", {"scriptPathURI": "configmap://code", "entrypoint": "main.py"})
    artifact = await build(spec, sources)
    assert artifact.warnings == (
        "entrypoint 'main.py' is not in the code (looked for code/main.py); "
        "did you mean code/main.py?",
    )


# -- script ------------------------------------------------------------------------------


async def test_script_single_file_is_uploaded_as_is(tmp_path: Path) -> None:
    text = "print('hello')\n"
    spec = job("script", {"scriptPathURI": "configmap://hello/hello.py"})
    artifact = await build(spec, {"configmap://hello/hello.py": single("hello.py", text)})
    assert (artifact.file_name, artifact.content) == ("hello.py", text.encode())
    result = run(unpack(artifact, tmp_path / "a"), "hello.py", job_env(spec), [], tmp_path)
    assert result.stdout == "hello\n"


async def test_script_folder_is_zipped_under_its_name(tmp_path: Path) -> None:
    spec = job("script", {"scriptPathURI": "configmap://tools", "entrypoint": "tools/run.sh"})
    artifact = await build(
        spec, {"configmap://tools": folder("tools", {"run.sh": 'echo from-sh "$@"\n'})}
    )
    assert artifact.file_name == "tools.zip"
    info = zipfile.ZipFile(io.BytesIO(artifact.content)).getinfo("tools/run.sh")
    assert info.date_time == artifacts.ZIP_EPOCH
    assert (info.external_attr >> 16) & 0o777 == 0o755
    assert job_env(spec)["JOB_RUN_ENTRYPOINT"] == "tools/run.sh"


async def test_container_without_artifact_needs_no_source() -> None:
    spec = job("container", {"image": "x:1"})
    reader = MemorySources({})
    assert await build_artifact(spec, reader) is None
    assert reader.read_uris == []


async def test_artifacts_are_deterministic() -> None:
    sources = {"configmap://code": folder("code", {"b.py": "b", "a.py": "a"})}
    spec = job("python", {"scriptPathURI": "configmap://code", "entrypoint": "code/a.py"})
    first, second = await build(spec, sources), await build(spec, sources)
    assert first.sha256 == second.sha256
    assert first.size == len(first.content)
    changed = {"configmap://code": folder("code", {"b.py": "b", "a.py": "A"})}
    assert (await build(spec, changed)).sha256 != first.sha256


def test_archives_may_not_climb_out() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.py", "x")
    with pytest.raises(artifacts.ArtifactError, match="outside"):
        artifacts.unpack_archive("x.zip", buffer.getvalue())


# -- notebook ----------------------------------------------------------------------------


def notebook(*cells: tuple[str, list[str]]) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {"tags": tags},
                    "source": source,
                    "outputs": [],
                    "execution_count": None,
                }
                for source, tags in cells
            ]
            + [{"cell_type": "markdown", "metadata": {}, "source": "# note"}],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


async def test_notebook_driver_runs_cells_and_skips_excluded_tags(tmp_path: Path) -> None:
    text = notebook(
        ("x = 6 * 7\nprint('answer', x)", []),
        ("raise RuntimeError('skipped')", ["skip"]),
        ("%matplotlib inline\n!echo shell-escape\nprint('done', x)", []),
    )
    spec = job("notebook", {"notebookPathURI": "configmap://nb/a.ipynb", "excludeTags": ["skip"]})
    artifact = await build(spec, {"configmap://nb/a.ipynb": single("a.ipynb", text)})
    directory = unpack(artifact, tmp_path / "a")
    assert sorted(p.name for p in directory.iterdir()) == [
        "code",
        "driver_notebook.py",
        "driver_utils.py",
    ]
    env = job_env(spec)
    result = run(directory, env["JOB_RUN_ENTRYPOINT"], env, [], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "answer 42" in result.stdout
    assert "shell-escape" in result.stdout
    assert "done 42" in result.stdout
    assert "skipped" not in result.stdout + result.stderr


async def test_notebook_in_a_folder_and_a_failing_cell(tmp_path: Path) -> None:
    text = notebook(("print('before')", []), ("1 / 0", []), ("print('after')", []))
    spec = job("notebook", {"source": "configmap://work", "entrypoint": "sub.ipynb"})
    artifact = await build(spec, {"configmap://work": folder("work", {"sub.ipynb": text})})
    env = job_env(spec)
    assert env["JOB_RUN_NOTEBOOK"] == "work/sub.ipynb"
    result = run(unpack(artifact, tmp_path / "a"), "driver_notebook.py", env, [], tmp_path)
    assert result.returncode == 1
    assert "before" in result.stdout
    assert "ZeroDivisionError" in result.stderr
    assert "after" not in result.stdout


async def test_notebook_with_a_published_conda_pack_builds_without_a_region() -> None:
    conda = {"type": "published", "uri": "oci://packs@ns/pack_v1"}
    spec = job("notebook", {"notebookPathURI": "configmap://nb/a.ipynb", "conda": conda})
    artifact = await build(spec, {"configmap://nb/a.ipynb": single("a.ipynb", "{}")})
    assert artifact.file_name == "a.zip"


async def test_notebook_missing_from_its_source_is_an_error() -> None:
    spec = job("notebook", {"source": "configmap://work", "entrypoint": "nope.ipynb"})
    with pytest.raises(artifacts.ArtifactError, match="not in"):
        await build(spec, {"configmap://work": folder("work", {"a.ipynb": "{}"})})


# -- gitPython ---------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


@pytest.fixture
def repository(tmp_path: Path) -> tuple[Path, str]:
    """A repo whose ``feature`` branch has two commits; returns (path, first commit)."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    git("init", "--quiet", "-b", "main", str(repo), cwd=tmp_path)
    (repo / "app" / "run.py").write_text("print('main branch')\n")
    git("add", ".", cwd=repo)
    git("commit", "--quiet", "-m", "main", cwd=repo)
    git("checkout", "--quiet", "-b", "feature", cwd=repo)
    (repo / "app" / "run.py").write_text("import sys\nprint('feature v1', sys.argv[1:])\n")
    git("commit", "--quiet", "-am", "v1", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo)
    (repo / "app" / "run.py").write_text("print('feature v2')\n")
    git("commit", "--quiet", "-am", "v2", cwd=repo)
    git("checkout", "--quiet", "main", cwd=repo)
    return repo, first


@pytest.mark.parametrize(("use_commit", "expected"), [(True, "feature v1"), (False, "feature v2")])
async def test_git_driver_clones_branch_and_commit(
    tmp_path: Path, repository: tuple[Path, str], use_commit: bool, expected: str
) -> None:
    repo, first = repository
    runtime: dict[str, Any] = {
        "url": f"file://{repo}",
        "branch": "feature",
        "entrypoint": "app/run.py",
        "conda": CONDA,
    }
    if use_commit:
        runtime["commit"] = first
    spec = job("gitPython", runtime)
    artifact = await build(spec, {})
    assert artifact.file_name == "ads_driver.zip"
    env = {**job_env(spec), "CODE_DIR": str(tmp_path / "code")}
    result = run(
        unpack(artifact, tmp_path / "a"), env["JOB_RUN_ENTRYPOINT"], env, ["arg"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert "checked out" in result.stderr


# -- pyTorchDistributed --------------------------------------------------------------------


async def test_pytorch_driver_runs_the_launch_command(tmp_path: Path) -> None:
    command = (
        f'{sys.executable} -c \'import os, sys; print("node", os.environ["NODE_RANK"],'
        ' "of", os.environ["NODE_COUNT"], sys.argv[1:])\''
    )
    spec = job(
        "pyTorchDistributed",
        {"scriptPathURI": "configmap://ddp", "command": command, "conda": CONDA},
    )
    artifact = await build(spec, {"configmap://ddp": folder("ddp", {"train.py": "pass\n"})})
    directory = unpack(artifact, tmp_path / "a")
    assert (directory / "code" / "ddp" / "train.py").is_file()
    env = job_env(spec)
    result = run(directory, env["JOB_RUN_ENTRYPOINT"], env, ["--lr", "1"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "node 0 of 1 ['--lr', '1']" in result.stdout


@pytest.mark.parametrize("kind", sorted(artifacts.DRIVERS))
def test_an_artifact_holds_every_driver_its_drivers_import(kind: RuntimeType) -> None:
    """In the job the drivers import each other as sibling files: one missing from the
    artifact is an ImportError there (issue 18: pyTorch's lacked driver_notebook.py)."""
    shipped = set(artifacts.DRIVERS[kind])
    for name, source in artifacts.driver_files(artifacts.DRIVERS[kind]).items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported = {alias.name for alias in node.names} | {node.module or ""}
            else:
                continue
            siblings = {f"{n}.py" for n in imported if n.startswith("driver_")}
            assert siblings <= shipped, f"{name} in {kind.value}: {siblings - shipped}"


async def test_pytorch_driver_runs_a_notebook_entrypoint(tmp_path: Path) -> None:
    """Issue 18: without a command the entrypoint runs like the python runtime's, a
    notebook included; the artifact lacked the notebook driver (ImportError in the job)."""
    text = notebook(("print('prepared', 6 * 7)", []))
    spec = job(
        "pyTorchDistributed",
        {"scriptPathURI": "configmap://ddp", "entrypoint": "ddp/prepare.ipynb", "conda": CONDA},
    )
    artifact = await build(spec, {"configmap://ddp": folder("ddp", {"prepare.ipynb": text})})
    directory = unpack(artifact, tmp_path / "a")
    env = job_env(spec)
    result = run(directory, env["JOB_RUN_ENTRYPOINT"], env, [], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "prepared 42" in result.stdout


# -- outputs -------------------------------------------------------------------------------


class RecordingObjectStorage:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], bytes] = {}

    def put_object(self, namespace: str, bucket: str, name: str, body: Any) -> None:
        self.objects[(namespace, bucket, name)] = body.read()


def test_outputs_are_copied_under_the_prefix_with_variables_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "model.bin").write_bytes(b"\x00\x01")
    (out / "sub" / "metrics.json").write_text("{}")
    monkeypatch.setenv("JOB_RUN_OCID", "ocid1.datasciencejobrun.oc1.iad.run1")
    client = RecordingObjectStorage()
    count = driver_utils.upload_directory(str(out), "oci://results@ns/runs/$JOB_RUN_OCID/", client)
    assert count == 2
    assert client.objects == {
        ("ns", "results", "runs/ocid1.datasciencejobrun.oc1.iad.run1/model.bin"): b"\x00\x01",
        ("ns", "results", "runs/ocid1.datasciencejobrun.oc1.iad.run1/sub/metrics.json"): b"{}",
    }


def test_arguments_split_like_ads_builds_them() -> None:
    assert driver_utils.split_arguments(["a", "--k", "v", "--flag", "--x-y", "1"]) == (
        ["a"],
        {"k": "v", "flag": None, "x_y": "1"},
    )
    with pytest.raises(ValueError, match="bucket@namespace"):
        driver_utils.parse_oci_uri("oci://bucket/prefix")


# -- pyTorchDistributed on several nodes ---------------------------------------------------

DRIVERS_DIR = Path(driver_utils.__file__).parent


@pytest.fixture
def driver_pytorch(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The driver imported the way it runs: as a top-level module next to its siblings."""
    monkeypatch.syspath_prepend(str(DRIVERS_DIR))
    import importlib

    return importlib.import_module("driver_pytorch")


def test_launch_command_adds_only_missing_cluster_arguments(driver_pytorch: Any) -> None:
    launch = driver_pytorch.launch_command
    assert launch("torchrun train.py --lr 1", 1, 2, "10.0.0.5", 4) == (
        "torchrun --nnodes=2 --nproc-per-node=4 --rdzv-backend=c10d "
        "--rdzv-endpoint=10.0.0.5:29400 train.py --lr 1"
    )
    assert launch("torchrun --nnodes=$NODE_COUNT --nproc_per_node 8 t.py", 0, 2, "h", 1) == (
        "torchrun --rdzv-backend=c10d --rdzv-endpoint=h:29400 --nnodes=$NODE_COUNT "
        "--nproc_per_node 8 t.py"
    )
    assert launch("accelerate launch --num_machines 2 t.py", 1, 2, "h", 1) == (
        "accelerate launch --machine_rank=1 --main_process_ip=h --main_process_port=29400 "
        "--num_machines 2 t.py"
    )
    assert launch("python t.py", 0, 1, "h", 1) == "python t.py"


def test_cluster_layout_finds_this_nodes_rank_from_the_metadata(
    driver_pytorch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metadata = tmp_path / "nodes.json"
    # 192.0.2.0/24 is TEST-NET-1: never a local address, and nothing is sent to it.
    metadata.write_text(
        json.dumps([{"Rank": 1, "IPAddress": "127.0.0.1"}, {"Rank": 0, "IPAddress": "192.0.2.10"}])
    )
    monkeypatch.setenv("CLUSTER_NODES_METADATA_FILE", str(metadata))
    monkeypatch.setenv("INITIAL_CLUSTER_SIZE", "2")
    monkeypatch.delenv("NODE_RANK", raising=False)
    assert driver_pytorch.cluster_layout() == (1, 2, "192.0.2.10")


def test_cluster_layout_takes_the_rank_the_service_gives(
    driver_pytorch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nodes sharing one host (the emulator's, on loopback) all own every address listed:
    the rank is the service's ``NODE_RANK``, as ADS's driver takes it."""
    metadata = tmp_path / "nodes.json"
    metadata.write_text(
        json.dumps([{"Rank": 0, "IPAddress": "127.9.9.1"}, {"Rank": 1, "IPAddress": "127.9.9.2"}])
    )
    monkeypatch.setenv("CLUSTER_NODES_METADATA_FILE", str(metadata))
    monkeypatch.setenv("INITIAL_CLUSTER_SIZE", "2")
    monkeypatch.setenv("NODE_RANK", "1")
    assert driver_pytorch.cluster_layout() == (1, 2, "127.9.9.1")


def test_cluster_layout_gives_up_when_nodes_never_appear(
    driver_pytorch: Any, tmp_path: Path
) -> None:
    metadata = tmp_path / "nodes.json"
    metadata.write_text("[]")
    with pytest.raises(RuntimeError, match="0 of 2 nodes"):
        driver_pytorch.read_cluster(str(metadata), 2, timeout=0)


async def test_pytorch_driver_passes_the_cluster_to_torchrun(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "torchrun"
    fake.write_text('#!/bin/sh\necho "torchrun $* rank=$NODE_RANK master=$MASTER_ADDR"\n')
    fake.chmod(0o755)
    metadata = tmp_path / "nodes.json"
    metadata.write_text(
        json.dumps([{"Rank": 0, "IPAddress": "192.0.2.10"}, {"Rank": 1, "IPAddress": "127.0.0.1"}])
    )
    spec = job(
        "pyTorchDistributed",
        {
            "scriptPathURI": "configmap://ddp",
            "replicas": 2,
            "command": "torchrun ddp/train.py",
            "conda": CONDA,
        },
    )
    artifact = await build(spec, {"configmap://ddp": folder("ddp", {"train.py": "pass\n"})})
    env = {
        **job_env(spec),
        "CLUSTER_NODES_METADATA_FILE": str(metadata),
        "INITIAL_CLUSTER_SIZE": "2",
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    directory = unpack(artifact, tmp_path / "a")
    result = run(directory, "driver_pytorch.py", env, [], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "torchrun --nnodes=2 --nproc-per-node=1 --rdzv-backend=c10d "
        "--rdzv-endpoint=192.0.2.10:29400 ddp/train.py rank=1 master=192.0.2.10"
    )
