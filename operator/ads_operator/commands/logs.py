"""``ads-operator logs <run> [-f] [-n NAMESPACE]``: a run's log, like ADS's ``watch()``.

Reads the DataScienceJobRun for its OCI run, then OCI Logging directly (not the Events,
which are rate-limited and expire, nor anything the operator's poller reads), with the
same credentials the operator would use for that run: its ``authSecretRef``, its job's,
or the ``ADS_OPERATOR_*`` defaults (``--oci-endpoint`` and ``--oci-config`` set the two
the demo needs; ``eval "$(hack/demo env)"`` exports them). The cluster is reached with
the kubeconfig (``--kubeconfig``, ``--context``, as kubectl).

Prints ``<time> - <line>``, and with ``-f`` also ``<time> - Job Run <STATE>, <details>``
on every change, in time order with the lines (a state line carries the run's own time
of that state), as :mod:`ads_operator.commands.follow` prints them; a run without an
OCI run yet is waited for, and ``-f`` ends with the run's exit code
(:func:`~ads_operator.commands.follow.exit_status`). Every error is one line on stderr
that says what to do, with exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any, Final, TypedDict

from ads_operator.commands.follow import FOLLOW_INTERVAL, exit_status, stream
from ads_operator.kube.client import KubeClient
from ads_operator.kube.config import configure
from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.models.oci_errors import OciError
from ads_operator.oci.factory import PortFactory
from ads_operator.reconcile.conditions import is_true
from ads_operator.settings import Settings, SettingsError, from_env


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="name of the DataScienceJobRun")
    parser.add_argument(
        "-n", "--namespace", default=None, help="its namespace (default: context's)"
    )
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="follow until the run ends, then exit with its exit code",
    )
    add_grace(parser)
    parser.add_argument("--context", help="kubeconfig context to use (default: current)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG)")
    parser.add_argument(
        "--oci-endpoint", help="send OCI calls here (sets ADS_OPERATOR_OCI_ENDPOINT)"
    )
    parser.add_argument("--oci-config", help="OCI config file (sets ADS_OPERATOR_OCI_CONFIG_FILE)")


def add_grace(parser: argparse.ArgumentParser) -> None:
    """``--grace``, shared with ``kubectl ads logs``."""
    parser.add_argument(
        "--grace",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="with -f: keep reading this long after the run ends for records OCI Logging"
        " ingests late (default: ADS_OPERATOR_LOG_SETTLE; ADS waits 90, the late bound is 180)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds from 0 to 3600")
    return value


class _CredentialKeys(TypedDict, total=False):
    """What this command reads from a job's spec (as from its run's): which Secret holds
    the OCI credentials, and which region to call."""

    authSecretRef: dict[str, str]
    region: str


class CommandError(Exception):
    """A problem the user can fix; the message says what it is and what to do."""


#: How to point this command at the demo's emulator (printed with OCI errors).
DEMO_HINT = 'for `make demo`, run: eval "$(hack/demo env)"'


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    kubeconfig, context = getattr(args, "kubeconfig", None), getattr(args, "context", None)
    try:
        kube = await asyncio.to_thread(configure, kubeconfig=kubeconfig, context=context)
    except Exception as exc:  # kubernetes raises ConfigException, or OSError for files
        raise CommandError(
            f"no Kubernetes configuration ({type(exc).__name__}: {exc}); point KUBECONFIG "
            f"at your cluster or give --kubeconfig/--context ({DEMO_HINT})"
        ) from None
    namespace = args.namespace or _context_namespace(kubeconfig, context)
    body = await _run_with_ocid(kube, namespace, args.run, wait=args.follow)
    spec, ocid = body.get("spec") or {}, body["status"]["ocid"]
    job_spec: _CredentialKeys = {}
    if (spec.get("jobRef") or {}).get("name"):
        job = await kube.get_resource(JOB_PLURAL, namespace, spec["jobRef"]["name"])
        job_spec = (job or {}).get("spec") or {}
    secret_name = (spec.get("authSecretRef") or job_spec.get("authSecretRef") or {}).get("name")
    try:
        secret = await kube.read_secret(namespace, secret_name) if secret_name else None
        port = PortFactory(settings).port(
            secret=secret,
            secret_name=secret_name,
            region=spec.get("region") or job_spec.get("region"),
        )
        shown = await stream(
            port,
            ocid,
            follow=args.follow,
            settings=settings,
            out=sys.stdout,
            grace=getattr(args, "grace", None),
        )
    except OciError as exc:
        where = (
            f"the OCI endpoint {settings.oci_endpoint}"
            if settings.oci_endpoint
            else "OCI (regional endpoints)"
        )
        raise CommandError(
            f"{exc.summary()} (calling {where} with the credentials of "
            f"{'Secret ' + secret_name if secret_name else settings.oci_config_file}); "
            f"give --oci-config FILE and --oci-endpoint URL, or set ADS_OPERATOR_* ({DEMO_HINT})"
        ) from None
    return exit_status(shown.run) if args.follow else 0


#: Phases after which a run without an OCI run will never get one.
_ENDED: Final = frozenset({"Succeeded", "Failed", "Canceled"})


async def _run_with_ocid(kube: KubeClient, namespace: str, name: str, *, wait: bool) -> Any:
    """The DataScienceJobRun once it has an OCI run: at once, or (``wait``, for ``-f``
    right after ``kubectl apply``) when the operator has created it."""
    told = False
    while True:
        try:
            body = await kube.get_resource(RUN_PLURAL, namespace, name)
        except Exception as exc:
            raise CommandError(
                f"cannot read dsjobrun/{name} in namespace {namespace}: "
                f"{_first_line(exc)}; check that the cluster is up and KUBECONFIG "
                "(or --kubeconfig/--context) points at it"
            ) from None
        if body is None:
            raise CommandError(
                f"dsjobrun/{name} not found in namespace {namespace}; "
                "list them with `kubectl get dsjobrun -A`, and give -n NAMESPACE"
            )
        status = body.get("status") or {}
        if status.get("ocid"):
            return body
        phase = status.get("phase", "Pending")
        if not wait or phase in _ENDED or is_true(status.get("conditions"), "Terminal"):
            raise CommandError(
                f"dsjobrun/{name} has no OCI run{'' if wait else ' yet'} (phase {phase}); "
                f"`kubectl describe dsjobrun {name} -n {namespace}` says why"
            )
        if not told:
            print(
                f"waiting for dsjobrun/{name} to start its OCI run (phase {phase}) ...",
                file=sys.stderr,
                flush=True,
            )
            told = True
        await asyncio.sleep(FOLLOW_INTERVAL)  # the operator creates it; poll until then


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    """The namespace of the context in use (the named one, else the current one)."""
    import kubernetes

    try:
        contexts, current = kubernetes.config.list_kube_config_contexts(kubeconfig)
        chosen = next((c for c in contexts if c["name"] == context), None) if context else current
        return str((chosen or {}).get("context", {}).get("namespace") or "default")
    except Exception:
        return "default"


def main(args: argparse.Namespace) -> int:
    if args.oci_endpoint:
        os.environ["ADS_OPERATOR_OCI_ENDPOINT"] = args.oci_endpoint
    if args.oci_config:
        os.environ["ADS_OPERATOR_OCI_CONFIG_FILE"] = args.oci_config
    try:
        settings = from_env()
    except SettingsError as exc:
        print(f"ads-operator logs: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_main(args, settings))
    except CommandError as exc:
        print(f"ads-operator logs: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
