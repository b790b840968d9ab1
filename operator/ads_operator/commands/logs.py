"""``ads-operator logs <run> [-f] [-n NAMESPACE]``: a run's log, like ADS's ``watch()``.

Reads the DataScienceJobRun for its OCI run, then OCI Logging directly (not the Events,
which are rate-limited and expire), with the same credentials the operator would use for
that run: its ``authSecretRef``, its job's, or the ``ADS_OPERATOR_*`` defaults. Prints
``<time> - <line>``, and with ``-f`` also ``<time> - Job Run <STATE>, <details>`` on every
change, until the run is finished and the log grace period has passed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from ads_operator import kube
from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.oci.domain import LogRecord
from ads_operator.oci.errors import OciError
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


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


async def stream(
    port: OciPort,
    run_ocid: str,
    *,
    follow: bool,
    settings: Settings,
    out: TextIO,
    now: Any = None,
) -> int:
    """Print the run's lines (and state changes when following); returns lines printed."""
    clock = now or (lambda: datetime.now(UTC))
    cursor = logs.Cursor()
    # One run, followed by a person: lines are shown as soon as they are searchable (no
    # settle), and the settle time plus the overlap is re-read for the late ones instead.
    overlap = timedelta(seconds=settings.log_settle + settings.log_overlap)
    last_state: tuple[str, str] | None = None
    printed = 0
    compartment: str | None = None
    while True:
        run = await port.get_job_run(run_id=run_ocid)
        state = (run.lifecycle_state, run.lifecycle_details)
        if follow and state != last_state:
            text = f"Job Run {run.lifecycle_state}" + (
                f", {run.lifecycle_details}" if run.lifecycle_details else ""
            )
            print(f"{_stamp(clock())} - {text}", file=out, flush=True)
            last_state = state
        if not (run.log_id and run.log_group_id):
            print(
                "Logging is not configured for this job run; only its status is shown.",
                file=out,
                flush=True,
            )
            if not follow or run.lifecycle_state in RUN_TERMINAL:
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
            for record in merged.new:
                print(f"{_stamp(record.time)} - {record.message}", file=out, flush=True)
                printed += 1
            if not follow:
                return printed
        terminal = run.lifecycle_state in RUN_TERMINAL
        if not logs.keep_reading(
            terminal=terminal,
            time_finished=run.time_finished,
            now=clock(),
            grace=timedelta(seconds=settings.log_grace),
        ):
            return printed
        await asyncio.sleep(settings.poll_interval)  # the follow interval (ADS: 3 s)


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    await asyncio.to_thread(kube.configure)
    namespace = args.namespace or _context_namespace()
    body = await kube.get_resource(RUN_PLURAL, namespace, args.run)
    if body is None:
        print(f"ads-operator logs: dsjobrun/{args.run} not found in {namespace}", file=sys.stderr)
        return 1
    spec, status = body.get("spec") or {}, body.get("status") or {}
    ocid = status.get("ocid")
    if not ocid:
        print(
            f"ads-operator logs: dsjobrun/{args.run} has no OCI run yet "
            f"(phase {status.get('phase', 'Pending')})",
            file=sys.stderr,
        )
        return 1
    job_spec: dict[str, Any] = {}
    if (spec.get("jobRef") or {}).get("name"):
        job = await kube.get_resource(JOB_PLURAL, namespace, spec["jobRef"]["name"])
        job_spec = (job or {}).get("spec") or {}
    secret_name = (spec.get("authSecretRef") or job_spec.get("authSecretRef") or {}).get("name")
    secret = await kube.read_secret(namespace, secret_name) if secret_name else None
    port = PortFactory(settings).port(
        secret=secret, secret_name=secret_name, region=spec.get("region") or job_spec.get("region")
    )
    try:
        await stream(port, ocid, follow=args.follow, settings=settings, out=sys.stdout)
    except OciError as exc:
        print(f"ads-operator logs: {exc.summary()}", file=sys.stderr)
        return 1
    return 0


def _context_namespace() -> str:
    import kubernetes

    try:
        _, context = kubernetes.config.list_kube_config_contexts()
        return str(context.get("context", {}).get("namespace") or "default")
    except Exception:
        return "default"


def main(args: argparse.Namespace) -> int:
    try:
        settings = from_env()
    except SettingsError as exc:
        print(f"ads-operator logs: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_main(args, settings))
    except KeyboardInterrupt:
        return 130
