"""Cron schedules for DataScienceJobs, decided the way Kubernetes CronJob decides (pure).

`cronsim <https://pypi.org/project/cronsim/>`_ reads the expressions and walks their
times; this module keeps what is CronJob's, or ours:

* **Expressions**: what the CRD's pattern accepts (:data:`CRON_PATTERN`: the five fields
  with ``*``, ``a-b``, ``/step``, lists and month/day names, day-of-week 7 being Sunday),
  plus ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight`` and
  ``@hourly``. When both day fields are restricted, a day matching *either* counts (the
  classic cron rule, which CronJob follows); only a field that *is* ``*`` is unrestricted.
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

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice, takewhile
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from ads_operator.models.policy import CRON_MESSAGE, CRON_PATTERN
from ads_operator.reconcile.identity import fit_name

#: CronJob's limit before it reports "too many missed start times".
MANY_MISSED: Final = 100
#: A schedule with no time in this many days never fires (e.g. 30 February).
HORIZON_DAYS: Final = 5 * 366

#: cronsim reads five fields only.
_MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS: Final = ("minute", "hour", "day of month", "month", "day of week")
#: Any time will do to check an expression with cronsim.
_SOME_TIME: Final = datetime(2000, 1, 1)
#: More than any DST shift (at most 2 hours, Antarctica/Troll): a look back in wall time
#: starts this much after now, so that no time of a repeated hour is missed.
_DST_SLACK: Final = timedelta(hours=3)


class CronError(ValueError):
    """The expression or time zone cannot be used; the message says which part."""


@dataclass(frozen=True)
class Cron:
    """A checked expression, as the five fields cronsim reads."""

    fields: str
    #: Its day of month occurs in none of its months (31 February): no time matches.
    never: bool = False


def parse(expression: str) -> Cron:
    """A cron expression (five fields or a macro), checked.

    The CRD's pattern decides the syntax, so the operator accepts exactly what
    ``kubectl apply`` accepts; cronsim then finds what a pattern cannot see (a range that
    runs backwards), field by field so the message can name the field."""
    text = expression.strip()
    text = _MACROS.get(text.lower(), text)
    if not re.match(CRON_PATTERN, text):
        raise CronError(f"{expression!r}: {CRON_MESSAGE}")
    fields = text.split()
    for i, (what, field) in enumerate(zip(_FIELDS, fields, strict=True)):
        alone = " ".join(field if j == i else "*" for j in range(5))
        try:
            CronSim(alone, _SOME_TIME)
        except CronSimError:
            # the pattern has checked names and ranges: what is left is a-b with a > b
            raise CronError(f"{what}: a range in {field!r} runs backwards") from None
    minute, hour, dom, month, dow = fields
    if dom != "*" and dow != "*":
        # cronsim (like Debian's cron) takes a day field *starting* with "*" (*/2) as
        # unrestricted, and then wants both day fields to match; CronJob only "*" itself.
        # Spelt out as a range, the field has the same days and counts as restricted.
        dom, dow = dom.replace("*", "1-31"), dow.replace("*", "0-7")
    checked = " ".join((minute, hour, dom, month, dow))
    try:
        CronSim(checked, _SOME_TIME)
    except CronSimError:
        # each field is fine alone, so the days are: their day of month never comes
        return Cron(checked, never=True)
    return Cron(checked)


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


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether a naive wall time exists in ``tz`` (not in a DST gap)."""
    back = wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == wall


def _moments(cron: Cron, tz: ZoneInfo, wall: datetime, *, reverse: bool) -> Iterator[datetime]:
    """The schedule's times from the naive wall time ``wall`` on (or back), in UTC.

    cronsim walks the naive wall clock, where a time exists once: this is where our DST
    rule is kept (cronsim's own, Debian cron's, runs a time skipped by DST at once)."""
    if cron.never:
        return
    for each in CronSim(cron.fields, wall, reverse=reverse):
        if _exists(each, tz):
            yield each.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def times_after(cron: Cron, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    """The schedule times strictly after ``after`` (aware), in UTC, in order."""
    # after may lie in the second pass of a repeated hour: its first pass comes again
    return (m for m in _moments(cron, tz, _wall(after, tz), reverse=False) if m > after)


def next_after(cron: Cron, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first schedule time strictly after ``after`` (aware), in UTC; None if none
    within :data:`HORIZON_DAYS`."""
    moment = next(times_after(cron, after, tz), None)
    if moment is None or moment > after + timedelta(days=HORIZON_DAYS):
        return None
    return moment


def _latest(cron: Cron, tz: ZoneInfo, earliest: datetime, now: datetime) -> datetime | None:
    """The most recent schedule time in (earliest, now]."""
    for moment in _moments(cron, tz, _wall(now, tz) + _DST_SLACK, reverse=True):
        if moment <= now:
            return moment if moment > earliest else None
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
    due = takewhile(lambda moment: moment <= now, times_after(cron, earliest, tz))
    missed = sum(1 for _ in islice(due, MANY_MISSED + 1))
    run_at = _latest(cron, tz, earliest, now) if missed else None
    next_at = next_after(cron, now, tz)
    if run_at is None and earliest > base:
        return Decision(None, next_at, 0, _latest(cron, tz, base, earliest))
    return Decision(run_at, next_at, missed)


def run_name(job_name: str, moment: datetime) -> str:
    """The run's name for one schedule time: the same time always gives the same name, so
    a repeated create after a crash finds the run instead of making a second one. A job
    name over 52 characters is cut and hashed (:func:`fit_name`): two long names with the
    same head still get runs of their own."""
    return f"{fit_name(job_name, 52)}-{int(moment.timestamp()) // 60}"
