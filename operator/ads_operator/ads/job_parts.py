"""The parts of a ``CreateJobDetails`` ADS builds from a job spec: infrastructure, logging,
storage mounts, the container environment, the multi-node layout and the environment
variables (see :func:`ads_operator.ads.translate.job_details`, which puts them together).
"""

from __future__ import annotations

import posixpath
from typing import Final

from ads_operator.ads import envcontract, mounts
from ads_operator.ads.envvars import substitute
from ads_operator.ads.spec_values import split_exec
from ads_operator.models import (
    DataScienceJobSpec,
    JobInfrastructureType,
    Runtime,
    RuntimeType,
    StorageMount,
)
from ads_operator.models.wire import (
    JobConfigurationDetails,
    JobEnvironmentConfigurationDetails,
    JobInfrastructureConfigurationDetails,
    JobLogConfigurationDetails,
    JobNetworkConfiguration,
    JobNodeConfigurationDetails,
    JobNodeGroupConfigurationDetails,
    JobShapeConfigDetails,
    StorageMountConfigurationDetails,
)

DEFAULT_BLOCK_STORAGE_GB: Final = 50
#: ADS names the single node group of a multi-node job this.
NODE_GROUP_NAME: Final = "node-group"
OCIR_CONTAINER: Final = "OCIR_CONTAINER"


class TranslationError(ValueError):
    """The spec is valid as a resource but cannot become an OCI request (e.g. no project)."""


def runtime_env(runtime: Runtime, region: str | None = None) -> dict[str, str]:
    """The job's ``environmentVariables``: the user's env after ADS's substitution, then
    the variables ADS adds for the runtime type (which win on a name clash)."""
    user = substitute((v.name, v.value) for v in runtime.spec.env or [])
    try:
        user.update(envcontract.ads_variables(runtime, region))
    except envcontract.ContractError as exc:
        raise TranslationError(str(exc)) from exc
    return user


def infrastructure_details(spec: DataScienceJobSpec) -> JobInfrastructureConfigurationDetails:
    """``jobInfrastructureConfigurationDetails`` (single node)."""
    infra = spec.infra.spec
    if not infra.shape_name:
        raise TranslationError("infrastructure.spec.shapeName is required to create a job")
    kind = infra.job_infrastructure_type or JobInfrastructureType.ME_STANDALONE
    if infra.subnet_id:
        kind = JobInfrastructureType.STANDALONE  # ADS forces it whenever a subnet is set
    details = JobInfrastructureConfigurationDetails(
        jobInfrastructureType=str(kind),
        shapeName=infra.shape_name,
        blockStorageSizeInGBs=infra.block_storage_size or DEFAULT_BLOCK_STORAGE_GB,
    )
    if infra.subnet_id and kind == JobInfrastructureType.STANDALONE:
        details["subnetId"] = infra.subnet_id
    shape = infra.shape_config_details
    if shape is not None:
        config = details["jobShapeConfigDetails"] = JobShapeConfigDetails()
        if shape.ocpus is not None:
            config["ocpus"] = shape.ocpus
        if shape.memory_in_gbs is not None:
            config["memoryInGBs"] = shape.memory_in_gbs
        if shape.cpu_baseline is not None:
            config["cpuBaseline"] = str(shape.cpu_baseline)
    return details


def log_details(spec: DataScienceJobSpec) -> JobLogConfigurationDetails | None:
    """``jobLogConfigurationDetails``: none without ids; a group alone asks OCI to create
    a log per run (``enableAutoLogCreation``)."""
    infra = spec.infra.spec
    if not infra.log_group_id and not infra.log_id:
        return None
    details = JobLogConfigurationDetails(
        enableLogging=True,
        enableAutoLogCreation=bool(infra.log_group_id and not infra.log_id),
    )
    if infra.log_id:
        details["logId"] = infra.log_id
    if infra.log_group_id:
        details["logGroupId"] = infra.log_group_id
    return details


def storage_mount_details(mount: StorageMount) -> StorageMountConfigurationDetails:
    """One ``StorageMountConfigurationDetails`` from ADS's ``{src, dest}``."""
    dest = mount.dest
    directory, name = posixpath.split(dest) if "/" in dest else ("", dest)
    src = mount.src
    if src.startswith("oci://"):
        authority, _, prefix = src[len("oci://") :].partition("/")
        bucket, _, namespace = authority.partition("@")
        details = StorageMountConfigurationDetails(
            storageType="OBJECT_STORAGE", bucket=bucket, namespace=namespace
        )
        if prefix:
            details["prefix"] = prefix
    elif mounts.needs_search(src):
        # Resolved with Resource Search before translation, as ADS resolves it when it
        # creates the job (usecases/mounts.py; `convert` on the user's machine).
        raise TranslationError(
            f"storageMount src {src!r}: an address must be resolved with Resource Search "
            "before translation (ads.mounts.resolve_step)"
        )
    else:
        mount_target, _, export = src.partition(":")
        details = StorageMountConfigurationDetails(
            storageType="FILE_STORAGE", mountTargetId=mount_target, exportId=export
        )
    details["destinationDirectoryName"] = name
    if directory:
        details["destinationPath"] = directory
    return details


def environment_details(runtime: Runtime) -> JobEnvironmentConfigurationDetails | None:
    """``jobEnvironmentConfigurationDetails`` for container jobs (the six fields only)."""
    if runtime.runtime_type is not RuntimeType.CONTAINER:
        return None
    rs = runtime.spec
    details = JobEnvironmentConfigurationDetails(jobEnvironmentType=OCIR_CONTAINER)
    if rs.image is not None:  # required of a container runtime by the CRD
        details["image"] = rs.image
    entrypoint, cmd = split_exec(rs.entrypoint), split_exec(rs.cmd)
    if entrypoint is not None:
        details["entrypoint"] = entrypoint
    if cmd is not None:
        details["cmd"] = cmd
    if rs.image_digest is not None:
        details["imageDigest"] = rs.image_digest
    if rs.image_signature_id is not None:
        details["imageSignatureId"] = rs.image_signature_id
    return details


def node_configuration(
    spec: DataScienceJobSpec,
    infrastructure: JobInfrastructureConfigurationDetails,
    config: JobConfigurationDetails,
    environment: JobEnvironmentConfigurationDetails | None,
) -> JobNodeConfigurationDetails:
    """ADS's multi-node layout: one node group carrying infra, config and environment;
    the subnet moves into the network configuration."""
    replicas = spec.rt.spec.replicas or 1
    group_infra = infrastructure.copy()
    group_infra.pop("subnetId", None)
    group_infra["jobInfrastructureType"] = str(JobInfrastructureType.MULTI_NODE)
    subnet = spec.infra.spec.subnet_id
    network = (
        JobNetworkConfiguration(jobNetworkType="CUSTOM_NETWORK", subnetId=subnet)
        if subnet
        else JobNetworkConfiguration(jobNetworkType="DEFAULT_NETWORK")
    )
    group = JobNodeGroupConfigurationDetails(
        name=NODE_GROUP_NAME,
        replicas=replicas,
        minimumSuccessReplicas=replicas,
        jobInfrastructureConfigurationDetails=group_infra,
        jobConfigurationDetails=config,
    )
    if environment is not None:
        group["jobEnvironmentConfigurationDetails"] = environment
    return JobNodeConfigurationDetails(
        jobNodeType="MULTI_NODE",
        startupOrder="IN_PARALLEL",
        jobNetworkConfiguration=network,
        jobNodeGroupConfigurationDetailsList=[group],
    )
