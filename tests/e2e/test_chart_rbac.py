"""The chart's RBAC, proven by running the operator with nothing but the chart's rights.

No pod runs on the local control plane, so the test does what the pod would: it installs
the chart, reads the Deployment the chart created (its flags and environment), takes a
token for the chart's ServiceAccount (TokenRequest, as the kubelet would) and runs
``ads-operator run`` with those flags and a kubeconfig holding only that token. A job run
must then reach Succeeded: any verb the chart forgot shows up as a 403 and the run never
gets there. The all-namespaces release also turns kopf peering on, so the keep-alives go
through the chart's peering object and rights. With ``watchNamespaces`` the operator must
also leave a namespace it does not serve untouched, and have no rights there at all.

CRDs are installed by the session's ``operator_crds`` fixture (kubectl), as the other e2e
tests expect, so the releases here use ``crds.install=false``; the chart's own CRD
templates are exercised by the quick-start test on a control plane of its own.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from oci_emulator.testing import ApiKey, EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import (
    OperatorProcess,
    apply,
    job_run,
    script_configmap,
    script_job,
)
from tests.fixtures.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ads-operator"
SECRET_MOUNT = "/etc/oci"  # where the chart mounts the API-key Secret

#: Quick timings for the test, set through the chart's `settings` values (so the mapping
#: from values to ADS_OPERATOR_* variables is exercised too).
FAST_SETTINGS = {
    "pollInterval": "0.5",
    "logGrace": "3",
    "logSettle": "1",
    "logOverlap": "30",
    "jobResyncInterval": "2",
    "backoffInitial": "1",
    "authRetryDelay": "5",
    "clusterId": "rbac-e2e",
    "ociRequestsPerSecond": "50",
}

HELLO = "print('hello from the chart rbac test')\n"


def _new_namespace(cluster: Cluster) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    return name


@dataclass
class Release:
    """An installed chart and the operator process running with its ServiceAccount."""

    name: str
    namespace: str
    service_account: str
    watched: tuple[str, ...]
    deployment: dict[str, Any]


def _write_secret_files(key: ApiKey, directory: Path, key_dir: str) -> None:
    """An OCI config + key as the Secret holds them, with key_file under ``key_dir``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "oci_api_key.pem").write_bytes(key.key_file.read_bytes())
    (directory / "config").write_text(
        "[DEFAULT]\n"
        f"user={key.user}\nfingerprint={key.fingerprint}\ntenancy={key.tenancy}\n"
        f"region={key.region}\nkey_file={key_dir}/oci_api_key.pem\n"
    )


def install(
    cluster: Cluster,
    emulator: EmulatorHandle,
    key: ApiKey,
    tmp: Path,
    watched: tuple[str, ...],
    extra: tuple[str, ...] = (),
) -> Release:
    namespace = _new_namespace(cluster)
    name = f"rbac-{uuid.uuid4().hex[:6]}"
    _write_secret_files(key, tmp / "secret", SECRET_MOUNT)
    cluster.kubectl(
        "create", "secret", "generic", "oci-api-key", "-n", namespace,
        f"--from-file=config={tmp / 'secret' / 'config'}",
        f"--from-file=oci_api_key.pem={tmp / 'secret' / 'oci_api_key.pem'}",
    )  # fmt: skip
    values = [
        "--set", "crds.install=false",
        "--set", "oci.auth=api_key",
        "--set", "oci.apiKey.secretName=oci-api-key",
        "--set", f"oci.endpoint={emulator.endpoint}",
    ]  # fmt: skip
    if watched:
        values += ["--set", "watchNamespaces={" + ",".join(watched) + "}"]
    for key_name, value in FAST_SETTINGS.items():
        flag = "--set-string" if key_name == "clusterId" else "--set"
        values += [flag, f"settings.{key_name}={value}"]
    cluster.helm("install", name, str(CHART), "--namespace", namespace, *values, *extra)
    deployment = cluster.get("deployment", f"{name}-ads-operator", namespace)
    pod = deployment["spec"]["template"]["spec"]  # type: ignore[index]
    return Release(name, namespace, str(pod["serviceAccountName"]), watched, deployment)


def token_kubeconfig(cluster: Cluster, release: Release, path: Path) -> Path:
    """A kubeconfig whose only credential is a token of the chart's ServiceAccount."""
    token = cluster.kubectl(
        "create", "token", release.service_account, "-n", release.namespace, "--duration=1h"
    ).stdout.strip()
    admin = json.loads(cluster.kubeconfig.read_text())
    ca = admin["clusters"][0]["cluster"]["certificate-authority-data"]
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "local",
                        "cluster": {"server": cluster.server, "certificate-authority-data": ca},
                    }
                ],
                "users": [{"name": "operator", "user": {"token": token}}],
                "contexts": [
                    {"name": "operator", "context": {"cluster": "local", "user": "operator"}}
                ],
                "current-context": "operator",
            }
        )
    )
    return path


class ChartOperator(OperatorProcess):
    """``ads-operator run`` with the Deployment's own flags and environment."""

    def __init__(self, release: Release, kubeconfig: Path, secret_dir: Path, log: Path) -> None:
        (spec,) = release.deployment["spec"]["template"]["spec"]["containers"]
        self.args: list[str] = list(spec["args"])
        # The pod listens on all interfaces; a process on this machine, loopback only.
        assert "--liveness=http://0.0.0.0:8080/healthz" in self.args, self.args
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADS_OPERATOR_")}
        for item in spec["env"]:
            if "value" in item:
                env[item["name"]] = item["value"].replace(SECRET_MOUNT, str(secret_dir))
            elif item.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
                env[item["name"]] = f"{release.name}-pod"
        env["TMPDIR"] = env["HOME"] = str(log.parent)
        env["KUBECONFIG"] = str(kubeconfig)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "operator"), str(ROOT)])
        super().__init__(namespaces=(), env=env, log_file=log)

    def run_args(self) -> list[str]:
        return [
            f"--liveness=http://127.0.0.1:{self.port}/healthz" if a.startswith("--liveness=") else a
            for a in self.args
        ]


def can_i(cluster: Cluster, release: Release, *args: str) -> bool:
    subject = f"system:serviceaccount:{release.namespace}:{release.service_account}"
    proc = cluster.kubectl("auth", "can-i", *args, f"--as={subject}", check=False)
    answer = proc.stdout.strip()
    assert answer in {"yes", "no"}, f"kubectl auth can-i {' '.join(args)}: {proc.stderr}"
    return answer == "yes"


def hello(cluster: Cluster, namespace: str, log_group: str) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("hello", {"hello.py": HELLO}),
        script_job("hello", script="hello.py", log_group=log_group),
        job_run("hello-run", "hello"),
    )


def phase(cluster: Cluster, namespace: str) -> str | None:
    status = cluster.get("dsjobrun", "hello-run", namespace).get("status") or {}
    assert isinstance(status, dict)
    return status.get("phase")


def run_to_success(cluster: Cluster, namespace: str, operator: ChartOperator) -> None:
    wait_for(
        lambda: phase(cluster, namespace) == "Succeeded",
        timeout=180,
        what=f"hello-run in {namespace} to succeed; operator log:\n{operator.log}",
    )
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    assert any(e["involvedObject"]["name"] == "hello-run" for e in events["items"])


def delete_while_running(cluster: Cluster, namespace: str, operator: ChartOperator) -> None:
    """Finalizers need the operator: delete with it still running, and wait until gone."""
    cluster.kubectl("delete", "dsjobrun,dsjob", "--all", "-n", namespace, "--wait=false")
    wait_for(
        lambda: (
            cluster.kubectl("get", "dsjob,dsjobrun", "-n", namespace, "-o", "name").stdout == ""
        ),
        timeout=120,
        what=f"the resources in {namespace} to be deleted; operator log:\n{operator.log}",
    )


@pytest.fixture
def secret_dir(tmp_path: Path, emulator_api_key: ApiKey) -> Path:
    """The Secret's files where the local process finds them (the pod: /etc/oci)."""
    directory = tmp_path / "etc-oci"
    _write_secret_files(emulator_api_key, directory, str(directory))
    return directory


@pytest.fixture
def uninstall(cluster: Cluster) -> Iterator[list[Release]]:
    releases: list[Release] = []
    yield releases
    for release in releases:
        cluster.helm("uninstall", release.name, "-n", release.namespace, check=False)


def test_all_namespaces_with_peering_the_chart_rights_take_a_run_to_succeeded(
    cluster: Cluster,
    operator_crds: None,
    emulator: EmulatorHandle,
    emulator_api_key: ApiKey,
    log_group: str,
    secret_dir: Path,
    tmp_path: Path,
    uninstall: list[Release],
) -> None:
    peering = ("--set", "peering.enabled=true")
    release = install(cluster, emulator, emulator_api_key, tmp_path, watched=(), extra=peering)
    uninstall.append(release)
    assert can_i(cluster, release, "list", "datasciencejobruns.ads.oci.dev", "--all-namespaces")
    assert not can_i(cluster, release, "list", "secrets", "--all-namespaces")
    assert not can_i(cluster, release, "delete", "datasciencejobs.ads.oci.dev", "-A")
    # Schedules create runs; TTL and history limits delete them.
    assert can_i(cluster, release, "create", "datasciencejobruns.ads.oci.dev", "-A")
    assert can_i(cluster, release, "delete", "datasciencejobruns.ads.oci.dev", "-A")
    assert not can_i(cluster, release, "create", "configmaps", "-A")

    kubeconfig = token_kubeconfig(cluster, release, tmp_path / "operator.kubeconfig")
    operator = ChartOperator(release, kubeconfig, secret_dir, tmp_path / "operator.log")
    assert "--all-namespaces" in operator.args
    assert f"--peering={release.name}-ads-operator" in operator.args
    workload = _new_namespace(cluster)
    operator.start()
    try:
        hello(cluster, workload, log_group)
        run_to_success(cluster, workload, operator)
        # The keep-alive kopf writes with the chart's rights, under the pod's name.
        peering = cluster.get("clusterkopfpeering", f"{release.name}-ads-operator")
        assert f"{release.name}-pod" in (peering.get("status") or {}), peering
        delete_while_running(cluster, workload, operator)
    finally:
        operator.stop()
    assert "Forbidden" not in operator.log_file.read_text(errors="replace")


def test_watch_namespaces_serves_only_those_and_has_no_rights_elsewhere(
    cluster: Cluster,
    operator_crds: None,
    emulator: EmulatorHandle,
    emulator_api_key: ApiKey,
    log_group: str,
    secret_dir: Path,
    tmp_path: Path,
    uninstall: list[Release],
) -> None:
    served, other = _new_namespace(cluster), _new_namespace(cluster)
    release = install(cluster, emulator, emulator_api_key, tmp_path, watched=(served,))
    uninstall.append(release)
    crd = "datasciencejobruns.ads.oci.dev"
    assert can_i(cluster, release, "watch", crd, "-n", served)
    assert can_i(cluster, release, "patch", crd, "--subresource=status", "-n", served)
    assert can_i(cluster, release, "create", "events", "-n", served)
    assert can_i(cluster, release, "get", "secrets", "-n", served)
    assert not can_i(cluster, release, "list", "secrets", "-n", served)
    for verb, resource in [("list", crd), ("get", crd), ("create", "events"), ("get", "secrets")]:
        assert not can_i(cluster, release, verb, resource, "-n", other), (verb, resource)
    assert not can_i(cluster, release, "list", crd, "--all-namespaces")
    assert not can_i(cluster, release, "get", f"namespaces/{other}")  # names only, via list

    kubeconfig = token_kubeconfig(cluster, release, tmp_path / "operator.kubeconfig")
    operator = ChartOperator(release, kubeconfig, secret_dir, tmp_path / "operator.log")
    assert f"--namespace={served}" in operator.args
    operator.start()
    try:
        hello(cluster, other, log_group)
        hello(cluster, served, log_group)
        run_to_success(cluster, served, operator)
        # The served run went all the way while the other namespace's waited beside it.
        for kind, name in (("dsjob", "hello"), ("dsjobrun", "hello-run")):
            untouched = cluster.get(kind, name, other)
            meta = untouched["metadata"]
            assert isinstance(meta, dict)
            assert not untouched.get("status"), untouched
            assert not meta.get("finalizers"), meta
            assert not [a for a in meta.get("annotations", {}) if "ads.oci.dev" in a], meta
        delete_while_running(cluster, served, operator)
    finally:
        operator.stop()
    assert "Forbidden" not in operator.log_file.read_text(errors="replace")
