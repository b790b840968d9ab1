"""DataScienceJob / DataScienceJobRun specs -> OCI request bodies, as ADS builds them.

The results are camelCase dicts ready to pass to the ``oci`` SDK (it accepts plain dicts
for model arguments) or to serialise as JSON: ``job_details`` is a ``CreateJobDetails``,
``run_details`` a ``CreateJobRunDetails``. Unset values are left out, as the SDK does.
ADS's defaults are applied here (not in the stored resource): ``jobType: DEFAULT``,
``ME_STANDALONE`` (``STANDALONE`` whenever a subnet is given), 50 GB of block storage.

Deliberate differences from ADS, each because ADS's behaviour needs a notebook session
or is a bug: no defaults from a notebook session; a job without a name gets a
deterministic one (see :func:`default_job_name`); the multi-node run override uses the
camelCase keys OCI reads (ADS capitalises them); a container run override that changes
only some of its fields carries the job's values for the others (OCI requires the
image, and does not document a field-by-field merge).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ads_operator.ads import envcontract
from ads_operator.ads.envvars import substitute, template_name
from ads_operator.models import (
    DataScienceJobRunSpec,
    DataScienceJobSpec,
    JobInfrastructureType,
    Runtime,
    RuntimeType,
    StorageMount,
)

DEFAULT_JOB_TYPE: Final = "DEFAULT"
DEFAULT_BLOCK_STORAGE_GB: Final = 50
#: ADS names the single node group of a multi-node job this.
NODE_GROUP_NAME: Final = "node-group"
#: ADS's timestamp suffix on default names (UTC for jobs).
NAME_TIME_FORMAT: Final = "%Y-%m-%d-%H:%M.%S"
OCIR_CONTAINER: Final = "OCIR_CONTAINER"
_IPV4_EXPORT: Final = re.compile(r"^\d{1,3}(\.\d{1,3}){3}:/")


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


def user_env(runtime: Runtime) -> dict[str, str]:
    """Only the user's variables after substitution (what ADS fills names from)."""
    return substitute((v.name, v.value) for v in runtime.spec.env or [])


def split_exec(value: str | list[str] | None) -> list[str] | None:
    """ADS's reading of a container ``cmd``/``entrypoint``: a string is split on commas
    (not by shell rules) and each piece trimmed; a list passes through."""
    if value is None:
        return None
    if isinstance(value, str):
        return [piece.strip() for piece in value.split(",")] if value else []
    return list(value)


def command_line(args: list[str] | None) -> str | None:
    """``args`` as one string, each element shell-quoted (ADS; loading uses shlex.split)."""
    if not args:
        return None
    return " ".join(shlex.quote(str(a)) for a in args)


def is_multi_node(spec: DataScienceJobSpec) -> bool:
    """ADS's test: a container or pyTorchDistributed runtime with more than one replica."""
    runtime = spec.rt
    return runtime.runtime_type in (RuntimeType.CONTAINER, RuntimeType.PYTORCH_DISTRIBUTED) and (
        (runtime.spec.replicas or 1) > 1
    )


def default_job_name(spec: DataScienceJobSpec, now: datetime) -> str:
    """ADS's default: the code's base name cut at the first dot, ``-``, UTC time.

    ADS picks a random adjective-animal name for gitPython and container jobs; a name
    derived from the repository or the image says more and is reproducible.
    """
    rs = spec.rt.spec
    source = rs.script_path_uri or rs.notebook_path_uri or rs.source or rs.url
    if spec.rt.runtime_type is RuntimeType.CONTAINER and rs.image:
        source = rs.image.split("@", 1)[0].rsplit(":", 1)[0]
    if source is None and rs.git is not None:
        source = rs.git.url
    base = posixpath.basename((source or "job").rstrip("/")).split(".", 1)[0] or "job"
    return f"{base}-{now.astimezone(UTC).strftime(NAME_TIME_FORMAT)}"


def job_display_name(spec: DataScienceJobSpec, now: datetime | None = None) -> str:
    """``displayName`` of the job: the name with env placeholders filled, else the
    infrastructure's ``displayName``, else :func:`default_job_name`."""
    if spec.name:
        return template_name(spec.name, user_env(spec.rt))
    if spec.infra.spec.display_name:
        return spec.infra.spec.display_name
    return default_job_name(spec, now or datetime.now(UTC))


def infrastructure_details(spec: DataScienceJobSpec) -> dict[str, Any]:
    """``jobInfrastructureConfigurationDetails`` (single node)."""
    infra = spec.infra.spec
    if not infra.shape_name:
        raise TranslationError("infrastructure.spec.shapeName is required to create a job")
    kind = infra.job_infrastructure_type or JobInfrastructureType.ME_STANDALONE
    if infra.subnet_id:
        kind = JobInfrastructureType.STANDALONE  # ADS forces it whenever a subnet is set
    details: dict[str, Any] = {
        "jobInfrastructureType": str(kind),
        "shapeName": infra.shape_name,
        "blockStorageSizeInGBs": infra.block_storage_size or DEFAULT_BLOCK_STORAGE_GB,
    }
    if infra.subnet_id and kind == JobInfrastructureType.STANDALONE:
        details["subnetId"] = infra.subnet_id
    if infra.shape_config_details is not None:
        details["jobShapeConfigDetails"] = infra.shape_config_details.to_wire()
    return details


def log_details(spec: DataScienceJobSpec) -> dict[str, Any] | None:
    """``jobLogConfigurationDetails``: none without ids; a group alone asks OCI to create
    a log per run (``enableAutoLogCreation``)."""
    infra = spec.infra.spec
    if not infra.log_group_id and not infra.log_id:
        return None
    details: dict[str, Any] = {
        "enableLogging": True,
        "enableAutoLogCreation": bool(infra.log_group_id and not infra.log_id),
    }
    if infra.log_id:
        details["logId"] = infra.log_id
    if infra.log_group_id:
        details["logGroupId"] = infra.log_group_id
    return details


def storage_mount_details(mount: StorageMount) -> dict[str, Any]:
    """One ``StorageMountConfigurationDetails`` from ADS's ``{src, dest}``."""
    dest = mount.dest
    directory, name = posixpath.split(dest) if "/" in dest else ("", dest)
    details: dict[str, Any] = {}
    src = mount.src
    if src.startswith("oci://"):
        authority, _, prefix = src[len("oci://") :].partition("/")
        bucket, _, namespace = authority.partition("@")
        details = {"storageType": "OBJECT_STORAGE", "bucket": bucket, "namespace": namespace}
        if prefix:
            details["prefix"] = prefix
    elif _IPV4_EXPORT.match(src):
        # ADS resolves an IP and export path to OCIDs with Resource Search; that needs
        # tenancy-wide search rights the operator should not need, so we refuse it.
        raise TranslationError(
            f"storageMount src {src!r}: give <mount target OCID>:<export OCID>; resolving "
            "an IP address and export path needs OCI Resource Search"
        )
    else:
        mount_target, _, export = src.partition(":")
        details = {"storageType": "FILE_STORAGE", "mountTargetId": mount_target, "exportId": export}
    details["destinationDirectoryName"] = name
    if directory:
        details["destinationPath"] = directory
    return details


def environment_details(runtime: Runtime) -> dict[str, Any] | None:
    """``jobEnvironmentConfigurationDetails`` for container jobs (the six fields only)."""
    if runtime.runtime_type is not RuntimeType.CONTAINER:
        return None
    rs = runtime.spec
    details: dict[str, Any] = {"jobEnvironmentType": OCIR_CONTAINER, "image": rs.image}
    for key, value in (
        ("entrypoint", split_exec(rs.entrypoint)),
        ("cmd", split_exec(rs.cmd)),
        ("imageDigest", rs.image_digest),
        ("imageSignatureId", rs.image_signature_id),
    ):
        if value is not None:
            details[key] = value
    return details


def job_details(
    spec: DataScienceJobSpec, *, region: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The ``CreateJobDetails`` ADS would send for this spec (camelCase, JSON-able).

    ``region`` is the job's region, used for a published conda pack without its own
    region (ADS uses the auth region); it defaults to ``spec.region``.
    """
    infra = spec.infra.spec
    if not infra.project_id:
        raise TranslationError("infrastructure.spec.projectId is required to create a job")
    if not infra.compartment_id:
        raise TranslationError("infrastructure.spec.compartmentId is required to create a job")
    runtime = spec.rt
    rs = runtime.spec
    config: dict[str, Any] = {
        "jobType": infra.job_type or DEFAULT_JOB_TYPE,
        "environmentVariables": runtime_env(runtime, region or spec.region),
    }
    arguments = command_line(rs.args)
    if arguments is not None:
        config["commandLineArguments"] = arguments
    if rs.maximum_runtime_in_minutes:
        config["maximumRuntimeInMinutes"] = rs.maximum_runtime_in_minutes
    details: dict[str, Any] = {
        "projectId": infra.project_id,
        "compartmentId": infra.compartment_id,
        "displayName": job_display_name(spec, now),
    }
    infrastructure = infrastructure_details(spec)
    environment = environment_details(runtime)
    if is_multi_node(spec):
        details["jobNodeConfigurationDetails"] = _node_configuration(
            spec, infrastructure, config, environment
        )
    else:
        details["jobConfigurationDetails"] = config
        details["jobInfrastructureConfigurationDetails"] = infrastructure
        if environment is not None:
            details["jobEnvironmentConfigurationDetails"] = environment
    logs = log_details(spec)
    if logs is not None:
        details["jobLogConfigurationDetails"] = logs
    if infra.storage_mount:
        details["jobStorageMountConfigurationDetailsList"] = [
            storage_mount_details(m) for m in infra.storage_mount
        ]
    # Tags: the runtime's; the infrastructure's only when the runtime has none (per kind).
    freeform = rs.freeform_tags or infra.freeform_tags
    defined = rs.defined_tags or infra.defined_tags
    if freeform:
        details["freeformTags"] = dict(freeform)
    if defined:
        details["definedTags"] = {ns: dict(tags) for ns, tags in defined.items()}
    return details


def _node_configuration(
    spec: DataScienceJobSpec,
    infrastructure: dict[str, Any],
    config: dict[str, Any],
    environment: dict[str, Any] | None,
) -> dict[str, Any]:
    """ADS's multi-node layout: one node group carrying infra, config and environment;
    the subnet moves into the network configuration."""
    replicas = spec.rt.spec.replicas or 1
    group_infra = {k: v for k, v in infrastructure.items() if k != "subnetId"}
    group_infra["jobInfrastructureType"] = str(JobInfrastructureType.MULTI_NODE)
    subnet = spec.infra.spec.subnet_id
    network: dict[str, Any] = (
        {"jobNetworkType": "CUSTOM_NETWORK", "subnetId": subnet}
        if subnet
        else {"jobNetworkType": "DEFAULT_NETWORK"}
    )
    group: dict[str, Any] = {
        "name": NODE_GROUP_NAME,
        "replicas": replicas,
        "minimumSuccessReplicas": replicas,
        "jobInfrastructureConfigurationDetails": group_infra,
        "jobConfigurationDetails": config,
    }
    if environment is not None:
        group["jobEnvironmentConfigurationDetails"] = environment
    return {
        "jobNodeType": "MULTI_NODE",
        "startupOrder": "IN_PARALLEL",
        "jobNetworkConfiguration": network,
        "jobNodeGroupConfigurationDetailsList": [group],
    }


def strip_name_timestamp(name: str) -> str:
    """ADS drops a trailing ``-<YYYY-mm-dd-HH:MM.SS>`` before naming a run after the job."""
    try:
        datetime.strptime(name[-19:], NAME_TIME_FORMAT)
    except ValueError:
        return name
    return name[:-20]


def merge_tags(
    run_tags: Mapping[str, Any] | None, runtime_tags: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Run tags merged with the runtime's; the runtime's values win on the same key."""
    merged = dict(run_tags or {})
    merged.update(runtime_tags or {})
    return merged


def run_details(
    job_spec: DataScienceJobSpec | None,
    run_spec: DataScienceJobRunSpec,
    *,
    job_id: str,
    project_id: str,
    compartment_id: str,
    job_display_name: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The ``CreateJobRunDetails`` ADS's ``job.run(...)`` would send.

    ``job_spec`` is the DataScienceJob's spec when the run refers to one (its runtime
    env fills ``$VAR`` in the name, its tags merge in, its image completes a container
    override, multi-node wrapping follows it); ``None`` for a run of a job given by OCID
    (a job spec without a runtime, which adopts a job by ``id``, counts as ``None``).
    ``job_display_name`` is the job's OCI display name, for the default run name.
    """
    now = now or datetime.now(UTC)
    if job_spec is not None and job_spec.runtime is None:
        job_spec = None  # an adopted job given by id alone: run it as a job given by OCID
    env = user_env(job_spec.rt) if job_spec is not None else {}
    env.update(run_spec.env_vars or {})
    details: dict[str, Any] = {
        "projectId": project_id,
        "compartmentId": compartment_id,
        "jobId": job_id,
    }
    if run_spec.name:
        details["displayName"] = template_name(run_spec.name, env)
    else:
        base = job_display_name
        if base is None and job_spec is not None:
            base = job_display_name_of(job_spec, now)
        if base:
            details["displayName"] = (
                f"{strip_name_timestamp(base)}-run-{now.strftime(NAME_TIME_FORMAT)}"
            )
    config: dict[str, Any] = {}
    if run_spec.args is not None:
        config["commandLineArguments"] = run_spec.args  # raw: ADS does not quote run args
    if run_spec.env_vars:
        config["environmentVariables"] = dict(run_spec.env_vars)
    if run_spec.maximum_runtime_in_minutes is not None:
        config["maximumRuntimeInMinutes"] = run_spec.maximum_runtime_in_minutes
    if config:
        config["jobType"] = DEFAULT_JOB_TYPE
    environment: dict[str, Any] = {}
    for key, value in (
        ("image", run_spec.image),
        ("cmd", run_spec.cmd),
        ("entrypoint", run_spec.entrypoint),
        ("imageDigest", run_spec.image_digest),
        ("imageSignatureId", run_spec.image_signature_id),
    ):
        if value is not None:
            environment[key] = value
    if environment:
        environment["jobEnvironmentType"] = OCIR_CONTAINER
        if job_spec is not None:
            # OCI requires the image in an override, and whether it merges an override
            # with the job's environment field by field is not documented: send the
            # job's values for whatever the run does not change.
            job_environment = environment_details(job_spec.rt) or {}
            for key, value in job_environment.items():
                environment.setdefault(key, value)
    if job_spec is not None and is_multi_node(job_spec):
        if config or environment:
            group: dict[str, Any] = {"name": NODE_GROUP_NAME}
            if config:
                group["jobConfigurationDetails"] = config
            if environment:
                group["jobEnvironmentConfigurationDetails"] = environment
            details["jobNodeConfigurationOverrideDetails"] = {
                "jobNodeType": "MULTI_NODE",
                "jobNodeGroupConfigurationDetailsList": [group],
            }
    else:
        if config:
            details["jobConfigurationOverrideDetails"] = config
        if environment:
            details["jobEnvironmentConfigurationOverrideDetails"] = environment
    runtime_spec = job_spec.rt.spec if job_spec is not None else None
    freeform = merge_tags(
        run_spec.freeform_tags, runtime_spec.freeform_tags if runtime_spec else None
    )
    defined = merge_tags(run_spec.defined_tags, runtime_spec.defined_tags if runtime_spec else None)
    if freeform:
        details["freeformTags"] = freeform
    if defined:
        details["definedTags"] = defined
    return details


def job_display_name_of(spec: DataScienceJobSpec, now: datetime) -> str:
    """Alias of :func:`job_display_name` kept for readability at call sites."""
    return job_display_name(spec, now)
