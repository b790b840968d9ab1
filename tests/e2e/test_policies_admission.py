"""The per-namespace active-run cap end to end: runs over the cap wait in Pending with a
clear condition and start in creation order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import (
    OperatorFactory,
    OperatorProcess,
    apply,
    job_run,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for

#: Long enough (3 s) that the next runs are seen waiting while it holds the slot.
WORK = "import time\nprint('working', flush=True)\ntime.sleep(3)\nprint('done')\n"
RUNS = ("first", "second", "third")


@pytest.fixture
def capped(operator_with: OperatorFactory) -> OperatorProcess:
    return operator_with(ADS_OPERATOR_MAX_ACTIVE_RUNS_PER_NAMESPACE="1")


def ready_reason(status: dict[str, Any]) -> str:
    conds = status.get("conditions") or []
    return next((str(c.get("reason")) for c in conds if c["type"] == "Ready"), "")


def test_runs_over_the_cap_wait_and_start_in_creation_order(
    cluster: Cluster, namespace: str, capped: OperatorProcess
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("work", {"work.py": WORK}),
        script_job("work", script="work.py", log_group=None),
    )
    for name in RUNS:  # one by one, so creation order is certain
        apply(cluster, namespace, job_run(name, "work"))

    def queued() -> dict[str, Any] | None:
        status = status_of(cluster, namespace, "dsjobrun", "third")
        return status if ready_reason(status) == "WaitingForCapacity" else None

    waiting = wait_for(queued, timeout=60, what=f"the third run to queue ({capped.log})")
    assert waiting["phase"] == "Pending"
    assert "ocid" not in waiting
    message = next(c["message"] for c in waiting["conditions"] if c["type"] == "Ready")
    assert "MAX_ACTIVE_RUNS_PER_NAMESPACE" in message
    overlaps: list[str] = []

    def all_done() -> bool:
        # One list: a snapshot at one resourceVersion. Reading the runs one by one could
        # see the first still Running and then the second already created after it.
        listed = cluster.kubectl("get", "dsjobrun", "-n", namespace, "-o", "json").stdout
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

    wait_for(all_done, timeout=120, what=f"all three runs to succeed ({capped.log})")
    assert overlaps == [], f"more than one run was active at once: {overlaps}"
    statuses = [status_of(cluster, namespace, "dsjobrun", n) for n in RUNS]
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
