"""Run the test tiers as separate pytest sessions side by side; report each, then a total.

Why separate sessions: the cluster tier's conftest provides session fixtures under the
names the other tiers use (``cluster``, ``emulator``). In one session pytest caches a
session fixture that depends on them (``log_group``, ``operator_env``, ...) with whichever
tier asked first, so the e2e tier would run against the node's cluster and emulator.
``tests/conftest.py`` refuses such a session; this runner never makes one.

Why side by side: a tier spends most of its time waiting on a kube-apiserver, the emulator
or a node, not on the CPU, so the sessions together take about as long as the longest.

Usage: ``python hack/runtests.py [--logs DIR] [TIER ...]`` (``make test`` runs every tier).
Each session's whole output is printed when it ends and kept in ``DIR/<tier>.log``; the
last line is the total, ``N passed, N failed`` (errors count as failed).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]

#: The sessions and the test folders each runs. The unit and emulator tiers are quick and
#: CPU-bound, so they share one session; the others wait on processes and run beside it.
TIERS: dict[str, tuple[str, ...]] = {
    "e2e": ("tests/e2e",),
    "chaos": ("tests/chaos",),
    "cluster": ("tests/cluster",),
    "unit+emulator": ("tests/unit", "tests/emulator"),
}

#: How often a line says which sessions are still running.
PROGRESS_EVERY = 30.0

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


@dataclass
class Session:
    """One pytest session of the run: its process, its log and what it counted."""

    name: str
    paths: tuple[str, ...]
    log: Path
    started: float = 0.0
    ended: float | None = None
    returncode: int | None = None
    process: subprocess.Popen[bytes] | None = None
    handle: IO[bytes] | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def start(self, python: str) -> None:
        self.handle = self.log.open("wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [python, "-m", "pytest", *self.paths],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def poll(self) -> bool:
        """True once the session has ended (and its counts are read)."""
        if self.ended is not None:
            return True
        assert self.process is not None
        assert self.handle is not None
        code = self.process.poll()
        if code is None:
            return False
        self.ended, self.returncode = time.monotonic(), code
        self.handle.close()
        self.counts = summary_counts(self.log.read_text(errors="replace"))
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def ok(self) -> bool:
        # pytest's 5 ("no tests collected") is a failure here: every tier has tests.
        return self.returncode == 0


def summary_counts(output: str) -> dict[str, int]:
    """The counts of pytest's closing line (``== 3 passed, 1 failed in 9.1s ==``)."""
    closing = [line for line in output.splitlines() if line.startswith("=") and " in " in line]
    counts: dict[str, int] = {}
    if closing:
        for number, word in _COUNT.findall(closing[-1]):
            key = "errors" if word.startswith("error") else word
            counts[key] = counts.get(key, 0) + int(number)
    return counts


def total_line(sessions: list[Session]) -> str:
    """The plain closing line: passed and failed over every session (errors are failures;
    a session that ended without a count, e.g. killed, counts as one failure)."""
    passed = sum(s.counts.get("passed", 0) for s in sessions)
    failed = sum(s.counts.get("failed", 0) + s.counts.get("errors", 0) for s in sessions)
    failed += sum(1 for s in sessions if not s.ok and not s.counts.get("failed"))
    skipped = sum(s.counts.get("skipped", 0) for s in sessions)
    line = f"{passed} passed, {failed} failed"
    return f"{line}, {skipped} skipped" if skipped else line


def say(started: float, text: str) -> None:
    print(f"[tests {time.monotonic() - started:6.1f}s] {text}", flush=True)


def run(names: list[str], logs: Path, python: str) -> int:
    logs.mkdir(parents=True, exist_ok=True)
    sessions = [Session(n, TIERS[n], logs / f"{n}.log") for n in names]
    started = time.monotonic()
    for session in sessions:
        session.start(python)
        say(started, f"{session.name}: pytest {' '.join(session.paths)} -> {session.log}")
    last_progress = time.monotonic()
    pending = list(sessions)
    try:
        while pending:
            for session in [s for s in pending if s.poll()]:
                pending.remove(session)
                print(f"\n===== {session.name} ({' '.join(session.paths)}) =====", flush=True)
                sys.stdout.write(session.log.read_text(errors="replace"))
                verdict = "ok" if session.ok else f"FAILED (exit {session.returncode})"
                say(started, f"{session.name}: {verdict} in {session.seconds:.0f}s")
            if pending and time.monotonic() - last_progress >= PROGRESS_EVERY:
                running = ", ".join(f"{s.name} {s.seconds:.0f}s" for s in pending)
                say(started, f"still running: {running}")
                last_progress = time.monotonic()
            if pending:
                time.sleep(1)  # the poll interval of the processes above
    except KeyboardInterrupt:
        for session in pending:
            session.stop()
        raise
    print()
    for session in sessions:
        verdict = "ok" if session.ok else f"FAILED (exit {session.returncode})"
        say(started, f"{session.name:<14} {verdict:<18} {session.seconds:6.0f}s  {session.counts}")
    print(total_line(sessions), flush=True)
    return 0 if all(s.ok for s in sessions) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tiers", nargs="*", help=f"of {', '.join(TIERS)}; default: every tier")
    parser.add_argument("--logs", type=Path, default=REPO / "build" / "test-logs")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    unknown = [t for t in args.tiers if t not in TIERS]
    if unknown:
        parser.error(f"unknown tier {', '.join(unknown)}: the tiers are {', '.join(TIERS)}")
    return run(args.tiers or list(TIERS), args.logs, args.python)


if __name__ == "__main__":
    sys.exit(main())
