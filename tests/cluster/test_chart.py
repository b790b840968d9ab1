"""The chart on the node: `helm install` with the image `make image` built gives an
operator pod that turns Ready through its own probes, runs as UID 10001 on a read-only
root filesystem, reads the cluster with its projected ServiceAccount token (no
kubeconfig anywhere), and takes examples/hello-world.yaml to Succeeded with the script's
output as Events, authenticated to OCI by OKE workload identity (the chart's default: no
Secret of OCI credentials anywhere). Its log is readable with `kubectl logs` and holds no
secret.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from hack import localcluster

from oci_emulator.proxymux import OPERATION as EXCHANGE
from oci_emulator.testing import EmulatorHandle
from oci_emulator.workload_identity import ANY_COMPARTMENT, Grant
from tests.cluster.conftest import CHART, RELEASE_NAMESPACE, REPO, SERVICE_ACCOUNT, Release
from tests.fixtures.resources import (
    apply,
    events_of,
    log_lines,
    script_configmap,
    script_job,
    status_of,
    wait_for_condition,
)
from tests.fixtures.waiting import wait_for

EXAMPLE = REPO / "examples" / "hello-world.yaml"


def hello_world(log_group: str) -> list[dict[str, Any]]:
    """examples/hello-world.yaml with a log group (as `make demo` fills it in)."""
    documents = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d is not None]
    job = next(d for d in documents if d["kind"] == "DataScienceJob")
    job["spec"]["infrastructure"]["spec"]["logGroupId"] = log_group
    return documents


def _seconds(start: str, end: str) -> float:
    def parse(stamp: str) -> datetime:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds()


def test_the_operator_pod_is_ready_confined_and_uses_its_token(release: Release) -> None:
    pod = release.ready_pod()
    spec, status = pod["spec"], pod["status"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    print(
        f"[cluster tier] operator pod created -> Ready in "
        f"{_seconds(pod['metadata']['creationTimestamp'], ready['lastTransitionTime']):.0f}s"
    )
    (container,) = spec["containers"]
    assert container["readinessProbe"]["httpGet"]["host"] == "127.0.0.1"
    assert container["imagePullPolicy"] == "Never"
    assert status["containerStatuses"][0]["restartCount"] == 0
    # What the process really runs as, asked inside the container (kubectl exec).
    name = pod["metadata"]["name"]
    ids = release.cluster.kubectl(
        "exec", "-n", RELEASE_NAMESPACE, name, "--", "python", "-c",
        "import os, json; print(json.dumps([os.getuid(), os.getgid(),"
        " os.access('/', os.W_OK), os.path.exists(os.path.expanduser('~/.kube/config')),"
        " os.environ.get('KUBECONFIG')]))",
    ).stdout  # fmt: skip
    uid, gid, root_writable, kubeconfig, kubeconfig_env = json.loads(ids)
    assert (uid, gid) == (10001, 10001)
    assert root_writable is False
    assert kubeconfig is False
    assert kubeconfig_env is None
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/var/run/secrets/kubernetes.io/serviceaccount" in mounts  # projected token
    token_volume = next(v for v in spec["volumes"] if v["name"].startswith("kube-api-access"))
    assert "serviceAccountToken" in token_volume["projected"]["sources"][0]


def test_hello_world_succeeds_with_log_lines_as_events(
    release: Release, namespace: str, log_group: str, emulator: EmulatorHandle
) -> None:
    pod = release.ready_pod()
    cluster = release.cluster
    documents = hello_world(log_group)
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}),
    )  # fmt: skip
    wait_for_condition(
        cluster, "dsjobrun/hello-world-run", "Succeeded", namespace=namespace, timeout=180
    )
    wanted = ["Hello, Kubernetes!"]
    lines = wait_for(
        lambda: (
            (found := log_lines(events_of(cluster, namespace, "hello-world-run")))
            and all(w in found for w in wanted)
            and found
        ),
        timeout=60,
        what="the script's output as Events on the run",
    )
    assert any(line.startswith("Howdy from job run ocid1.datasciencejobrun") for line in lines)
    assert status_of(cluster, namespace, "dsjobrun", "hello-world-run")["phase"] == "Succeeded"

    # Every OCI call the pod made was signed with a session token from the proxymux.
    counters = emulator.requests(limit=0)["counters"]
    assert counters.get(EXCHANGE, {}).get("total", 0) >= 1
    secrets = json.loads(cluster.kubectl("get", "secrets", "-A", "-o", "json").stdout)["items"]
    assert {s["type"] for s in secrets} <= {"helm.sh/release.v1"}, "only helm's own records"

    logs = release.logs(pod["metadata"]["name"])
    assert "serving Prometheus metrics on 127.0.0.1" in logs  # readable, and its own
    assert "eyJ" not in logs, "a JWT (ServiceAccount or session token) was logged"
    assert "ST$" not in logs
    assert "PRIVATE KEY" not in logs
    assert "Authorization" not in logs


def test_a_denied_workload_is_a_readable_condition_not_a_crash_loop(
    release: Release, namespace: str, emulator: EmulatorHandle
) -> None:
    """The emulator's IAM policy stops granting the operator's ServiceAccount: the job
    says why in its Synced condition, the pod keeps running; granted again, it goes on."""
    pod = release.ready_pod()
    cluster = release.cluster
    assert emulator.server is not None
    policy = emulator.server.emu.workload_policy
    policy.revoke(RELEASE_NAMESPACE, SERVICE_ACCOUNT)
    try:
        apply(
            cluster, namespace,
            script_configmap("denied", {"main.py": "print('allowed at last')\n"}),
            script_job("denied", script="main.py", log_group=None),
        )  # fmt: skip
        condition = wait_for(
            lambda: next(
                (
                    c
                    for c in status_of(cluster, namespace, "dsjob", "denied").get("conditions", [])  # type: ignore[union-attr]
                    if c["type"] == "Synced" and c.get("reason") == "NotAuthorizedOrNotFound"
                ),
                None,
            ),
            timeout=90,
            what="the job's Synced condition to say NotAuthorizedOrNotFound",
        )
        assert f"workload {RELEASE_NAMESPACE}/{SERVICE_ACCOUNT}" in condition["message"]
    finally:
        policy.grant(Grant(RELEASE_NAMESPACE, SERVICE_ACCOUNT, frozenset({ANY_COMPARTMENT})))
    wait_for_condition(cluster, "dsjob/denied", "Ready", namespace=namespace, timeout=120)
    after = release.ready_pod()
    assert after["metadata"]["name"] == pod["metadata"]["name"]
    assert after["status"]["containerStatuses"][0]["restartCount"] == 0


def test_a_missing_image_shows_in_the_pods_events_with_its_name(
    release: Release, tmp_path: Path
) -> None:
    """A second release whose image tag is not in the node's store: the pod's Events name
    the image (ErrImageNeverPull), nothing crash-loops. It serves only its own namespace
    and leaves the CRDs to the first release."""
    cluster = release.cluster
    other = "ads-missing-image"
    values = json.loads(json.dumps(release.values))
    values["image"]["tag"] = "no-such-tag"
    values.update({"crds": {"install": False}, "watchNamespaces": [other]})
    values["probes"]["port"] = localcluster.free_port()
    values["metrics"]["port"] = localcluster.free_port()
    path = tmp_path / "values.json"
    path.write_text(json.dumps(values))
    cluster.kubectl("create", "namespace", other)
    cluster.helm("install", "missing", str(CHART), "-n", other, "-f", str(path))
    try:
        image = f"{values['image']['repository']}:no-such-tag"

        def refused() -> str | None:
            events = json.loads(cluster.kubectl("get", "events", "-n", other, "-o", "json").stdout)[
                "items"
            ]
            return next(
                (e["message"] for e in events if e.get("reason") == "ErrImageNeverPull"), None
            )

        message = wait_for(refused, timeout=120, what="an ErrImageNeverPull Event")
        assert image in message
    finally:
        cluster.helm("uninstall", "missing", "-n", other, "--wait", "--timeout", "2m")
