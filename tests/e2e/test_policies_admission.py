"""The per-namespace active-run cap end to end: runs over the cap wait in Pending with a
clear condition and start in creation order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.fixtures.operator import OperatorFactory, OperatorProcess
from tests.fixtures.resources import Kube, condition_of, job_run, scripted_job

#: Long enough (3 s) that the next runs are seen waiting while it holds the slot.
WORK = "import time\nprint('working', flush=True)\ntime.sleep(3)\nprint('done')\n"
RUNS = ("first", "second", "third")


@pytest.fixture
def capped(operator_with: OperatorFactory) -> OperatorProcess:
    return operator_with(ADS_OPERATOR_MAX_ACTIVE_RUNS_PER_NAMESPACE="1")


def test_runs_over_the_cap_wait_and_start_in_creation_order(
    kube: Kube, capped: OperatorProcess
) -> None:
    kube.apply(*scripted_job("work", WORK, log_group=None))
    for name in RUNS:  # one by one, so creation order is certain
        kube.apply(job_run(name, "work"))

    def queued() -> dict[str, Any] | None:
        status = kube.status("dsjobrun", "third")
        return (
            status if condition_of(status, "Ready").get("reason") == "WaitingForCapacity" else None
        )

    waiting = kube.wait_until(queued, "the third run to queue")
    assert waiting["phase"] == "Pending"
    assert "ocid" not in waiting
    assert "MAX_ACTIVE_RUNS_PER_NAMESPACE" in condition_of(waiting, "Ready")["message"]
    overlaps: list[str] = []

    def all_done() -> bool:
        # One list: a snapshot at one resourceVersion. Reading the runs one by one could
        # see the first still Running and then the second already created after it.
        listed = kube.kubectl("get", "dsjobrun", "-o", "json").stdout
        items = json.loads(listed)["items"]
        statuses = {i["metadata"]["name"]: i.get("status") or {} for i in items}
        active = [
            n
            for n, s in statuses.items()
            if s.get("ocid") and s.get("phase") in ("Pending", "Running")
        ]
        if len(active) > 1:
            overlaps.append(",".join(active))
        return all(s.get("phase") == "Succeeded" for s in statuses.values())

    kube.wait_until(all_done, "all three runs to succeed", timeout=120)
    assert overlaps == [], f"more than one run was active at once: {overlaps}"
    statuses = [kube.status("dsjobrun", n) for n in RUNS]
    accepted = [
        datetime.fromisoformat(str(s["timeAccepted"]).replace("Z", "+00:00")) for s in statuses
    ]
    finished = [
        datetime.fromisoformat(str(s["timeFinished"]).replace("Z", "+00:00")) for s in statuses
    ]
    assert accepted == sorted(accepted)
    # each started only after the one before it had finished
    assert accepted[1] >= finished[0]
    assert accepted[2] >= finished[1]
