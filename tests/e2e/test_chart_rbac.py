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
from tests.fixtures.operator import OperatorProcess, Operators
from tests.fixtures.resources import Kube, job_run, scripted_job

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


def hello(kube: Kube, log_group: str) -> None:
    kube.apply(
        *scripted_job("hello", HELLO, file="hello.py", log_group=log_group),
        job_run("hello-run", "hello"),
    )


def run_to_success(kube: Kube) -> None:
    kube.wait_phase("hello-run", "Succeeded", timeout=180)
    events = json.loads(kube.kubectl("get", "events", "-o", "json").stdout)
    assert any(e["involvedObject"]["name"] == "hello-run" for e in events["items"])


def delete_while_running(kube: Kube) -> None:
    """Finalizers need the operator: delete with it still running, and wait until gone."""
    kube.kubectl("delete", "dsjobrun,dsjob", "--all", "--wait=false")
    kube.wait_until(
        lambda: kube.kubectl("get", "dsjob,dsjobrun", "-o", "name").stdout == "",
        f"the resources in {kube.namespace} to be deleted",
        timeout=120,
    )


@dataclass
class Chart:
    """Installs releases of the chart (uninstalled after the test) and runs the operator
    as their Deployments would, in namespaces of its own."""

    cluster: Cluster
    emulator: EmulatorHandle
    key: ApiKey
    tmp: Path
    operators: Operators
    releases: list[Release]

    def install(self, watched: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> Release:
        release = install(self.cluster, self.emulator, self.key, self.tmp, watched, extra)
        self.releases.append(release)
        return release

    def operator(self, release: Release) -> ChartOperator:
        """The release's operator, not started yet; the Secret's files where the local
        process finds them (the pod: /etc/oci)."""
        secret_dir = self.tmp / "etc-oci"
        _write_secret_files(self.key, secret_dir, str(secret_dir))
        kubeconfig = token_kubeconfig(self.cluster, release, self.tmp / "operator.kubeconfig")
        return ChartOperator(release, kubeconfig, secret_dir, self.tmp / "operator.log")

    def namespace(self) -> Kube:
        return Kube(self.cluster, _new_namespace(self.cluster), self.operators)


@pytest.fixture
def chart(
    cluster: Cluster,
    operator_crds: None,
    emulator: EmulatorHandle,
    emulator_api_key: ApiKey,
    tmp_path: Path,
    operators: Operators,
) -> Iterator[Chart]:
    releases: list[Release] = []
    yield Chart(cluster, emulator, emulator_api_key, tmp_path, operators, releases)
    operators.stop_all()
    for release in releases:
        cluster.helm("uninstall", release.name, "-n", release.namespace, check=False)


def test_all_namespaces_with_peering_the_chart_rights_take_a_run_to_succeeded(
    chart: Chart, cluster: Cluster, log_group: str
) -> None:
    release = chart.install(extra=("--set", "peering.enabled=true"))
    assert can_i(cluster, release, "list", "datasciencejobruns.ads.oci.dev", "--all-namespaces")
    assert not can_i(cluster, release, "list", "secrets", "--all-namespaces")
    assert not can_i(cluster, release, "delete", "datasciencejobs.ads.oci.dev", "-A")
    # Schedules create runs; TTL and history limits delete them.
    assert can_i(cluster, release, "create", "datasciencejobruns.ads.oci.dev", "-A")
    assert can_i(cluster, release, "delete", "datasciencejobruns.ads.oci.dev", "-A")
    assert not can_i(cluster, release, "create", "configmaps", "-A")

    operator = chart.operator(release)
    assert "--all-namespaces" in operator.args
    assert f"--peering={release.name}-ads-operator" in operator.args
    workload = chart.namespace()
    chart.operators.run(operator)
    hello(workload, log_group)
    run_to_success(workload)
    # The keep-alive kopf writes with the chart's rights, under the pod's name.
    peering: Any = cluster.get("clusterkopfpeering", f"{release.name}-ads-operator")
    assert f"{release.name}-pod" in (peering.get("status") or {}), peering
    delete_while_running(workload)
    operator.stop()
    assert "Forbidden" not in operator.log_file.read_text(errors="replace")


def test_watch_namespaces_serves_only_those_and_has_no_rights_elsewhere(
    chart: Chart, cluster: Cluster, log_group: str
) -> None:
    served_ns, other_ns = chart.namespace(), chart.namespace()
    served, other = served_ns.namespace, other_ns.namespace
    release = chart.install(watched=(served,))
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

    operator = chart.operator(release)
    assert f"--namespace={served}" in operator.args
    chart.operators.run(operator)
    hello(other_ns, log_group)
    hello(served_ns, log_group)
    run_to_success(served_ns)
    # The served run went all the way while the other namespace's waited beside it.
    for kind, name in (("dsjob", "hello"), ("dsjobrun", "hello-run")):
        untouched = cluster.get(kind, name, other)
        meta = untouched["metadata"]
        assert isinstance(meta, dict)
        # Only the CRD's default status: the operator never wrote one.
        assert untouched.get("status") == {"observedGeneration": 0}, untouched
        assert not meta.get("finalizers"), meta
        assert not [a for a in meta.get("annotations", {}) if "ads.oci.dev" in a], meta
    delete_while_running(served_ns)
    operator.stop()
    assert "Forbidden" not in operator.log_file.read_text(errors="replace")
