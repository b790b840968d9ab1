"""The batched schedule of state reads: how often a run is read (:func:`state_interval`)
and on which wall-clock ticks (:func:`aligned_delay`), so that the reads of many runs
fall into one batch (:mod:`.poller`). :mod:`.cadence` shortens it when the budget has
headroom.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

#: (seconds IN_PROGRESS, multiple of the base interval) from the longest-running down.
SLOWER_AFTER: Final = ((1800.0, 4), (60.0, 2))


def state_interval(base: float, state: str | None, in_progress_for: float | None) -> float:
    """How often to read a run in ``state``: the base interval around transitions
    (ACCEPTED, the first minutes of IN_PROGRESS, CANCELING, the log grace after the end),
    slower while a run has long been IN_PROGRESS (its next transition is rarely soon;
    its log lines then arrive at most this much later). Multiples of ``base``, so the
    slower runs still poll on the common ticks of :func:`aligned_delay`."""
    if state != "IN_PROGRESS" or in_progress_for is None:
        return base
    for after, factor in SLOWER_AFTER:
        if in_progress_for >= after:
            return base * factor
    return base


def aligned_delay(
    interval: float,
    now: float,
    *,
    jitter: float = 0.0,
    rand: Callable[[], float] = random.random,
    started: float | None = None,
) -> float:
    """The wait until the next multiple of ``interval`` (wall clock) at least half an
    interval away, plus up to ``jitter`` seconds. With ``started`` (when the pass began)
    the half interval counts from then, and the tick need only be ahead of ``now``: a
    pass takes ~0.4 s (the batching window, a list page, a save), which at a 0.75 s
    interval counted from its end skipped every other tick.

    Runs sleeping a plain ``interval`` after each pass drift apart, so their reads fall
    into different batching windows; on common ticks every run of a compartment is read
    by one ListJobRuns and every run of a log group by one search. The jitter (kept below
    the batching window) spreads the calls of one tick a little without splitting them.
    """
    if interval <= 0:
        return interval
    since = now if started is None else min(started, now)
    wait = interval - (since % interval)
    if wait < interval / 2:
        wait += interval
    wait -= now - since
    while wait <= 0:
        wait += interval
    return wait + jitter * rand()
