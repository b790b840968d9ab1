"""The CRDs against a real kube-apiserver: examples accepted, bad manifests refused.

Every file in ``examples/`` must pass ``kubectl apply --dry-run=server``; every file in
``tests/manifests/invalid/`` must be refused with a message naming the field given on
its ``# expect:`` line. A file with two documents is an update: the first is created,
the second (a change to it) must be refused, which exercises the CEL transition rules
that make a run's defining fields immutable.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.fixtures.cluster import Cluster
from tests.fixtures.resources import wait_for_condition

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
INVALID = sorted((ROOT / "tests" / "manifests" / "invalid").glob("*.yaml"))
CRD_FILES = sorted((ROOT / "crds").glob("*.yaml"))


def expected_field(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} has no '# expect:' line")


@pytest.fixture(scope="module")
def crds_installed(cluster: Cluster) -> Cluster:
    for crd in CRD_FILES:
        cluster.kubectl("apply", "-f", str(crd))  # as the operator fixture does: same manager
    for crd in CRD_FILES:
        name = yaml.safe_load(crd.read_text().split("---", 1)[1])["metadata"]["name"]
        wait_for_condition(cluster, f"crd/{name}", "Established", timeout=60)
    return cluster


def test_there_are_enough_invalid_manifests() -> None:
    assert len(INVALID) >= 40
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_is_accepted(crds_installed: Cluster, namespace: str, example: Path) -> None:
    result = crds_installed.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", str(example), check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("manifest", INVALID, ids=lambda p: p.name)
def test_invalid_manifest_is_refused(
    crds_installed: Cluster, namespace: str, manifest: Path
) -> None:
    documents = [d for d in yaml.safe_load_all(manifest.read_text()) if d is not None]
    if len(documents) == 2:
        crds_installed.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(documents[0]))
    result = crds_installed.kubectl(
        "apply",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(documents[-1]),
        check=False,
    )
    assert result.returncode != 0, f"{manifest.name} was accepted"
    assert expected_field(manifest) in result.stderr, result.stderr


def test_kubectl_explain_reads_the_descriptions(crds_installed: Cluster) -> None:
    result = crds_installed.kubectl("explain", "datasciencejobs.spec.runtime.spec.scriptPathURI")
    assert "configmap://" in result.stdout


def test_short_names_and_categories(crds_installed: Cluster, namespace: str) -> None:
    for resource in ("dsjob", "dsjobrun", "oci", "datascience"):
        result = crds_installed.kubectl("get", resource, "-n", namespace, check=False)
        assert result.returncode == 0, result.stderr


def test_cancel_and_operator_settings_of_a_run_may_change(
    crds_installed: Cluster, namespace: str
) -> None:
    run_spec: dict[str, object] = {"jobRef": {"name": "hello-world"}, "args": "one"}
    run = {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceJobRun",
        "metadata": {"name": "mutable"},
        "spec": run_spec,
    }
    crds_installed.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(run))
    changes: dict[str, object] = {
        "cancel": True,
        "deletionPolicy": "Orphan",
        "authSecretRef": {"name": "oci-creds"},
    }
    patch = {"spec": changes}
    result = crds_installed.kubectl(
        "patch",
        "-n",
        namespace,
        "dsjobrun",
        "mutable",
        "--type=merge",
        "-p",
        json.dumps(patch),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    spec = crds_installed.get("dsjobrun", "mutable", namespace)["spec"]
    assert spec == {**run_spec, **changes}
