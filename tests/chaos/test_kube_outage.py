"""An outage of some Kubernetes calls that outlasts the adapter's retries
(``ads_operator.kube.retry``), met by the job's handlers: its reconcile, its resync
timer and a run's deletion.

The API proxy (``tests/fixtures/apiproxy.py``) answers every request of the kinds in
``Faults.refuse`` with 429, for as long as the test leaves it so. Each handler must then
say so on the resource (a ``KubernetesAPIError`` Event, and the job's ``Synced``
condition when the status can be written), back off, lose nothing and make no duplicate:

1. the job's code source (a ConfigMap) cannot be read: ``Synced=False`` with reason
   ``KubernetesAPIError`` and a Warning Event, and no OCI call;
2. the job's status cannot be written: the OCI job is created once, and its ``Created``
   Event is posted although the OCID could not be saved;
3. the outage lifted: the OCID is saved, the job is Ready, still one CreateJob and one
   ``Created`` Event;
4. a run is deleted and the job's timer resyncs while jobs and runs cannot be read (a
   get or a list): the run keeps its finalizer, both say why, and once lifted the run
   goes and so does its OCI run.

Throughout, the operator's log shows no traceback: no handler, timer or daemon crashed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.conftest import Chaos, ProxiedCluster, proxied_control_plane
from tests.chaos.workload import (
    apply_all,
    code_configmap,
    condition,
    run_manifest,
    wait_settled,
)
from tests.fixtures.apiproxy import Faults
from tests.fixtures.cluster import Cluster
from tests.fixtures.emulator import request_count
from tests.fixtures.waiting import wait_for

NAMESPACE = "kube-outage"
REASON = "KubernetesAPIError"
#: Each phase's wait: the adapter's retries (about 5 s against ``Retry-After: 1``), the
#: handler's backoff, and a slow machine.
PHASE = 120.0


@pytest.fixture
def proxied(tmp_path: Path, chaos_seed: int) -> Iterator[ProxiedCluster]:
    with proxied_control_plane(tmp_path / "controlplane", NAMESPACE, chaos_seed) as started:
        yield started


def events(cluster: Cluster, name: str, reason: str) -> list[dict[str, Any]]:
    """The Events about object ``name`` with ``reason``."""
    raw = cluster.kubectl("get", "events", "-n", NAMESPACE, "-o", "json", timeout=60).stdout
    return [
        e
        for e in json.loads(raw)["items"]
        if e["involvedObject"]["name"] == name and e.get("reason") == reason
    ]


def resource(cluster: Cluster, kind: str, name: str) -> dict[str, Any]:
    return cluster.get(kind, name, NAMESPACE)


def test_job_handlers_wait_out_a_kubernetes_outage(proxied: ProxiedCluster, chaos: Chaos) -> None:
    cluster, proxy = proxied.cluster, proxied.proxy
    operator = chaos.start_operator(
        NAMESPACE, cluster_=proxied.through_proxy, BACKOFF_MAX="8", JOB_RESYNC_INTERVAL="1"
    )

    def refuse(*kinds: str) -> None:
        proxy.set_faults(Faults(refuse=frozenset(kinds), retry_after=1))

    def shown(name: str) -> list[dict[str, Any]] | None:
        found = events(cluster, name, REASON)
        return [e for e in found if e.get("type") == "Warning"] or None

    # 1. The code source cannot be read.
    refuse("GET configmaps")
    apply_all(cluster, NAMESPACE, [code_configmap(), chaos.job("job")])

    def synced_false() -> dict[str, Any] | None:
        synced = condition(resource(cluster, "dsjob", "job"), "Synced")
        return synced if synced.get("reason") == REASON else None

    synced = wait_for(synced_false, timeout=PHASE, what="Synced=False")
    assert synced["status"] == "False"
    assert "429" in synced["message"], synced
    warning = wait_for(lambda: shown("job"), timeout=PHASE, what="a Warning Event")
    assert "429" in warning[0]["message"], warning
    assert request_count(chaos.emulator, "CreateJob") == 0

    # 2. The job's status cannot be written.
    refuse("PATCH datasciencejobs/status")
    created = wait_for(
        lambda: events(cluster, "job", "Created"),
        timeout=PHASE,
        what="the Created Event while the status cannot be saved",
    )
    assert not (resource(cluster, "dsjob", "job").get("status") or {}).get("ocid")
    assert proxy.snapshot().get("refused PATCH datasciencejobs/status", 0) > 0

    # 3. Lifted: the OCID saved, one OCI job, one Created Event.
    proxy.set_faults(Faults())

    def ready() -> dict[str, Any] | None:
        job = resource(cluster, "dsjob", "job")
        return job if condition(job, "Ready").get("status") == "True" else None

    job = wait_for(ready, timeout=PHASE, what="the job to be Ready")
    oci_jobs = chaos.oci.jobs()
    assert [j.id for j in oci_jobs] == [job["status"]["ocid"]]
    assert request_count(chaos.emulator, "CreateJob") == 1
    assert condition(job, "Synced")["status"] == "True"
    created = events(cluster, "job", "Created")
    assert len(created) == 1, created
    assert created[0].get("count", 1) == 1, created

    # 4. A run deleted, and the timer resyncing, while jobs and runs cannot be read.
    apply_all(cluster, NAMESPACE, [run_manifest("run", "job", seconds=1, exit_code=0)])
    runs = wait_settled(cluster, NAMESPACE, ["run"], timeout=PHASE, log=lambda: operator.log)
    run_ocid = runs["run"]["status"]["ocid"]
    refuse("GET datasciencejobs", "GET datasciencejobruns")
    cluster.kubectl("delete", "dsjobrun", "run", "-n", NAMESPACE, "--wait=false")
    wait_for(lambda: shown("run"), timeout=PHASE, what="the run's Warning Event")
    assert resource(cluster, "dsjobrun", "run")["metadata"].get("deletionTimestamp")

    def resync_shown() -> list[dict[str, Any]] | None:
        return [e for e in shown("job") or [] if "resyncing" in e["message"]] or None

    wait_for(resync_shown, timeout=PHASE, what="the timer's Warning Event")
    counts = proxy.snapshot()
    assert counts.get("refused GET datasciencejobruns", 0) > 0, counts
    proxy.set_faults(Faults())

    def run_gone() -> bool:
        left = cluster.kubectl("get", "dsjobrun", "-n", NAMESPACE, "-o", "name").stdout.split()
        return not left

    wait_for(run_gone, timeout=PHASE, what="the run to be deleted")
    states = {r.id: r.lifecycle_state for r in chaos.oci.runs()}
    assert states[run_ocid] in ("DELETING", "DELETED"), states

    crashes = [
        line
        for line in operator.log_file.read_text(errors="replace").splitlines()
        if "Traceback" in line or "failed with an exception" in line
    ]
    assert not crashes, "a handler crashed:\n" + "\n".join(crashes[:20])
    print(f"kube outage: {proxy.snapshot()}")
