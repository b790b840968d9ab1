"""`make demo` is the README's first command: it must take the hello-world run to Succeeded,
run every other example that can succeed here, and print next commands that work as
printed (the README's first hour)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hack import demo

REPO = Path(__file__).resolve().parents[2]
SUCCEEDED_DETAILS = "Job run artifact execution succeeded. Infrastructure de-provisioning."


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
        # The examples go where their headers send them (no -n: namespace default).
        assert "kubectl apply -f examples/hello-world.yaml" in up.stdout
        for example in sorted((REPO / "examples").glob("*.yaml")):
            if demo.example_needs(example):
                assert f"skipping examples/{example.name}: it needs" in up.stdout
            elif example.name != "hello-world.yaml":
                assert f"({example.name}): Succeeded" in up.stdout, example.name
        # The next commands, as printed, after the printed `eval "$(hack/demo env)"`.
        assert 'eval "$(hack/demo env)"' in up.stdout
        exports = subprocess.run(
            [str(REPO / "hack" / "demo"), "env"],
            capture_output=True, text=True, env=env, timeout=60, check=True,
        ).stdout  # fmt: skip
        shell = {**env, "PATH": os.environ["PATH"]}
        for command in [
            "kubectl describe dsjobrun hello-world-run",
            "ads-operator logs hello-world-run -f",
            "kubectl apply -f examples/python-job.yaml",
        ]:
            assert f"  {command}" in up.stdout
            done = subprocess.run(
                ["bash", "-c", f"{exports}\n{command}"],
                capture_output=True, text=True, env=shell, cwd=REPO, timeout=120, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert "Traceback" not in done.stderr
            if "logs" in command:
                assert "Hello, Kubernetes!" in done.stdout
                assert done.stdout.rstrip().endswith("Job Run SUCCEEDED, " + SUCCEEDED_DETAILS)
    finally:
        down = subprocess.run(
            [str(REPO / "hack" / "demo"), "down"],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
    assert down.returncode == 0, down.stderr
    for name in ("ads-operator", "oci-emulator", "kube-apiserver", "etcd"):
        assert f"stopped {name}" in down.stdout
    assert not (tmp_path / "demo" / "controlplane").exists()
