"""Cron schedules for DataScienceJobs, decided the way Kubernetes CronJob decides (pure).

* **Expressions**: the five standard fields (minute hour day-of-month month
  day-of-week) with ``*``, ``a-b``, ``/step``, lists and month/day names, plus
  ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight`` and
  ``@hourly``. When both day fields are restricted, a day matching *either* counts (the
  classic cron rule, which CronJob follows). Day-of-week 7 is Sunday, like 0.
* **Time zones**: times are matched on the wall clock of ``timeZone`` (an IANA name,
  default UTC). A wall time that does not exist (the hour skipped when DST starts) is
  skipped; one that exists twice (DST ends) fires once, at its first occurrence.
* **Missed times** (CronJob's rules): the times after the last scheduled time (or the
  job's creation) up to now are due; only the most recent one starts a run. With
  ``startingDeadlineSeconds``, times older than that are not considered at all, and a
  most recent time older than that is *missed* (an Event says so, no run). More than 100
  missed times is reported as such (check the clock, or set a starting deadline) and
  still starts the most recent one.

"now" is always a parameter: the operator passes the wall clock, or a test's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ads_operator.reconcile.identity import fit_name

#: CronJob's limit before it reports "too many missed start times".
MANY_MISSED: Final = 100
#: A schedule with no time in this many days never fires (e.g. 30 February).
HORIZON_DAYS: Final = 5 * 366

_MONTHS: Final = {
    n: i
    for i, n in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DAYS: Final = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    """The expression or time zone cannot be used; the message says which part."""


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # the day-of-month field is "*"
    any_weekday: bool  # the day-of-week field is "*"

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def _value(text: str, names: dict[str, int], low: int, high: int, what: str) -> int:
    key = text.lower()
    if key in names:
        return names[key]
    if not text.isdigit():
        raise CronError(f"{what}: {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{what}: {value} is outside {low}-{high}")
    return value


def _field(
    text: str, low: int, high: int, what: str, names: dict[str, int] | None = None
) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{what}: empty list item")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{what}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            start = _value(a, names or {}, low, high, what)
            end = _value(b, names or {}, low, high, what)
            if start > end:
                raise CronError(f"{what}: range {base!r} runs backwards")
        else:
            start = _value(base, names or {}, low, high, what)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return values


def parse(expression: str) -> Cron:
    """A cron expression (five fields or a macro) as sets of matching values."""
    text = _MACROS.get(expression.strip().lower(), expression.strip())
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"{expression!r}: expected 5 fields (minute hour day month weekday)")
    minute, hour, dom, month, dow = fields
    weekdays = _field(dow, 0, 7, "day of week", _DAYS)
    if 7 in weekdays:
        weekdays = (weekdays - {7}) | {0}
    return Cron(
        minutes=frozenset(_field(minute, 0, 59, "minute")),
        hours=frozenset(_field(hour, 0, 23, "hour")),
        days=frozenset(_field(dom, 1, 31, "day of month")),
        months=frozenset(_field(month, 1, 12, "month", _MONTHS)),
        weekdays=frozenset(weekdays),
        any_day=dom == "*",
        any_weekday=dow == "*",
    )


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone ``name`` (None or empty: UTC)."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
        ) from None


def problem(expression: str, time_zone: str | None, *, now: datetime) -> str | None:
    """Why a schedule can never start a run, or None when it can: the expression or the
    time zone is unusable, or no time matches within :data:`HORIZON_DAYS` (31 February).

    The job's ``ScheduleValid`` condition says this until the spec is fixed; the CRD
    already refuses most bad expressions at apply, but not unknown zones or ranges that
    run backwards."""
    try:
        cron = parse(expression)
        tz = zone(time_zone)
    except CronError as exc:
        return str(exc)
    if next_after(cron, now, tz) is None:
        return f"{expression!r} matches no time in the next {HORIZON_DAYS} days"
    return None


def _exists(local: datetime, tz: ZoneInfo) -> bool:
    """Whether a naive wall time exists in ``tz`` (not in a DST gap)."""
    aware = local.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == local


def next_after(cron: Cron, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first schedule time strictly after ``after`` (aware), in UTC; None if none
    within :data:`HORIZON_DAYS`."""
    start_local = after.astimezone(tz)
    day = start_local.date()
    for _ in range(HORIZON_DAYS):
        if cron.day_matches(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    wall = datetime.combine(day, time(hour, minute))
                    if not _exists(wall, tz):
                        continue
                    moment = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
                    if moment > after:
                        return moment
        day += timedelta(days=1)
    return None


@dataclass(frozen=True)
class Decision:
    """What a schedule asks for at ``now``."""

    #: The schedule time to start a run for now (None: nothing due).
    run_at: datetime | None
    #: The next schedule time after now (when to look again).
    next_at: datetime | None
    #: How many schedule times were due since the last one (counting up to 101).
    missed: int
    #: A due time older than startingDeadlineSeconds: reported as missed, not started.
    skipped: datetime | None = None

    @property
    def too_many_missed(self) -> bool:
        return self.missed > MANY_MISSED


def _walk(
    cron: Cron, tz: ZoneInfo, earliest: datetime, now: datetime, limit: int
) -> tuple[datetime | None, int]:
    """The latest schedule time in (earliest, now] seen within ``limit`` steps, and the
    number of times seen."""
    latest: datetime | None = None
    count = 0
    moment = next_after(cron, earliest, tz)
    while moment is not None and moment <= now and count < limit:
        latest, count = moment, count + 1
        moment = next_after(cron, moment, tz)
    return latest, count


def _due(
    cron: Cron, tz: ZoneInfo, earliest: datetime, now: datetime
) -> tuple[datetime | None, int]:
    """The most recent schedule time in (earliest, now], and how many there are (counted
    up to ``MANY_MISSED + 1``)."""
    latest, count = _walk(cron, tz, earliest, now, MANY_MISSED + 1)
    if count <= MANY_MISSED:
        return latest, count
    # Too many to walk from the start: the most recent one lies in a window before now.
    for window in (timedelta(hours=2), timedelta(days=2), timedelta(days=32), timedelta(days=367)):
        recent, _ = _walk(cron, tz, max(earliest, now - window), now, 10**6)
        if recent is not None:
            return recent, count
    return latest, count


def decide(
    cron: Cron,
    tz: ZoneInfo,
    *,
    now: datetime,
    created: datetime,
    last_scheduled: datetime | None,
    starting_deadline_seconds: int | None,
) -> Decision:
    """What to do at ``now``, from the job's creation and its last scheduled time."""
    base = last_scheduled or created
    earliest = base
    if starting_deadline_seconds is not None:
        earliest = max(base, now - timedelta(seconds=starting_deadline_seconds))
    run_at, missed = _due(cron, tz, earliest, now)
    next_at = next_after(cron, now, tz)
    if run_at is None and earliest > base:
        skipped, _ = _due(cron, tz, base, earliest)
        return Decision(None, next_at, 0, skipped)
    return Decision(run_at, next_at, missed)


def run_name(job_name: str, moment: datetime) -> str:
    """The run's name for one schedule time: the same time always gives the same name, so
    a repeated create after a crash finds the run instead of making a second one. A job
    name over 52 characters is cut and hashed (:func:`fit_name`): two long names with the
    same head still get runs of their own."""
    return f"{fit_name(job_name, 52)}-{int(moment.timestamp()) // 60}"
