"""Run policies: retries, a deadline and a time to live, per run or as a job's defaults.

The names and meanings are Kubernetes Job's (``backoffLimit``, ``activeDeadlineSeconds``,
``ttlSecondsAfterFinished``), because that is what users already know; what differs is
said in the field descriptions and in ``docs/guide/run-policy.md``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, Field, StrictBool, StrictInt

from ads_operator.models.base import WireModel

#: At most this many retries; each is a new OCI run, listed in ``status.attempts``.
MAX_BACKOFF_LIMIT: Final = 20
#: Default first wait before a retry (doubled per retry, at most ``MAX_BACKOFF_SECONDS``).
DEFAULT_BACKOFF_SECONDS: Final = 10
MAX_BACKOFF_SECONDS: Final = 3600


class RunPolicy(WireModel):
    """How the operator treats a run beyond creating it once (every field optional)."""

    backoff_limit: StrictInt | None = Field(
        default=None,
        ge=0,
        le=MAX_BACKOFF_LIMIT,
        description="Retries after a failed attempt, each a new OCI run (default 0).",
    )
    backoff_seconds: StrictInt | None = Field(
        default=None,
        ge=0,
        le=MAX_BACKOFF_SECONDS,
        description="Wait before the first retry, doubled for each next (default 10).",
    )
    active_deadline_seconds: StrictInt | None = Field(
        default=None,
        ge=1,
        description="Cancel the run (all attempts) after this many seconds in total.",
    )
    ttl_seconds_after_finished: StrictInt | None = Field(
        default=None,
        ge=0,
        description="Delete this resource this long after it finished (deletionPolicy applies).",
    )

    def merged_over(self, defaults: RunPolicy | None) -> RunPolicy:
        """This policy with unset fields taken from ``defaults`` (a job's ``runPolicy``)."""
        if defaults is None:
            return self
        mine = self.model_dump(exclude_none=True)
        return RunPolicy.model_validate({**defaults.model_dump(exclude_none=True), **mine})


class Attempt(WireModel):
    """One earlier attempt of a run (the current one is the top-level status)."""

    attempt: int = Field(ge=1, description="Attempt number, from 1.")
    ocid: str | None = Field(default=None, max_length=255, description="Its OCI run.")
    lifecycle_state: str | None = Field(default=None, max_length=64, description="Final state.")
    exit_code: int | None = Field(default=None, description="Its exit code.")
    time_accepted: str | None = Field(default=None, max_length=64, description="Accepted.")
    time_started: str | None = Field(default=None, max_length=64, description="Started.")
    time_finished: str | None = Field(default=None, max_length=64, description="Finished.")
    message: str | None = Field(default=None, max_length=1024, description="OCI's details.")


Attempts = Annotated[list[Attempt], Field(max_length=MAX_BACKOFF_LIMIT + 1)]


class ConcurrencyPolicy(StrEnum):
    """What a schedule does when the time comes and its previous run is still active."""

    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


def _cron_pattern() -> str:
    """A regular expression for what the operator's cron parser accepts, field by field
    with each field's range (RE2, so CEL can check it when the job is applied).

    What a regular expression cannot see (a range that runs backwards, ``5-1``) the
    operator reports in the job's ``ScheduleValid`` condition."""
    step = r"(/0*[1-9][0-9]*)?"

    def field(value: str) -> str:
        item = rf"(\*|({value})(-({value}))?){step}"
        return rf"{item}(,{item})*"

    months = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
    days = "sun|mon|tue|wed|thu|fri|sat"
    fields = [
        field(r"0*[1-5]?[0-9]"),  # minute 0-59
        field(r"0*(1?[0-9]|2[0-3])"),  # hour 0-23
        field(r"0*([1-9]|[12][0-9]|3[01])"),  # day of month 1-31
        field(rf"0*([1-9]|1[0-2])|{months}"),  # month 1-12
        field(rf"0*[0-7]|{days}"),  # day of week 0-7 (0 and 7: Sunday)
    ]
    macros = "@(yearly|annually|monthly|weekly|daily|midnight|hourly)"
    five = r"\s+".join(fields)
    return rf"(?i)^\s*({macros}|{five})\s*$"


CRON_PATTERN: Final = _cron_pattern()
CRON_MESSAGE: Final = (
    "must be five cron fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or"
    " jan-dec, day of week 0-7 or sun-sat; each *, a value, a range a-b or a list, with an"
    " optional /step) or one of @hourly, @daily, @weekly, @monthly, @yearly"
)
#: The shape of an IANA zone name; whether it exists only the operator can tell
#: (``ScheduleValid``), as the apiserver has no time zone database to ask.
TIME_ZONE_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"


def _check_cron(value: str) -> str:
    if not re.match(CRON_PATTERN, value):
        raise ValueError(CRON_MESSAGE)
    return value


#: A cron expression, checked with the same pattern by pydantic and, at apply, by CEL.
CronExpression = Annotated[
    str,
    AfterValidator(_check_cron),
    Field(
        min_length=1,
        max_length=128,
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": f"self.matches(r'{CRON_PATTERN}')", "message": CRON_MESSAGE}
            ]
        },
    ),
]


class JobSchedule(WireModel):
    """Start runs of the job on a cron schedule, the way a CronJob starts Jobs."""

    cron: CronExpression = Field(
        description="Five-field cron expression or @hourly/@daily/@weekly/@monthly/@yearly.",
    )
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        pattern=TIME_ZONE_PATTERN,
        description="IANA time zone of the expression, e.g. Europe/Berlin (default UTC).",
    )
    concurrency_policy: ConcurrencyPolicy | None = Field(
        default=None,
        description="Allow (default), Forbid (skip while one runs), Replace (cancel it).",
    )
    suspend: StrictBool | None = Field(default=None, description="true: start no new runs.")
    starting_deadline_seconds: StrictInt | None = Field(
        default=None, ge=0, description="A run not started this long after its time is missed."
    )
