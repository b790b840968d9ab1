"""`helm uninstall` keeps the CRDs and every resource of their kinds (crds.keep, the
default). This module sorts last: the release comes back for any later test."""

from __future__ import annotations

from tests.cluster.conftest import RELEASE, RELEASE_NAMESPACE, Release
from tests.fixtures.resources import apply, script_configmap, script_job, wait_for_condition
from tests.fixtures.waiting import wait_for


def test_helm_uninstall_keeps_the_crds_and_the_resources(
    release: Release, namespace: str, log_group: str
) -> None:
    cluster = release.cluster
    release.ready_pod()
    apply(
        cluster, namespace,
        script_configmap("kept", {"kept.py": "print('kept')\n"}),
        script_job("kept", script="kept.py", log_group=log_group),
    )  # fmt: skip
    wait_for_condition(cluster, "dsjob/kept", "Ready", namespace=namespace, timeout=120)
    cluster.helm("uninstall", RELEASE, "-n", RELEASE_NAMESPACE, "--wait", "--timeout", "2m")
    wait_for(lambda: not release.pods(), timeout=120, what="the operator pod to go")
    for crd in ("datasciencejobs.ads.oci.dev", "datasciencejobruns.ads.oci.dev"):
        cluster.kubectl("get", "crd", crd)
    kept = cluster.get("dsjob", "kept", namespace)
    assert kept["status"]["ocid"]  # type: ignore[index]
    assert not kept["metadata"].get("deletionTimestamp")  # type: ignore[attr-defined]
