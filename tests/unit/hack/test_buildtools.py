"""hack/buildtools.py: pins come from go.mod, failures explain themselves, no half binaries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hack import buildtools


@pytest.mark.parametrize(
    ("go_mod", "module", "expected"),
    [
        ("module m\n\nrequire k8s.io/kubernetes v1.35.4\n", "k8s.io/kubernetes", "v1.35.4"),
        (
            "module m\n\nrequire (\n\tfoo v1.0.0\n\thelm.sh/helm/v3 v3.19.5\n)\n",
            "helm.sh/helm/v3",
            "v3.19.5",
        ),
    ],
)
def test_pins_are_read_from_go_mod(tmp_path: Path, go_mod: str, module: str, expected: str) -> None:
    path = tmp_path / "go.mod"
    path.write_text(go_mod)
    assert buildtools.pinned_version(path, module) == expected


def test_the_committed_pins_are_the_documented_versions() -> None:
    versions = {tool.name: tool.version for tool in buildtools.TOOLS}
    assert versions["kube"].startswith("v1.35.")
    assert versions["etcd"].startswith("v3.6.")
    assert versions["helm"].startswith("v3.")


def test_missing_go_toolchain_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(
        buildtools.ToolError, match="Go toolchain was not found on PATH; install Go"
    ):
        buildtools._go()


def test_a_failed_build_leaves_no_cached_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("go") is None:
        pytest.fail("this test needs the Go toolchain that the e2e tier needs anyway")
    modules = tmp_path / "modules"
    broken = modules / "broken"
    broken.mkdir(parents=True)
    (broken / "go.mod").write_text("module example.invalid/broken\n\ngo 1.25.0\n")
    (broken / "main.go").write_text("package main\n\nfunc main() { this does not compile }\n")
    monkeypatch.setattr(buildtools, "MODULES_DIR", modules)
    tool = buildtools.Tool(
        name="broken", module="example.invalid/broken", binaries=(buildtools.Binary("broken", "."),)
    )
    monkeypatch.setattr(buildtools.Tool, "version", property(lambda self: "v0.0.1"))
    cache = tmp_path / "cache"
    cache.mkdir()

    with pytest.raises(buildtools.ToolError, match="building broken failed") as failure:
        buildtools.build_tool(tool, cache, started=0.0)

    assert "What to do:" in str(failure.value)
    leftovers = [p.name for p in (cache / "broken-v0.0.1").iterdir()]
    assert leftovers == []
