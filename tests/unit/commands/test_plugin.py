"""``kubectl ads``: its command line, the runs it creates, its completion and the status
screen, without a cluster (tests/e2e/test_kubectl_plugin.py drives it through kubectl)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ads_operator import __version__
from ads_operator.commands import plugin, plugin_completion, plugin_screen

JOB = {"metadata": {"name": "hello-world", "uid": "u-1", "namespace": "ns"}, "spec": {}}


def test_connection_flags_are_read_before_or_after_the_subcommand() -> None:
    parser = plugin.build_parser()
    before = parser.parse_args(["-n", "team", "--context", "c", "status", "r1"])
    after = parser.parse_args(["status", "r1", "--namespace", "team", "--kubeconfig", "k"])
    assert (before.namespace, before.context, before.run) == ("team", "c", "r1")
    assert (after.namespace, after.kubeconfig) == ("team", "k")
    assert not hasattr(parser.parse_args(["status", "r1"]), "namespace")


def test_run_arguments() -> None:
    args = plugin.build_parser().parse_args(
        ["run", "hello-world", "--name", "n1", "--args", "--epochs 3", "--env", "A=1", "--wait"]
    )
    assert (args.job, args.name, args.args, args.env, args.wait) == (
        "hello-world",
        "n1",
        "--epochs 3",
        ["A=1"],
        True,
    )


def test_env_pairs_keep_everything_after_the_first_equals_sign() -> None:
    assert plugin.parse_env(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}


@pytest.mark.parametrize("bad", ["NOEQUALS", "=value", " =v"])
def test_a_malformed_env_pair_is_a_one_line_error_with_exit_code_2(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plugin.main(["run", "hello-world", "--env", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "expected NAME=VALUE" in err


def test_a_run_is_owned_by_its_job_and_labelled_with_its_name() -> None:
    run = plugin.run_manifest(JOB, name=None, args="a b", env={"K": "V"})
    assert run["kind"] == "DataScienceJobRun"
    assert run["metadata"]["generateName"] == "hello-world-"
    assert run["metadata"]["labels"] == {plugin.JOB_LABEL: "hello-world"}
    (owner,) = run["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("DataScienceJob", "hello-world", "u-1")
    assert "controller" not in owner  # the schedule's runs are the job's controlled ones
    assert run["spec"] == {"jobRef": {"name": "hello-world"}, "args": "a b", "envVars": {"K": "V"}}
    named = plugin.run_manifest(JOB, name="mine", args=None, env={})
    assert named["metadata"]["name"] == "mine"
    assert named["spec"] == {"jobRef": {"name": "hello-world"}}


def test_a_rerun_copies_the_overrides_but_not_the_cancel() -> None:
    earlier = plugin.run_manifest(JOB, name="first", args="x", env={"K": "V"})
    earlier["spec"]["cancel"] = True
    earlier["status"] = {"phase": "Canceled"}
    again = plugin.rerun_manifest(earlier, name=None)
    assert again["spec"] == {"jobRef": {"name": "hello-world"}, "args": "x", "envVars": {"K": "V"}}
    assert again["metadata"]["annotations"] == {plugin.RERUN_OF: "first"}
    assert again["metadata"]["labels"] == earlier["metadata"]["labels"]
    assert again["metadata"]["ownerReferences"] == earlier["metadata"]["ownerReferences"]
    assert again["metadata"]["generateName"] == "hello-world-"
    assert "status" not in again


def _names(plural: str, namespace: str | None) -> list[str]:
    return {"datasciencejobs": ["hello-world", "other"], "datasciencejobruns": ["r1", "r2"]}[
        plural
    ] + ([f"in-{namespace}"] if namespace else [])


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([""], ["cancel", "completion", "convert", "logs", "rerun", "run", "status"]),
        (["r"], ["rerun", "run"]),
        (["run", "h"], ["hello-world"]),
        (["status", ""], ["r1", "r2"]),
        (["-n", "team", "cancel", ""], ["in-team", "r1", "r2"]),
        (["run", "hello-world", "--w"], ["--wait"]),
        (["run", "--name", ""], []),
        (["completion", ""], []),
    ],
)
def test_completion_candidates(words: list[str], expected: list[str]) -> None:
    assert plugin_completion.candidates(words, _names) == expected


def test_the_completion_scripts_ask_kubectl_complete_ads() -> None:
    assert "complete -F _kubectl_ads kubectl-ads" in plugin.completion_script("bash")
    assert "kubectl_complete-ads" in plugin.completion_script("bash")
    assert plugin.completion_script("zsh").startswith("autoload -U +X bashcompinit")


def _run(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "r1", "namespace": "ns"},
        "spec": {"jobRef": {"name": "hello-world"}},
        "status": status,
    }


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_the_status_screen_of_a_failed_run() -> None:
    run = _run(
        {
            "phase": "Failed",
            "lifecycleState": "FAILED",
            "lifecycleDetails": "Job run failed with exit code 3",
            "exitCode": 3,
            "duration": "0h00m04s",
            "ocid": "ocid1.datasciencejobrun.oc1..x",
            "consoleUrl": "https://cloud.oracle.com/x",
            "conditions": [
                {"type": "Failed", "status": "True", "reason": "ExitCode3", "message": "exit 3"}
            ],
            "logTail": [
                {"time": f"2026-01-01T11:59:{i:02d}Z", "message": f"line {i}"} for i in range(15)
            ],
        }
    )
    shown = plugin_screen.screen(run, NOW).splitlines()
    assert shown[:6] == [
        "Run:        ns/r1",
        "Job:        hello-world",
        "Phase:      Failed",
        "State:      FAILED (Job run failed with exit code 3)",
        "Exit code:  3",
        "Duration:   0h00m04s",
    ]
    assert "Reason:     ExitCode3: exit 3" in shown
    assert "Console:    https://cloud.oracle.com/x" in shown
    assert shown[-11] == "Last log lines:"
    assert shown[-10:] == [f"  2026-01-01 11:59:{i:02d} line {i}" for i in range(5, 15)]


def test_the_status_screen_of_a_live_run_counts_its_duration_and_shows_its_progress() -> None:
    run = _run(
        {
            "phase": "Running",
            "lifecycleState": "IN_PROGRESS",
            "timeStarted": "2026-01-01T11:58:55Z",
            "progress": "epoch 2/5",
            "progressPercent": 40,
        }
    )
    shown = plugin_screen.screen(run, NOW)
    assert "Duration:   0h01m05s (running)" in shown
    assert "Progress:   40% epoch 2/5" in shown
    assert "Reason" not in shown
    assert "Exit code:  -" in shown
    assert shown.endswith("Last log lines: (none mirrored yet)")


def test_a_run_without_status_is_pending() -> None:
    run = {"metadata": {"name": "r1"}, "spec": {"jobRef": {"name": "j"}}}
    assert plugin_screen.phase(run) == "Pending"
    assert "Phase:      Pending" in plugin_screen.screen(run, NOW)
    assert plugin_screen.progress_line(run) == "Pending"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (
            {
                "phase": "Failed",
                "conditions": [{"type": "Failed", "status": "True", "reason": "R"}],
            },
            "R",
        ),
        ({"phase": "Failed", "lifecycleDetails": "out of memory"}, "out of memory"),
        ({"phase": "Canceled"}, "the run ended Canceled"),
    ],
)
def test_the_failure_reason(status: dict[str, Any], reason: str) -> None:
    assert plugin_screen.failure_reason(_run(status)) == reason


def test_progress_lines() -> None:
    line = plugin_screen.progress_line(
        _run({"phase": "Running", "lifecycleState": "IN_PROGRESS", "progressPercent": 10})
    )
    assert line == "Running (IN_PROGRESS) 10%"


def test_the_krew_manifest_names_the_launcher_and_the_packages_version() -> None:
    root = Path(__file__).resolve().parents[3]
    manifest = yaml.safe_load((root / "integrations/krew/ads.yaml").read_text())
    assert manifest["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert (manifest["kind"], manifest["metadata"]["name"]) == ("Plugin", "ads")
    assert manifest["spec"]["version"] == "v" + __version__.split(".dev")[0]
    for platform in manifest["spec"]["platforms"]:
        assert platform["bin"] == "kubectl-ads"
        assert len(platform["sha256"]) == 64
        for entry in platform["files"]:
            launcher = root / "integrations/krew" / entry["from"]
            assert os.access(launcher, os.X_OK)
            assert "-m ads_operator.commands.plugin" in launcher.read_text()


class _Jobs:
    """The cluster as ``run`` sees it: a fixed set of jobs, and the runs created."""

    namespace = "ns"

    def __init__(self, **jobs: dict[str, Any]) -> None:
        self.jobs = jobs
        self.created: list[dict[str, Any]] = []

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        return self.jobs.get(name)

    def create_run(self, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(body)
        return {"metadata": {"name": "hello-world-abcde"}}


@pytest.mark.parametrize(
    ("job", "error"),
    [
        (None, "kubectl ads run: dsjob/hello-world not found in namespace ns"),
        ({}, "kubectl ads run: dsjob/hello-world is not ACTIVE (OCI state: no OCI job yet)"),
        (
            {"lifecycleState": "CREATING"},
            "kubectl ads run: dsjob/hello-world is not ACTIVE (OCI state: CREATING)",
        ),
    ],
)
def test_run_refuses_a_missing_or_inactive_job_in_one_line(
    job: dict[str, Any] | None,
    error: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jobs = _Jobs(**({"hello-world": {**JOB, "status": job}} if job is not None else {}))
    monkeypatch.setattr(plugin, "Cluster", lambda args: jobs)
    assert plugin.main(["run", "hello-world"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(error)
    assert jobs.created == []


def test_run_of_an_active_job_creates_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = _Jobs(**{"hello-world": {**JOB, "status": {"lifecycleState": "ACTIVE"}}})
    monkeypatch.setattr(plugin, "Cluster", lambda args: jobs)
    assert plugin.main(["run", "hello-world", "--env", "A=1"]) == 0
    assert capsys.readouterr().out == "dsjobrun/hello-world-abcde created\n"
    (created,) = jobs.created
    assert created["spec"]["envVars"] == {"A": "1"}
