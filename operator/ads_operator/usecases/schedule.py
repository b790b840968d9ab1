"""DataScienceJob ``spec.schedule``: a kopf daemon per scheduled job that creates
DataScienceJobRuns the way the CronJob controller creates Jobs.

The decisions are :mod:`ads_operator.reconcile.schedule`'s; this module reads the clock,
lists the job's scheduled runs, applies ``concurrencyPolicy`` and writes
``status.lastScheduleTime`` / ``nextScheduleTime``. A run's name is derived from its
schedule time, so a create repeated after a crash (or before the status patch was seen)
finds the run it made instead of making a second one.

The clock is the wall clock, or, when ``SCHEDULE_CLOCK_FILE`` is set, the ISO time in
that file (tests move time forward by writing it; the daemon then looks every
``POLL_INTERVAL``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from ads_operator.kube.events import reference
from ads_operator.kube.port import StatusPatch, created_at, error_text, update_status
from ads_operator.models import (
    JOB_PLURAL,
    RUN_PLURAL,
    ConcurrencyPolicy,
    DataScienceJobStatus,
    JobSchedule,
)
from ads_operator.reconcile import job_conditions, schedule
from ads_operator.reconcile.job_conditions import CREATED_CONDITION, Rule
from ads_operator.reconcile.run import parse_time
from ads_operator.reconcile.scheduled_runs import active_runs, iso, run_manifest
from ads_operator.settings import Settings
from ads_operator.usecases.operator import Operator, utcnow
from ads_operator.usecases.outcome import Stopping

log = logging.getLogger(__name__)

#: Longest sleep between looks, so a clock jump or lost wake-up costs at most this.
MAX_SLEEP: Final = 60.0


def has_schedule(spec: Mapping[str, Any]) -> bool:
    """Whether the job has a schedule (kopf starts its daemon only then)."""
    return bool(spec.get("schedule"))


def clock(settings: Settings, now: Callable[[], datetime] = utcnow) -> datetime | None:
    """Now, from ``now`` or the test clock file (None: the file is unusable)."""
    if not settings.schedule_clock_file:
        return now()
    try:
        text = Path(settings.schedule_clock_file).read_text().strip()
        moment = parse_time(text)
    except (OSError, ValueError) as exc:
        log.warning("schedule clock file %s unusable: %s", settings.schedule_clock_file, exc)
        return None
    return moment


class Scheduler:
    """The state one job's daemon keeps between passes (only to avoid repeats; every
    decision is re-derived from the resource)."""

    def __init__(self, op: Operator, body: Mapping[str, Any], namespace: str, name: str) -> None:
        self.op = op
        self.body = body
        self.namespace = namespace
        self.name = name
        self.last_scheduled: datetime | None = None
        self.told: set[str] = set()
        #: Creates that failed in a row (the next look backs off).
        self.failures = 0
        #: What :data:`CREATED_CONDITION` should say (None: nothing to say yet).
        self.created: Rule | None = None

    async def tell(self, reason: str, message: str, *, warning: bool, once: str) -> None:
        if once in self.told:
            return
        self.told.add(once)
        await self.op.events.post(
            reference(self.body), reason=reason, message=message, warning=warning
        )

    def _sleep(self, now: datetime, next_at: datetime | None) -> float:
        if self.op.settings.schedule_clock_file:
            return self.op.settings.poll_interval
        if next_at is None:
            return MAX_SLEEP
        return min(MAX_SLEEP, max(0.5, (next_at - now).total_seconds()))

    async def step(self) -> float:
        """One look at the schedule; returns seconds until the next."""
        raw = dict(self.body.get("spec") or {})
        status = DataScienceJobStatus.parse(self.body.get("status"))
        try:
            plan = JobSchedule.model_validate(raw.get("schedule") or {})
            cron = schedule.parse(plan.cron)
            tz = schedule.zone(plan.time_zone)
        except (ValidationError, schedule.CronError) as exc:
            text = str(exc).splitlines()[0]
            await self.tell("InvalidSchedule", text, warning=True, once=f"invalid:{text}")
            return MAX_SLEEP
        now = clock(self.op.settings, self.op.now)
        if now is None:
            return self.op.settings.poll_interval
        recorded = status.last_schedule_time
        last = max((t for t in (recorded, self.last_scheduled) if t), default=None)
        if plan.suspend:
            if status.next_schedule_time:
                await self.op.kube.patch_status(
                    JOB_PLURAL, self.namespace, self.name, {"nextScheduleTime": None}
                )
            return self._sleep(now, None)
        decision = schedule.decide(
            cron,
            tz,
            now=now,
            created=created_at(self.body["metadata"], now),
            last_scheduled=last,
            starting_deadline_seconds=plan.starting_deadline_seconds,
        )
        last_time = status.last_schedule_time
        if decision.skipped is not None:
            when = iso(decision.skipped)
            await self.tell(
                "MissedSchedule",
                f"Missed the scheduled time {when}: not started within"
                f" startingDeadlineSeconds ({plan.starting_deadline_seconds}s)",
                warning=True,
                once=f"missed:{when}",
            )
            self.last_scheduled = last_time = decision.skipped
        if decision.run_at is not None and await self._start(plan, decision, now):
            self.last_scheduled = last_time = decision.run_at
        after = status.updated(last_schedule_time=last_time, next_schedule_time=decision.next_at)
        patch = after.patch_from(status)
        if patch:
            await self.op.kube.patch_status(JOB_PLURAL, self.namespace, self.name, patch)
        await self._write_condition(status, now)
        if self.failures:
            backoff = self.op.settings.poll_interval * float(2**self.failures)
            return min(MAX_SLEEP, max(backoff, self._sleep(now, decision.next_at)))
        return self._sleep(now, decision.next_at)

    async def _write_condition(self, status: DataScienceJobStatus, now: datetime) -> None:
        """Set :data:`CREATED_CONDITION` when the job does not show it yet (checked on
        every look: another handler writing the conditions may have dropped it).

        The conditions are one list that the job's other handlers write too: it is
        computed from a fresh read and written only onto that version of the job, so a
        Ready written meanwhile is never lost (still racing after three reads: the next
        look writes it)."""
        rule = self.created
        if rule is None or job_conditions.shows(status.condition_dicts(), rule):
            return

        def with_rule(current: Mapping[str, Any]) -> StatusPatch | None:
            conditions = current.get("conditions")
            if job_conditions.shows(conditions, rule):
                return None
            return {"conditions": job_conditions.apply(conditions, [rule], now=now)}

        await update_status(self.op.kube, JOB_PLURAL, self.namespace, self.name, with_rule)

    async def _start(self, plan: JobSchedule, decision: schedule.Decision, now: datetime) -> bool:
        """Apply concurrencyPolicy and create the run; False: not started (yet)."""
        assert decision.run_at is not None
        when = iso(decision.run_at)
        if decision.too_many_missed:
            await self.tell(
                "TooManyMissedTimes",
                f"More than {schedule.MANY_MISSED} scheduled times were missed; starting only"
                f" the most recent ({when}). Check the clock, or set startingDeadlineSeconds.",
                warning=True,
                once=f"many:{when}",
            )
        policy = plan.concurrency_policy or ConcurrencyPolicy.ALLOW
        runs = await self.op.kube.list_resources(RUN_PLURAL, self.namespace)
        active = active_runs(runs, self.name)
        name = schedule.run_name(self.name, decision.run_at)
        active = [r for r in active if r["metadata"]["name"] != name]
        if active and policy == ConcurrencyPolicy.FORBID:
            await self.tell(
                "JobAlreadyActive",
                f"Not starting the run for {when}: {active[0]['metadata']['name']} is still"
                " active and concurrencyPolicy is Forbid",
                warning=False,
                once=f"forbid:{when}",
            )
            return False
        if active and policy == ConcurrencyPolicy.REPLACE:
            for run in active:
                meta = run["metadata"]
                if await self.op.kube.delete_resource(
                    RUN_PLURAL, self.namespace, meta["name"], meta["uid"]
                ):
                    await self.tell(
                        "Replaced",
                        f"Deleted active run {meta['name']}: concurrencyPolicy is Replace",
                        warning=False,
                        once=f"replace:{meta['uid']}",
                    )
        manifest = run_manifest(self.body, name, decision.run_at)
        try:
            made = await self.op.kube.create_resource(RUN_PLURAL, self.namespace, manifest)
        except Exception as exc:  # refused (quota, policy, rights): say so, try again later
            text = error_text(exc)
            message = f"Could not create run {name} for the scheduled time {when}: {text}"
            log.warning("schedule of %s/%s: %s", self.namespace, self.name, message)
            await self.tell("FailedCreate", message, warning=True, once=f"failed:{name}:{text}")
            self.failures += 1
            self.created = (CREATED_CONDITION, False, "FailedCreate", message)
            return False
        self.failures = 0
        self.created = (
            CREATED_CONDITION,
            True,
            "RunCreated",
            f"Created run {name} for the scheduled time {when}",
        )
        if made:
            late = (now - decision.run_at).total_seconds()
            await self.tell(
                "SuccessfulCreate",
                f"Created run {name} for the scheduled time {when}"
                + (f" ({late:.0f}s late)" if late >= 1 else ""),
                warning=False,
                once=f"create:{name}",
            )
        return True


async def watch(op: Operator, body: Mapping[str, Any], stopped: Stopping) -> None:
    """Look at the schedule until the job is deleted or its schedule removed.

    ``body`` is the job as it is now (kopf's live view): each look reads it anew."""
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    scheduler = Scheduler(op, body, namespace, name)
    while not stopped:
        try:
            delay = await scheduler.step()
        except Exception as exc:  # one failed pass must not end the schedule
            log.warning("schedule of %s/%s: %s", namespace, name, error_text(exc))
            delay = op.settings.poll_interval * 4
        await stopped.wait(min(delay, MAX_SLEEP))
