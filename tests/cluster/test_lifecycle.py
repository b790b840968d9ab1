"""Lifecycle as users live it, on the node: the operator pod deleted mid-run, a `helm
upgrade` to a new image tag and settings with 20 runs in flight, SIGTERM from the
kubelet. Nothing may be lost, doubled or launched again: checked in the emulator (the
OCI job runs) and in the runs' Events (every log line once).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from hack import buildtools, localnode

from tests.cluster.conftest import RELEASE_NAMESPACE, Release
from tests.fixtures.emulator import OciClients
from tests.fixtures.resources import (
    COMPARTMENT,
    apply,
    events_of,
    job_run,
    log_lines,
    script_configmap,
    script_job,
    status_of,
    wait_for_condition,
)
from tests.fixtures.waiting import wait_for


def _wait_succeeded(release: Release, namespace: str, *runs: str) -> None:
    for run in runs:
        wait_for_condition(
            release.cluster, f"dsjobrun/{run}", "Succeeded", namespace=namespace, timeout=240
        )


def _job_ready(release: Release, namespace: str, job: str) -> str:
    ready = wait_for_condition(
        release.cluster, f"dsjob/{job}", "Ready", namespace=namespace, timeout=120
    )
    return str(ready["ocid"])


class PodWatch:
    """``kubectl get pod --watch``: the pod's last state as the API server deleted it."""

    def __init__(self, release: Release, pod: str) -> None:
        kubectl = str(buildtools.find_binary("kubectl"))
        self.proc = subprocess.Popen(
            [kubectl, "get", "pod", pod, "-n", RELEASE_NAMESPACE, "--watch", "-o", "json",
             "--output-watch-events"],
            stdout=subprocess.PIPE, text=True, env=release.cluster.env(),
        )  # fmt: skip

    def deleted(self) -> dict[str, Any]:
        """The object of the DELETED event (read until it comes; the caller bounds time)."""
        decoder = json.JSONDecoder()
        buffer = ""
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                buffer += line
                try:
                    event, _ = decoder.raw_decode(buffer.strip())
                except ValueError:
                    continue
                buffer = ""
                if event["type"] == "DELETED":
                    obj: dict[str, Any] = event["object"]
                    return obj
        finally:
            self.proc.kill()
            self.proc.wait()
        raise AssertionError("the watch ended before the pod was deleted")


def test_deleting_the_operator_pod_mid_run_finishes_the_run_once(
    release: Release, namespace: str, log_group: str, oci_clients: OciClients
) -> None:
    cluster = release.cluster
    old = release.ready_pod()["metadata"]["name"]
    script = (
        "import time\nfor i in range(20):\n    print(f'line {i}', flush=True)\n"
        "    time.sleep(0.5)\n"
    )
    apply(
        cluster, namespace,
        script_configmap("steady", {"steady.py": script}),
        script_job("steady", script="steady.py", log_group=log_group),
        job_run("steady-run", "steady"),
    )  # fmt: skip
    job_ocid = _job_ready(release, namespace, "steady")
    wait_for(
        lambda: log_lines(events_of(cluster, namespace, "steady-run")),
        timeout=120,
        what="the run's first lines as Events",
    )
    watch = PodWatch(release, old)
    # The kubelet stops the container with SIGTERM; the Deployment makes a new pod.
    cluster.kubectl("delete", "pod", old, "-n", RELEASE_NAMESPACE, "--wait=false")
    final = watch.deleted()
    terminated = final["status"]["containerStatuses"][0]["state"]["terminated"]
    # SIGKILL after the grace period would be exit code 137: the process ended by itself.
    assert terminated["exitCode"] == 0, terminated
    new = release.ready_pod()
    assert new["metadata"]["name"] != old

    _wait_succeeded(release, namespace, "steady-run")
    runs = oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=job_ocid).data
    assert len(runs) == 1, [r.id for r in runs]
    expected = [f"line {i}" for i in range(20)]
    lines = wait_for(
        lambda: (
            (got := log_lines(events_of(cluster, namespace, "steady-run")))
            and len(got) >= len(expected)
            and got
        ),
        timeout=60,
        what="all 20 lines as Events",
    )
    assert lines == expected


def test_helm_upgrade_with_20_runs_in_flight_loses_and_doubles_nothing(
    release: Release, namespace: str, log_group: str, oci_clients: OciClients, tmp_path: Path
) -> None:
    cluster = release.cluster
    old_pod = release.ready_pod()
    old_image = old_pod["spec"]["containers"][0]["image"]
    new_image = old_image.rsplit(":", 1)[0] + ":upgraded"
    localnode.tag_image(cluster.node_paths, old_image, new_image)

    # The runs (host processes of the emulator) wait for a file the test creates after
    # the upgrade: they are certainly in flight while the operator is replaced.
    gate = tmp_path / "upgraded"
    script = (
        "import os, sys, time\n"
        "while not os.path.exists(os.environ['GATE']):\n    time.sleep(0.2)\n"
        "print('done ' + sys.argv[1], flush=True)\n"
    )
    apply(
        cluster, namespace,
        script_configmap("many", {"many.py": script}),
        script_job("many", script="many.py", log_group=log_group, env={"GATE": str(gate)}),
    )  # fmt: skip
    job_ocid = _job_ready(release, namespace, "many")
    names = [f"many-{i}" for i in range(20)]
    apply(cluster, namespace, *(job_run(n, "many", args=str(i)) for i, n in enumerate(names)))

    def launched() -> dict[str, str] | None:
        ocids = {n: status_of(cluster, namespace, "dsjobrun", n).get("ocid") for n in names}
        return {n: str(o) for n, o in ocids.items() if o} if all(ocids.values()) else None

    before = wait_for(launched, timeout=180, what="all 20 runs created in OCI")
    values = json.loads(json.dumps(release.values))
    values["image"]["tag"] = "upgraded"
    values["settings"].update({"pollInterval": 1, "logTailLines": 50})
    release.helm("upgrade", values)
    pod = release.ready_pod()
    assert pod["metadata"]["name"] != old_pod["metadata"]["name"]
    assert pod["spec"]["containers"][0]["image"] == new_image
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["ADS_OPERATOR_POLL_INTERVAL"] == "1"
    phases = {n: status_of(cluster, namespace, "dsjobrun", n).get("phase") for n in names}
    assert "Succeeded" not in phases.values(), phases
    gate.touch()

    _wait_succeeded(release, namespace, *names)
    after = {n: str(status_of(cluster, namespace, "dsjobrun", n)["ocid"]) for n in names}
    assert after == before, "a run was launched again"
    runs = oci_clients.data_science.list_job_runs(COMPARTMENT, job_id=job_ocid).data
    assert sorted(r.id for r in runs) == sorted(before.values())
    for i, name in enumerate(names):
        lines = wait_for(
            lambda name=name: log_lines(events_of(cluster, namespace, name)),  # type: ignore[misc]
            timeout=60,
            what=f"{name}'s line as an Event",
        )
        assert lines == [f"done {i}"], name
