"""``kubectl ads`` through the real kubectl: kubectl finds ``kubectl-ads`` (installed with
the package into the venv's bin) on PATH and runs it against the test's cluster, with
the operator and the OCI emulator running the job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hack import buildtools

from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import Kube, scripted_job

#: Where the package's console scripts are (``make venv`` installs ``kubectl-ads`` there).
PLUGIN_DIR = Path(sys.executable).parent

HELLO = """import os, sys
print("Hello, " + (sys.argv[1] if len(sys.argv) > 1 else "world") + "!")
print(os.environ.get("GREETING", "no greeting"))
"""


def kubectl(
    kube: Kube, *args: str, timeout: float = 120, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl with the plugin's directory on PATH."""
    assert (PLUGIN_DIR / "kubectl-ads").is_file(), "kubectl-ads is not installed: make venv"
    env = kube.cluster.env(extra_env)
    env["PATH"] = os.pathsep.join([str(PLUGIN_DIR), env["PATH"]])
    return subprocess.run(
        [str(buildtools.find_binary("kubectl")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def kubectl_ads(
    kube: Kube, *args: str, timeout: float = 120, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``kubectl ads <args>`` as a user types it (``-n`` given, as kubectl users do)."""
    return kubectl(kube, "ads", *args, "-n", kube.namespace, timeout=timeout, extra_env=extra_env)


def test_run_wait_succeeds_then_status_logs_and_rerun(
    kube: Kube, operator: OperatorProcess, log_group: str, operator_env: dict[str, str]
) -> None:
    kube.apply(*scripted_job("hello-world", HELLO, log_group=log_group))
    kube.wait("dsjob/hello-world", "Ready")
    done = kubectl_ads(
        kube, "run", "hello-world", "--name", "hw-1", "--args", "Kubernetes",
        "--env", "GREETING=Howdy", "--wait",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dsjobrun/hw-1 created\n")
    progress = done.stdout.splitlines()[1:]
    assert progress[0] == "dsjobrun/hw-1: Pending"
    assert progress[-1].startswith("dsjobrun/hw-1: Succeeded (SUCCEEDED")
    run = kube.cluster.get("dsjobrun", "hw-1", kube.namespace)
    assert run["spec"] == {
        "jobRef": {"name": "hello-world"},
        "args": "Kubernetes",
        "envVars": {"GREETING": "Howdy"},
    }
    meta: dict[str, object] = run["metadata"]
    assert meta["labels"] == {"ads.oci.dev/job": "hello-world"}
    assert [o["name"] for o in meta["ownerReferences"]] == ["hello-world"]

    def screen_with_lines() -> str | None:
        shown = kubectl_ads(kube, "status", "hw-1")
        assert shown.returncode == 0, shown.stderr
        return shown.stdout if "Hello, Kubernetes!" in shown.stdout else None

    screen = kube.wait_until(screen_with_lines, "the run's log lines on the status screen")
    assert "Phase:      Succeeded" in screen
    assert "Exit code:  0" in screen
    assert "Howdy" in screen
    assert "OCI run:    ocid1.datasciencejobrun." in screen

    # ``logs`` is ``ads-operator logs``: OCI Logging read with the user's OCI config
    oci = {k: v for k, v in operator_env.items() if k.startswith("ADS_OPERATOR_OCI_")}
    logged = kubectl_ads(kube, "logs", "hw-1", "-f", extra_env=oci)
    assert logged.returncode == 0, logged.stderr
    printed = [line.split(" - ", 1)[1] for line in logged.stdout.splitlines()]
    assert [p for p in printed if not p.startswith("Job Run")] == ["Hello, Kubernetes!", "Howdy"]
    assert printed[-1].startswith("Job Run SUCCEEDED")

    again = kubectl_ads(kube, "rerun", "hw-1", "--name", "hw-2", "--wait")
    assert again.returncode == 0, again.stderr
    rerun = kube.cluster.get("dsjobrun", "hw-2", kube.namespace)
    assert rerun["spec"] == run["spec"]
    assert rerun["metadata"]["annotations"]["ads.oci.dev/rerun-of"] == "hw-1"


def test_run_wait_fails_with_the_runs_reason_and_bad_input_is_one_line(
    kube: Kube, operator: OperatorProcess, log_group: str
) -> None:
    fail = "import sys\nprint('bad input')\nsys.exit(3)\n"
    kube.apply(*scripted_job("fail", fail, log_group=log_group))
    kube.wait("dsjob/fail", "Ready")
    failed = kubectl_ads(kube, "run", "fail", "--wait")
    assert failed.returncode == 1
    (line,) = failed.stderr.splitlines()
    assert "Failed: ExitCode3" in line
    assert "exit code 3" in line
    name = failed.stdout.split()[0].removeprefix("dsjobrun/")
    screen = kubectl_ads(kube, "status", name).stdout
    assert "Exit code:  3" in screen
    assert "Reason:     ExitCode3" in screen

    missing = kubectl_ads(kube, "run", "no-such-job")
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        f"kubectl ads run: dsjob/no-such-job not found in namespace {kube.namespace}"
    ]
    malformed = kubectl_ads(kube, "run", "fail", "--env", "NOEQUALS")
    assert malformed.returncode == 2
    assert malformed.stderr.splitlines() == [
        "kubectl ads run: --env 'NOEQUALS': expected NAME=VALUE"
    ]


def test_cancel_ends_the_run_canceled(
    kube: Kube, operator: OperatorProcess, log_group: str
) -> None:
    slow = "import time\nprint('started', flush=True)\ntime.sleep(120)\n"
    kube.apply(*scripted_job("slow", slow, log_group=log_group))
    kube.wait("dsjob/slow", "Ready")
    started = kubectl_ads(kube, "run", "slow", "--name", "slow-1")
    assert started.returncode == 0, started.stderr
    kube.wait_phase("slow-1", "Running")
    canceled = kubectl_ads(kube, "cancel", "slow-1")
    assert (canceled.returncode, canceled.stdout) == (0, "dsjobrun/slow-1 cancel requested\n"), (
        canceled.stderr
    )
    waited = kubectl_ads(kube, "rerun", "slow-1", "--name", "slow-2")
    assert waited.returncode == 0
    assert kube.cluster.get("dsjobrun", "slow-2", kube.namespace)["spec"] == {
        "jobRef": {"name": "slow"}
    }  # the rerun does not inherit the cancel
    kubectl_ads(kube, "cancel", "slow-2")
    kube.wait_phase("slow-1", "Canceled")
    assert "Phase:      Canceled" in kubectl_ads(kube, "status", "slow-1").stdout
    assert kubectl_ads(kube, "cancel", "nope").returncode == 1
    # kubectl's own completion asks kubectl_complete-ads for the names (kubectl >= 1.26)
    offered = kubectl(kube, "__complete", "ads", "-n", kube.namespace, "status", "slow-")
    assert offered.stdout.splitlines()[:2] == ["slow-1", "slow-2"], offered.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_is_printed(kube: Kube, shell: str) -> None:
    shown = kubectl_ads(kube, "completion", shell)
    assert shown.returncode == 0
    assert "kubectl_complete-ads" in shown.stdout
