"""A run's passes against an in-memory port: created once, transitions as Events, logs
mirrored once and in order across restarts, cancel, exit codes, missing logging."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from ads_operator.models import DataScienceJobRunSpec
from ads_operator.models.oci_records import LogRecord
from ads_operator.reconcile.conditions import get_condition
from ads_operator.reconcile.log_batches import PendingEvent, batch_records, event_name
from ads_operator.settings import Settings
from ads_operator.usecases.run_executor import JobInfo, RunContext, Waiting, run_once
from tests.fixtures.fake_oci import COMPARTMENT, PROJECT, FakePort, at


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lines: list[str] = []
        self.patches: list[dict[str, Any]] = []
        self.posted: set[str] = set()
        #: The records of the step Events posted, by name.
        self.records: dict[str, str] = {}
        #: Refuse this many Event creations (an overloaded apiserver).
        self.refuse_events = 0
        #: Plan at most this many more log Events (the rate limits); None: no limit.
        self.event_budget: int | None = None
        #: Fail this many saves of a log cursor (the apiserver timed out).
        self.fail_cursor_saves = 0


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> datetime:
        return at(self.seconds)


class RecordingKube:
    """The run's Kubernetes side, recorded: status patches, Events, log lines."""

    def __init__(self, rec: Recorder, job: JobInfo | Waiting | None) -> None:
        self.rec, self.job = rec, job

    async def persist(self, patch: dict[str, Any], conditions_from: Any = None) -> None:
        if "logCursor" in patch and self.rec.fail_cursor_saves > 0:
            self.rec.fail_cursor_saves -= 1
            raise TimeoutError("the apiserver did not answer")
        self.rec.patches.append(dict(patch))

    async def post(self, reason: str, message: str, warning: bool) -> None:
        self.rec.events.append((reason, message))

    def plan_lines(self, records: Sequence[LogRecord]) -> tuple[list[PendingEvent], int]:
        planned, dropped = [], 0
        for ids, message in batch_records(records, 1024):
            if self.rec.event_budget is not None and self.rec.event_budget <= 0:
                dropped += len(ids)
                continue
            if self.rec.event_budget is not None:
                self.rec.event_budget -= 1
            planned.append(PendingEvent(event_name("run-1", "run-uid", ids), "LogLines", message))
        return planned, dropped

    async def post_events(self, pending: Sequence[PendingEvent]) -> list[PendingEvent]:
        rec, refused = self.rec, []
        for event in pending:
            if rec.refuse_events > 0:
                rec.refuse_events -= 1
                refused.append(event)
            elif event.name not in rec.posted:
                rec.posted.add(event.name)
                if event.record is not None:
                    rec.records[event.name] = event.record
                rec.lines.extend(event.message.split("\n"))
                rec.events.append((event.reason, event.message))
        return refused

    async def step_record(self, name: str) -> str | None:
        return self.rec.records.get(name, "" if name in self.rec.posted else None)

    async def resolve_job(self) -> JobInfo | Waiting:
        return self.job or JobInfo("ocid1.datasciencejob.oc1.iad.j0", COMPARTMENT, PROJECT)

    async def admit(self) -> Waiting | None:
        return None


def make(
    port: FakePort,
    rec: Recorder,
    clock: Clock,
    status: dict[str, Any] | None = None,
    job: JobInfo | Waiting | None = None,
    **spec: Any,
) -> RunContext:
    return RunContext(
        namespace="team-a",
        name="run-1",
        uid="run-uid",
        generation=1,
        spec=DataScienceJobRunSpec.model_validate({"jobRef": {"name": "hello"}, **spec}),
        status=dict(status or {}),
        settings=Settings(log_grace=10, log_settle=0, log_overlap=30),
        port=port,
        kube=RecordingKube(rec, job),
        now=clock,
    )


async def run_pass(ctx: RunContext) -> float | None:
    """One pass with its log step done: a live run's step runs beside its passes."""
    delay = await run_once(ctx)
    await ctx.wait_logs()
    return delay


async def test_a_run_is_created_once_and_followed_to_success() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    assert await run_pass(ctx) == ctx.settings.poll_interval
    (run_id,) = port.runs
    # Write-ahead: the marker before CreateJobRun, the OCID right after it.
    assert rec.patches[0] == {"createRequested": 1}
    assert rec.patches[1] == {"ocid": run_id, "jobOcid": "ocid1.datasciencejob.oc1.iad.j0"}
    assert ctx.status["phase"] == "Pending"
    port.move(run_id, "IN_PROGRESS", "Job run artifact execution in progress.", time_started=at(5))
    port.emit(run_id, ("one", at(6)), ("two", at(7)))
    clock.seconds = 8
    await run_pass(ctx)
    assert ctx.status["phase"] == "Running"
    assert rec.lines == ["one", "two"]
    port.emit(run_id, ("three", at(9)))
    port.move(
        run_id,
        "SUCCEEDED",
        "Job run artifact execution succeeded.",
        time_started=at(5),
        time_finished=at(10),
    )
    clock.seconds = 11
    assert await run_pass(ctx) is not None  # still inside the log grace period
    assert ctx.status["exitCode"] == 0
    assert get_condition(ctx.status["conditions"], "Succeeded")["status"] == "True"  # type: ignore[index]
    port.emit(run_id, ("late", at(10.5)))
    clock.seconds = 25
    assert await run_pass(ctx) is None
    assert rec.lines == ["one", "two", "three", "late"]
    reasons = [r for r, _ in rec.events if r not in ("LogLines", "Created")]
    assert reasons == ["ACCEPTED", "IN_PROGRESS", "SUCCEEDED"]
    assert port.calls["create_job_run"] == 1
    assert [x["message"] for x in ctx.status["logTail"]] == ["one", "two", "three", "late"]


async def test_restart_after_create_neither_duplicates_the_run_nor_lines() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    first = make(port, rec, clock)
    await run_pass(first)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    port.emit(run_id, *[(f"line {i}", at(2 + i * 0.01)) for i in range(30)])
    clock.seconds = 3
    await run_pass(first)
    # "Restart": a new context built from what was persisted, as a new daemon would.
    persisted: dict[str, Any] = {}
    for patch in rec.patches:
        persisted.update(patch)
    again = make(port, rec, clock, status=persisted)
    port.emit(run_id, ("after restart", at(3.5)))
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(4))
    clock.seconds = 100
    assert await run_pass(again) is None
    assert rec.lines == [f"line {i}" for i in range(30)] + ["after restart"]
    assert port.calls["create_job_run"] == 1


async def test_lines_over_the_event_budget_are_counted_once_across_restarts_and_failed_saves() -> (
    None
):
    port, rec, clock = FakePort(), Recorder(), Clock()
    first = make(port, rec, clock)
    await run_pass(first)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    long = "x" * 600  # one line per Event
    port.emit(run_id, *[(f"{i} {long}", at(2 + i * 0.01)) for i in range(5)])
    rec.event_budget = 2
    clock.seconds = 10
    await run_pass(first)
    assert len(rec.lines) == 2
    assert first.status["logLinesNotMirrored"] == 3
    # A read whose save fails is read and counted again, not counted twice.
    port.emit(run_id, *[(f"{i} {long}", at(41 + i * 0.01)) for i in range(5, 9)])
    rec.fail_cursor_saves = 1
    clock.seconds = 50
    with pytest.raises(TimeoutError):
        await run_pass(first)
    assert first.status["logLinesNotMirrored"] == 3
    clock.seconds = 51
    await run_pass(first)
    assert first.status["logLinesNotMirrored"] == 7
    # "Restart" with a fresh budget: the overlap re-reads the old lines, which count no more.
    persisted: dict[str, Any] = {}
    for patch in rec.patches:
        persisted.update(patch)
    assert persisted["logLinesNotMirrored"] == 7
    again = make(port, rec, clock, status=persisted)
    rec.event_budget = 0
    port.emit(run_id, ("after restart", at(60)))
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(61))
    clock.seconds = 100
    assert await run_pass(again) is None
    assert again.status["logLinesNotMirrored"] == 8
    assert len(rec.lines) == 2
    logging = get_condition(again.status["conditions"], "Logging")
    assert logging is not None
    assert "status.logLinesNotMirrored" in logging["message"]
    assert "kubectl ads logs run-1" in logging["message"]


async def test_a_crash_after_create_before_the_ocid_was_stored_adopts_the_run() -> None:
    """The marker is persisted before CreateJobRun: the next pass looks the run up by its
    uid tag (listing the job's runs) instead of creating a second one."""
    port, rec, clock = FakePort(), Recorder(), Clock()
    first = make(port, rec, clock)
    real_save = first.kube.persist

    async def crash_on_ocid(patch: dict[str, Any], conditions_from: Any = None) -> None:
        if "ocid" in patch:
            raise RuntimeError("killed before the OCID was stored")
        await real_save(patch, conditions_from)

    first.kube.persist = crash_on_ocid  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await run_pass(first)
    again = make(port, rec, clock, status={"createRequested": 1})
    port.tokens.clear()  # even with the retry token forgotten (OCI keeps them 24 h)
    await run_pass(again)
    assert len(port.runs) == 1
    assert port.calls["create_job_run"] == 1
    assert port.calls["list_job_runs"] == 1
    assert again.status["ocid"] == next(iter(port.runs))


async def test_lost_status_gets_the_same_run_by_its_retry_token() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    await run_pass(make(port, rec, clock))
    await run_pass(make(port, rec, clock))  # empty status again: the token answers
    assert len(port.runs) == 1
    assert port.calls["list_job_runs"] == 0  # no marker: creating never lists the job's runs


async def test_exit_code_3_fails_with_a_reason_naming_it() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(
        run_id, "FAILED", "Job run artifact execution failed with exit code 3", time_finished=at(2)
    )
    clock.seconds = 60
    assert await run_pass(ctx) is None
    assert ctx.status["phase"] == "Failed"
    assert ctx.status["exitCode"] == 3
    failed = get_condition(ctx.status["conditions"], "Failed")
    assert failed is not None
    assert failed["status"] == "True"
    assert failed["reason"] == "ExitCode3"


async def test_cancel_calls_cancel_once_and_ends_canceled() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    ctx.spec = DataScienceJobRunSpec.model_validate({"jobRef": {"name": "hello"}, "cancel": True})
    await run_pass(ctx)
    await run_pass(ctx)  # CANCELING now: no second CancelJobRun
    assert port.calls["cancel_job_run"] == 1
    port.move(run_id, "CANCELED", "canceled", time_finished=at(1))
    clock.seconds = 60
    assert await run_pass(ctx) is None
    assert ctx.status["phase"] == "Canceled"


async def test_cancel_before_creation_never_creates() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock, cancel=True)
    assert await run_pass(ctx) is None
    assert await run_pass(ctx) is None
    assert port.calls["create_job_run"] == 0
    assert ctx.status["phase"] == "Canceled"


async def test_waits_for_the_job_and_stops_for_a_foreign_one() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    waiting = make(port, rec, clock, job=Waiting("WaitingForJob", "not ready"))
    assert await run_pass(waiting) == waiting.settings.poll_interval
    foreign = make(port, rec, clock, job=Waiting("JobOfOtherNamespace", "no", terminal=True))
    assert await run_pass(foreign) is None
    assert get_condition(foreign.status["conditions"], "Terminal") is not None
    assert port.calls["create_job_run"] == 0


def _cond(ctx: RunContext, kind: str) -> dict[str, Any]:
    return dict(get_condition(ctx.status["conditions"], kind) or {})


async def test_a_run_waits_for_its_job_at_most_the_job_wait_timeout_then_fails() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock, job=Waiting("WaitingForJob", "DataScienceJob 'j' is not Ready"))
    ctx.settings = dataclasses.replace(ctx.settings, job_wait_timeout=60)
    assert await run_pass(ctx) == ctx.settings.poll_interval
    assert "fails if not Ready by 2026-" in _cond(ctx, "Ready")["message"]
    assert _cond(ctx, "Finished")["status"] == "False"
    clock.seconds = 59
    assert await run_pass(ctx) == ctx.settings.poll_interval
    assert ctx.status["phase"] == "Pending"
    clock.seconds = 60
    assert await run_pass(ctx) is None
    assert ctx.status["phase"] == "Failed"
    failed = _cond(ctx, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "JobNotReady")
    assert "gave up after waiting 60s" in failed["message"]
    finished = _cond(ctx, "Finished")
    assert (finished["status"], finished["reason"]) == ("True", "Failed")
    assert finished["message"] == failed["message"]
    assert rec.events[-1][0] == "JobNotReady"
    assert port.calls["create_job_run"] == 0
    # Persisted without the in-memory start of the wait.
    assert all(not k.startswith("_") for p in rec.patches for k in p)


async def test_a_run_of_a_job_that_can_never_run_fails_at_once_with_the_jobs_reason() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    broken = Waiting("InvalidSpec", "DataScienceJob 'j' cannot run: spec.x: bad", terminal=True)
    ctx = make(port, rec, clock, job=broken)
    assert await run_pass(ctx) is None
    assert ctx.status["phase"] == "Failed"
    for kind in ("Failed", "Terminal"):
        assert (_cond(ctx, kind)["status"], _cond(ctx, kind)["reason"]) == ("True", "InvalidSpec")
    assert (_cond(ctx, "Finished")["status"], _cond(ctx, "Finished")["reason"]) == (
        "True",
        "Failed",
    )
    assert _cond(ctx, "Succeeded")["status"] == "False"


async def test_finished_follows_every_outcome() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    assert _cond(ctx, "Finished")["status"] == "False"
    (run_id,) = port.runs
    port.move(run_id, "SUCCEEDED", "Job run artifact execution succeeded.", time_started=at(1))
    clock.seconds = 30
    await run_pass(ctx)
    assert (_cond(ctx, "Finished")["status"], _cond(ctx, "Finished")["reason"]) == (
        "True",
        "Succeeded",
    )
    canceled = make(FakePort(), Recorder(), clock, cancel=True)
    await run_pass(canceled)
    assert (_cond(canceled, "Finished")["status"], _cond(canceled, "Finished")["reason"]) == (
        "True",
        "Canceled",
    )


async def test_a_run_without_logging_says_so() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    from dataclasses import replace

    port.runs[run_id] = replace(port.runs[run_id], log_id=None, log_group_id=None)
    await run_pass(ctx)
    cond = get_condition(ctx.status["conditions"], "Logging")
    assert cond is not None
    assert cond["reason"] == "LoggingNotConfigured"
    assert port.calls["search_logs"] == 0


async def test_runs_sharing_a_reader_are_polled_with_one_list_call() -> None:
    import asyncio

    from ads_operator.oci.batching import BatchingPort
    from ads_operator.oci.poller import RunStateReader

    port, clock = FakePort(), Clock()
    batching = BatchingPort(port, reader=RunStateReader(min_batch=3, window=0.01))
    contexts = []
    for i in range(3):
        ctx = make(port, Recorder(), clock)
        ctx.uid = f"uid-{i}"
        ctx.port = batching
        contexts.append(ctx)
        await run_pass(ctx)  # creates the run (a full read follows)
    for run_id in port.runs:
        port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    clock.seconds = 2
    before = port.calls["get_job_run"]
    await asyncio.gather(*(run_pass(c) for c in contexts))  # compartments known from create
    assert port.calls["get_job_run"] == before
    assert port.calls["list_recent_job_runs"] == 2  # ACCEPTED (empty), IN_PROGRESS: not 3
    assert all(c.status["phase"] == "Running" for c in contexts)
    assert all(c.status["logId"] == "ocid1.log.oc1..l" for c in contexts)
    clock.seconds = 5
    await asyncio.gather(*(run_pass(c) for c in contexts))
    assert port.calls["list_recent_job_runs"] == 3  # known IN_PROGRESS: not ACCEPTED again


async def test_a_terminal_run_is_not_read_again_through_its_log_grace() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(4))
    port.emit(run_id, ("one", at(2)), ("late", at(4.5)))
    clock.seconds = 5
    assert await run_pass(ctx) is not None  # in the grace
    reads = port.calls["get_job_run"]
    clock.seconds = 8
    assert await run_pass(ctx) is not None
    clock.seconds = 20
    assert await run_pass(ctx) is None
    assert port.calls["get_job_run"] == reads  # its state cannot change: logs only
    assert rec.lines == ["one", "late"]


async def test_a_new_state_is_saved_before_the_pass_reads_logs() -> None:
    """At scale the log search waits behind other calls; the status must not wait for it."""
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    port.emit(run_id, ("hello", at(1.5)))
    seen_at_search: list[str | None] = []
    search = port.search_logs

    async def observed_search(**kwargs: Any) -> Any:
        saved: dict[str, Any] = {}
        for patch in rec.patches:
            saved.update(patch)
        seen_at_search.append(saved.get("phase"))
        return await search(**kwargs)

    port.search_logs = observed_search  # type: ignore[method-assign]
    clock.seconds = 60
    await run_pass(ctx)
    assert seen_at_search == ["Running"]
    assert rec.lines == ["hello"]
    # The second write carries only what the logs changed.
    assert "phase" not in rec.patches[-1]
    assert "logCursor" in rec.patches[-1]


async def test_events_the_apiserver_refused_are_created_again_before_reading_on() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    port.emit(run_id, ("one", at(2)), ("two", at(3)))
    rec.refuse_events = 1
    clock.seconds = 10
    await run_pass(ctx)
    assert rec.lines == []  # refused: kept, and the cursor waits until they exist
    assert ctx.memory.unposted
    assert "logCursor" not in ctx.status
    port.emit(run_id, ("three", at(11)))
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(12))
    clock.seconds = 200
    assert await run_pass(ctx) == ctx.settings.poll_interval  # the refused Event again
    assert rec.lines == ["one", "two"]
    assert await run_pass(ctx) is None  # then the rest, and done
    assert rec.lines == ["one", "two", "three"]
    assert not ctx.status.get("logPending")


async def until(condition: Any, turns: int = 1000) -> None:
    """Lets other tasks run until ``condition()`` holds (a bounded number of loop turns)."""
    import asyncio

    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_state_passes_do_not_wait_for_a_slow_log_step() -> None:
    """The next state read happens on time while the log step (search, cursor, Events) is
    still in flight; one step at a time; a step's error surfaces in a later pass."""
    import asyncio

    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    port.emit(run_id, ("hello", at(1.5)))
    release = asyncio.Event()
    searches = 0
    search = port.search_logs

    async def slow_search(**kwargs: Any) -> Any:
        nonlocal searches
        searches += 1
        await release.wait()
        return await search(**kwargs)

    port.search_logs = slow_search  # type: ignore[method-assign]
    clock.seconds = 10
    assert await run_once(ctx) == ctx.settings.poll_interval
    await until(lambda: searches == 1)  # the step started and blocks in its search
    assert ctx.status["phase"] == "Running"
    assert rec.lines == []
    port.move(run_id, "SUCCEEDED", "done", time_started=at(1), time_finished=at(12))
    clock.seconds = 13
    reads = port.calls["get_job_run"]
    pass_done = asyncio.create_task(run_once(ctx))  # terminal: waits for the step
    await until(lambda: ctx.status["phase"] == "Succeeded")  # saved while the step waits
    assert port.calls["get_job_run"] == reads + 1
    assert searches == 1
    assert not pass_done.done()
    release.set()
    assert await pass_done == ctx.settings.poll_interval  # the log grace is still open
    assert rec.lines == ["hello"]

    async def failing_search(**kwargs: Any) -> Any:
        raise RuntimeError("search failed")

    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))  # (a fresh live run)
    ctx2 = make(port, Recorder(), clock, status={"ocid": run_id})
    port.search_logs = failing_search  # type: ignore[method-assign]
    assert await run_once(ctx2) == ctx2.settings.poll_interval
    await until(lambda: ctx2.memory.log_step is not None and ctx2.memory.log_step.done())
    with pytest.raises(RuntimeError, match="search failed"):
        await run_once(ctx2)


async def test_a_live_runs_log_is_read_about_every_log_read_interval_and_to_the_end() -> None:
    """Passes every 3 s read the state each time but the log about every 10 s (the pass
    nearest to it); once the run ended, every pass reads until the log is complete."""
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    read_at: list[float] = []
    for second in range(3, 31, 3):
        port.emit(run_id, (f"line {second}", at(second - 0.5)))
        clock.seconds = second
        before = port.calls["search_logs"]
        await run_pass(ctx)
        if port.calls["search_logs"] > before:
            read_at.append(second)
    assert read_at == [3, 12, 21, 30]  # 9 s apart: within half a poll interval of 10 s
    assert rec.lines == [f"line {s}" for s in range(3, 31, 3)]  # none lost on the way
    port.move(run_id, "SUCCEEDED", "done", time_finished=at(31))
    searched = port.calls["search_logs"]
    clock.seconds = 33
    await run_pass(ctx)
    assert port.calls["search_logs"] == searched + 1  # terminal: read at once


async def test_log_read_interval_zero_reads_at_every_pass() -> None:
    port, rec, clock = FakePort(), Recorder(), Clock()
    ctx = make(port, rec, clock)
    ctx.settings = dataclasses.replace(ctx.settings, log_read_interval=0)
    await run_pass(ctx)
    (run_id,) = port.runs
    port.move(run_id, "IN_PROGRESS", "running", time_started=at(1))
    for second in (3, 6, 9):
        port.emit(run_id, (f"line {second}", at(second - 0.5)))
        clock.seconds = second
        await run_pass(ctx)
    assert port.calls["search_logs"] == 3


async def test_a_run_refused_by_oci_before_it_exists_has_failed_and_finished() -> None:
    """CreateJobRun answered 400 (OciValidationError): nothing exists and nothing will, so
    the run is Failed and Finished, not Pending for ever."""
    from ads_operator.reconcile import outcomes
    from ads_operator.usecases.failures import report_run
    from tests.fixtures.fake_kube import FakeKube
    from tests.fixtures.fake_operator import fake_operator

    kube = FakeKube()
    op = fake_operator(kube)
    body = {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceJobRun",
        "metadata": {"namespace": "team-a", "name": "run-1", "uid": "u", "generation": 1},
    }
    status: dict[str, Any] = {"phase": "Pending"}
    refused = outcomes.Terminal("OciValidationError", "CreateJobRun 400: bad shape")
    kube.add("datasciencejobruns", body)
    await report_run(op, body, status, refused, body["metadata"])
    ((_, _, patch),) = kube.patches
    assert patch["phase"] == "Failed"
    conds = {c["type"]: c for c in patch["conditions"]}
    assert (conds["Failed"]["status"], conds["Failed"]["reason"]) == ("True", "OciValidationError")
    assert (conds["Finished"]["status"], conds["Terminal"]["status"]) == ("True", "True")
    # With an OCI run, a terminal error is about that pass only: the run keeps its phase.
    kube.patches.clear()
    await report_run(op, body, {"ocid": "r", "phase": "Running"}, refused, body["metadata"])
    assert "phase" not in kube.patches[0][2]
