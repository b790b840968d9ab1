"""The Argo CD snippet of docs/integrations.md, run as written (in the test's namespace
instead of ``argocd``): it adds both health scripts to an existing ``argocd-cm`` and leaves
that ConfigMap's other keys alone. What the scripts conclude is tests/e2e/test_kstatus.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.fixtures.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
KEY = "resource.customizations.health.ads.oci.dev_{}"


def argocd_snippet() -> str:
    """The first ``sh`` block under "## Argo CD" in docs/integrations.md."""
    doc = (ROOT / "docs" / "integrations.md").read_text()
    section = doc.split("\n## Argo CD\n", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "no sh block under ## Argo CD"
    return found.group(1)


def test_the_documented_argocd_cm_snippet_adds_both_health_scripts(
    cluster: Cluster, namespace: str
) -> None:
    cluster.kubectl(
        "create", "configmap", "argocd-cm", "-n", namespace, "--from-literal=url=https://cd.test"
    )
    snippet = argocd_snippet()
    assert "-n argocd " in snippet
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", snippet.replace("-n argocd ", f"-n {namespace} ")],
        cwd=ROOT,
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = cluster.get("configmap", "argocd-cm", namespace)["data"]
    assert isinstance(data, dict)
    for kind in ("DataScienceJob", "DataScienceJobRun"):
        script = ROOT / "integrations" / "argocd" / "ads.oci.dev" / kind / "health.lua"
        assert data[KEY.format(kind)] == script.read_text(), kind
    assert data["url"] == "https://cd.test"  # the rest of argocd-cm is left alone
