"""An OCI emulator in its own process that the chaos tests may crash and start again.

The operator under test is configured with one endpoint for its whole life, so a restart
must come back on the same port and the same SQLite file: that is what a restarted OCI
region looks like to a client (the same URL, the same data). The request log lives in the
process, so it starts empty after a restart; :meth:`ChaosEmulator.all_requests` keeps what
the earlier incarnations recorded so that counts over a whole test stay complete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oci_emulator.testing import ApiKey, EmulatorControl
from tests.fixtures.waiting import wait_for

#: Creating calls: each one of these that succeeds makes (or would make) an OCI object.
CREATING_OPERATIONS = frozenset({"CreateJob", "CreateJobArtifact", "CreateJobRun"})


@dataclass
class ChaosEmulator(EmulatorControl):
    """``python -m oci_emulator`` on a fixed port with a file database; crash and restart."""

    db_path: Path = Path()
    keys: tuple[ApiKey, ...] = ()
    log_file: Path = Path()
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    earlier_entries: list[dict[str, Any]] = field(default_factory=list)
    restarts: int = 0

    def start(self) -> None:
        ready = self.db_path.with_suffix(".ready")
        ready.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "oci_emulator", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--db", str(self.db_path), "--ready-file", str(ready)]
        for key in self.keys:
            argv += ["--public-key", f"{key.tenancy}/{key.user}={key.public_key_file}"]
        argv += list(self.extra_args)
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        wait_for(
            lambda: self._ready(ready),
            timeout=60,
            what=f"the chaos emulator to serve on port {self.port}",
        )

    def _ready(self, ready: Path) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the emulator exited with {self.process.returncode}")
        return ready.exists()

    def crash(self) -> None:
        """SIGKILL: no shutdown hook runs, exactly like a lost machine."""
        self.earlier_entries.extend(self.entries())
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
        self.process = None

    def restart(self) -> None:
        self.crash()
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        self.process = None

    def entries(self) -> list[dict[str, Any]]:
        """This incarnation's request log (the emulator keeps the last 10,000)."""
        return list(self.requests(limit=10_000)["entries"])

    def all_requests(self) -> list[dict[str, Any]]:
        return [*self.earlier_entries, *self.entries()]


def not_of_tenancy(entries: Sequence[dict[str, Any]], tenancy: str) -> list[dict[str, Any]]:
    """Entries of everyone but ``tenancy`` (the test's observer key): the operator's calls,
    including any whose signature the emulator could not attribute to a tenancy."""
    return [e for e in entries if e.get("tenancy") != tenancy]


def count(entries: Sequence[dict[str, Any]], operations: frozenset[str] | set[str]) -> int:
    return sum(1 for e in entries if e.get("operation") in operations)
