"""hack/buildimage.py's own logic, without building anything (the build is `make image`)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from hack import buildimage


def test_the_base_key_follows_the_recipe_and_nothing_else() -> None:
    recipe = buildimage.BaseRecipe()
    assert recipe.key() == buildimage.BaseRecipe().key()
    assert recipe.image == f"localhost/ads-operator-base:{recipe.key()}"
    for changed in (
        dataclasses.replace(recipe, packages=(*recipe.packages, "curl")),
        dataclasses.replace(recipe, customize=recipe.customize[:-1]),
        dataclasses.replace(recipe, revision=recipe.revision + 1),
    ):
        assert changed.key() != recipe.key()


def test_the_base_is_shaped_like_python_slim() -> None:
    recipe = buildimage.RECIPE
    assert {"python3", "python3-venv", "python-is-python3"} <= set(recipe.packages)
    assert not {"python3-pip", "build-essential", "gcc"} & set(recipe.packages)
    assert any("EXTERNALLY-MANAGED" in hook for hook in recipe.customize)
    assert '--aptopt=APT::Install-Recommends "false"' in recipe.options


def test_missing_tools_are_installed_with_apt_get_saying_what(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(
        buildimage.shutil,
        "which",
        lambda cmd: None if cmd == "mmdebstrap" else f"/usr/bin/{cmd}",
    )
    monkeypatch.setattr(buildimage.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        buildimage.subprocess,
        "run",
        lambda cmd, **kw: ran.append(cmd) or subprocess.CompletedProcess(cmd, 0),
    )
    buildimage.ensure_debian_packages(buildimage.Progress())
    assert [cmd[-1] for cmd in ran] == ["update", "mmdebstrap"]
    assert ran[1][:1] == ["/usr/bin/apt-get"]
    assert "install" in ran[1]
    assert (
        "installing Debian packages: mmdebstrap (apt-get update first)" in capsys.readouterr().out
    )


def test_without_root_the_error_names_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buildimage.shutil, "which", lambda cmd: None)
    monkeypatch.setattr(buildimage.os, "geteuid", lambda: 1000)
    with pytest.raises(buildimage.ImageError, match="apt-get install -y buildah mmdebstrap"):
        buildimage.ensure_debian_packages(buildimage.Progress())


def test_step_lines_name_the_images_a_build_used() -> None:
    lines = [
        "--> Using cache 0d3bd867e5204bb54da15e4a137e95a57305c154f611967dc8ebe25c69521863\n",
        "--> 06bdce96581\n",
        "[2/2] STEP 4/10: COPY --from=build ${VENV} ${VENV}\n",
        "Successfully tagged localhost/ads-operator:0.1.0\n",
    ]
    found = [m.group(1) for line in lines if (m := buildimage.STEP_IMAGE.match(line))]
    assert found == [
        "0d3bd867e5204bb54da15e4a137e95a57305c154f611967dc8ebe25c69521863",
        "06bdce96581",
    ]


def _archive(path: Path, name: str, layers: list[bytes]) -> Path:
    """A minimal OCI archive as buildimage.export writes it (uncompressed layers)."""
    blobs: dict[str, bytes] = {}

    def add(data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return digest

    config = json.dumps({"rootfs": {"diff_ids": []}}).encode()
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "config": {"digest": add(config), "size": len(config)},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": add(layer)}
            for layer in layers
        ],
    }
    manifest_bytes = json.dumps(manifest).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "digest": add(manifest_bytes),
                "annotations": {
                    buildimage.CONTAINERD_NAME: name,
                    buildimage.OCI_REF_NAME: name,
                },
            }
        ],
    }
    with tarfile.open(path, "w") as tar:
        for member, data in [
            ("index.json", json.dumps(index).encode()),
            *((f"blobs/{d.replace(':', '/')}", b) for d, b in blobs.items()),
        ]:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_an_archive_that_already_holds_the_image_is_recognised(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a.tar", "localhost/ads-operator:1", [b"x" * 10, b"y" * 5])
    with tarfile.open(archive) as tar:
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        manifest_name = "blobs/" + index["manifests"][0]["digest"].replace(":", "/")
        manifest = json.loads(tar.extractfile(manifest_name).read())  # type: ignore[union-attr]
        config_id = manifest["config"]["digest"].removeprefix("sha256:")
    assert buildimage.archived_image_id(archive, "localhost/ads-operator:1") == config_id
    assert buildimage.archived_image_id(archive, "localhost/ads-operator:2") is None
    assert buildimage.archived_image_id(tmp_path / "missing.tar", "x") is None
    summary = buildimage.summarize(archive)
    assert summary.reference == "localhost/ads-operator:1"
    assert summary.layers == 2
    assert summary.uncompressed == 15


@pytest.mark.parametrize("tag", ["", "-x", "a b", "v1/2", "x" * 129])
def test_a_bad_tag_is_refused_before_anything_runs(
    tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buildimage, "ensure_debian_packages", lambda say: pytest.fail("ran"))
    with pytest.raises(buildimage.ImageError, match="not a valid image tag"):
        buildimage.build_image(tag)


def test_the_default_tag_is_the_package_version() -> None:
    from ads_operator import __version__

    assert buildimage.package_version() == __version__
    assert buildimage.TAG.fullmatch(__version__)
