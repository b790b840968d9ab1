"""The values each setting accepts, checked at startup and written into the chart's schema."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ads_operator.models.run import LOG_CURSOR_IDS, LOG_TAIL_LINES

#: Numbers below this are finite and fit every duration type the operator uses
#: (``timedelta``, ``asyncio.sleep``); every number setting stays below it.
NUMBER_LIMIT: Final = 10**9


@dataclass(frozen=True)
class Bounds:
    """The values a setting accepts: numbers within limits, or strings of a length.

    One source of truth: the operator checks these at startup, and ``make crds`` writes
    the same limits into the Helm chart's ``values.schema.json``
    (:mod:`ads_operator.commands.chartschema`), so ``helm install`` refuses what the operator
    would refuse with a crash loop.
    """

    at_least: float | None = None
    #: Exclusive lower limit.
    above: float | None = None
    at_most: float | None = None
    #: Exclusive upper limit.
    below: float | None = None
    #: For strings: the length limits.
    min_length: int | None = None
    max_length: int | None = None
    #: For strings: a regular expression the whole value must match (RE2 syntax, which
    #: the chart's JSON schema uses too), and what it means in words.
    pattern: str | None = None
    pattern_text: str = ""

    def admits(self, value: object) -> bool:
        if isinstance(value, str):
            if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
                return False
            low, high = self.min_length or 0, self.max_length
            return len(value) >= low and (high is None or len(value) <= high)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if value != value:  # nan compares false with everything
            return False
        return (
            (self.at_least is None or value >= self.at_least)
            and (self.above is None or value > self.above)
            and (self.at_most is None or value <= self.at_most)
            and (self.below is None or value < self.below)
        )

    def describe(self) -> str:
        """The limits in words, for error messages and the chart schema."""
        if self.pattern is not None:
            return self.pattern_text
        if self.min_length is not None or self.max_length is not None:
            return f"{self.min_length or 0} to {self.max_length} characters long"
        parts = []
        if self.at_least is not None:
            parts.append(f"at least {_number(self.at_least)}")
        if self.above is not None:
            parts.append(f"above {_number(self.above)}")
        if self.at_most is not None:
            parts.append(f"at most {_number(self.at_most)}")
        if self.below is not None:
            parts.append(f"below {_number(self.below)}")
        return " and ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


#: A number that is 0 or more (a duration, a count that may be 0).
_NOT_NEGATIVE: Final = Bounds(at_least=0, below=NUMBER_LIMIT)
#: A number above 0 (an interval, a rate, a timeout).
_POSITIVE: Final = Bounds(above=0, below=NUMBER_LIMIT)
#: A count of at least one.
_ONE_OR_MORE: Final = Bounds(at_least=1, below=NUMBER_LIMIT)

_OCTET: Final = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4: Final = rf"{_OCTET}(\.{_OCTET}){{3}}(/(3[0-2]|[12]?[0-9]))?"
_HEXTET: Final = "[0-9a-fA-F]{1,4}"
#: Eight groups, or "::" with at most three on each side: always a valid address, so the
#: chart never takes a value the operator would refuse (narrower than Python's parser).
_IPV6: Final = (
    rf"({_HEXTET}(:{_HEXTET}){{7}}|({_HEXTET}(:{_HEXTET}){{0,2}})?::({_HEXTET}(:{_HEXTET}){{0,2}})?)"
    r"(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?"
)
#: A comma-separated list of addresses or networks (CIDR), possibly empty.
NETWORKS: Final = Bounds(
    pattern=rf"^ *(({_IPV4}|{_IPV6})( *, *({_IPV4}|{_IPV6}))*)? *$",
    pattern_text="a comma-separated list of networks (CIDR), e.g. 127.0.0.0/8,fd00::/8",
)

#: The limits of every number setting and of the strings that have any (a unit test
#: checks that each number setting is listed).
BOUNDS: Final[Mapping[str, Bounds]] = {
    "cluster_id": Bounds(min_length=1, max_length=255),
    "poll_interval": _POSITIVE,
    "run_batch_min": _ONE_OR_MORE,
    "run_batch_window": _NOT_NEGATIVE,
    "job_resync_interval": _POSITIVE,
    "job_wait_timeout": _POSITIVE,
    "log_grace": _NOT_NEGATIVE,
    "log_settle": _NOT_NEGATIVE,
    "log_read_interval": _NOT_NEGATIVE,
    "log_overlap": _NOT_NEGATIVE,
    "log_late_bound": _NOT_NEGATIVE,
    "log_cursor_max_ids": Bounds(at_least=1, at_most=LOG_CURSOR_IDS),
    "log_tail_lines": Bounds(at_least=0, at_most=LOG_TAIL_LINES),
    "log_status_interval": _NOT_NEGATIVE,
    "log_events_per_minute_per_run": _NOT_NEGATIVE,
    "log_events_per_minute": _NOT_NEGATIVE,
    "log_event_max_bytes": Bounds(at_least=1, at_most=1024),
    "oci_requests_per_second": _POSITIVE,
    "worker_threads": _ONE_OR_MORE,
    "object_workers": _ONE_OR_MORE,
    "oci_connect_timeout": _POSITIVE,
    "oci_read_timeout": _POSITIVE,
    "auth_retry_delay": _NOT_NEGATIVE,
    "backoff_initial": _POSITIVE,
    "backoff_max": _POSITIVE,
    "metrics_port": Bounds(at_least=0, at_most=65535),
    "metrics_address": Bounds(min_length=1, max_length=255),
    "max_active_runs_per_namespace": _NOT_NEGATIVE,
    "source_allowed_networks": NETWORKS,
}
