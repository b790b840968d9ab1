"""Runtime settings of one emulator instance; the admin endpoint may change them live."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Values of ``Settings.log_tie_order``.
TIE_ORDERS = ("ingestion", "reversed")


@dataclass
class SimulateScript:
    """The scripted timeline a run follows in ``simulate`` mode instead of executing.

    Per-run overrides come from the run's environment variables
    ``EMULATOR_SIM_SECONDS``, ``EMULATOR_SIM_EXIT_CODE`` and ``EMULATOR_SIM_LINES_PER_SECOND``,
    so one scale test can mix outcomes without touching global settings.
    """

    #: How long the run stays IN_PROGRESS.
    run_seconds: float = 1.0
    #: Exit code the simulated process "returns"; non-zero makes the run FAILED.
    exit_code: int = 0
    #: Synthetic log lines written per second while IN_PROGRESS.
    lines_per_second: float = 2.0


@dataclass
class Settings:
    """Knobs that shape timing and behaviour; defaults keep tests fast but realistic."""

    #: Total seconds a run spends ACCEPTED, spread over the four provisioning details.
    #: The service takes minutes; ~1 s keeps the phase observable without slowing tests.
    accepted_seconds: float = 1.0
    #: Seconds before a log record becomes visible to SearchLogs (the service ingests late).
    log_visibility_delay: float = 2.0
    #: Seconds a work request (DeleteJob, CreateLog, CreateLogGroup) takes to finish.
    work_request_seconds: float = 0.3
    #: ``execute`` runs artifacts on the host; ``simulate`` follows :class:`SimulateScript`.
    mode: str = "execute"
    simulate: SimulateScript = field(default_factory=SimulateScript)
    #: Object Storage namespace returned by GetNamespace.
    namespace: str = "emulatorns"
    #: Where per-run work directories are created (``None``: a temp dir per instance).
    work_root: str | None = None
    #: Extra environment variables every run gets (after the job's and the run's, before
    #: the service's). The service sets nothing like this; it lets code inside runs reach
    #: the emulator, e.g. ``OCI_OBJECT_STORAGE_ENDPOINT`` for output uploads.
    run_env: dict[str, str] = field(default_factory=dict)
    #: Seconds that one minute of ``maximumRuntimeInMinutes`` lasts; tests shrink it so a
    #: runtime limit can be exercised without waiting a real minute.
    runtime_minute_seconds: float = 60.0
    #: Let executed runs install Python packages (pip) into their own environment; off,
    #: a run that tries fails with a message saying so (see ``sandbox``).
    allow_installs: bool = False
    #: Reject requests whose ``date`` is further than this from the server clock (seconds).
    max_clock_skew: float = 300.0
    #: How SearchLogs orders records with the same ``datetime``: ``ingestion`` (in the
    #: order they were written, for both sort orders) or ``reversed`` (newest first, for
    #: both). OCI documents neither; readers that must not depend on it test with both.
    log_tie_order: str = "ingestion"
    #: Share (0..1) of log records the service ingests late: such a record becomes
    #: searchable between ``log_late_min_seconds`` and ``log_late_max_seconds`` after its
    #: own time instead of at once (OCI Logging does this to some records; readers that
    #: stop looking after a few seconds lose them). Which records and how late follows
    #: from ``log_late_seed`` and the record (its source, time and text), so a test sees
    #: the same records late on every run.
    log_late_share: float = 0.0
    log_late_min_seconds: float = 30.0
    log_late_max_seconds: float = 120.0
    log_late_seed: int = 0

    def late_ms(self, source: str, time_ms: int, message: str) -> int:
        """How many ms after its time this record is ingested (0: not late)."""
        if self.log_late_share <= 0:
            return 0
        digest = hashlib.sha256(
            f"{self.log_late_seed}\x00{source}\x00{time_ms}\x00{message}".encode()
        )
        draw = int.from_bytes(digest.digest()[:8], "big") / 2**64
        if draw >= self.log_late_share:
            return 0
        spread = self.log_late_max_seconds - self.log_late_min_seconds
        # The same draw, rescaled, picks the delay: uniform over the range for late records.
        return int((self.log_late_min_seconds + spread * draw / self.log_late_share) * 1000)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update from the admin endpoint; unknown keys raise KeyError."""
        known = {f.name for f in fields(self)}
        late_before = (self.log_late_share, self.log_late_min_seconds, self.log_late_max_seconds)
        for key, value in changes.items():
            if key not in known:
                raise KeyError(key)
            if key == "simulate":
                script = self.simulate
                script_known = {f.name for f in fields(script)}
                for skey, svalue in dict(value).items():
                    if skey not in script_known:
                        raise KeyError(f"simulate.{skey}")
                    setattr(script, skey, type(getattr(script, skey))(svalue))
            elif key == "run_env":
                self.run_env = {str(k): str(v) for k, v in dict(value).items()}
            elif key == "work_root":
                self.work_root = None if value is None else str(value)
            elif key == "allow_installs":
                if not isinstance(value, bool):
                    raise ValueError(f"allow_installs must be true or false, not {value!r}")
                self.allow_installs = value
            elif key == "log_tie_order":
                if value not in TIE_ORDERS:
                    raise ValueError(f"log_tie_order must be one of {TIE_ORDERS}, not {value!r}")
                self.log_tie_order = str(value)
            elif key == "mode":
                if value not in ("execute", "simulate"):
                    raise ValueError(f"mode must be execute or simulate, not {value!r}")
                self.mode = str(value)
            else:
                setattr(self, key, type(getattr(self, key))(value))
        self._check_late(late_before)

    def _check_late(self, before: tuple[float, float, float]) -> None:
        """Refuse (and undo) late-ingest values that make no sense together."""
        share, low, high = self.log_late_share, self.log_late_min_seconds, self.log_late_max_seconds
        problem = ""
        if not 0.0 <= share <= 1.0:
            problem = f"log_late_share must be within 0..1, not {share}"
        elif not 0.0 <= low <= high:
            problem = f"need 0 <= log_late_min_seconds <= log_late_max_seconds, not {low}, {high}"
        if problem:
            self.log_late_share, self.log_late_min_seconds, self.log_late_max_seconds = before
            raise ValueError(problem)
