"""The run use case end to end over the fake ports (FakeKube for Kubernetes, FakePort for
OCI): the watch loop from a new resource to its end, as the kopf daemon runs it, with a
stop signal that lets a test act between passes instead of sleeping."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from ads_operator.models import JOB_PLURAL, RUN_PLURAL, DataScienceJobRunStatus
from ads_operator.models.oci_records import OciJob
from ads_operator.oci.poller import RunStateReader
from ads_operator.reconcile.conditions import get_condition
from ads_operator.reconcile.events import LogEventLimiter
from ads_operator.settings import Settings
from ads_operator.usecases import run as run_usecase
from ads_operator.usecases.operator import Operator
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort, at

NS = "team-a"
JOB = "ocid1.datasciencejob.oc1.iad.j0"
JOB_SPEC = {
    "name": "hello",
    "infrastructure": {
        "kind": "infrastructure",
        "type": "dataScienceJob",
        "spec": {"compartmentId": COMPARTMENT, "projectId": PROJECT, "shapeName": "VM.Standard2.1"},
    },
    "runtime": {
        "kind": "runtime",
        "type": "script",
        "spec": {"scriptPathURI": "configmap://code/hello.py"},
    },
}
READY = [{"type": "Ready", "status": "True", "reason": "Active", "message": ""}]


class Factory:
    """The port factory: every resource gets the one in-memory OCI port."""

    has_default = True

    def __init__(self, port: FakePort) -> None:
        self.fake = port

    def port(self, **_: Any) -> FakePort:
        return self.fake

    def is_built(self, **_: Any) -> bool:
        return True


class Stop:
    """The daemon's stop signal. Each pause between passes calls ``between(n)`` (n: the
    pass that just ended, from 1) and returns at once; after ``passes`` it says stop."""

    def __init__(self, between: Callable[[int], None] | None = None, passes: int = 30) -> None:
        self.between, self.passes, self.pauses = between, passes, 0
        self.delays: list[float] = []

    def __bool__(self) -> bool:
        return self.pauses >= self.passes

    async def wait(self, timeout: float) -> object:  # noqa: ASYNC109  # the Protocol's
        self.pauses += 1
        self.delays.append(timeout)
        if self.between is not None:
            self.between(self.pauses)
        await asyncio.sleep(0)
        return None


@pytest.fixture
def world() -> tuple[Operator, FakeKube, FakePort]:
    kube, port = FakeKube(), FakePort()
    port.jobs[JOB] = OciJob(JOB, "ACTIVE", COMPARTMENT, PROJECT, display_name="hello")
    settings = Settings(log_grace=0, log_settle=0, poll_interval=3.0)
    op = Operator(
        settings,
        kube,
        Factory(port),  # type: ignore[arg-type]  # the two members the run use case calls
        LogEventLimiter(1000, 1000),
        RunStateReader(min_batch=1000, window=0.0),
    )
    return op, kube, port


def add_job(kube: FakeKube, name: str = "hello", **status: Any) -> None:
    kube.add(
        JOB_PLURAL,
        {
            "metadata": {"name": name, "namespace": NS},
            "spec": JOB_SPEC,
            "status": {"ocid": JOB, "conditions": READY, **status},
        },
    )


def add_run(kube: FakeKube, name: str = "run-1", **spec: Any) -> dict[str, Any]:
    return kube.add(
        RUN_PLURAL,
        {
            "apiVersion": "ads.oci.dev/v1alpha1",
            "kind": "DataScienceJobRun",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"jobRef": {"name": "hello"}, **spec},
        },
    )


def started(
    world: tuple[Operator, FakeKube, FakePort], **spec: Any
) -> tuple[Operator, FakeKube, FakePort, dict[str, Any]]:
    """The world with the job ``hello`` (Ready) and a run of it, ``run-1`` (``spec``:
    more of its spec); the run's body last."""
    op, kube, port = world
    add_job(kube)
    return op, kube, port, add_run(kube, **spec)


def succeed(port: FakePort, run_id: str) -> None:
    """OCI says the run ran from 1 s to 2 s and succeeded."""
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(2))


def status(kube: FakeKube, name: str = "run-1") -> dict[str, Any]:
    return kube.status_of(RUN_PLURAL, NS, name)


def cond(kube: FakeKube, kind: str, name: str = "run-1") -> tuple[str, str]:
    found = get_condition(status(kube, name).get("conditions"), kind) or {}
    return str(found.get("status")), str(found.get("reason"))


def patches_of(kube: FakeKube, name: str = "run-1") -> list[dict[str, Any]]:
    return [p for plural, n, p in kube.patches if plural == RUN_PLURAL and n == name]


async def test_a_run_is_created_once_followed_to_success_and_its_log_mirrored(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    op, kube, port, body = started(world)
    create_patches: list[int] = []

    def between(n: int) -> None:
        (run_id,) = port.runs
        if n == 1:
            create_patches.append(len(patches_of(kube)))
            port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
            port.emit(run_id, ("hello", at(2)))
        elif n == 2:
            port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(3))

    await run_usecase.watch(op, body, Stop(between))
    assert port.calls["create_job_run"] == 1
    assert port.calls["list_job_runs"] == 0  # no marker found: creating never lists
    assert status(kube)["phase"] == "Succeeded"
    assert cond(kube, "Finished") == ("True", "Succeeded")
    assert cond(kube, "Logging") == ("True", "Complete")
    assert [x["message"] for x in status(kube)["logTail"]] == ["hello"]
    reasons = kube.reasons()
    assert reasons[0] == "Created"
    assert [r for r in reasons if r.isupper() or r == "IN_PROGRESS"] == [
        "ACCEPTED",
        "IN_PROGRESS",
        "SUCCEEDED",
    ]
    assert "LogLines" in reasons
    # The create pass: the marker, the OCID, the new state with its conditions.
    assert patches_of(kube)[0] == {"createRequested": 1}
    assert create_patches == [3]
    assert all(not k.startswith("_") for p in patches_of(kube) for k in p)
    # What the use case wrote is what the CRD's status model reads, field for field.
    parsed = DataScienceJobRunStatus.parse(status(kube))
    assert parsed.phase == "Succeeded"
    assert set(parsed.to_patch()) == set(status(kube))


async def test_a_crash_between_marker_and_create_adopts_the_run(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    op, kube, port, body = started(world)
    real_create = port.create_job_run

    async def killed(**kwargs: Any) -> Any:
        await real_create(**kwargs)  # OCI made the run; the operator dies before its answer
        raise asyncio.CancelledError

    port.create_job_run = killed  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await run_usecase.watch(op, body, Stop())
    assert status(kube) == {"createRequested": 1}
    port.create_job_run = real_create  # type: ignore[method-assign]
    port.tokens.clear()  # even with the retry token forgotten
    (run_id,) = port.runs
    succeed(port, run_id)
    again = {**body, "status": status(kube)}
    await run_usecase.watch(op, again, Stop())
    assert len(port.runs) == 1
    assert port.calls["list_job_runs"] == 1
    assert status(kube)["ocid"] == run_id
    assert status(kube)["phase"] == "Succeeded"


async def test_a_failed_attempt_is_retried_as_a_new_oci_run(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    op, kube, port, body = started(world, runPolicy={"backoffLimit": 1, "backoffSeconds": 0})
    failed: list[str] = []

    def between(n: int) -> None:
        runs = list(port.runs)
        if len(runs) == 1 and not failed:
            failed.append(runs[0])
            port.move(runs[0], "FAILED", "exit code 2", time_started=at(1), time_finished=at(2))
        elif len(runs) == 2 and port.runs[runs[1]].lifecycle_state == "ACCEPTED":
            port.move(runs[1], "SUCCEEDED", "ok", time_started=at(3), time_finished=at(4))

    await run_usecase.watch(op, body, Stop(between))
    assert port.calls["create_job_run"] == 2
    final = status(kube)
    assert (final["attempt"], final["phase"]) == (2, "Succeeded")
    assert [a["ocid"] for a in final["attempts"]] == failed
    assert "Retrying" in kube.reasons()


async def test_the_deadline_cancels_the_attempt_and_fails_the_run(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    # Accepted at T0, days ago by the clock: the deadline has passed at the first read.
    op, kube, port, body = started(world, runPolicy={"activeDeadlineSeconds": 60})

    def between(n: int) -> None:
        (run_id,) = port.runs
        if port.calls["cancel_job_run"] and port.runs[run_id].lifecycle_state != "CANCELED":
            port.move(run_id, "CANCELED", "canceled", time_finished=at(120))

    await run_usecase.watch(op, body, Stop(between))
    assert port.calls["cancel_job_run"] == 1
    assert "DeadlineExceeded" in kube.reasons()
    assert status(kube)["phase"] == "Canceled"
    assert cond(kube, "Failed") == ("True", "DeadlineExceeded")


async def test_spec_cancel_cancels_once_and_ends_canceled(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    op, kube, port, body = started(world)

    def between(n: int) -> None:
        (run_id,) = port.runs
        if n == 1:
            body["spec"]["cancel"] = True  # kopf's body is the live view
        elif n == 3:
            port.move(run_id, "CANCELED", "canceled", time_finished=at(5))

    await run_usecase.watch(op, body, Stop(between))
    assert port.calls["cancel_job_run"] == 1
    assert "CancelRequested" in kube.reasons()
    assert cond(kube, "Finished") == ("True", "Canceled")


async def test_ttl_after_finished_deletes_the_resource(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    op, kube, port, body = started(world, runPolicy={"ttlSecondsAfterFinished": 0})

    def between(n: int) -> None:
        (run_id,) = port.runs
        succeed(port, run_id)

    await run_usecase.watch(op, body, Stop(between))
    assert (RUN_PLURAL, NS, "run-1") not in kube.objects
    assert kube.reasons()[-1] == "Expired"


async def test_a_full_namespace_makes_a_run_wait_until_a_slot_frees(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    op, kube, port = world
    op.settings = dataclasses.replace(op.settings, max_active_runs_per_namespace=1)
    add_job(kube)
    busy = add_run(kube, "busy")
    kube.objects[(RUN_PLURAL, NS, "busy")]["status"] = {"phase": "Running", "ocid": "r0"}
    body = add_run(kube)

    def between(n: int) -> None:
        if n == 2:  # the other run ends
            kube.objects[(RUN_PLURAL, NS, "busy")]["status"]["phase"] = "Succeeded"
        elif port.runs:
            (run_id,) = port.runs
            succeed(port, run_id)

    stop = Stop(between)
    await run_usecase.watch(op, body, stop)
    assert busy["metadata"]["name"] == "busy"
    assert port.calls["create_job_run"] == 1
    waited = [p for p in patches_of(kube) if p.get("phase") == "Pending" and "conditions" in p]
    assert waited  # it said why it waited
    assert status(kube)["phase"] == "Succeeded"
    assert stop.pauses >= 3  # two passes waited for the slot


async def test_the_wait_for_a_missing_job_is_counted_across_passes_and_ends_it(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    """The daemon remembers when the wait began (not the status), though each pass
    rebuilds its context while the run has no OCI run."""
    op, kube, port = world
    clock = [at(0)]
    op.now = lambda: clock[0]
    op.settings = dataclasses.replace(op.settings, job_wait_timeout=60)
    body = add_run(kube)

    def between(n: int) -> None:
        clock[0] = at(30 * n)

    stop = Stop(between, passes=10)
    await run_usecase.watch(op, body, stop)
    assert stop.pauses == 2  # waited at 0 s and 30 s, failed at 60 s
    assert status(kube)["phase"] == "Failed"
    assert cond(kube, "Failed") == ("True", "JobNotFound")
    assert "gave up after waiting 60s" in str(get_condition(status(kube)["conditions"], "Failed"))
    assert port.calls["create_job_run"] == 0
    assert all(not k.startswith("_") for p in patches_of(kube) for k in p)


async def test_a_failure_repeated_pass_after_pass_is_one_event_and_nothing_private_in_status(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    op, kube, port, body = started(world)
    from ads_operator.models.oci_errors import RetryableError

    def between(n: int) -> None:
        if n < 3:
            port.fail_next["create_job_run"] = RetryableError("busy", status=503, code="Busy")
        elif port.runs:
            (run_id,) = port.runs
            succeed(port, run_id)

    port.fail_next["create_job_run"] = RetryableError("busy", status=503, code="Busy")
    await run_usecase.watch(op, body, Stop(between))
    failures = [r for r in kube.reasons() if r not in ("Created", "ACCEPTED", "SUCCEEDED")]
    assert len(failures) == 1  # three failed passes in a row: one Event
    assert status(kube)["phase"] == "Succeeded"
    assert all(not k.startswith("_") for k in status(kube))


async def test_deleting_cancels_an_active_run_then_deletes_it_and_every_attempt(
    world: tuple[Operator, FakeKube, FakePort],
) -> None:
    from ads_operator.usecases.outcome import Done, RetryAfter

    op, kube, port, body = started(world, runPolicy={"backoffLimit": 1, "backoffSeconds": 0})
    first: list[str] = []

    def between(n: int) -> None:  # the first attempt fails, the second stays running
        runs = list(port.runs)
        if n == 1:
            first.append(runs[0])
            port.move(runs[0], "FAILED", "exit code 1", time_started=at(1), time_finished=at(2))

    await run_usecase.watch(op, body, Stop(between, passes=4))
    live = status(kube)["ocid"]
    assert live != first[0]
    gone = {**body, "status": status(kube)}
    waiting = await run_usecase.delete(op, gone, retry=0)
    assert isinstance(waiting, RetryAfter)  # canceled; deleted once it is
    assert port.runs[live].lifecycle_state == "CANCELING"
    assert port.calls["delete_job_run"] == 1  # the failed attempt's run
    port.move(live, "CANCELED", "canceled", time_finished=at(9))
    assert await run_usecase.delete(op, gone, retry=1) == Done()
    assert port.calls["cancel_job_run"] == 1
    assert {port.runs[r].lifecycle_state for r in (first[0], live)} == {"DELETED"}
    assert "CancelRequested" in kube.reasons()


async def test_an_orphaned_run_is_left_in_oci(world: tuple[Operator, FakeKube, FakePort]) -> None:
    op, kube, port, body = started(world, deletionPolicy="Orphan")
    await run_usecase.watch(op, body, Stop(passes=1))
    (run_id,) = port.runs
    await run_usecase.delete(op, {**body, "status": status(kube)}, retry=0)
    assert port.runs[run_id].lifecycle_state == "ACCEPTED"
    assert port.calls["cancel_job_run"] == port.calls["delete_job_run"] == 0


@pytest.mark.parametrize(("headroom", "interval"), [(1.0, 0.75), (0.0, 3.0)])
async def test_the_pause_between_passes_follows_the_budgets_headroom(
    world: tuple[Operator, FakeKube, FakePort], headroom: float, interval: float
) -> None:
    """With most of the budget free a live run is read every 0.75 s, with none on the
    batched schedule (3 s): each pause ends on the next tick of the interval at least
    half an interval away, plus a jitter below the batching window."""
    op, _kube, port, body = started(world)
    op.headroom = lambda operation=None: headroom

    def between(n: int) -> None:
        if n == 1:
            (run_id,) = port.runs
            port.move(run_id, "IN_PROGRESS", "running", time_started=op.now())

    stop = Stop(between, passes=4)
    await run_usecase.watch(op, body, stop)
    live = stop.delays[1:]
    assert live
    jitter = op.settings.run_batch_window / 2
    assert all(interval / 2 <= d <= interval * 1.5 + jitter for d in live), live
