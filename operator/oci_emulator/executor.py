"""Real execution of a job run on the host: work dir, command, environment, process group.

``plan_launch`` decides what to run, where, with which environment, and prepares the work
directory (the artifact, and the run's own Python environment: :mod:`.sandbox`, so that
no run can change the emulator's); ``run_process``
starts it in its own process group, streams every stdout/stderr line to a sink, and kills
the whole group on cancel or when ``maximumRuntimeInMinutes`` runs out — the host-side
equivalent of the service tearing down the job's VM.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shlex
import signal
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oci_emulator import sandbox
from oci_emulator.shapes import override_note

Doc = dict[str, Any]
LineSink = Callable[[str, str], None]

#: Seconds between SIGTERM and SIGKILL when a run is canceled or times out.
KILL_GRACE_SECONDS = 2.0
#: Exit code reported when the maximum runtime kills a run (as `timeout(1)` does).
TIMEOUT_EXIT_CODE = 124
#: Host variables passed through so interpreters work; everything else comes from the job.
PASSTHROUGH_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR")


class BootstrapError(Exception):
    """The run cannot start (bad archive, missing entrypoint): the service fails the run."""


@dataclass(frozen=True)
class LaunchPlan:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    #: Lines the emulator writes to the run's log before the process starts.
    preamble: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    canceled: bool = False
    timed_out: bool = False


def service_variables(run: Doc, job: Doc, region: str) -> dict[str, str]:
    """The variables the service sets in every job run (ads-jobs.md §2.9)."""
    return {
        "JOB_RUN_OCID": run["id"],
        "JOB_OCID": job["id"],
        "PROJECT_OCID": run["projectId"],
        "JOB_RUN_COMPARTMENT_OCID": run["compartmentId"],
        "JOB_COMPARTMENT_OCID": job["compartmentId"],
        "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
        "OCI_RESOURCE_PRINCIPAL_REGION": region,
        "OCI_REGION_METADATA": f'{{"regionIdentifier": "{region}"}}',
    }


def plan_launch(
    run: Doc,
    job: Doc,
    *,
    artifact_name: str | None,
    artifact_path: Path | None,
    work_dir: Path,
    region: str,
    extra_env: dict[str, str] | None = None,
    host_env: dict[str, str] | None = None,
    allow_installs: bool = False,
    shared_python: Path | None = None,
) -> LaunchPlan:
    """Decide what to execute for ``run``; raises :class:`BootstrapError` if it cannot run.

    Every process runs in a virtual environment apart from the emulator's: its own under
    ``work_dir`` when ``allow_installs`` lets ``pip`` install into it, else the one at
    ``shared_python`` if given (nothing can be installed into it, so runs may share it
    and skip making one each)."""
    config = run.get("jobConfigurationOverrideDetails") or {}
    user_env = dict(config.get("environmentVariables") or {})
    args = shlex.split(config.get("commandLineArguments") or "")
    env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
    env.update(HOME=str(work_dir), PYTHONUNBUFFERED="1")
    env.update(user_env)
    env.update(host_env or {})
    env.update(service_variables(run, job, region))
    env.update(extra_env or {})
    work_dir.mkdir(parents=True, exist_ok=True)
    shared = shared_python if not allow_installs else None
    python = sandbox.create(shared or work_dir / ".python", allow_installs=allow_installs)
    env = python.environment(env)
    preamble: list[str] = []
    if run.get("jobInfrastructureConfigurationOverrideDetails"):
        preamble.append(override_note(run["jobInfrastructureConfigurationOverrideDetails"]))
    container = run.get("jobEnvironmentConfigurationOverrideDetails")
    if container:
        command = list(container.get("entrypoint") or []) + (
            args or list(container.get("cmd") or [])
        )
        if not command:
            raise BootstrapError(
                f"container image {container.get('image')} has no entrypoint or cmd in the job; "
                "the emulator cannot use the image's defaults because it does not pull images."
            )
        preamble.append(
            f"oci_emulator: container image {container.get('image')} was not pulled; running "
            f"entrypoint + cmd as a host process: {shlex.join(command)}"
        )
        cwd = work_dir
        cwd.mkdir(parents=True, exist_ok=True)
        return LaunchPlan(argv=command, cwd=cwd, env=env, preamble=tuple(preamble))
    if artifact_name is None or artifact_path is None:
        raise BootstrapError("the job has no artifact.")
    conda = _conda_description(user_env)
    if conda:
        preamble.append(
            f"oci_emulator: the service would have used the conda environment {conda}; "
            f"running with Python {sys.version.split()[0]} in the run's own environment"
            " instead."
        )
    cwd = work_dir / "decompressed_artifact"
    cwd.mkdir(parents=True, exist_ok=True)
    lower = artifact_name.lower()
    if lower.endswith((".zip", ".tar.gz", ".tgz")):
        _extract(artifact_path, lower, cwd)
        entry = user_env.get("JOB_RUN_ENTRYPOINT")
        if not entry:
            raise BootstrapError("JOB_RUN_ENTRYPOINT must name the file to run in the archive.")
        target = (cwd / entry).resolve()
        if not target.is_relative_to(cwd.resolve()) or not target.is_file():
            raise BootstrapError(f"JOB_RUN_ENTRYPOINT {entry!r} is not a file in the archive.")
    else:
        target = cwd / artifact_name
        target.write_bytes(artifact_path.read_bytes())
    return LaunchPlan(
        argv=[*_interpreter(target, python.python), str(target), *args],
        cwd=cwd,
        env=env,
        preamble=tuple(preamble),
    )


def _conda_description(env: dict[str, str]) -> str | None:
    kind = env.get("CONDA_ENV_TYPE")
    if kind == "service" and env.get("CONDA_ENV_SLUG"):
        return f"{env['CONDA_ENV_SLUG']} (service conda pack)"
    if kind == "published" and env.get("CONDA_ENV_OBJECT_NAME"):
        return (
            f"oci://{env.get('CONDA_ENV_BUCKET', '?')}@{env.get('CONDA_ENV_NAMESPACE', '?')}/"
            f"{env['CONDA_ENV_OBJECT_NAME']} (published conda pack)"
        )
    return None


def _interpreter(target: Path, python: Path) -> list[str]:
    name = target.name.lower()
    if name.endswith(".py"):
        return [str(python), "-u"]
    if name.endswith(".sh"):
        return ["bash"]
    raise BootstrapError(f"JOB_RUN_ENTRYPOINT {target.name!r} must be a .py or .sh file.")


def _extract(archive: Path, lower_name: str, dest: Path) -> None:
    data = archive.read_bytes()
    try:
        if lower_name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for member in zf.namelist():
                    _check_member(dest, member)
                zf.extractall(dest)  # noqa: S202 (members checked above)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
                tf.extractall(dest, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError) as exc:
        raise BootstrapError(f"the artifact archive cannot be extracted: {exc}") from exc


def _check_member(dest: Path, member: str) -> None:
    if not (dest / member).resolve().is_relative_to(dest.resolve()):
        raise BootstrapError(f"archive member {member!r} escapes the work directory.")


async def run_process(
    plan: LaunchPlan,
    sink: LineSink,
    *,
    cancel: asyncio.Event,
    timeout_seconds: float | None,
    on_start: Callable[[int], None] | None = None,
) -> Outcome:
    """Run ``plan`` to completion, cancellation or timeout; every output line goes to sink.

    ``on_start`` receives the process id (= its process group id) once it runs, so the
    caller can record it and a later emulator can kill what a crashed one left behind.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *plan.argv,
            cwd=plan.cwd,
            env=plan.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=1 << 20,
        )
    except OSError as exc:
        sink("stderr", f"oci_emulator: cannot start {plan.argv[0]}: {exc}")
        return Outcome(exit_code=127)
    assert process.stdout is not None
    assert process.stderr is not None
    if on_start is not None:
        on_start(process.pid)
    readers = [
        asyncio.create_task(_pump(process.stdout, "stdout", sink)),
        asyncio.create_task(_pump(process.stderr, "stderr", sink)),
    ]
    waiter = asyncio.create_task(process.wait())
    canceler = asyncio.create_task(cancel.wait())
    done, _ = await asyncio.wait(
        {waiter, canceler}, timeout=timeout_seconds, return_when=asyncio.FIRST_COMPLETED
    )
    canceled = canceler in done and waiter not in done
    timed_out = not done
    if canceled or timed_out:
        await _terminate_group(process)
    canceler.cancel()
    code = await waiter
    _kill_group(process.pid, signal.SIGKILL)  # leftovers of a finished main process
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*readers), timeout=5)
    for reader in readers:
        reader.cancel()
    if timed_out:
        return Outcome(exit_code=TIMEOUT_EXIT_CODE, timed_out=True)
    return Outcome(exit_code=code if code >= 0 else 128 - code, canceled=canceled)


async def _pump(stream: asyncio.StreamReader, name: str, sink: LineSink) -> None:
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line longer than the limit: deliver what arrived
            raw = await stream.read(1 << 20)
        if not raw:
            return
        sink(name, raw.decode("utf-8", errors="replace").rstrip("\r\n"))


async def _terminate_group(process: asyncio.subprocess.Process) -> None:
    _kill_group(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=KILL_GRACE_SECONDS)
    except TimeoutError:
        _kill_group(process.pid, signal.SIGKILL)


def kill_leftover_group(pgid: int, run_id: str) -> bool:
    """SIGKILL process group ``pgid`` if its leader is still this run's process.

    The leader's environment must hold ``JOB_RUN_OCID=<run_id>``, so a recycled pid of an
    unrelated process is never touched. True if a group was killed.
    """
    try:
        environ = Path(f"/proc/{pgid}/environ").read_bytes()
    except OSError:
        return False
    if f"JOB_RUN_OCID={run_id}".encode() not in environ.split(b"\0"):
        return False
    _kill_group(pgid, signal.SIGKILL)
    return True


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
