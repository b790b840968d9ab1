"""Does the tenancy policy allow this DataScienceJob or DataScienceJobRun? (pure)

The chart's ValidatingAdmissionPolicy refuses a disallowed manifest at ``kubectl apply``;
this is the second line, judged by the operator before any OCI call, for a manifest
stored before the policy tightened or while admission was bypassed. Same rules, same
words (each message names the policy key that refused); the answer is None (allowed)
or the refusal, which the use case makes Terminal. See docs/security.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Final
from urllib.parse import urlsplit

from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec, RuntimeSpec
from ads_operator.models.tenancy import (
    KNOWN_SHAPES,
    POLICY_NAME,
    SOURCE_FIELDS,
    CredentialsMode,
    DataScienceTenancyPolicySpec,
    Tenant,
)

_GPU_COUNT = re.compile(r"\.([0-9]+)$")


def tenant_for(
    policy: DataScienceTenancyPolicySpec, namespace: str, labels: Mapping[str, str]
) -> Tenant | None:
    """The first entry naming ``namespace`` or matching all of its ``matchLabels``."""
    for tenant in policy.tenants:
        match = tenant.namespaces
        if namespace in (match.names or []):
            return tenant
        wanted = match.match_labels or {}
        if wanted and all(labels.get(k) == v for k, v in wanted.items()):
            return tenant
    return None


def unknown_shape_patterns(policy: DataScienceTenancyPolicySpec) -> list[str]:
    """``entry: pattern`` for each shapes pattern matching none of :data:`KNOWN_SHAPES`
    (a typo, most likely; the admission policy warns about the same ones at apply)."""
    return [
        f"{tenant.name}: {rule.pattern}"
        for tenant in policy.tenants
        for rule in tenant.shapes
        if not any(_fullmatch(rule.pattern, shape) for shape in KNOWN_SHAPES)
    ]


def gpu_count(shape: str) -> int:
    """GPUs of a shape as OCI names them: the number ending a GPU shape (VM.GPU.A10.2: 2)."""
    found = _GPU_COUNT.search(shape)
    return int(found.group(1)) if "GPU" in shape and found else 0


def _no_tenant(namespace: str) -> str:
    return (
        f"namespace {namespace} matches no entry of the tenancy policy "
        f"(DataScienceTenancyPolicy {POLICY_NAME}): multi-tenant mode denies by default"
    )


def _not_in(field: str, value: str, rule: str, tenant: Tenant, namespace: str) -> str:
    return (
        f"{field} {value} is not allowed by the tenancy policy: not in {rule} of entry "
        f"'{tenant.name}' for namespace {namespace}"
    )


def _shape(
    field: str,
    shape: str | None,
    ocpus: float | None,
    memory: float | None,
    tenant: Tenant,
    namespace: str,
) -> Iterator[str]:
    if shape is None:
        return
    rule = next((r for r in tenant.shapes if _fullmatch(r.pattern, shape)), None)
    if rule is None:
        yield _not_in(field, shape, "shapes", tenant, namespace)
        return
    where = f"the ceiling of shapes pattern {rule.pattern} of entry '{tenant.name}'"
    if rule.max_ocpus is not None and ocpus is not None and ocpus > rule.max_ocpus:
        yield f"{shape} with {ocpus:g} OCPUs exceeds maxOcpus {rule.max_ocpus:g}, {where}"
    if (
        rule.max_memory_in_gbs is not None
        and memory is not None
        and memory > rule.max_memory_in_gbs
    ):
        yield (
            f"{shape} with {memory:g} GB exceeds maxMemoryInGBs {rule.max_memory_in_gbs:g}, {where}"
        )
    if rule.max_gpus is not None and gpu_count(shape) > rule.max_gpus:
        yield f"{shape} has {gpu_count(shape)} GPUs, over maxGpus {rule.max_gpus}, {where}"


def _fullmatch(pattern: str, shape: str) -> bool:
    try:
        return re.fullmatch(pattern, shape) is not None
    except re.error:
        return False  # a pattern that cannot match is no allowance


def _member(
    field: str, value: str | None, allowed: list[str] | None, rule: str, t: Tenant, ns: str
) -> Iterator[str]:
    if value is not None and value not in (allowed or []):
        yield _not_in(field, value, rule, t, ns)


def job_refusal(
    policy: DataScienceTenancyPolicySpec | None,
    namespace: str,
    labels: Mapping[str, str],
    spec: DataScienceJobSpec,
) -> str | None:
    """Why the policy refuses this job (the first reason), or None when it allows it.
    ``policy`` None: the policy object is missing, which denies."""
    tenant = tenant_for(policy, namespace, labels) if policy else None
    if tenant is None:
        return _no_tenant(namespace)
    return next(_job_problems(tenant, namespace, spec), None)


def _job_problems(t: Tenant, ns: str, spec: DataScienceJobSpec) -> Iterator[str]:
    if t.credentials == CredentialsMode.OWN_SECRETS_ONLY and spec.auth_secret_ref is None:
        yield (
            f"spec.authSecretRef is required by the tenancy policy: entry '{t.name}' for "
            f"namespace {ns} has credentials OwnSecretsOnly"
        )
    if spec.id is not None and not t.allow_adoption:
        yield _not_in("spec.id", spec.id, "allowAdoption", t, ns)
    if spec.runtime is not None:
        yield from _sources(spec.runtime.spec, t, ns)
    infra = spec.infrastructure.spec if spec.infrastructure else None
    if infra is None:
        return
    yield from _member("compartmentId", infra.compartment_id, t.compartments, "compartments", t, ns)
    yield from _member("projectId", infra.project_id, t.projects, "projects", t, ns)
    yield from _member("subnetId", infra.subnet_id, t.subnets, "subnets", t, ns)
    yield from _member("logGroupId", infra.log_group_id, t.log_groups, "logGroups", t, ns)
    config = infra.shape_config_details
    yield from _shape(
        "shapeName",
        infra.shape_name,
        config.ocpus if config else None,
        config.memory_in_gbs if config else None,
        t,
        ns,
    )
    for mount in infra.storage_mount or []:
        if mount.src.startswith("oci://"):
            bucket = mount.src.removeprefix("oci://").split("/", 1)[0]
            yield from _member("storageMount", bucket, t.buckets, "buckets", t, ns)
        else:
            yield from _file_storage(mount.src, t, ns)


def _file_storage(src: str, t: Tenant, ns: str) -> Iterator[str]:
    """A File Storage mount ``<mount target>:<export>``: both OCIDs allowed. One written by
    address is refused: only a Resource Search (an OCI call) would tell what it names."""
    target, _, export = src.partition(":")
    if not (target.startswith("ocid1.") and export.startswith("ocid1.")):
        yield (
            f"storageMount {src} names a File Storage mount by address, which the tenancy "
            f"policy cannot judge: give <mount target OCID>:<export OCID> (entry '{t.name}' "
            f"for namespace {ns})"
        )
        return
    yield from _member("storageMount mount target", target, t.mount_targets, "mountTargets", t, ns)
    yield from _member("storageMount export", export, t.exports, "exports", t, ns)


def _sources(runtime: RuntimeSpec, t: Tenant, ns: str) -> Iterator[str]:
    """oci:// sources only from ``buckets``, https:// only from ``httpsHosts``; named by
    bucket or host only (a URL's path or query may carry a token)."""
    for field in SOURCE_FIELDS:
        uri = getattr(runtime, _ATTRIBUTES[field])
        if uri is None:
            continue
        where = f"spec.runtime.spec.{field}"
        scheme = uri.split("://", 1)[0].lower()
        if scheme == "oci":
            bucket = uri.split("://", 1)[1].split("/", 1)[0]
            yield from _member(f"{where} bucket", bucket, t.buckets, "buckets", t, ns)
        elif scheme == "https":
            host = urlsplit(uri).hostname or ""
            yield from _member(f"{where} host", host, t.https_hosts, "httpsHosts", t, ns)


_ATTRIBUTES: Final = {
    "scriptPathURI": "script_path_uri",
    "notebookPathURI": "notebook_path_uri",
    "source": "source",
}


def run_refusal(
    policy: DataScienceTenancyPolicySpec | None,
    namespace: str,
    labels: Mapping[str, str],
    spec: DataScienceJobRunSpec,
) -> str | None:
    """Why the policy refuses this run's own choices (its overrides, an OCI job named by
    OCID), or None. The job it runs was judged as a DataScienceJob."""
    tenant = tenant_for(policy, namespace, labels) if policy else None
    if tenant is None:
        return _no_tenant(namespace)
    return next(_run_problems(tenant, namespace, spec), None)


def _run_problems(t: Tenant, ns: str, spec: DataScienceJobRunSpec) -> Iterator[str]:
    if spec.job_id is not None and not t.allow_adoption:
        yield _not_in("spec.jobId", spec.job_id, "allowAdoption", t, ns)
    yield from _member("compartmentId", spec.compartment_id, t.compartments, "compartments", t, ns)
    yield from _member("projectId", spec.project_id, t.projects, "projects", t, ns)
    infra = spec.job_infrastructure_configuration_override_details
    if infra is not None:
        yield from _member("subnetId", infra.subnet_id, t.subnets, "subnets", t, ns)
        config = infra.job_shape_config_details
        yield from _shape(
            "shapeName",
            infra.shape_name,
            config.ocpus if config else None,
            config.memory_in_gbs if config else None,
            t,
            ns,
        )
    logs = spec.job_log_configuration_override_details
    if logs is not None:
        yield from _member("logGroupId", logs.log_group_id, t.log_groups, "logGroups", t, ns)
    for mount in spec.job_storage_mount_configuration_override_details_list or []:
        if mount.storage_type == "OBJECT_STORAGE":
            bucket = f"{mount.bucket}@{mount.namespace}"
            yield from _member("storage mount", bucket, t.buckets, "buckets", t, ns)
        else:
            target, export = mount.mount_target_id, mount.export_id
            yield from _member(
                "storage mount mountTargetId", target, t.mount_targets, "mountTargets", t, ns
            )
            yield from _member("storage mount exportId", export, t.exports, "exports", t, ns)
    if spec.job_node_configuration_override_details is not None:
        yield (
            "jobNodeConfigurationOverrideDetails is refused in multi-tenant mode: its node "
            f"groups' shapes and subnets are not judged by the tenancy policy (entry '{t.name}')"
        )
