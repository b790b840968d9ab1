"""`make demo` is the README's first command: it must take the hello-world run to Succeeded."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_hello_world_to_success_and_down_stops_everything(tmp_path: Path) -> None:
    env = {**os.environ, "ADS_OPERATOR_DEMO_DIR": str(tmp_path / "demo")}
    env.pop("KUBECONFIG", None)
    try:
        up = subprocess.run(
            [str(REPO / "hack" / "demo"), "up"],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
        assert up.returncode == 0, up.stdout + up.stderr
        assert "The run ended Succeeded" in up.stdout
        # The Events a user sees: the transitions and the script's own output lines.
        assert "SUCCEEDED" in up.stdout
        assert "Hello, Kubernetes!" in up.stdout
        assert "Howdy from job run ocid1.datasciencejobrun." in up.stdout
    finally:
        down = subprocess.run(
            [str(REPO / "hack" / "demo"), "down"],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
    assert down.returncode == 0, down.stderr
    for name in ("ads-operator", "oci-emulator", "kube-apiserver", "etcd"):
        assert f"stopped {name}" in down.stdout
    assert not (tmp_path / "demo" / "controlplane").exists()
