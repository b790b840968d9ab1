"""Printing a run's log and state changes, as ``ads-operator logs`` does (ADS's
``watch()``): :func:`stream`, and the exit code of a followed run (:func:`exit_status`).

A finished run's log is printed at once. A live one is followed: its log is searched up
to *now* every :data:`FOLLOW_INTERVAL`, its state every :data:`STATE_INTERVAL`, late
records are caught as :mod:`ads_operator.commands.tail` says, and it ends once the run
finished and its last lines are searchable (``ADS_OPERATOR_LOG_SETTLE`` after the finish).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TextIO

from ads_operator.commands.tail import Trail
from ads_operator.models.oci_errors import OciError
from ads_operator.models.oci_records import OciJobRun
from ads_operator.oci.logreader import LogSearchBatcher, LogWant
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import logs
from ads_operator.reconcile.lifecycle import (
    RUN_CANCELED,
    RUN_DELETED,
    RUN_SUCCEEDED,
    RUN_TERMINAL,
    exit_code,
)
from ads_operator.settings import Settings

#: How often a followed run's log is searched. A record is searchable seconds after its
#: time (2 s in the demo), so a line shows about that plus up to this interval late.
FOLLOW_INTERVAL: Final = 1.0
#: How often a followed run's state is read (ADS's poll interval): a state line or the
#: end may show this much late; the log is what a person watches by the second.
STATE_INTERVAL: Final = 3.0
#: Exit code of ``-f`` for a run canceled (or deleted before it finished): a process
#: ended by SIGTERM, as the canceled run's was.
CANCELED_EXIT: Final = 143


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
        # Added after this pass's log lines: a line of the same millisecond as the state
        # change (the last line of a run that exits at once) is printed before it.
        said: list[tuple[datetime, str]] = []
        if follow and state != last_state and (done or not terminal):
            text = f"Job Run {run.lifecycle_state}" + (
                f", {run.lifecycle_details}" if run.lifecycle_details else ""
            )
            said.append((_state_time(run, clock), text))
            last_state = state
        if log is None:
            _print(lines + said, out)
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
            _print(lines + said, out)
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
