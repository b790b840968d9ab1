"""When a run's state and log are read: the budget's headroom spent on latency.

The batched schedule (state every ``poll_interval``, 3 s, slower for long runs; logs every
``log_read_interval``, 10 s) keeps a thousand runs within the tenancy's call budget. A
handful of runs use a tenth of it on that schedule, and their users wait seconds for
what ADS shows at once. So the intervals follow the budget actually in use: the headroom
of the tenancy's service nearest its limit (Data Science or Logging,
:meth:`~ads_operator.oci.ratelimit.TenancyBudget.headroom`, smoothed over ~30 s, and
coming back over ~2 minutes once the use falls). With
most of it free, every run is read at the fastest; as the share in use grows from
:data:`SPEND_BELOW` to :data:`SAVE_ABOVE`, the intervals grow back to the batched
schedule. More runs cost more calls per read, so the headroom, and with it the speed,
shrinks as runs grow, without a setting to tune: speeding up spends headroom, which
slows the reads down again, and the two meet in a balance (the smoothing keeps it from
flapping).

Why the tightest service and not each its own: the batching economy makes a state read
of 10 runs (one list page) cost about what one of 1,000 runs does per run-second on the
batched schedule (11 pages every 3-6 s), so the Data Science budget alone hardly tells
the two apart. The Logging budget does: at 1,000 runs their lines alone fill ~5 search
pages a second, half of it. Where the balance lies with the default budget (10 calls/s
per service, 5 lines/s per run): 10 runs read at the fastest use ~13 % of the Data
Science budget and ~5 % of Logging; 300 runs on the batched schedule ~13 % and ~20 %, so
they speed up part of the way; 1,000 runs use ~50 % of Logging and stay on the batched
schedule, whose call rate is what the scale goals are set for.

State intervals stay on a ladder of the poll interval times a power of two (0.75, 1.5,
3, 6, 12 s by default): reads batch only when runs read on common wall-clock ticks
(:func:`~ads_operator.oci.ticks.aligned_delay`), and ticks of such intervals nest.
"""

from __future__ import annotations

import math
from typing import Final

from ads_operator.oci import ticks

#: The share of the budget in use at or below which runs are read at the fastest, and at
#: or above which on the batched schedule; in between, the intervals grow geometrically.
SPEND_BELOW: Final = 0.15
SAVE_ABOVE: Final = 0.35
#: The fastest state read, in halvings of the poll interval (3 s / 4 = 0.75 s): with the
#: batching window and the status write, a state change shows within ~1.2 s.
FASTEST_HALVINGS: Final = 2
#: How much faster than the batched schedule a state read may go: enough to read a run
#: that has long been IN_PROGRESS (12 s) at the fastest too.
MOST_HALVINGS: Final = 4
#: The fastest log read (seconds), or ``log_read_interval`` if that is shorter: ADS reads
#: every 3 s; a line then shows ~2-3 s after it could be read.
FASTEST_LOG_READ: Final = 2.0


def no_headroom(operation: str | None = None) -> float:
    """The headroom where there is no budget to read it from (unit tests): none, so the
    batched schedule."""
    return 0.0


def thrift(headroom: float) -> float:
    """How far towards the batched schedule to go: 0.0 (spend: the budget is mostly free)
    .. 1.0 (save: today's schedule), continuous and rising with the share in use."""
    used = 1.0 - headroom
    return min(1.0, max(0.0, (used - SPEND_BELOW) / (SAVE_ABOVE - SPEND_BELOW)))


def state_interval(
    base: float, state: str | None, in_progress_for: float | None, headroom: float
) -> float:
    """How long until a run in ``state`` is read again: the batched schedule's interval
    (:func:`~ads_operator.oci.ticks.state_interval`) divided by up to 2 ** MOST_HALVINGS
    as the headroom allows, on the ladder of ``base`` times a power of two, never below
    ``base`` / 2 ** FASTEST_HALVINGS."""
    scheduled = ticks.state_interval(base, state, in_progress_for)
    if base <= 0:
        return scheduled
    halvings = MOST_HALVINGS * (1.0 - thrift(headroom))
    steps = round(math.log2(scheduled / base) - halvings)
    return float(base * 2.0 ** max(-FASTEST_HALVINGS, steps))


def log_read_interval(slowest: float, headroom: float) -> float:
    """How long after its last read a live run's log is read again: ``slowest``
    (``log_read_interval``) without headroom, :data:`FASTEST_LOG_READ` with most of the
    Logging budget free, geometrically in between (continuous: the reads fall on the
    state passes anyway)."""
    fastest = min(FASTEST_LOG_READ, slowest)
    if fastest <= 0:
        return slowest
    return float(fastest * (slowest / fastest) ** thrift(headroom))


def log_read_due(
    last: float,
    now: float,
    *,
    slowest: float,
    poll_interval: float,
    headroom: float,
) -> bool:
    """Whether a pass at ``now`` reads the log last read at ``last`` (epoch seconds): at the
    pass nearest to the log-read interval after the last read. A terminal run's log is
    read on this schedule too, apart from the read that takes in its end and the one that
    completes it (:func:`ads_operator.usecases.run_logs.follow_logs` adds those). Read at
    every pass through the log grace, each ended run cost a search and a status patch
    every 3 s, ~30 through ADS's 90 s grace, for lines that had mostly been read already.

    With headroom the reads fall on common wall-clock ticks of the interval (a whole
    number of passes): the first pass in a new tick reads. Counted from each run's own
    last read instead, runs whose reads once fell a pass apart stayed apart, and each
    group cost its own search (10 runs made twice the searches they needed). On the
    batched schedule (no headroom) as before: from each run's last read, so a thousand
    runs' log steps (and their cursor patches) do not all fall on one tick."""
    interval = log_read_interval(slowest, headroom)
    passes = state_interval(poll_interval, None, None, headroom)
    if thrift(headroom) >= 1.0 or passes <= 0 or interval <= 0:
        return now - last >= interval - passes / 2
    tick = passes * max(1, round(interval / passes))
    return math.floor(now / tick) > math.floor(last / tick)
