"""The chart README's quick start, run exactly as written.

The block between the ``quickstart:begin`` and ``quickstart:end`` markers of
charts/ads-operator/README.md is executed with bash (``-euo pipefail``) from the
repository root. It gets a control plane of its own, started here, because it installs
the chart with its CRDs (the shared session cluster has them from kubectl already, and a
Helm release cannot adopt them) and uses fixed namespace names. That makes this test the
proof that a plain ``helm install`` works, CRD templates included, that the operator then
runs with nothing but the chart's ServiceAccount token, and that the README is right.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hack import buildtools, localcluster

from tests.fixtures.cluster import Cluster
from tests.fixtures.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ads-operator"
README = CHART / "README.md"


def quickstart_script() -> str:
    text = README.read_text()
    match = re.search(
        r"<!-- quickstart:begin[^>]*-->\s*```sh\n(.*?)```\s*<!-- quickstart:end -->", text, re.S
    )
    assert match, "the quick start markers are missing from the chart README"
    return match.group(1)


@contextlib.contextmanager
def _control_plane(directory: Path) -> Iterator[Cluster]:
    """A control plane of the test's own, stopped (by PID) and discarded afterwards."""
    directory.mkdir(parents=True)
    try:
        instance = localcluster.up(directory)
    except localcluster.ControlPlaneError as exc:
        localcluster.down(directory)
        pytest.fail(f"could not start a control plane: {exc}")
    try:
        yield Cluster(instance.kubeconfig, instance.server, tuple(buildtools.bin_dirs()))
    finally:
        localcluster.down(directory)


@pytest.fixture
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with _control_plane(tmp_path_factory.mktemp("quickstart") / "controlplane") as cluster:
        yield cluster


def _stop_leftovers(directory: Path) -> None:
    """Processes the script started and did not stop (it failed half way): by PID only."""
    for pid_file in directory.glob("*/*.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def test_the_readme_quick_start_works_as_written(own_cluster: Cluster, tmp_path: Path) -> None:
    venv_bin = Path(sys.executable).parent
    env = own_cluster.env(
        {
            "TMPDIR": str(tmp_path),  # where the script's `mktemp -d` puts its files
            "PATH": os.pathsep.join([str(venv_bin), own_cluster.env()["PATH"]]),
        }
    )
    try:
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", quickstart_script()],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=480,
            check=False,
        )
    finally:
        _stop_leftovers(tmp_path)
    logs = "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted(tmp_path.glob("*/*.log"))
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{logs}"
    assert "condition met" in proc.stdout
    assert "system:serviceaccount:ads-system:ads-operator" in proc.stdout  # auth whoami
    assert "Forbidden" not in logs
    crds = own_cluster.kubectl("get", "crd", "-o", "name").stdout
    assert "datasciencejobs.ads.oci.dev" in crds, "helm uninstall keeps the CRDs"


def test_upgrade_manages_the_crds_and_uninstall_honours_keep(tmp_path: Path) -> None:
    """CRDs are release templates: an upgrade changes them, and keep=false lets them go."""
    with _control_plane(tmp_path / "controlplane") as cluster:
        cluster.kubectl("create", "namespace", "ads")
        install = ("--namespace", "ads", "--set", "oci.auth=instance_principal")
        cluster.helm("install", "ads", str(CHART), *install)
        crd = "datasciencejobruns.ads.oci.dev"
        annotations = cluster.get("crd", crd)["metadata"]["annotations"]  # type: ignore[index]
        assert annotations["helm.sh/resource-policy"] == "keep"

        cluster.helm("upgrade", "ads", str(CHART), *install, "--set", "crds.keep=false")
        annotations = cluster.get("crd", crd)["metadata"]["annotations"]  # type: ignore[index]
        assert "helm.sh/resource-policy" not in annotations

        cluster.helm("uninstall", "ads", "--namespace", "ads")

        def gone() -> bool:
            """True once the CRD is gone; until then an error that says how it stands (a
            timeout then shows it: it took over 60 s once, in a CI run under load)."""
            found = cluster.kubectl("get", "crd", crd, "-o", "json", check=False)
            if found.returncode != 0:
                return True
            body = json.loads(found.stdout)
            meta, status = body["metadata"], body.get("status") or {}
            raise AssertionError(
                f"deletionTimestamp={meta.get('deletionTimestamp')}"
                f" finalizers={meta.get('finalizers')} conditions={status.get('conditions')}"
            )

        wait_for(gone, timeout=120, what=f"{crd} to go with the release")
        # kopf's peering kinds come from the chart's crds/ folder: helm never deletes those.
        cluster.kubectl("get", "crd", "kopfpeerings.kopf.dev")
