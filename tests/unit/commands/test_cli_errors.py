"""Every `ads-operator` error a user can cause is one line that names the problem and
what to do, with a non-zero exit code, never a traceback.

The commands run as processes (as a user runs them), each with bad arguments or a bad
environment: a missing or unreadable file, no Kubernetes configuration, no OCI config.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ads_operator import cli
from ads_operator.commands import logs

ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str, home: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(home),  # no ~/.oci/config, no ~/.kube/config
        "KUBECONFIG": str(home / "missing-kubeconfig"),
    }
    env = {k: v for k, v in env.items() if not k.startswith("ADS_OPERATOR_")}
    return subprocess.run(
        [sys.executable, "-m", "ads_operator.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=60,
        check=False,
    )


def _bad_invocations(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (arguments, a phrase the one-line error must contain)."""
    (tmp / "bad.yaml").write_text("kind: job\nspec: [unclosed\n")
    (tmp / "unknown-field.yaml").write_text(
        "kind: job\nspec:\n  name: x\n  infrastructure: {kind: infrastructure, type: x}\n"
    )
    (tmp / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    example = str(ROOT / "examples" / "hello-world.yaml")
    return {
        "convert-missing-file": (["convert", "/nonexistent"], "cannot read /nonexistent"),
        "convert-directory": (["convert", str(tmp)], "Is a directory"),
        "convert-not-yaml": (["convert", str(tmp / "bad.yaml")], "is not valid YAML"),
        "convert-not-utf8": (["convert", str(tmp / "binary.yaml")], "cannot read"),
        "convert-invalid-job": (["convert", str(tmp / "unknown-field.yaml")], "spec."),
        "convert-unwritable-output": (
            ["convert", example, "-o", "/nonexistent/out.yaml"],
            "cannot write /nonexistent/out.yaml",
        ),
        "convert-nothing-to-convert": (["convert", "-"], "no ADS job"),
        "logs-no-kubeconfig": (["logs", "some-run", "-n", "demo"], "KUBECONFIG"),
        "logs-remote-endpoint": (
            ["logs", "r", "--oci-endpoint", "http://10.1.2.3:80"],
            "not a loopback address",
        ),
        "logs-no-run-name": (["logs"], "the following arguments are required: run"),
        "logs-bad-grace": (["logs", "r", "--grace", "-1"], "expected seconds from 0 to 3600"),
        "run-no-scope": (["run"], "--namespace"),
        "run-no-kubeconfig": (["run", "-n", "demo"], "KUBECONFIG"),
        "crds-unwritable-root": (["crds", "--root", "/proc/nonexistent"], "cannot write"),
        "emulator-bad-db": (
            ["emulator", "--port", "0", "--db", "/nonexistent/dir/x.sqlite"],
            "cannot open the database",
        ),
        "emulator-bad-port": (["emulator", "--port", "x"], "invalid int value"),
        "unknown-command": (["bogus"], "invalid choice"),
    }


CASES = sorted(_bad_invocations(Path("/tmp")))


@pytest.mark.parametrize("case", CASES)
def test_bad_arguments_give_one_line_and_no_traceback(case: str, tmp_path: Path) -> None:
    args, phrase = _bad_invocations(tmp_path)[case]
    proc = _run(*args, home=tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [
        line
        for line in proc.stderr.splitlines()
        # argparse's usage lines, and the emulator's log format, are not the error itself
        if line.strip() and not line.startswith(("usage:", " ")) and " WARNING " not in line
    ]
    assert len(errors) == 1, proc.stderr
    assert phrase in errors[0], errors[0]


def test_logs_without_oci_config_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's case: the run exists, but ~/.oci/config does not (the port was built
    outside the command's error handling, so NotAuthorizedError came out as a traceback)."""

    async def get_resource(plural: str, namespace: str, name: str) -> dict[str, Any]:
        return {"spec": {"jobRef": {"name": "j"}}, "status": {"ocid": "ocid1.run"}}

    monkeypatch.setattr(logs, "configure", lambda **_: SimpleNamespace(get_resource=get_resource))
    monkeypatch.setenv("ADS_OPERATOR_OCI_CONFIG_FILE", str(tmp_path / "missing-config"))
    args = argparse.Namespace(
        run="r", namespace="demo", follow=False, oci_endpoint=None, oci_config=None
    )
    assert logs.main(args) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "missing-config" in line
    assert "--oci-config" in line
    assert "hack/demo env" in line


def test_logs_of_a_missing_run_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def get_resource(plural: str, namespace: str, name: str) -> None:
        return None

    monkeypatch.setattr(logs, "configure", lambda **_: SimpleNamespace(get_resource=get_resource))
    args = argparse.Namespace(
        run="nope", namespace="demo", follow=False, oci_endpoint=None, oci_config=None
    )
    assert asyncio.run(asyncio.to_thread(logs.main, args)) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "dsjobrun/nope not found in namespace demo" in line


def test_logs_with_the_cluster_down_says_so(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: down\n"
        "clusters: [{name: down, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: down, context: {cluster: down, user: u}}]\n"
        "users: [{name: u, user: {token: x}}]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADS_OPERATOR_")}
    proc = subprocess.run(
        [sys.executable, "-m", "ads_operator.cli", "logs", "some-run"],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert "cannot read dsjobrun/some-run" in line
    assert "check that the cluster is up" in line


def test_logs_reads_the_cluster_of_the_context_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--context`` (and ``--kubeconfig``) reach the client, and the namespace is that
    context's (it was refused as an unknown argument, and the current context used)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: here\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: here, context: {cluster: c, user: u, namespace: near}},"
        " {name: there, context: {cluster: c, user: u, namespace: far}}]\n"
        "users: [{name: u, user: {token: x}}]\n"
    )
    chosen: dict[str, Any] = {}

    async def get_resource(plural: str, namespace: str, name: str) -> None:
        return None

    def configure(**kwargs: Any) -> SimpleNamespace:
        chosen.update(kwargs)
        return SimpleNamespace(get_resource=get_resource)

    monkeypatch.setattr(logs, "configure", configure)
    argv = ["logs", "r", "--context", "there", "--kubeconfig", str(kubeconfig)]
    assert cli.main(argv) == 1
    assert chosen == {"kubeconfig": str(kubeconfig), "context": "there"}
    (line,) = capsys.readouterr().err.splitlines()
    assert "dsjobrun/r not found in namespace far" in line
