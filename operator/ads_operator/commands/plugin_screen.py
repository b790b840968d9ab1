"""What ``kubectl ads`` prints about a run: the ``status`` screen, ``--wait``'s progress
lines and the failure reason, all from the DataScienceJobRun as read from the cluster.

Pure functions of the resource (and the time, for the duration of a live run), so the
screen is unit-tested without a cluster; :mod:`ads_operator.commands.plugin` does the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

#: Phases a run does not leave.
FINISHED: Final = frozenset({"Succeeded", "Failed", "Canceled"})
#: Log lines the status screen shows at most (the newest of the mirrored tail).
SCREEN_LOG_LINES: Final = 10


def _status(run: Mapping[str, Any]) -> Mapping[str, Any]:
    return run.get("status") or {}


def condition(run: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    """The condition ``type_`` of the run, empty when it has none."""
    for found in _status(run).get("conditions") or []:
        if found.get("type") == type_:
            return dict(found)
    return {}


def phase(run: Mapping[str, Any]) -> str:
    return str(_status(run).get("phase") or "Pending")


def failure_reason(run: Mapping[str, Any]) -> str:
    """Why a run did not succeed, in one line: its ``Failed`` condition (the operator's
    words), else OCI's lifecycle details, else the phase itself."""
    failed = condition(run, "Failed")
    if failed.get("status") == "True" and (failed.get("reason") or failed.get("message")):
        reason, message = failed.get("reason") or "", failed.get("message") or ""
        return f"{reason}: {message}" if reason and message else str(reason or message)
    status = _status(run)
    details = status.get("lifecycleDetails")
    return str(details) if details else f"the run ended {phase(run)}"


def progress_line(run: Mapping[str, Any]) -> str:
    """One line for ``--wait``: the phase, OCI's state and the progress marker, if any."""
    status = _status(run)
    parts = [phase(run)]
    state = status.get("lifecycleState")
    if state:
        details = status.get("lifecycleDetails")
        parts.append(f"({state}{', ' + str(details) if details else ''})")
    if status.get("progressPercent") is not None:
        parts.append(f"{status['progressPercent']}%")
    if status.get("progress"):
        parts.append(str(status["progress"]))
    return " ".join(parts)


def _duration(status: Mapping[str, Any], now: datetime) -> str:
    if status.get("duration"):
        return str(status["duration"])
    started = status.get("timeStarted")
    if not started:
        return "-"
    begun = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
    seconds = max(0, int((now - begun).total_seconds()))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s (running)"


def screen(run: Mapping[str, Any], now: datetime) -> str:
    """The ``kubectl ads status`` screen: everything about one run a person looks for."""
    meta, spec, status = run.get("metadata") or {}, run.get("spec") or {}, _status(run)
    job = (spec.get("jobRef") or {}).get("name") or spec.get("jobId") or "-"
    state = status.get("lifecycleState") or "-"
    if status.get("lifecycleDetails"):
        state = f"{state} ({status['lifecycleDetails']})"
    exit_code = status.get("exitCode")
    rows = [
        ("Run", f"{meta.get('namespace', '')}/{meta.get('name', '')}".lstrip("/")),
        ("Job", str(job)),
        ("Phase", phase(run)),
        ("State", str(state)),
        ("Exit code", "-" if exit_code is None else str(exit_code)),
        ("Duration", _duration(status, now)),
    ]
    if status.get("progress") or status.get("progressPercent") is not None:
        percent = status.get("progressPercent")
        marker = " ".join(
            p for p in (f"{percent}%" if percent is not None else "", status.get("progress")) if p
        )
        rows.append(("Progress", marker))
    if phase(run) in ("Failed", "Canceled"):
        rows.append(("Reason", failure_reason(run)))
    rows.append(("OCI run", str(status.get("ocid") or "-")))
    rows.append(("Console", str(status.get("consoleUrl") or "-")))
    width = max(len(label) for label, _ in rows) + 3
    lines = [f"{label + ':':<{width}}{value}" for label, value in rows]
    tail = (status.get("logTail") or [])[-SCREEN_LOG_LINES:]
    lines.append("Last log lines:" if tail else "Last log lines: (none mirrored yet)")
    for entry in tail:
        at = str(entry.get("time") or "")[:19].replace("T", " ")
        lines.append(f"  {at} {entry.get('message', '')}".rstrip())
    return "\n".join(lines)
