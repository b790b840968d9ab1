"""The Argo CD health checks are their one source rendered (``hack/argocd_health.py``):
an edit of a generated script, or of the source without writing the scripts, fails here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hack import argocd_health


@pytest.mark.parametrize("kind", argocd_health.KINDS)
def test_each_health_script_is_its_source_rendered(kind: str) -> None:
    assert argocd_health.target(kind).read_text() == argocd_health.render(kind), (
        "run python -m hack.argocd_health"
    )


def test_the_common_part_is_in_both_scripts_with_the_kinds_verb() -> None:
    common = (argocd_health.ARGOCD / "src" / "common.lua").read_text()
    for kind, verb in (("DataScienceJob", "reconcile"), ("DataScienceJobRun", "observe")):
        script = argocd_health.target(kind).read_text()
        assert common.replace("@VERB@", verb) in script, kind
        assert "@" not in script, kind


def test_check_fails_on_drift_and_writing_mends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "integrations" / "argocd"
    shutil.copytree(argocd_health.ARGOCD, copy)
    monkeypatch.setattr(argocd_health, "ARGOCD", copy)
    assert argocd_health.main(["--check"]) == 0
    edited = argocd_health.target("DataScienceJobRun")
    edited.write_text(edited.read_text().replace('"Suspended"', '"Healthy"'))
    assert argocd_health.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "integrations/argocd/ads.oci.dev/DataScienceJobRun/health.lua differs" in out
    assert argocd_health.main([]) == 0
    assert argocd_health.main(["--check"]) == 0
    assert '"Suspended"' in edited.read_text()
