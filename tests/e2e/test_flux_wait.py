"""The Flux way, without Flux: apply ``integrations/flux/example/`` as a Kustomization does
(``kubectl apply -k``), then wait the way ``wait: true`` does, polling kstatus (computed by
``ads-kstatus``, i.e. ``sigs.k8s.io/cli-utils``) over every object applied until all are
Current or one is Failed.

The wait must end with the run's outcome, never earlier: every verdict seen before the
last is InProgress, from the first poll after the apply on. Before the operator's first
status write an object reads with the CRD's default ``status.observedGeneration: 0``,
behind its generation, which kstatus reads as InProgress (without it, kstatus would read
a status-less object as Current); see docs/integrations.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hack import buildtools

from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import Kube

EXAMPLE = Path(__file__).resolve().parents[2] / "integrations" / "flux" / "example"
FAILING = "import sys\nprint('giving up', flush=True)\nsys.exit(3)\n"
#: A kustomize overlay over the example whose script exits 3 (the run fails).
OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../example
configMapGenerator:
  - name: flux-hello
    behavior: replace
    files:
      - main.py
generatorOptions:
  disableNameSuffixHash: true
"""


def kustomization(tmp_path: Path, outcome: str) -> Path:
    """The example as is (a run that succeeds), or an overlay whose run fails."""
    base = tmp_path / "example"
    shutil.copytree(EXAMPLE, base)
    if outcome == "succeeds":
        return base
    overlay = tmp_path / "failing"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(OVERLAY)
    (overlay / "main.py").write_text(FAILING)
    return overlay


def aggregate(verdicts: list[str]) -> str:
    """What ``wait: true`` concludes from the objects' kstatus verdicts: Failed as soon as
    one is Failed, Current once all are, InProgress otherwise."""
    if "Failed" in verdicts:
        return "Failed"
    return "Current" if all(v == "Current" for v in verdicts) else "InProgress"


def kstatus_of(kube: Kube, directory: Path) -> tuple[str, dict[str, str]]:
    """One poll: the aggregate verdict over every object ``kubectl apply -k directory``
    applied, and each object's verdict."""
    listed = kube.kubectl("get", "-k", str(directory), "-o", "json").stdout
    done = subprocess.run(
        [str(buildtools.find_binary("ads-kstatus"))],
        input=listed,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    each = {}
    for line in done.stdout.splitlines():
        verdict = json.loads(line)
        each[f"{verdict['kind']}/{verdict['name']}"] = verdict["status"]
    return aggregate(list(each.values())), each


@pytest.mark.parametrize(("outcome", "expected"), [("succeeds", "Current"), ("fails", "Failed")])
def test_a_flux_style_wait_ends_with_the_runs_outcome(
    kube: Kube, operator: OperatorProcess, tmp_path: Path, outcome: str, expected: str
) -> None:
    directory = kustomization(tmp_path, outcome)
    kube.kubectl("apply", "-k", str(directory))
    seen: list[str] = []  # the aggregate verdicts, repeats collapsed

    def settled() -> dict[str, str] | None:
        verdict, each = kstatus_of(kube, directory)
        if not seen or seen[-1] != verdict:
            seen.append(verdict)
        return each if verdict in ("Current", "Failed") else None

    each = kube.wait_until(settled, f"kstatus Current or Failed ({outcome})", timeout=120)
    print(json.dumps({"seen": seen, "each": each}))
    assert len(seen) >= 2, seen  # something InProgress was seen first
    assert set(seen[:-1]) == {"InProgress"}, seen
    assert seen[-1] == expected, each
    run = kube.status("dsjobrun", "flux-hello-run")
    assert run.get("phase") == ("Succeeded" if outcome == "succeeds" else "Failed"), run
    assert each["DataScienceJob/flux-hello"] == "Current", each
    assert each["DataScienceJobRun/flux-hello-run"] == expected, each
