"""Whether the operator reads logs fresh or settled now: :class:`LogMode`, shared by
every log search of the operator (:class:`~ads_operator.oci.logreader.LogSearchBatcher`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Final

from ads_operator.models.oci_errors import InvalidRequestError, NotAuthorizedError, NotFoundError
from ads_operator.reconcile.logs import fresh_next

log = logging.getLogger(__name__)

#: A search page that takes longer than this (answer or wait for budget) means the
#: Logging service or budget is busy: reading fresh stops for :data:`TROUBLE_PAUSE`.
SLOW_PAGE: Final = 5.0
TROUBLE_PAUSE: Final = 60.0
#: Errors about the query or the log (refused, not allowed, gone), not the service: they
#: do not make reads settled.
NOT_THE_SERVICE: Final = (InvalidRequestError, NotAuthorizedError, NotFoundError)


class LogMode:
    """Whether the operator reads logs fresh (each read ends at now, the records of the
    last ``log_settle`` seconds remembered by id and read again) or settled (each read
    ends ``log_settle`` before now, as before): fresh while the Logging budget has
    headroom (:func:`~ads_operator.reconcile.logs.fresh_next`), settled without one
    (``headroom`` unset), and for :data:`TROUBLE_PAUSE` after a search was throttled,
    failed or was slow. Either mode mirrors every line once; the switch only moves
    where reads end (see :mod:`~ads_operator.reconcile.logs`)."""

    def __init__(
        self,
        headroom: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.headroom = headroom
        self._clock = clock
        self._fresh = False
        self._paused_until = -math.inf
        #: Times reading fresh was stopped by trouble (for tests and the benchmark).
        self.troubles = 0

    def fresh(self) -> bool:
        if self.headroom is None or self._clock() < self._paused_until:
            self._set(False, "")
        else:
            headroom = self.headroom()
            self._set(fresh_next(self._fresh, headroom), f"budget headroom {headroom:.2f}")
        return self._fresh

    def trouble(self) -> None:
        """A search was throttled, failed or slow: read settled for a while."""
        self.troubles += 1
        self._paused_until = self._clock() + TROUBLE_PAUSE
        self._set(False, f"a search was throttled, failed or slow; for {TROUBLE_PAUSE:.0f} s")

    def failed(self, error: Exception) -> None:
        """A search or count failed: :meth:`trouble` when the service did (throttled,
        failed, a page dropped), not for errors about the query or the log."""
        if not isinstance(error, NOT_THE_SERVICE):
            self.trouble()

    def _set(self, fresh: bool, why: str) -> None:
        if fresh != self._fresh:
            log.info("log reads: %s (%s)", "fresh" if fresh else "settled", why)
        self._fresh = fresh
