"""The schedule use case over the fake Kubernetes port and a hand-moved clock: a run per
due time (a create repeated after a crash finds it), concurrencyPolicy Allow / Forbid /
Replace, missed times and the starting deadline, a refused create (Event, condition,
back-off), suspend, and a daemon that ends when told."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from ads_operator.kube.port import KubeError
from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.reconcile.conditions import get_condition
from ads_operator.reconcile.scheduled_runs import SCHEDULED_AT, SCHEDULED_BY
from ads_operator.settings import Settings
from ads_operator.usecases import schedule
from ads_operator.usecases.schedule import MAX_SLEEP, Scheduler
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import T0
from tests.fixtures.fake_operator import Clock, fake_operator

NS = "team-a"


def scheduled(kube: FakeKube, **plan: Any) -> dict[str, Any]:
    """A job made at T0 (09:00 UTC) with a schedule, every 5 minutes by default."""
    return kube.add(
        JOB_PLURAL,
        {
            "apiVersion": "ads.oci.dev/v1alpha1",
            "kind": "DataScienceJob",
            "metadata": {"name": "every5", "namespace": NS, "uid": "job-uid"},
            "spec": {
                "id": "ocid1.datasciencejob.oc1..j",
                "schedule": {"cron": "*/5 * * * *", **plan},
            },
        },
    )


def scheduler(kube: FakeKube, clock: Clock, settings: Settings | None = None) -> Scheduler:
    op = fake_operator(kube, settings=settings, clock=clock)
    return Scheduler(op, kube.objects[(JOB_PLURAL, NS, "every5")], NS, "every5")


def runs(kube: FakeKube) -> list[str]:
    return sorted(name for (plural, _, name) in kube.objects if plural == RUN_PLURAL)


def status(kube: FakeKube) -> dict[str, Any]:
    return kube.status_of(JOB_PLURAL, NS, "every5")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def created_condition(kube: FakeKube) -> tuple[str, str]:
    cond = get_condition(status(kube).get("conditions"), "ScheduledRunCreated") or {}
    return str(cond.get("status")), str(cond.get("reason"))


async def test_a_due_time_makes_one_run_owned_by_the_job_and_the_times_are_recorded() -> None:
    kube, clock = FakeKube(), Clock(at(4.5))
    scheduled(kube)
    looks = scheduler(kube, clock)
    assert await looks.step() == 30.0  # nothing due before 09:05
    assert runs(kube) == []
    assert status(kube)["nextScheduleTime"] == "2026-11-26T09:05:00Z"
    clock.moment = at(5.5)
    await looks.step()
    (name,) = runs(kube)
    run = kube.objects[(RUN_PLURAL, NS, name)]
    assert run["spec"] == {"jobRef": {"name": "every5"}}
    assert run["metadata"]["labels"] == {SCHEDULED_BY: "every5"}
    assert run["metadata"]["annotations"][SCHEDULED_AT].startswith("2026-11-26T09:05:00")
    assert run["metadata"]["ownerReferences"][0]["uid"] == "job-uid"
    assert status(kube)["lastScheduleTime"] == "2026-11-26T09:05:00Z"
    assert status(kube)["nextScheduleTime"] == "2026-11-26T09:10:00Z"
    assert created_condition(kube) == ("True", "RunCreated")
    assert kube.reasons() == ["SuccessfulCreate"]
    # Looking again at the same moment starts nothing more.
    await looks.step()
    assert len(runs(kube)) == 1


async def test_a_create_repeated_after_a_crash_finds_its_run() -> None:
    kube, clock = FakeKube(), Clock(at(5.5))
    scheduled(kube)
    await scheduler(kube, clock).step()
    # A crash before lastScheduleTime was written: a new daemon starts from the old status.
    kube.objects[(JOB_PLURAL, NS, "every5")]["status"].pop("lastScheduleTime")
    await scheduler(kube, clock).step()
    assert len(runs(kube)) == 1
    assert kube.calls["create_resource"] == 2  # the second one answered "exists"
    assert kube.reasons() == ["SuccessfulCreate"]
    assert status(kube)["lastScheduleTime"] == "2026-11-26T09:05:00Z"


async def _second_time_with(policy: str) -> FakeKube:
    """A run started at 09:05 is still running at 09:10."""
    kube, clock = FakeKube(), Clock(at(5.5))
    scheduled(kube, concurrencyPolicy=policy)
    looks = scheduler(kube, clock)
    await looks.step()
    (first,) = runs(kube)
    kube.objects[(RUN_PLURAL, NS, first)]["status"] = {"phase": "Running"}
    clock.moment = at(10.5)
    await looks.step()
    return kube


async def test_allow_starts_the_next_run_beside_the_active_one() -> None:
    kube = await _second_time_with("Allow")
    assert len(runs(kube)) == 2


async def test_forbid_skips_the_time_while_a_run_is_active() -> None:
    kube = await _second_time_with("Forbid")
    assert len(runs(kube)) == 1
    assert kube.reasons() == ["SuccessfulCreate", "JobAlreadyActive"]
    assert status(kube)["lastScheduleTime"] == "2026-11-26T09:05:00Z"


async def test_replace_deletes_the_active_run_and_starts_the_new_one() -> None:
    kube = await _second_time_with("Replace")
    (left,) = runs(kube)
    assert left.endswith(str(int(at(10).timestamp()) // 60))
    assert kube.reasons() == ["SuccessfulCreate", "Replaced", "SuccessfulCreate"]


async def test_a_time_older_than_the_starting_deadline_is_reported_missed_not_started() -> None:
    kube, clock = FakeKube(), Clock(at(8))
    scheduled(kube, startingDeadlineSeconds=60)
    await scheduler(kube, clock).step()
    assert runs(kube) == []
    assert kube.reasons() == ["MissedSchedule"]
    assert status(kube)["lastScheduleTime"] == "2026-11-26T09:05:00Z"


async def test_too_many_missed_times_start_only_the_most_recent_and_say_so() -> None:
    kube, clock = FakeKube(), Clock(at(5 * 200 + 1))
    scheduled(kube)
    await scheduler(kube, clock).step()
    (name,) = runs(kube)
    assert name.endswith(str(int(at(5 * 200).timestamp()) // 60))
    assert kube.reasons() == ["TooManyMissedTimes", "SuccessfulCreate"]


async def test_a_refused_create_shows_as_event_and_condition_and_backs_off() -> None:
    kube, clock = FakeKube(), Clock(at(5.5))
    scheduled(kube)
    looks = scheduler(kube, clock, Settings(poll_interval=2.0))
    kube.fail_next["create_resource"] = KubeError(403, "Forbidden", "quota exceeded")
    delay = await looks.step()
    assert delay >= 4.0  # backs off from the poll interval
    assert runs(kube) == []
    assert kube.reasons() == ["FailedCreate"]
    assert "403 Forbidden: quota exceeded" in kube.events[0].message
    assert created_condition(kube) == ("False", "FailedCreate")
    assert "lastScheduleTime" not in status(kube)
    await looks.step()  # accepted now
    assert len(runs(kube)) == 1
    assert created_condition(kube) == ("True", "RunCreated")


async def test_the_condition_is_written_onto_a_fresh_read_keeping_a_ready_written_meanwhile() -> (
    None
):
    kube, clock = FakeKube(), Clock(at(5.5))
    scheduled(kube)
    ready = {"type": "Ready", "status": "True", "reason": "Active"}
    first = True

    def job_handler_writes(plural: str, namespace: str, name: str) -> None:
        nonlocal first
        obj = kube.objects[(plural, namespace, name)]
        if first and "conditions" not in obj.get("status", {}):
            first = False
            obj.setdefault("status", {})["conditions"] = [ready]
            obj["metadata"]["resourceVersion"] += "x"

    kube.before_patch = job_handler_writes
    await scheduler(kube, clock).step()
    conditions = status(kube)["conditions"]
    # With kstatus's two, derived from the rest on every conditions write.
    assert [c["type"] for c in conditions] == [
        "Ready",
        "ScheduledRunCreated",
        "Reconciling",
        "Stalled",
    ]


async def test_an_invalid_cron_says_so_once_and_looks_again_later() -> None:
    kube, clock = FakeKube(), Clock(at(5.5))
    scheduled(kube, cron="61 * * * *")
    looks = scheduler(kube, clock)
    assert await looks.step() == MAX_SLEEP
    assert await looks.step() == MAX_SLEEP
    assert kube.reasons() == ["InvalidSchedule"]
    assert runs(kube) == []


async def test_suspend_starts_nothing_and_removes_the_next_time() -> None:
    kube, clock = FakeKube(), Clock(at(3))
    job = scheduled(kube)
    looks = scheduler(kube, clock)
    await looks.step()
    assert "nextScheduleTime" in status(kube)
    job["spec"]["schedule"]["suspend"] = True
    clock.moment = at(5.5)
    await looks.step()
    assert runs(kube) == []
    assert "nextScheduleTime" not in status(kube)


class Stopper:
    """A daemon's stop signal that turns true after ``looks`` pauses."""

    def __init__(self, looks: int) -> None:
        self.looks = looks
        self.paused: list[float] = []

    def __bool__(self) -> bool:
        return len(self.paused) >= self.looks

    def wait(self, timeout: float) -> Awaitable[object]:
        self.paused.append(timeout)
        return asyncio.sleep(0)


async def test_the_daemon_looks_until_stopped_and_survives_a_failed_look() -> None:
    kube = FakeKube()
    scheduled(kube)
    op = fake_operator(kube, settings=Settings(poll_interval=2.0), clock=Clock(at(5.5)))
    kube.fail_next["list_resources"] = KubeError(0, "", "apiserver unreachable")
    stopping = Stopper(looks=2)
    await schedule.watch(op, kube.objects[(JOB_PLURAL, NS, "every5")], stopping)
    assert stopping.paused == [8.0, MAX_SLEEP]  # the failed look's back-off, then 09:10
    assert len(runs(kube)) == 1  # the second look made the run
