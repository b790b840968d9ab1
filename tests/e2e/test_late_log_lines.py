"""Late log records through the real apiserver and the emulator (issue 21): with the
emulator ingesting a share of records seconds after the operator's settle time, every
line still reaches the run's Events exactly once (sweeps, ``LOG_LATE_BOUND``), also while
the Logging service throttles and fails searches (reads fall back to settled ones)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import oci
import pytest

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import OperatorFactory
from tests.fixtures.resources import COMPARTMENT, Kube, job_run, scripted_job
from tests.fixtures.waiting import wait_for

LINES = 40
#: The job's own pacing (its output over ~4 s), not a wait of the test.
SCRIPT = (
    f"import time\nfor i in range({LINES}):\n"
    "    print(f'late {i:02d}', flush=True)\n    time.sleep(0.1)\n"
)
#: Records 3-6 s late: later than the e2e settle time (1 s), within the bound below.
LATE = {
    "log_late_share": 0.3,
    "log_late_min_seconds": 3.0,
    "log_late_max_seconds": 6.0,
    "log_late_seed": 21,
}


def _late_records(oci_clients: OciClients, log_group: str, log_id: str, run_ocid: str) -> int:
    """How many of the run's records the emulator ingested 3 s or more after their time."""
    now = datetime.now(UTC)
    details = oci.loggingsearch.models.SearchLogsDetails(
        time_start=now - timedelta(minutes=30),
        time_end=now,
        search_query=f'search "{COMPARTMENT}/{log_group}/{log_id}"'
        f" | where source = '*{run_ocid}'",
    )
    results = oci_clients.log_search.search_logs(details, limit=1000).data.results
    late = 0
    for result in results:
        data: dict[str, Any] = result.data
        ingested = datetime.fromisoformat(data["logContent"]["oracle"]["ingestedtime"])
        if (ingested.timestamp() * 1000) - data["datetime"] >= 3000:
            late += 1
    return late


#: A Logging service that throttles and fails searches: fresh reads fall back to settled.
TROUBLE = {"operations": {"SearchLogs": {"rate429": 0.3, "rate503": 0.2, "retryAfter": 1}}}


@pytest.mark.parametrize("troubled", [False, True], ids=["healthy", "throttling"])
def test_late_records_reach_the_events_exactly_once(
    kube: Kube,
    operator_with: OperatorFactory,
    log_group: str,
    emulator_faults: EmulatorHandle,
    oci_clients: OciClients,
    troubled: bool,
) -> None:
    emulator = emulator_faults
    if troubled:
        emulator.faults(TROUBLE)
    with emulator.overridden(**LATE):
        operator = operator_with(ADS_OPERATOR_LOG_LATE_BOUND="9", ADS_OPERATOR_LOG_GRACE="8")
        kube.apply(*scripted_job("late", SCRIPT, log_group=log_group), job_run("late-run", "late"))
        kube.wait("dsjobrun/late-run", timeout=180)  # the run is over once its log is
        status = kube.status("dsjobrun", "late-run")
        expected = Counter(f"late {i:02d}" for i in range(LINES))
        lines = wait_for(
            lambda: (got := kube.log_lines("late-run")) and len(got) >= LINES and got,
            timeout=60,
            what=f"{LINES} lines as Events",
        )
        assert Counter(lines) == expected  # each line once: none lost, none doubled
        emulator.clear_faults()
        late = _late_records(oci_clients, log_group, str(status["logId"]), str(status["ocid"]))
    assert late >= 3  # the test did make records arrive late
    said = operator.log_file.read_text(errors="replace")
    assert "log reads: fresh" in said  # few runs: the budget let it read fresh
    if troubled:
        assert "log reads: settled (a search was throttled" in said
