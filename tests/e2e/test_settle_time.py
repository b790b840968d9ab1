"""The settle time follows the ingest delays the records show (issue 21), through the
real SDK and the emulator: records ingested at once let settled reads end about 2 s before now
instead of ``LOG_SETTLE`` (10 s here, the default); records ingested 4-5 s after their
time lengthen it to their delay plus a margin. Every line reaches its run's Events once
either way. The settle is read from ``ads_operator_log_settle_seconds``."""

from __future__ import annotations

from collections import Counter

from oci_emulator.testing import EmulatorHandle
from tests.e2e.test_late_log_lines import _log_complete
from tests.e2e.test_metrics import sample, scrape
from tests.fixtures.operator import OperatorFactory, _free_port
from tests.fixtures.resources import Kube, job_run, scripted_job
from tests.fixtures.waiting import wait_for

LINES = 20
#: The job's own pacing (its output over ~2 s), not a wait of the test.
SCRIPT = (
    f"import time\nfor i in range({LINES}):\n"
    "    print(f'settle {i:02d}', flush=True)\n    time.sleep(0.1)\n"
)
#: Every record ingested 4-5 s after its time: within LOG_SETTLE, so no late record.
SLOW_INGEST = {
    "log_late_share": 1.0,
    "log_late_min_seconds": 4.0,
    "log_late_max_seconds": 5.0,
    "log_late_seed": 5,
}


def _mirrored(kube: Kube, run: str) -> list[str]:
    wait_for(lambda: _log_complete(kube, run), timeout=180, what=f"{run}'s log complete")
    return kube.log_lines(run)


def test_the_settle_time_follows_the_ingest_delays_the_records_show(
    kube: Kube,
    operator_with: OperatorFactory,
    log_group: str,
    emulator_faults: EmulatorHandle,
) -> None:
    operator = operator_with(
        ADS_OPERATOR_LOG_SETTLE="10",
        ADS_OPERATOR_METRICS_PORT=str(_free_port()),
        ADS_OPERATOR_METRICS_ADDRESS="127.0.0.1",
    )
    assert sample(scrape(operator), "ads_operator_log_settle_seconds") == 10.0  # nothing seen
    expected = Counter(f"settle {i:02d}" for i in range(LINES))
    kube.apply(
        *scripted_job("prompt", SCRIPT, log_group=log_group), job_run("prompt-run", "prompt")
    )
    assert Counter(_mirrored(kube, "prompt-run")) == expected
    prompt = sample(scrape(operator), "ads_operator_log_settle_seconds")
    # The shortest (2 s), or a little more when the emulator's batched writes (and a busy
    # machine) took the records in over a second after their time.
    assert 2.0 <= prompt < 5.0, prompt

    with emulator_faults.overridden(**SLOW_INGEST):
        kube.apply(*scripted_job("slow", SCRIPT, log_group=log_group), job_run("slow-run", "slow"))
        assert Counter(_mirrored(kube, "slow-run")) == expected
    settle = sample(scrape(operator), "ads_operator_log_settle_seconds")
    assert 5.0 <= settle < 10.0, settle  # the records' delay (4-5 s) plus 1 s, not LOG_SETTLE
