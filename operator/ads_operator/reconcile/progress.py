"""The progress marker: a log line a job's code prints to report how far it has come.

The job's code needs no client, no credentials and no endpoint to call back: it prints

    ADS_PROGRESS 42/100        (42 of 100 steps done)
    ADS_PROGRESS 37.5%         (a percentage)

anywhere in a line of its output, and the operator, which already reads the run's log to
mirror it, copies the latest marker into ``status.progress`` (``42/100`` or ``37.5%``)
and ``status.progressPercent`` (0..100, whole numbers). Markers with nonsense numbers
(a total of 0, done beyond total, a percentage above 100) are ignored rather than
clamped, so a bug in the job's code shows up as "no progress", not as a wrong number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, TypedDict

MARKER: Final = "ADS_PROGRESS"
_PATTERN: Final = re.compile(
    r"\bADS_PROGRESS[ \t]+(?:(?P<done>\d{1,12})[ \t]*/[ \t]*(?P<total>\d{1,12})"
    r"|(?P<pct>\d{1,3}(?:\.\d{1,3})?)[ \t]*%)"
)


class ProgressStatus(TypedDict):
    """The two status fields a marker sets."""

    progress: str
    progressPercent: int


@dataclass(frozen=True)
class Progress:
    """One reported position: ``done`` of ``total``, or a bare ``percent``."""

    text: str
    percent: int

    def as_status(self) -> ProgressStatus:
        return {"progress": self.text, "progressPercent": self.percent}


def parse(line: str) -> Progress | None:
    """The last valid marker in ``line``, if any."""
    found: Progress | None = None
    for match in _PATTERN.finditer(line):
        if match.group("pct") is not None:
            value = float(match.group("pct"))
            if value <= 100:
                text = f"{match.group('pct')}%"
                found = Progress(text, int(value))
            continue
        done, total = int(match.group("done")), int(match.group("total"))
        if total > 0 and done <= total:
            found = Progress(f"{done}/{total}", done * 100 // total)
    return found


def latest(lines: Iterable[str]) -> Progress | None:
    """The marker of the last line (in log order) that carries a valid one."""
    result: Progress | None = None
    for line in lines:
        parsed = parse(line)
        if parsed is not None:
            result = parsed
    return result
