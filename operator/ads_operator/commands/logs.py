"""``ads-operator logs <run> [-f] [-n NAMESPACE]``: a run's log, like ADS's ``watch()``.

Reads the DataScienceJobRun for its OCI run, then OCI Logging directly (not the Events,
which are rate-limited and expire), with the same credentials the operator would use for
that run: its ``authSecretRef``, its job's, or the ``ADS_OPERATOR_*`` defaults
(``--oci-endpoint`` and ``--oci-config`` set the two the demo needs; ``eval "$(hack/demo
env)"`` exports them). Prints ``<time> - <line>``, and with ``-f`` also ``<time> - Job Run
<STATE>, <details>`` on every change, in time order with the lines (a state line carries
the run's own time of that state). A finished run's log is printed at once; a live one is
followed until it finished and its last lines are searchable (``ADS_OPERATOR_LOG_SETTLE``).
Every error is one line on stderr that says what to do, with exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TextIO, TypedDict

from ads_operator.kube.config import configure
from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.models.oci_errors import OciError
from ads_operator.models.oci_records import LogRecord, OciJobRun
from ads_operator.oci.factory import PortFactory
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import logs
from ads_operator.reconcile.lifecycle import RUN_TERMINAL
from ads_operator.settings import Settings, SettingsError, from_env


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="name of the DataScienceJobRun")
    parser.add_argument(
        "-n", "--namespace", default=None, help="its namespace (default: context's)"
    )
    parser.add_argument("-f", "--follow", action="store_true", help="keep following until done")
    parser.add_argument(
        "--oci-endpoint", help="send OCI calls here (sets ADS_OPERATOR_OCI_ENDPOINT)"
    )
    parser.add_argument("--oci-config", help="OCI config file (sets ADS_OPERATOR_OCI_CONFIG_FILE)")


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


async def stream(
    port: OciPort,
    run_ocid: str,
    *,
    follow: bool,
    settings: Settings,
    out: TextIO,
    now: Callable[[], datetime] | None = None,
) -> int:
    """Print the run's lines (and state changes when following); returns lines printed.

    Each pass prints what it found sorted by time. The state line of a finished run comes
    last, after the final read, so it follows every log line it ended."""
    clock = now or (lambda: datetime.now(UTC))
    cursor = logs.Cursor()
    # One run, followed by a person: lines are shown as soon as they are searchable (no
    # settle), and the settle time plus the overlap is re-read for the late ones instead.
    settle = timedelta(seconds=settings.log_settle)
    overlap = timedelta(seconds=settings.log_settle + settings.log_overlap)
    last_state: tuple[str, str] | None = None
    history_shown = False
    printed = 0
    compartment: str | None = None
    while True:
        run = await port.get_job_run(run_id=run_ocid)
        terminal = run.lifecycle_state in RUN_TERMINAL
        # A finished run is read once more after its last lines became searchable: at
        # once if that was long ago, else after at most the settle time.
        done = not follow or (
            terminal
            and not logs.keep_reading(
                terminal=True, time_finished=run.time_finished, now=clock(), grace=settle
            )
        )
        lines: list[tuple[datetime, str]] = []
        if follow and not history_shown:
            # The states the run went through before this command saw it, at OCI's times.
            lines.extend(_earlier_states(run))
            history_shown = True
        state = (run.lifecycle_state, run.lifecycle_details)
        if follow and state != last_state and (done or not terminal):
            text = f"Job Run {run.lifecycle_state}" + (
                f", {run.lifecycle_details}" if run.lifecycle_details else ""
            )
            lines.append((_state_time(run, clock), text))
            last_state = state
        if not (run.log_id and run.log_group_id):
            _print(lines, out)
            print(
                "Logging is not configured for this job run; only its status is shown.",
                file=out,
                flush=True,
            )
            if not follow or terminal:
                return printed
        else:
            if compartment is None:
                try:
                    compartment = await port.get_log_compartment(
                        log_group_id=run.log_group_id, log_id=run.log_id
                    )
                except OciError:
                    compartment = run.compartment_id
            window = logs.read_window(
                cursor,
                time_accepted=run.time_accepted,
                now=clock(),
                settle=timedelta(0),
                overlap=overlap,
            )
            fetched: list[LogRecord] = []
            if window is not None:
                query = logs.search_query(compartment, run.log_group_id, run.log_id, run.id)
                page: str | None = None
                while True:
                    result = await port.search_logs(
                        query=query,
                        time_start=window.start,
                        time_end=window.end,
                        limit=1000,
                        page=page,
                    )
                    fetched.extend(result.records)
                    page = result.next_page
                    if not page:
                        break
                merged = logs.merge(
                    cursor,
                    fetched,
                    window=window,
                    overlap=overlap,
                    max_ids=settings.log_cursor_max_ids,
                )
            else:
                merged = logs.Merged((), cursor)
            cursor = merged.cursor
            lines.extend((record.time, record.message) for record in merged.new)
            printed += len(merged.new)
            _print(lines, out)
        if done:
            return printed
        await asyncio.sleep(settings.poll_interval)  # the follow interval (ADS: 3 s)


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
    try:
        kube = await asyncio.to_thread(configure)
    except Exception as exc:  # kubernetes raises ConfigException, or OSError for files
        raise CommandError(
            f"no Kubernetes configuration ({type(exc).__name__}: {exc}); point KUBECONFIG "
            f"at your cluster ({DEMO_HINT})"
        ) from None
    namespace = args.namespace or _context_namespace()
    try:
        body = await kube.get_resource(RUN_PLURAL, namespace, args.run)
    except Exception as exc:
        raise CommandError(
            f"cannot read dsjobrun/{args.run} in namespace {namespace}: "
            f"{_first_line(exc)}; check that the cluster is up and KUBECONFIG points at it"
        ) from None
    if body is None:
        raise CommandError(
            f"dsjobrun/{args.run} not found in namespace {namespace}; "
            "list them with `kubectl get dsjobrun -A`, and give -n NAMESPACE"
        )
    spec, status = body.get("spec") or {}, body.get("status") or {}
    ocid = status.get("ocid")
    if not ocid:
        raise CommandError(
            f"dsjobrun/{args.run} has no OCI run yet (phase {status.get('phase', 'Pending')}); "
            f"`kubectl describe dsjobrun {args.run} -n {namespace}` says why"
        )
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
        await stream(port, ocid, follow=args.follow, settings=settings, out=sys.stdout)
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
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _context_namespace() -> str:
    import kubernetes

    try:
        _, context = kubernetes.config.list_kube_config_contexts()
        return str(context.get("context", {}).get("namespace") or "default")
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
