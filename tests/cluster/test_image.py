"""The operator image that `make image` builds, inspected from its OCI archive.

The archive (``dist/image/ads-operator.oci.tar``, or ``$ADS_OPERATOR_IMAGE_ARCHIVE``) is
what the node loads into containerd, so this reads it the way a runtime would: the index
names the image, the manifest lists the layers, the config holds user and entrypoint. The
layers are unpacked in order, whiteouts applied, into a root file system, which is then
searched for what must not be there (a compiler, pip, test code, the emulator) and run
with ``chroot`` as the image's user to show that ``ads-operator`` starts. Needs root (to
chroot), like the rest of this tier.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = Path(
    os.environ.get("ADS_OPERATOR_IMAGE_ARCHIVE", ROOT / "dist" / "image" / "ads-operator.oci.tar")
)
VENV = PurePosixPath("/opt/ads-operator")
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class Image:
    index: dict[str, Any]
    manifest: dict[str, Any]
    config: dict[str, Any]
    rootfs: Path

    def path(self, inside: str | PurePosixPath) -> Path:
        return self.rootfs / str(inside).lstrip("/")

    def names(self, directory: str | PurePosixPath) -> set[str]:
        """File names in a directory of the image (none when it does not exist)."""
        path = self.path(directory)
        return {p.name for p in path.iterdir()} if path.is_dir() else set()

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """``argv`` in the image: its user, its environment, its root (no network needed)."""
        user = self.config["config"]["User"]
        env = dict(item.partition("=")[::2] for item in self.config["config"]["Env"])
        return subprocess.run(
            ["chroot", f"--userspec={user}", str(self.rootfs), "/usr/bin/env", "-i"]
            + [f"{k}={v}" for k, v in env.items()]
            + list(argv),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _blob(tar: tarfile.TarFile, digest: str) -> bytes:
    member = tar.extractfile(f"blobs/{digest.replace(':', '/')}")
    assert member is not None, f"{digest} is missing from {ARCHIVE}"
    return member.read()


def _apply_layer(layer: tarfile.TarFile, rootfs: Path) -> None:
    """One layer onto ``rootfs`` as the OCI image spec says: whiteouts delete, files land."""
    regular: list[tarfile.TarInfo] = []
    for member in layer.getmembers():
        name = PurePosixPath(member.name)
        parent = rootfs / str(name.parent)
        if name.name == OPAQUE:
            for child in parent.iterdir() if parent.is_dir() else ():
                shutil.rmtree(
                    child
                ) if child.is_dir() and not child.is_symlink() else child.unlink()
        elif name.name.startswith(WHITEOUT):
            gone = parent / name.name.removeprefix(WHITEOUT)
            if gone.is_dir() and not gone.is_symlink():
                shutil.rmtree(gone)
            elif gone.exists() or gone.is_symlink():
                gone.unlink()
        else:
            target = rootfs / str(name)
            if (target.is_symlink() or target.is_file()) and not member.isdir():
                target.unlink()
            regular.append(member)
    # The "tar" filter refuses any member that would land outside rootfs (absolute names,
    # "..", or a path through a symlink pointing out), so the host is never written to.
    layer.extractall(rootfs, members=regular, numeric_owner=True, filter="tar")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    if not ARCHIVE.is_file():
        pytest.fail(f"{ARCHIVE} is missing: run `make image` first", pytrace=False)
    rootfs = tmp_path_factory.mktemp("image") / "rootfs"
    rootfs.mkdir()
    with tarfile.open(ARCHIVE) as tar:
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        (entry,) = index["manifests"]
        manifest = json.loads(_blob(tar, entry["digest"]))
        config = json.loads(_blob(tar, manifest["config"]["digest"]))
        for descriptor in manifest["layers"]:
            data = _blob(tar, descriptor["digest"])
            if descriptor["mediaType"].endswith("gzip"):
                data = gzip.decompress(data)
            with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                _apply_layer(layer, rootfs)
    return Image(index, manifest, config, rootfs)


def test_the_index_names_the_image_for_containerd_and_oci_tools(image: Image) -> None:
    (entry,) = image.index["manifests"]
    name = entry["annotations"]["io.containerd.image.name"]
    assert name.startswith("localhost/ads-operator:")
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == name


def test_the_config_runs_ads_operator_as_user_10001(image: Image) -> None:
    config = image.config["config"]
    assert image.config["os"] == "linux"
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["ads-operator", "run"]
    assert "--all-namespaces" in config["Cmd"]
    assert any(e.startswith(f"PATH={VENV}/bin:") for e in config["Env"])
    assert set(config["ExposedPorts"]) == {"8080/tcp", "9090/tcp"}


def test_the_layers_are_few_and_all_diff_ids_are_accounted_for(image: Image) -> None:
    """Base, the runtime stage's RUN (user, pip removed) and the copied virtualenv."""
    assert len(image.manifest["layers"]) == len(image.config["rootfs"]["diff_ids"]) == 3


def test_no_compiler(image: Image) -> None:
    assert "python3" in image.names("usr/bin"), "the directories searched must be the real ones"
    for directory in ("usr/bin", "usr/local/bin", f"{VENV}/bin"):
        names = image.names(directory)
        compilers = {n for n in names if n in {"cc", "c++", "gcc", "g++", "ld", "as", "make"}}
        compilers |= {n for n in names if n.endswith(("-gcc", "-g++")) or n.startswith("gcc-")}
        assert not compilers, f"/{directory} holds {sorted(compilers)}"
    assert not image.path("usr/lib/gcc").exists()


def test_no_pip_anywhere_python_looks(image: Image) -> None:
    for directory in ("usr/bin", "usr/local/bin", f"{VENV}/bin"):
        pips = sorted(n for n in image.names(directory) if n.startswith("pip"))
        assert not pips, f"/{directory} holds {pips}"
    proc = image.run("python", "-c", "import pip")
    assert proc.returncode != 0, "pip is importable in the image"
    assert "No module named 'pip'" in proc.stderr


def test_no_test_code_no_emulator_no_sources(image: Image) -> None:
    site = image.path(VENV / "lib" / "python3.11" / "site-packages")
    assert (site / "ads_operator" / "cli.py").is_file()
    assert not (site / "oci_emulator").exists(), "the emulator is a dev tool, not shipped"
    assert not (site / "tests").exists()
    assert not image.path("src").exists(), "the build stage's sources reached the image"
    ours = list((site / "ads_operator").rglob("test_*.py"))
    ours += list(image.rootfs.rglob("conftest.py"))
    assert not ours, ours


def test_ads_operator_runs_in_the_image_as_its_user(image: Image) -> None:
    proc = image.run("ads-operator", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout
    entrypoint = image.config["config"]["Entrypoint"]
    proc = image.run(*entrypoint, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--all-namespaces" in proc.stdout
    proc = image.run(
        "python", "-c", "import os, ads_operator; print(os.getuid(), ads_operator.__file__)"
    )
    assert proc.returncode == 0, proc.stderr
    uid, where = proc.stdout.split()
    assert uid == "10001"
    assert where.startswith(f"{VENV}/")


def test_the_emulator_command_explains_it_is_not_shipped(image: Image) -> None:
    proc = image.run("ads-operator", "emulator")
    assert proc.returncode == 2
    assert "not installed" in proc.stderr
    assert "Traceback" not in proc.stderr
