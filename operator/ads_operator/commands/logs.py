"""``ads-operator logs <run> [-f] [-n NAMESPACE]``: a run's log, like ADS's ``watch()``.

Reads the DataScienceJobRun for its OCI run, then OCI Logging directly (not the Events,
which are rate-limited and expire, nor anything the operator's poller reads), with the
same credentials the operator would use for that run: its ``authSecretRef``, its job's,
or the ``ADS_OPERATOR_*`` defaults (``--oci-endpoint`` and ``--oci-config`` set the two
the demo needs; ``eval "$(hack/demo env)"`` exports them). The cluster is reached with
the kubeconfig (``--kubeconfig``, ``--context``, as kubectl).

Prints ``<time> - <line>``, and with ``-f`` also ``<time> - Job Run <STATE>, <details>``
on every change, in time order with the lines (a state line carries the run's own time
of that state). A finished run's log is printed at once. A live one is followed (a run
without an OCI run yet is waited for): its log is searched up to *now* every
:data:`FOLLOW_INTERVAL`, its state every :data:`STATE_INTERVAL`, late records are caught
as :mod:`ads_operator.commands.tail` says, and the command ends once the run finished and
its last lines are searchable (``ADS_OPERATOR_LOG_SETTLE`` after the finish), with the
run's exit code (:func:`exit_status`). Every error is one line on stderr that says what
to do, with exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TextIO, TypedDict

from ads_operator.commands.tail import Trail
from ads_operator.kube.client import KubeClient
from ads_operator.kube.config import configure
from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.models.oci_errors import OciError
from ads_operator.models.oci_records import OciJobRun
from ads_operator.oci.factory import PortFactory
from ads_operator.oci.logreader import LogSearchBatcher, LogWant
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import logs
from ads_operator.reconcile.conditions import is_true
from ads_operator.reconcile.lifecycle import (
    RUN_CANCELED,
    RUN_DELETED,
    RUN_SUCCEEDED,
    RUN_TERMINAL,
    exit_code,
)
from ads_operator.settings import Settings, SettingsError, from_env

#: How often a followed run's log is searched. A record is searchable seconds after its
#: time (2 s in the demo), so a line shows about that plus up to this interval late.
FOLLOW_INTERVAL: Final = 1.0
#: How often a followed run's state is read (ADS's poll interval): a state line or the
#: end may show this much late; the log is what a person watches by the second.
STATE_INTERVAL: Final = 3.0
#: Exit code of ``-f`` for a run canceled (or deleted before it finished): a process
#: ended by SIGTERM, as the canceled run's was.
CANCELED_EXIT: Final = 143


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


def exit_status(run: OciJobRun) -> int:
    """The exit code of ``logs -f`` for a run that ended: 0 if it SUCCEEDED; for FAILED
    the code its ``lifecycleDetails`` name ("... exit code N"), else 1 (it failed before
    or around its code: a timeout, its infrastructure); :data:`CANCELED_EXIT` if it was
    CANCELED, or DELETED without a code (how it ended is gone with it)."""
    if run.lifecycle_state in RUN_SUCCEEDED:
        return 0
    code = exit_code(run.lifecycle_state, run.lifecycle_details)
    if code is not None and 0 < code < 256:
        return code
    if run.lifecycle_state in RUN_CANCELED | RUN_DELETED:
        return CANCELED_EXIT
    return 1


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _state_time(run: OciJobRun, clock: Callable[[], datetime]) -> datetime:
    """When the run entered its current state, as OCI recorded it (now if unrecorded)."""
    if run.lifecycle_state in RUN_TERMINAL and run.time_finished:
        return run.time_finished
    if run.lifecycle_state == "IN_PROGRESS" and run.time_started:
        return run.time_started
    if run.lifecycle_state == "ACCEPTED" and run.time_accepted:
        return run.time_accepted
    return clock()


@dataclass(frozen=True)
class Shown:
    """What :func:`stream` printed: the log lines, and the run as last read."""

    printed: int
    run: OciJobRun


async def stream(
    port: OciPort,
    run_ocid: str,
    *,
    follow: bool,
    settings: Settings,
    out: TextIO,
    now: Callable[[], datetime] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    reader: LogSearchBatcher | None = None,
    grace: float | None = None,
) -> Shown:
    """Print the run's lines (and state changes when following) until done.

    Each pass prints what it found sorted by time. The state line of a finished run comes
    last, after the final read, so it follows every log line it ended. ``reader`` pages
    the searches (the operator's, unbatched; tests pass one to count its calls). A run
    that finished is read until ``grace`` seconds after its end (default: the settle
    time, when its last lines are searchable; more waits for records ingested late)."""
    clock = now or (lambda: datetime.now(UTC))
    reader = reader or LogSearchBatcher(window=0)
    # Every read re-reads the settle time (how late records usually become searchable).
    # Deep reads catch records ingested up to the operator's late bound (ADS: 180 s).
    trail = Trail(
        quick=timedelta(seconds=max(settings.log_settle + settings.log_overlap, FOLLOW_INTERVAL)),
        late_bound=timedelta(seconds=settings.log_late_bound),
    )
    after_end = timedelta(seconds=settings.log_settle if grace is None else grace)
    last_state: tuple[str, str] | None = None
    printed = 0
    compartment: str | None = None
    run: OciJobRun | None = None
    state_read_at = datetime.min.replace(tzinfo=UTC)
    said_no_logging = False
    while True:
        moment = clock()
        lines: list[tuple[datetime, str]] = []
        if run is None or (
            run.lifecycle_state not in RUN_TERMINAL
            and moment - state_read_at >= timedelta(seconds=STATE_INTERVAL)
        ):
            first = run is None
            run, state_read_at = await port.get_job_run(run_id=run_ocid), moment
            if first and follow:
                # The states the run went through before this command saw it, at OCI's times.
                lines.extend(_earlier_states(run))
        terminal = run.lifecycle_state in RUN_TERMINAL
        log = (run.log_group_id, run.log_id) if run.log_group_id and run.log_id else None
        # A finished run is read once more after its last lines became searchable: at
        # once if that was long ago, else after at most ``after_end``.
        done = not follow or (
            terminal
            and not (
                log is not None
                and logs.keep_reading(
                    terminal=True, time_finished=run.time_finished, now=moment, grace=after_end
                )
            )
        )
        state = (run.lifecycle_state, run.lifecycle_details)
        if follow and state != last_state and (done or not terminal):
            text = f"Job Run {run.lifecycle_state}" + (
                f", {run.lifecycle_details}" if run.lifecycle_details else ""
            )
            lines.append((_state_time(run, clock), text))
            last_state = state
        if log is None:
            _print(lines, out)
            if not said_no_logging:
                said_no_logging = True
                print(
                    "Logging is not configured for this job run; only its status is shown.",
                    file=out,
                    flush=True,
                )
        else:
            if compartment is None:
                try:
                    compartment = await reader.log_compartment(
                        port, log_group_id=log[0], log_id=log[1]
                    )
                except OciError:
                    compartment = run.compartment_id
            read = trail.next_read(now=moment, time_accepted=run.time_accepted, last=done)
            if read is not None:
                want = LogWant(compartment, *log, run.id, read.window.start, read.window.end)
                new = trail.take(await reader.search(port, want), read, now=moment)
                lines.extend((record.time, record.message) for record in new)
                printed += len(new)
            _print(lines, out)
        if done:
            return Shown(printed, run)
        await sleep(FOLLOW_INTERVAL)


def _earlier_states(run: OciJobRun) -> list[tuple[datetime, str]]:
    """``ACCEPTED`` and ``IN_PROGRESS`` lines for a run already past them."""
    earlier = []
    if run.lifecycle_state != "ACCEPTED" and run.time_accepted:
        earlier.append((run.time_accepted, "Job Run ACCEPTED"))
    if run.lifecycle_state != "IN_PROGRESS" and run.time_started:
        earlier.append((run.time_started, "Job Run IN_PROGRESS"))
    return earlier


def _print(lines: list[tuple[datetime, str]], out: TextIO) -> None:
    for at, text in sorted(lines, key=lambda line: line[0]):
        print(f"{_stamp(at)} - {text}", file=out, flush=True)


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
