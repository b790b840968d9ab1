"""Looking for runs in a compartment's lists of runs by lifecycle state, page by page.

The pure part of a batched state read (:mod:`.poller`): which list and page to read next,
what was found, and when to stop. A port reads the pages :class:`RunScan` asks for
(:meth:`~ads_operator.oci.port.OciPort.scan_job_runs`); the SDK adapter reads them one
after another in one worker thread, because at a thousand runs every return to the busy
event loop between two pages cost a few tenths of a second, and a read of eleven pages
took up to 14 s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ads_operator.oci.domain import OciJobRun


@dataclass
class RunScan:
    """Reads ``states`` in order (newest first, at most ``max_pages`` pages of each) until
    every run of ``wanted`` was seen or the lists end."""

    wanted: frozenset[str]
    states: tuple[str, ...]
    max_pages: int
    #: The wanted runs seen so far, by id.
    found: dict[str, OciJobRun] = field(default_factory=dict)
    #: Pages read (each one ListJobRuns call).
    pages: int = 0
    _state: int = 0
    _page: str | None = None
    _pages_of_state: int = 0

    @property
    def done(self) -> bool:
        return self._state >= len(self.states) or self.wanted <= self.found.keys()

    def next_page(self) -> tuple[str, str | None]:
        """The lifecycle state and page token of the page to read next."""
        return self.states[self._state], self._page

    def add(self, runs: Iterable[OciJobRun], next_page: str | None) -> None:
        """Takes in the page read and moves on: to its next page, or to the next state."""
        self.pages += 1
        self._pages_of_state += 1
        self.found.update((r.id, r) for r in runs if r.id in self.wanted)
        if next_page and self._pages_of_state < self.max_pages:
            self._page = next_page
        else:
            self._state, self._page, self._pages_of_state = self._state + 1, None, 0
