"""hack/localnode.py: what a machine lacks is named with the way to install it; the
sandbox image archive is laid out as `ctr images import` reads it; the node's settings
keep everything on loopback."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest
from hack import localnode


def test_a_missing_runtime_names_each_part_its_package_and_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(localnode, "CNI_BIN_DIR", Path("/nonexistent"))
    missing = localnode.missing_runtime()
    assert {req.package for req in missing} >= {"containerd", "runc"}
    hint = localnode.runtime_hint(missing)
    assert "runc (OCI runtime): `runc` (Debian package runc)" in hint
    assert "`make node-tools` (or `hack/controlplane install-runtime`)" in hint
    assert "apt-get install -y containerd runc" in hint


def test_the_image_archive_is_an_oci_layout_naming_the_image(tmp_path: Path) -> None:
    binary = tmp_path / "ads-pause"
    binary.write_bytes(b"\x7fELF not really")
    archive = tmp_path / "image.tar"
    localnode.write_binary_image(binary, "localhost/ads-pause:test", archive)
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    (entry,) = index["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == "localhost/ads-pause:test"
    for name, data in files.items():  # every blob is stored under its own digest
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(files[f"blobs/sha256/{entry['digest'].split(':')[1]}"])
    config = json.loads(files[f"blobs/sha256/{manifest['config']['digest'].split(':')[1]}"])
    assert config["config"]["Entrypoint"] == ["/ads-pause"]


def test_kubelet_and_containerd_settings_stay_on_loopback(tmp_path: Path) -> None:
    paths = localnode.NodePaths.of(tmp_path)
    kubelet = localnode._kubelet_config(paths, tmp_path / "pki", 20001, 20002)
    assert kubelet["address"] == "127.0.0.1"
    assert kubelet["healthzBindAddress"] == "127.0.0.1"
    assert kubelet["readOnlyPort"] == 0
    assert kubelet["failCgroupV1"] is False
    containerd = localnode._containerd_config(paths)
    assert 'stream_server_address = "127.0.0.1"' in containerd
    assert "restrict_oom_score_adj = true" in containerd
    assert f'address = "{paths.socket}"' in containerd
    assert localnode.CNI_CONFLIST["plugins"] == [{"type": "loopback"}]
    assert localnode.discovery_env("https://127.0.0.1:34567") == {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "34567",
    }


def test_an_archive_names_its_images_for_load_image(tmp_path: Path) -> None:
    binary = tmp_path / "ads-pause"
    binary.write_bytes(b"binary")
    localnode.write_binary_image(binary, "localhost/x:1", tmp_path / "image.tar")
    assert localnode.archive_image_names(tmp_path / "image.tar") == ["localhost/x:1"]


def test_up_node_on_a_machine_without_the_runtime_starts_nothing_and_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hack import localcluster

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(localnode, "CNI_BIN_DIR", Path("/nonexistent"))
    directory = tmp_path / "instance"
    code = localcluster.main(["controlplane", "up", "--node", "--dir", str(directory)])
    assert code == 1
    err = capsys.readouterr().err
    assert "the node needs a container runtime this machine lacks" in err
    assert "containerd (container runtime): `containerd` (Debian package containerd)" in err
    assert "`make node-tools`" in err
    assert not directory.exists()  # nothing was started, not even etcd
