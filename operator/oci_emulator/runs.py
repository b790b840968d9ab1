"""The run driver: moves each job run through its lifecycle in a background task.

Time drives the ACCEPTED phase (``accepted_seconds`` spread over the service's four
provisioning texts), not GET calls, so a run progresses whether or not anyone polls. Then
the run executes (or follows its simulate script), its output lines are stored as log
records when logging is on, and it ends SUCCEEDED, FAILED or CANCELED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oci_emulator import ids, lifecycle
from oci_emulator.executor import (
    BootstrapError,
    Outcome,
    kill_leftover_group,
    plan_launch,
    run_process,
)
from oci_emulator.faults import Faults
from oci_emulator.multinode import GROUP_ACTIVE, GROUP_FAILED, plan_nodes, run_nodes
from oci_emulator.principals import TokenAuthority
from oci_emulator.settings import Settings
from oci_emulator.simulate import script_for, simulate

if TYPE_CHECKING:
    from oci_emulator.backend.datascience import DataScienceBackend
    from oci_emulator.backend.logmanagement import LoggingBackend

Doc = dict[str, Any]
log = logging.getLogger(__name__)

#: How often buffered output lines are written to the log store while runs execute.
FLUSH_INTERVAL_SECONDS = 0.1


class LoopScheduler:
    """Deferred callbacks on the emulator loop; a failing callback is logged, not fatal."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                callback()
            except Exception:
                log.exception("scheduled emulator callback failed")

        self._loop.call_soon_threadsafe(lambda: self._loop.call_later(delay, guarded))


class _LineBuffer:
    """Collects output lines with their capture time; flushed to the run's log in batches."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str, str]] = []
        self._last_ms = 0
        #: Also append every line here (the run's ``output.log``), logging on or not, so
        #: a failing run can be diagnosed from its work directory.
        self.mirror: Path | None = None

    def add(self, stream: str, text: str) -> None:
        # Never earlier than the line before: with ties in ingestion order (as the search
        # answers them), ``sort by datetime`` gives the output order.
        stamp = max(ids.now_ms(), self._last_ms)
        self._last_ms = stamp
        self.lines.append((stamp, stream, text))

    def take(self) -> list[tuple[int, str, str]]:
        taken, self.lines = self.lines, []
        return taken


class RunDriver:
    """Implements ``RunControl`` for the Data Science backend."""

    def __init__(
        self,
        settings: Settings,
        faults: Faults,
        region: str,
        tokens: TokenAuthority,
        endpoint: Callable[[], str],
    ) -> None:
        self._settings = settings
        self._faults = faults
        self._region = region
        self._tokens = tokens
        self._endpoint = endpoint
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancels: dict[str, asyncio.Event] = {}
        #: The output of the executing runs, by run id: one task writes all of it
        #: (:meth:`_flush_loop`).
        self._buffers: dict[str, tuple[Doc, Doc | None, _LineBuffer]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._ds: DataScienceBackend | None = None
        self._logging: LoggingBackend | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        #: Set on shutdown: processes are killed but runs keep their state, so the next
        #: start settles them as lost (what a crash would leave) instead of as canceled.
        self._stopping = False

    def bind(
        self,
        ds: DataScienceBackend,
        logging_backend: LoggingBackend,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._ds = ds
        self._logging = logging_backend
        self._loop = loop

    @property
    def ds(self) -> DataScienceBackend:
        assert self._ds is not None, "RunDriver.bind() was not called"
        return self._ds

    def work_root(self) -> Path:
        if self._settings.work_root:
            return Path(self._settings.work_root)
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="oci-emulator-runs-")
        return Path(self._tmp.name)

    # -- RunControl -----------------------------------------------------------------------

    def start(self, run_id: str) -> None:
        assert self._loop is not None
        self._cancels[run_id] = asyncio.Event()
        self._tasks[run_id] = self._loop.create_task(self._drive(run_id))

    def cancel(self, run_id: str) -> None:
        event = self._cancels.get(run_id)
        if event is not None:
            event.set()
        else:  # no live task (e.g. after a restart): nothing to kill
            self._finish(run_id, lifecycle.RUN_CANCELED, lifecycle.CANCELED_DETAILS)

    # -- lifecycle ------------------------------------------------------------------------

    def recover(self) -> int:
        """Settle runs left active by a previous process (their processes died with it)."""
        count = 0
        for run in self.ds.active_runs():
            for pid in run.get("_pids", []):
                if kill_leftover_group(int(pid), run["id"]):
                    log.warning("killed process group %d left by run %s", pid, run["id"])
            if run["lifecycleState"] == lifecycle.RUN_CANCELING:
                self._finish(run["id"], lifecycle.RUN_CANCELED, lifecycle.CANCELED_DETAILS)
            else:
                self._finish(run["id"], lifecycle.RUN_FAILED, lifecycle.RESTART_LOST_DETAILS)
            count += 1
        return count

    async def shutdown(self) -> None:
        self._stopping = True
        for event in self._cancels.values():
            event.set()
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        if self._flusher is not None:
            self._flusher.cancel()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def _drive(self, run_id: str) -> None:
        cancel = self._cancels[run_id]
        try:
            await self._drive_phases(run_id, cancel)
        except Exception as exc:
            log.exception("run %s failed inside the emulator", run_id)
            with contextlib.suppress(Exception):
                self._finish(
                    run_id, lifecycle.RUN_FAILED, lifecycle.bootstrap_failed_details(str(exc))
                )
        finally:
            self._tasks.pop(run_id, None)
            self._cancels.pop(run_id, None)

    async def _drive_phases(self, run_id: str, cancel: asyncio.Event) -> None:
        step = max(self._settings.accepted_seconds, 0.0) / len(lifecycle.ACCEPTED_DETAILS)
        for details in lifecycle.ACCEPTED_DETAILS[1:]:
            if await _cancelled_within(cancel, step):
                self._finish(run_id, lifecycle.RUN_CANCELED, lifecycle.CANCELED_DETAILS)
                return
            self.ds.set_run_state(run_id, lifecycle.RUN_ACCEPTED, details)
        if await _cancelled_within(cancel, step):
            self._finish(run_id, lifecycle.RUN_CANCELED, lifecycle.CANCELED_DETAILS)
            return
        if self._faults.roll_needs_attention():
            self.ds.set_run_state(
                run_id, lifecycle.RUN_NEEDS_ATTENTION, lifecycle.NEEDS_ATTENTION_DETAILS
            )
            await cancel.wait()
            self._finish(run_id, lifecycle.RUN_CANCELED, lifecycle.CANCELED_DETAILS)
            return
        run = self.ds.set_run_state(
            run_id,
            lifecycle.RUN_IN_PROGRESS,
            lifecycle.IN_PROGRESS_DETAILS,
            timeStarted=ids.now_iso(),
        )
        log.info("job run %s IN_PROGRESS", run_id)
        outcome = await self._execute(run, cancel)
        if outcome is None:
            return
        if outcome.canceled:
            self._finish(run_id, lifecycle.RUN_CANCELED, lifecycle.CANCELED_DETAILS)
        elif outcome.timed_out:
            limits = run.get("_nodeConfig") or run["jobConfigurationOverrideDetails"]
            minutes = int(limits.get("maximumRuntimeInMinutes", 0))
            self._finish(run_id, lifecycle.RUN_FAILED, lifecycle.timed_out_details(minutes))
        elif outcome.exit_code == 0:
            self._finish(run_id, lifecycle.RUN_SUCCEEDED, lifecycle.SUCCEEDED_DETAILS)
        else:
            self._finish(run_id, lifecycle.RUN_FAILED, lifecycle.failed_details(outcome.exit_code))

    async def _execute(self, run: Doc, cancel: asyncio.Event) -> Outcome | None:
        config = run.get("jobConfigurationOverrideDetails") or {}
        minutes = config.get("maximumRuntimeInMinutes")
        timeout = None if minutes is None else minutes * self._settings.runtime_minute_seconds
        buffer = _LineBuffer()
        log_doc = self.ds.log_for_run(run)
        self._buffers[run["id"]] = (run, log_doc, buffer)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_loop())
        try:
            if self._settings.mode == "simulate":
                script = script_for(
                    dict(config.get("environmentVariables") or {}), self._settings.simulate
                )
                return await simulate(script, buffer.add, cancel=cancel, timeout_seconds=timeout)
            job = self.ds.get_job(run["jobId"])
            work_dir = self.work_root() / run["id"].rsplit(".", 1)[-1][-24:]
            work_dir.mkdir(parents=True, exist_ok=True)
            buffer.mirror = work_dir / "output.log"
            name, path = self._artifact_file(run["jobId"], work_dir)
            credentials = await asyncio.to_thread(
                self._tokens.issue_for_run, run, str(run.get("_tenancy", "")), work_dir / ".oci"
            )
            service_env = credentials.environment(self._region)
            if "_nodeConfig" in run:
                return await self._execute_nodes(
                    run, job, (name, path), work_dir, buffer, cancel, service_env
                )
            try:
                # Extraction touches only the work dir: keep it off the event loop.
                plan = await asyncio.to_thread(
                    plan_launch,
                    run,
                    job,
                    artifact_name=name,
                    artifact_path=path,
                    work_dir=work_dir,
                    region=self._region,
                    host_env=self._host_env(),
                    extra_env=service_env,
                    allow_installs=self._settings.allow_installs,
                    shared_python=self.work_root() / ".python",
                )
            except BootstrapError as exc:
                buffer.add("stderr", f"oci_emulator: {exc}")
                self._finish(
                    run["id"], lifecycle.RUN_FAILED, lifecycle.bootstrap_failed_details(str(exc))
                )
                return None
            for line in plan.preamble:
                buffer.add("stdout", line)
            return await run_process(
                plan,
                buffer.add,
                cancel=cancel,
                timeout_seconds=timeout,
                on_start=lambda pid: self._record_pid(run["id"], pid),
            )
        finally:
            del self._buffers[run["id"]]
            self._flush([(run, log_doc, buffer)])

    async def _execute_nodes(
        self,
        run: Doc,
        job: Doc,
        artifact: tuple[str | None, Path | None],
        work_dir: Path,
        buffer: _LineBuffer,
        cancel: asyncio.Event,
        service_env: dict[str, str],
    ) -> Outcome | None:
        """Every replica of every node group at once, under the node group rules
        (:mod:`.multinode`); the run's ``nodeGroupDetailsList`` follows them."""
        nodes = run["_nodeConfig"]
        groups = nodes["jobNodeGroupConfigurationDetailsList"]
        try:
            launches = await asyncio.to_thread(
                plan_nodes,
                run,
                job,
                nodes,
                artifact_name=artifact[0],
                artifact_path=artifact[1],
                work_dir=work_dir,
                region=self._region,
                host_env=self._host_env(),
                service_env=service_env,
                allow_installs=self._settings.allow_installs,
                shared_python=self.work_root() / ".python",
            )
        except BootstrapError as exc:
            buffer.add("stderr", f"oci_emulator: {exc}")
            self._set_groups(run["id"], [_group(g, GROUP_FAILED, str(exc)) for g in groups])
            self._finish(
                run["id"], lifecycle.RUN_FAILED, lifecycle.bootstrap_failed_details(str(exc))
            )
            return None
        self._set_groups(
            run["id"], [_group(g, GROUP_ACTIVE, "Node group running.") for g in groups]
        )
        minutes = nodes.get("maximumRuntimeInMinutes")
        timeout = None if minutes is None else minutes * self._settings.runtime_minute_seconds
        for line in dict.fromkeys(line for launch in launches for line in launch.plan.preamble):
            buffer.add("stdout", line)
        return await run_nodes(
            launches,
            groups,
            buffer.add,
            cancel=cancel,
            timeout_seconds=timeout,
            on_start=lambda pid: self._record_pid(run["id"], pid),
            on_groups=lambda details: self._set_groups(run["id"], details),
        )

    def _set_groups(self, run_id: str, details: list[Doc]) -> None:
        if self._stopping:
            return
        run = self.ds.get_job_run(run_id)
        self.ds.set_run_state(run_id, run["lifecycleState"], None, nodeGroupDetailsList=details)

    def _record_pid(self, run_id: str, pid: int) -> None:
        self.ds.remember(run_id, pid=pid)

    def _host_env(self) -> dict[str, str]:
        """``run_env`` with ``{endpoint}`` replaced by this emulator's own endpoint."""
        endpoint = self._endpoint()
        return {k: v.replace("{endpoint}", endpoint) for k, v in self._settings.run_env.items()}

    def _artifact_file(self, job_id: str, work_dir: Path) -> tuple[str | None, Path | None]:
        try:
            blob = self.ds.get_artifact(job_id)
        except Exception:
            return None, None
        path = work_dir / ".artifact"
        path.write_bytes(blob.data)
        return blob.name, path

    async def _flush_loop(self) -> None:
        """Writes the buffered lines of every executing run together, until none runs.

        One task and one write for all runs: a task per run woke thousands of times a
        second at a thousand runs, and wrote each of their lines on its own."""
        while self._buffers:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)  # batching period, not a wait-for
            try:
                self._flush(list(self._buffers.values()))
            except Exception:
                log.exception("writing the runs' output to their logs failed")

    def _flush(self, buffers: list[tuple[Doc, Doc | None, _LineBuffer]]) -> None:
        batches: list[tuple[Doc, str, list[tuple[int, str, str]]]] = []
        for run, log_doc, buffer in buffers:
            lines = buffer.take()
            if lines and buffer.mirror is not None:
                with buffer.mirror.open("a", encoding="utf-8") as out:
                    out.writelines(f"{stream}: {text}\n" for _, stream, text in lines)
            if lines and log_doc is not None:
                batches.append((log_doc, run["id"], lines))
        if batches and self._logging is not None:
            self._logging.append_many(batches)

    def _finish(self, run_id: str, state: str, details: str) -> None:
        if self._stopping:
            return
        run = self.ds.get_job_run(run_id)
        if run["lifecycleState"] not in lifecycle.RUN_ACTIVE:
            return
        if run["lifecycleState"] == lifecycle.RUN_CANCELING:
            # A cancel request wins over an exit that raced with it.
            state, details = lifecycle.RUN_CANCELED, lifecycle.CANCELED_DETAILS
        if state == lifecycle.RUN_CANCELED and run["lifecycleState"] != lifecycle.RUN_CANCELING:
            self.ds.set_run_state(run_id, lifecycle.RUN_CANCELING, lifecycle.CANCELING_DETAILS)
        self.ds.set_run_state(run_id, state, details, timeFinished=ids.now_iso())
        log.info("job run %s %s: %s", run_id, state, details)


def _group(group: Doc, state: str, details: str) -> Doc:
    return {"name": group["name"], "lifecycleState": state, "lifecycleDetails": details}


async def _cancelled_within(cancel: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for a cancel request; True if one came."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(cancel.wait(), timeout=seconds)
    return cancel.is_set()
