"""The figures the benchmark prints, as pure functions, plus reading a process's RSS and
CPU time from ``/proc`` (Linux only: the benchmark runs where the local control plane
runs)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (nearest rank); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LineAccount:
    """Lines of the OCI log compared with the lines mirrored (per run, by content)."""

    expected: int
    mirrored: int
    lost: int
    doubled: int


def account_lines(
    truth: Mapping[str, Sequence[str]], mirrored: Mapping[str, Sequence[str]]
) -> LineAccount:
    """``lost``: OCI lines never mirrored; ``doubled``: extra copies of mirrored lines
    (a line mirrored three times counts two). Lines are unique per run in the workload."""
    lost = doubled = expected = count = 0
    for run, lines in truth.items():
        want = Counter(lines)
        got = Counter(mirrored.get(run, ()))
        expected += sum(want.values())
        count += sum(got.values())
        lost += sum(max(0, n - got[line]) for line, n in want.items())
        doubled += sum(max(0, n - want[line]) for line, n in got.items() if line in want)
    return LineAccount(expected, count, lost, doubled)


def lags(seen: Mapping[str, float], happened: Mapping[str, float]) -> list[float]:
    """Seconds from each event ``happened`` to when it was ``seen`` (keys present in both)."""
    return [max(0.0, seen[k] - happened[k]) for k in happened if k in seen]


def per_run_minute(calls: int, runs: int, minutes: float) -> float:
    return calls / (runs * minutes) if runs and minutes else 0.0


@dataclass(frozen=True)
class ProcessSample:
    rss_peak_mb: float
    cpu_seconds: float


def sample_process(pid: int) -> ProcessSample:
    """Peak RSS (VmHWM) and user+system CPU seconds of a live process."""
    peak_kb = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak_kb = int(line.split()[1])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)
    return ProcessSample(peak_kb / 1024, cpu)


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def ratio(baseline: float | None, ours: float | None) -> str:
    if baseline is None or ours is None or ours == 0:
        return "n/a"
    return f"{baseline / ours:.1f}x"


def table(rows: Iterable[tuple[str, ...]]) -> str:
    rows = list(rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
