"""The baseline: a per-run poller as Oracle ADS's ``watch()`` does it.

Every ``interval`` seconds, for every run on its own: one GetJobRun, then (once the run
names its log) one SearchLogs for that run over the window since the newest line seen
minus the overlap, de-duplicated by record id. After the run is terminal it keeps
searching for ``grace`` seconds. It runs as its own process (``python -m
bench.naive_poller``) so its RSS and CPU time are its own, and writes what it saw, with
local timestamps, as JSON::

    {"calls": {"GetJobRun": n, "SearchLogs": n},
     "runs": {"<ocid>": {"states": {"<state>": t}, "lines": [[id, message, t], ...]}},
     "polls": n, "polls_due": x}

``polls_due`` is what ADS's schedule asks for (each run's followed time / interval): on a
machine too small to serve every poll on time, ``polls / polls_due`` says how much of the
schedule was kept, so its call rate can be scaled to what ADS would send to OCI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import oci

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "DELETED", "NEEDS_ATTENTION"}


class Clients(threading.local):
    """One SDK client set per worker thread (signing sessions are not shared)."""

    def __init__(self, config: dict[str, Any], endpoint: str) -> None:
        kwargs: dict[str, Any] = {
            "service_endpoint": endpoint,
            "retry_strategy": oci.retry.NoneRetryStrategy(),
            "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
        }
        self.ds = oci.data_science.DataScienceClient(config, **kwargs)
        self.search = oci.loggingsearch.LogSearchClient(config, **kwargs)


class NaivePoller:
    def __init__(
        self, config: dict[str, Any], endpoint: str, *, interval: float, grace: float
    ) -> None:
        self._config, self._endpoint = config, endpoint
        self._tls = threading.local()
        self.interval, self.grace = interval, grace
        self.overlap = timedelta(seconds=180)
        self.calls: Counter[str] = Counter()
        self.runs: dict[str, dict[str, Any]] = {}
        self.polls = 0
        self.polls_due = 0.0

    def _clients(self) -> Clients:
        clients = getattr(self._tls, "clients", None)
        if clients is None:
            clients = self._tls.clients = Clients(self._config, self._endpoint)
        return clients

    def _get(self, run_id: str) -> Any:
        self.calls["GetJobRun"] += 1
        return self._clients().ds.get_job_run(run_id).data

    def _search(self, query: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        self.calls["SearchLogs"] += 1
        details = oci.loggingsearch.models.SearchLogsDetails(
            time_start=start, time_end=end, search_query=query
        )
        return [
            r.data for r in self._clients().search.search_logs(details, limit=1000).data.results
        ]

    async def watch(self, run_id: str) -> None:
        seen_states: dict[str, float] = {}
        lines: list[list[Any]] = []
        ids: set[str] = set()
        newest: datetime | None = None
        self.runs[run_id] = {"states": seen_states, "lines": lines}
        finished_at: float | None = None
        followed_from = time.monotonic()
        while True:
            started = time.monotonic()
            self.polls += 1
            try:
                run = await asyncio.to_thread(self._get, run_id)
            except oci.exceptions.ServiceError:
                await asyncio.sleep(self.interval)
                continue
            seen_states.setdefault(run.lifecycle_state, time.time())
            log = run.log_details
            if log is not None and log.log_id and run.time_accepted is not None:
                now = datetime.now(UTC)
                floor = run.time_accepted - timedelta(seconds=60)
                start = max(floor, newest - self.overlap) if newest else floor
                query = (
                    f'search "{run.compartment_id}/{log.log_group_id}/{log.log_id}"'
                    f" | where source = '*{run_id}' | sort by datetime asc"
                )
                try:
                    records = await asyncio.to_thread(self._search, query, start, now)
                except oci.exceptions.ServiceError:
                    records = []
                stamp = time.time()
                for data in records:
                    content = data.get("logContent") or {}
                    rid = str(content.get("id"))
                    if rid in ids:
                        continue
                    ids.add(rid)
                    message = str((content.get("data") or {}).get("message", ""))
                    lines.append([rid, message, stamp])
                    when = datetime.fromtimestamp(int(data["datetime"]) / 1000, UTC)
                    newest = when if newest is None else max(newest, when)
            if run.lifecycle_state in TERMINAL:
                finished_at = finished_at or time.monotonic()
                if time.monotonic() - finished_at >= self.grace:
                    self.polls_due += (time.monotonic() - followed_from) / self.interval
                    return
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))


async def _follow(args: argparse.Namespace, run_ids: list[str]) -> NaivePoller:
    config = oci.config.from_file(args.config)
    poller = NaivePoller(config, args.endpoint, interval=args.interval, grace=args.grace)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(args.threads))
    await asyncio.gather(*(poller.watch(r) for r in run_ids))
    return poller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--config", required=True, help="OCI config file")
    parser.add_argument("--runs-file", required=True, help="JSON list of run OCIDs")
    parser.add_argument("--out", required=True)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--grace", type=float, default=90.0)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args(argv)
    run_ids = json.loads(Path(args.runs_file).read_text())
    poller = asyncio.run(_follow(args, run_ids))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "calls": dict(poller.calls),
        "runs": poller.runs,
        "polls": poller.polls,
        "polls_due": poller.polls_due,
        "rss_peak_mb": usage.ru_maxrss / 1024,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
