"""Multi-tenant mode through the real API server: a namespace user (``kubectl --as``) is
refused at apply, with a message naming the policy rule, a compartment, subnet, shape,
GPU count and File Storage mount the DataScienceTenancyPolicy does not give its namespace; the same
manifest past a removed binding is made Terminal by the operator with no OCI call (the
emulator's request counters); an allowed job and run in that namespace work. The chart's
own admission objects are used, rendered by the real helm (``tenancy.mode=multi``)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hack import buildtools

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import OperatorFactory
from tests.fixtures.resources import (
    COMPARTMENT,
    PROJECT,
    Kube,
    job_run,
    scripted_job,
    wait_for_condition,
)

CHART = Path(__file__).resolve().parents[2] / "charts" / "ads-operator"
POLICY_CRD = "datasciencetenancypolicies.ads.oci.dev"
USER = ("--as=alice", "--as-group=team-a")
SUBNET = "ocid1.subnet.oc1.iad.aaaateamsubnet"
OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaotherteam"
MOUNT_TARGET = "ocid1.mounttarget.oc1.iad.aaaateammounttarget"
EXPORT = "ocid1.export.oc1.iad.aaaateamexport"
OTHER_MOUNT_TARGET = "ocid1.mounttarget.oc1.iad.aaaaothermounttarget"
OTHER_EXPORT = "ocid1.export.oc1.iad.aaaaotherexport"


def admission_objects(namespace: str) -> list[dict[str, Any]]:
    """The chart's ValidatingAdmissionPolicies and bindings, the bindings narrowed to
    ``namespace`` (the cluster is shared with other tests)."""
    rendered = subprocess.run(
        [str(buildtools.find_binary("helm")), "template", "rel", str(CHART),
         "--set", "oci.region=us-ashburn-1", "--set", "tenancy.mode=multi",
         "--show-only", "templates/tenancy.yaml"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    for doc in docs:
        if doc["kind"] == "ValidatingAdmissionPolicyBinding" and "paramRef" in doc["spec"]:
            only = {"kubernetes.io/metadata.name": namespace}
            doc["spec"]["matchResources"] = {"namespaceSelector": {"matchLabels": only}}
    return docs


def policy(namespace: str, log_group: str, **changes: Any) -> dict[str, Any]:
    tenant = {
        "name": "team-a",
        "namespaces": {"names": [namespace]},
        "credentials": "DefaultIdentityAllowed",
        "compartments": [COMPARTMENT],
        "projects": [PROJECT],
        "subnets": [SUBNET],
        "logGroups": [log_group],
        "mountTargets": [MOUNT_TARGET],
        "exports": [EXPORT],
        "shapes": [
            {"pattern": r"VM\.Standard\.E4\.Flex", "maxOcpus": 2, "maxMemoryInGBs": 32},
            {"pattern": r"VM\.GPU\.A10\.[0-9]+", "maxGpus": 1},
        ],
        **changes,
    }
    return {
        "apiVersion": "ads.oci.dev/v1alpha1",
        "kind": "DataScienceTenancyPolicy",
        "metadata": {"name": "tenancy"},
        "spec": {"tenants": [tenant]},
    }


def apply(
    cluster: Cluster, namespace: str, doc: Mapping[str, Any], *who: str, dry_run: bool = False
) -> subprocess.CompletedProcess[str]:
    extra = ("--dry-run=server",) if dry_run else ()
    return cluster.kubectl(
        "apply", "-n", namespace, *who, *extra, "-f", "-", input=json.dumps(doc), check=False
    )


def total_requests(emulator: EmulatorHandle) -> int:
    counters = emulator.requests(limit=0)["counters"]
    return sum(int(c.get("total", 0)) for c in counters.values())


def job_with(name: str, log_group: str, **infra: Any) -> dict[str, Any]:
    job = scripted_job(name, "print('hi')\n", log_group=log_group)[1]
    spec = job["spec"]["infrastructure"]["spec"]
    spec.update(infra)
    for key in [k for k, v in spec.items() if v is None]:
        del spec[key]
    return job


def job_mounting(name: str, log_group: str, src: str) -> dict[str, Any]:
    return job_with(name, log_group, storageMount=[{"src": src, "dest": "data"}])


def job_reading(name: str, log_group: str, uri: str) -> dict[str, Any]:
    job = job_with(name, log_group)
    job["spec"]["runtime"]["spec"]["scriptPathURI"] = uri
    return job


@pytest.fixture
def admission(cluster: Cluster, kube: Kube) -> Iterator[list[dict[str, Any]]]:
    """The chart's admission objects, applied for this test's namespace, then removed
    with the policy."""
    wait_for_condition(cluster, f"crd/{POLICY_CRD}", "Established", timeout=60)
    docs = admission_objects(kube.namespace)
    try:
        for doc in docs:
            cluster.kubectl("apply", "-f", "-", input=json.dumps(doc))
        yield docs
    finally:
        for doc in docs:
            kind = doc["kind"].lower()
            name = doc["metadata"]["name"]
            cluster.kubectl("delete", kind, name, "--ignore-not-found")
        cluster.kubectl("delete", "dstenancy", "tenancy", "--ignore-not-found")


def test_a_namespace_user_gets_only_what_the_tenancy_policy_gives_its_namespace(
    kube: Kube,
    operator_with: OperatorFactory,
    admission: list[dict[str, Any]],
    emulator: EmulatorHandle,
    log_group: str,
) -> None:
    cluster, ns = kube.cluster, kube.namespace
    operator_with(ADS_OPERATOR_MULTI_TENANT="true")
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "ads-user"},
        "rules": [
            {
                "apiGroups": ["ads.oci.dev"],
                "resources": ["datasciencejobs", "datasciencejobruns"],
                "verbs": ["get", "list", "watch", "create", "update", "patch"],
            },
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"]},
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "ads-user"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ads-user"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    }
    kube.apply(role, binding)
    allowed = job_with("allowed", log_group)

    # No policy yet: multi-tenant mode denies (parameterNotFoundAction: Deny), and a
    # namespace user cannot write the policy.
    def refused_without_policy() -> str | None:
        proc = apply(cluster, ns, allowed, *USER, dry_run=True)
        return proc.stderr if proc.returncode else None

    denied = kube.wait_until(refused_without_policy, "the admission policy to be in force")
    assert "ads-operator-tenancy-datasciencejobs" in denied
    mine = policy(ns, log_group, compartments=[COMPARTMENT, OTHER_COMPARTMENT])
    assert apply(cluster, ns, mine, *USER).returncode != 0

    # A policy with a typo, an empty selector or another name is refused at apply.
    typo = policy(ns, log_group, compartment=[COMPARTMENT])
    assert 'unknown field "spec.tenants[0].compartment"' in apply(cluster, ns, typo).stderr
    empty = policy(ns, log_group, namespaces={})
    assert "would match every namespace" in apply(cluster, ns, empty).stderr
    renamed = {**policy(ns, log_group), "metadata": {"name": "team-a"}}
    assert "must be named 'tenancy'" in apply(cluster, ns, renamed).stderr
    # A shapes pattern matching no known shape (a typo) is stored, with a warning.
    typo_shape = policy(ns, log_group, shapes=[{"pattern": r"VM\.Standrd\.E4\.Flex"}])
    warned = apply(cluster, ns, typo_shape)
    assert warned.returncode == 0, warned.stderr
    assert r"team-a: VM\.Standrd\.E4\.Flex" in warned.stderr
    assert "matching no shape the operator knows" in warned.stderr
    fixed = apply(cluster, ns, policy(ns, log_group))
    assert fixed.returncode == 0, fixed.stderr
    assert "Warning" not in fixed.stderr

    def admitted() -> bool:
        return apply(cluster, ns, allowed, *USER, dry_run=True).returncode == 0

    kube.wait_until(admitted, "the policy to admit the allowed job")
    attacks = {
        "compartment": (
            job_with("c", log_group, compartmentId=OTHER_COMPARTMENT),
            "not in compartments of entry 'team-a'",
        ),
        "subnet": (
            job_with("s", log_group, subnetId="ocid1.subnet.oc1.iad.aaaaelsewhere"),
            "not in subnets of entry 'team-a'",
        ),
        "shape": (
            job_with("sh", log_group, shapeName="BM.Standard3.64", shapeConfigDetails=None),
            "shapeName BM.Standard3.64 is not allowed by the tenancy policy: not in shapes",
        ),
        "gpus": (
            job_with("g", log_group, shapeName="VM.GPU.A10.2", shapeConfigDetails=None),
            "VM.GPU.A10.2 with 2 GPUs exceeds maxGpus 1",
        ),
        "ocpus": (
            job_with("o", log_group, shapeConfigDetails={"ocpus": 8, "memoryInGBs": 16}),
            "OCPUs exceeds maxOcpus 2",
        ),
    }
    attacks["bucket"] = (
        job_reading("b", log_group, "oci://secrets@othertenancy/key.pem"),
        "scriptPathURI bucket secrets@othertenancy is not allowed by the tenancy policy: "
        "not in buckets",
    )
    attacks["https"] = (
        job_reading("h", log_group, "https://169.254.169.254/opc/v2/instance/?t=1"),
        "scriptPathURI host 169.254.169.254 is not allowed by the tenancy policy: "
        "not in httpsHosts",
    )
    attacks["mount target"] = (
        job_mounting("mt", log_group, f"{OTHER_MOUNT_TARGET}:{EXPORT}"),
        f"storageMount mount target {OTHER_MOUNT_TARGET} is not allowed by the tenancy "
        "policy: not in mountTargets of entry 'team-a'",
    )
    attacks["export"] = (
        job_mounting("ex", log_group, f"{MOUNT_TARGET}:{OTHER_EXPORT}"),
        f"storageMount export {OTHER_EXPORT} is not allowed by the tenancy policy: not in exports",
    )
    attacks["mount by address"] = (
        job_mounting("fa", log_group, "10.0.0.5:/other-team"),
        "storageMount 10.0.0.5:/other-team names a File Storage mount by address",
    )
    mine = job_mounting("fs", log_group, f"{MOUNT_TARGET}:{EXPORT}")
    admitted_mount = apply(cluster, ns, mine, *USER, dry_run=True)
    assert admitted_mount.returncode == 0, admitted_mount.stderr
    before = total_requests(emulator)
    for attack, (manifest, rule) in attacks.items():
        proc = apply(cluster, ns, manifest, *USER)
        assert proc.returncode != 0, attack
        assert rule in proc.stderr, (attack, proc.stderr)
    run = job_run("elsewhere", "allowed", compartmentId=OTHER_COMPARTMENT)
    assert "not in compartments" in apply(cluster, ns, run, *USER).stderr
    mount = {
        "storageType": "FILE_STORAGE",
        "mountTargetId": OTHER_MOUNT_TARGET,
        "exportId": EXPORT,
        "destinationDirectoryName": "data",
    }
    run = job_run("mounting", "allowed", jobStorageMountConfigurationOverrideDetailsList=[mount])
    refused_mount = apply(cluster, ns, run, *USER).stderr
    assert f"mountTargetId {OTHER_MOUNT_TARGET} is not allowed" in refused_mount

    # Admission bypassed (the binding removed by an admin): the operator refuses the
    # stored manifest itself, Terminal before any OCI call.
    (jobs_binding,) = (
        d["metadata"]["name"]
        for d in admission
        if d["kind"] == "ValidatingAdmissionPolicyBinding"
        and d["spec"]["policyName"].endswith("-datasciencejobs")
    )
    cluster.kubectl("delete", "validatingadmissionpolicybinding", jobs_binding)
    bypass = attacks["compartment"][0]

    def stored() -> bool:
        return apply(cluster, ns, bypass).returncode == 0

    kube.wait_until(stored, "the job to pass admission without its binding")
    terminal = kube.wait_reason("dsjob", "c", "Terminal", status="True", reason="TenancyPolicy")
    assert "not in compartments of entry 'team-a'" in terminal["message"]
    # A mount by address too: refused before the Resource Search that would resolve it.
    by_address, address_rule = attacks["mount by address"]
    assert apply(cluster, ns, by_address).returncode == 0
    terminal = kube.wait_reason("dsjob", "fa", "Terminal", status="True", reason="TenancyPolicy")
    assert address_rule in terminal["message"]
    assert total_requests(emulator) == before  # nothing reached OCI
    assert "ocid" not in kube.status("dsjob", "c")

    # The allowed manifests, as the namespace user: the job and a run of it work.
    for doc in scripted_job("allowed", "print('hi')\n", log_group=log_group)[:1]:
        assert apply(cluster, ns, doc, *USER).returncode == 0
    created = apply(cluster, ns, allowed, *USER)
    assert created.returncode == 0, created.stderr
    kube.wait("dsjob/allowed", "Ready", timeout=120)
    started = apply(cluster, ns, job_run("allowed-1", "allowed"), *USER)
    assert started.returncode == 0, started.stderr
    kube.wait_phase("allowed-1", "Succeeded", timeout=180)
