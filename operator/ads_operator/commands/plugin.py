"""``kubectl ads ...``: the kubectl plugin (the ``kubectl-ads`` executable on PATH).

kubectl runs ``kubectl-ads`` with the words after ``ads`` and hands it no flags of its
own, so this module reads ``-n/--namespace``, ``--context`` and ``--kubeconfig`` itself and
reaches the cluster the way kubectl does: ``KUBECONFIG`` (else ``~/.kube/config``), its
current context and that context's namespace. The subcommands:

- ``run JOB`` creates a DataScienceJobRun from a DataScienceJob, as ``kubectl create job
  --from=cronjob/...`` does: owned by the job, labelled with its name, ``--args`` and
  ``--env K=V`` as the run's overrides; ``--wait`` prints each phase change (and the
  progress marker) and exits 0 when the run succeeds, 1 with its failure reason if not.
- ``rerun RUN`` creates a new run with the overrides of an earlier one.
- ``cancel RUN`` sets ``spec.cancel``; ``status RUN`` prints the screen of
  :mod:`ads_operator.commands.plugin_screen`.
- ``logs`` and ``convert`` are ``ads-operator logs`` and ``ads-operator convert``.
- ``completion bash|zsh`` prints a completion script; the names it offers come from
  ``kubectl_complete-ads`` (:mod:`ads_operator.commands.plugin_completion`, the
  executable kubectl itself asks since kubectl 1.26).

A problem the user can fix is one line on stderr and a non-zero exit (2 for bad input).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ads_operator.commands import convert, logs, plugin_screen
from ads_operator.commands.plugin_cluster import Cluster, PluginError
from ads_operator.models import API_VERSION, JOB_KIND, JOB_PLURAL, RUN_KIND, RUN_PLURAL
from ads_operator.reconcile.identity import label_value

PROG: Final = "kubectl ads"
#: Label naming the job a run was started from by this plugin (runs of a schedule carry
#: ``ads.oci.dev/scheduled-by`` instead).
JOB_LABEL: Final = "ads.oci.dev/job"
#: Annotation on a rerun: the run it repeats.
RERUN_OF: Final = "ads.oci.dev/rerun-of"
#: Spec keys a rerun does not copy: how the earlier run was handled, not what it ran.
_NOT_COPIED: Final = ("cancel",)
RUN_COMMANDS: Final = ("logs", "cancel", "rerun", "status")


# --- the command line -----------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    """kubectl's own connection flags, accepted before or after the subcommand (SUPPRESS
    keeps a subcommand's absent flag from overwriting one given before it)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-n", "--namespace", default=argparse.SUPPRESS, help="namespace")
    common.add_argument("--context", default=argparse.SUPPRESS, help="kubeconfig context")
    common.add_argument("--kubeconfig", default=argparse.SUPPRESS, help="kubeconfig file")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], description="Run OCI Data Science jobs from kubectl."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", parents=[common], help="start a run of a DataScienceJob")
    run.add_argument("job", help="name of the DataScienceJob")
    rerun = sub.add_parser("rerun", parents=[common], help="start a run like an earlier one")
    rerun.add_argument("run", help="name of the DataScienceJobRun to repeat")
    for starts in (run, rerun):
        starts.add_argument("--name", help="name of the new run (default: generated)")
        starts.add_argument("--wait", action="store_true", help="follow it until it ends")
        starts.add_argument("--timeout", type=float, default=0, help="give up after S seconds")
    run.add_argument("--args", help="command-line arguments of the run, as one string")
    run.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="an env var (repeatable)"
    )
    log = sub.add_parser("logs", parents=[common], help="print a run's log (-f follows)")
    log.add_argument("run", help="name of the DataScienceJobRun")
    log.add_argument(
        "-f", "--follow", action="store_true", help="follow until the run ends (its exit code)"
    )
    logs.add_grace(log)
    log.add_argument("--oci-endpoint", help="send OCI calls here")
    log.add_argument("--oci-config", help="OCI config file")
    for name, help_text in (("cancel", "cancel a run"), ("status", "show a run in one screen")):
        sub.add_parser(name, parents=[common], help=help_text).add_argument(
            "run", help="name of the DataScienceJobRun"
        )
    convert.add_arguments(sub.add_parser("convert", help="ADS job YAML <-> DataScienceJob"))
    completion = sub.add_parser(
        "completion", parents=[common], help="print a shell completion script"
    )
    completion.add_argument("shell", choices=("bash", "zsh"))
    return parser


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    """``--env K=V`` values as a mapping; a pair without ``=`` or a name is refused."""
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise PluginError(f"--env {pair!r}: expected NAME=VALUE", code=2)
        env[name] = value
    return env


def run_manifest(
    job: dict[str, Any], *, name: str | None, args: str | None, env: dict[str, str]
) -> dict[str, Any]:
    """The DataScienceJobRun that ``run`` creates: owned by ``job`` (not as its controller:
    the schedule's runs are the job's controlled ones), labelled with the job's name."""
    meta = job["metadata"]
    spec: dict[str, Any] = {"jobRef": {"name": meta["name"]}}
    if args is not None:
        spec["args"] = args
    if env:
        spec["envVars"] = env
    metadata: dict[str, Any] = {
        "labels": {JOB_LABEL: label_value(meta["name"])},
        "ownerReferences": [
            {"apiVersion": API_VERSION, "kind": JOB_KIND, "name": meta["name"], "uid": meta["uid"]}
        ],
    }
    metadata.update({"name": name} if name else {"generateName": f"{meta['name'][:50]}-"})
    return {"apiVersion": API_VERSION, "kind": RUN_KIND, "metadata": metadata, "spec": spec}


def rerun_manifest(run: dict[str, Any], *, name: str | None) -> dict[str, Any]:
    """A new run with the spec (every override) of ``run``, its labels and owners."""
    meta = run["metadata"]
    spec = {k: v for k, v in (run.get("spec") or {}).items() if k not in _NOT_COPIED}
    job = (spec.get("jobRef") or {}).get("name") or meta["name"]
    metadata: dict[str, Any] = {
        "labels": dict(meta.get("labels") or {}),
        "annotations": {RERUN_OF: meta["name"]},
    }
    if meta.get("ownerReferences"):
        metadata["ownerReferences"] = meta["ownerReferences"]
    metadata.update({"name": name} if name else {"generateName": f"{job[:50]}-"})
    return {"apiVersion": API_VERSION, "kind": RUN_KIND, "metadata": metadata, "spec": spec}


# --- the subcommands ------------------------------------------------------------------------


def _run_of(cluster: Cluster, name: str) -> dict[str, Any]:
    run = cluster.get(RUN_PLURAL, name)
    if run is None:
        raise PluginError(f"dsjobrun/{name} not found in namespace {cluster.namespace}")
    return run


def _start(cluster: Cluster, args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "rerun":
        return cluster.create_run(rerun_manifest(_run_of(cluster, args.run), name=args.name))
    env = parse_env(args.env)
    job = cluster.get(JOB_PLURAL, args.job)
    if job is None:
        raise PluginError(f"dsjob/{args.job} not found in namespace {cluster.namespace}")
    state = (job.get("status") or {}).get("lifecycleState")
    if state != "ACTIVE":
        raise PluginError(
            f"dsjob/{args.job} is not ACTIVE (OCI state: {state or 'no OCI job yet'}); "
            f"`kubectl describe dsjob {args.job}` says why"
        )
    return cluster.create_run(run_manifest(job, name=args.name, args=args.args, env=env))


def wait(
    cluster: Cluster,
    name: str,
    *,
    timeout: float,
    interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Print the run's progress until it ends: 0 if it succeeded, 1 with the reason if not."""
    deadline = clock() + timeout if timeout > 0 else None
    shown = ""
    while True:
        run = _run_of(cluster, name)
        line = plugin_screen.progress_line(run)
        if line != shown:
            print(f"dsjobrun/{name}: {line}", flush=True)
            shown = line
        finished = plugin_screen.phase(run)
        if finished == "Succeeded":
            return 0
        if finished in plugin_screen.FINISHED:
            reason = plugin_screen.failure_reason(run)
            print(f"{PROG}: dsjobrun/{name} {finished}: {reason}", file=sys.stderr)
            return 1
        if deadline is not None and clock() >= deadline:
            print(f"{PROG}: dsjobrun/{name} still {finished} after {timeout:g}s", file=sys.stderr)
            return 1
        time.sleep(interval)  # the poll interval of a person watching, like kubectl -w


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "convert":
        return convert.main(args)
    if args.command == "completion":
        print(completion_script(args.shell))
        return 0
    if args.command == "logs":
        # The same code as ``ads-operator logs``, with kubectl's --kubeconfig, --context
        # and the namespace kubectl would use.
        args.namespace = Cluster(args).namespace
        return logs.main(args)
    parse_env(getattr(args, "env", []))  # bad input is refused before the cluster is asked
    cluster = Cluster(args)
    if args.command == "status":
        print(plugin_screen.screen(_run_of(cluster, args.run), datetime.now(UTC)))
        return 0
    if args.command == "cancel":
        if not cluster.cancel(args.run):
            raise PluginError(f"dsjobrun/{args.run} not found in namespace {cluster.namespace}")
        print(f"dsjobrun/{args.run} cancel requested")
        return 0
    created = _start(cluster, args)
    name = created["metadata"]["name"]
    print(f"dsjobrun/{name} created")
    return wait(cluster, name, timeout=args.timeout) if args.wait else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _dispatch(args)
    except PluginError as exc:
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


# --- shell completion -----------------------------------------------------------------------


def completion_script(shell: str) -> str:
    """bash (and zsh through bashcompinit) completion for ``kubectl-ads``."""
    bash = """_kubectl_ads() {
    local IFS=$'\\n'
    COMPREPLY=($(kubectl_complete-ads "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null \\
        | grep -v '^:'))
}
complete -F _kubectl_ads kubectl-ads"""
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + bash
    return bash


if __name__ == "__main__":  # ``python -m ads_operator.commands.plugin``: the krew launcher
    raise SystemExit(main())
