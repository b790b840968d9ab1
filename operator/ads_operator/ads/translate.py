"""DataScienceJob / DataScienceJobRun specs -> OCI request bodies, as ADS builds them.

The results are camelCase dicts ready to pass to the ``oci`` SDK (it accepts plain dicts
for model arguments) or to serialise as JSON, typed as the REST API spells them
(:mod:`ads_operator.models.wire`): ``job_details`` is a ``CreateJobDetails``,
``run_details`` a ``CreateJobRunDetails``. Unset values are left out, as the SDK does.
The parts of a job's body are built in :mod:`.job_parts`, the names and tags as ADS
reads them in :mod:`.spec_values`.
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

from datetime import UTC, datetime
from typing import Final

from ads_operator.ads.envvars import template_name
from ads_operator.ads.job_parts import (
    NODE_GROUP_NAME,
    OCIR_CONTAINER,
    TranslationError,  # re-exported below: callers catch it as translate's error
    environment_details,
    infrastructure_details,
    log_details,
    node_configuration,
    runtime_env,
    storage_mount_details,
)
from ads_operator.ads.run_parts import add_overrides, probe_details
from ads_operator.ads.spec_values import (
    NAME_TIME_FORMAT,
    command_line,
    is_multi_node,
    job_display_name,
    merge_tags,
    strip_name_timestamp,
    user_env,
)
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.models.wire import (
    CreateJobDetails,
    CreateJobRunDetails,
    JobConfigurationDetails,
    JobEnvironmentConfigurationDetails,
    JobNodeConfigurationDetails,
    JobNodeGroupConfigurationDetails,
)

DEFAULT_JOB_TYPE: Final = "DEFAULT"

__all__ = ["DEFAULT_JOB_TYPE", "TranslationError", "job_details", "run_details"]


def job_details(
    spec: DataScienceJobSpec, *, region: str | None = None, now: datetime | None = None
) -> CreateJobDetails:
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
    config = JobConfigurationDetails(
        jobType=infra.job_type or DEFAULT_JOB_TYPE,
        environmentVariables=runtime_env(runtime, region or spec.region),
    )
    arguments = command_line(rs.args)
    if arguments is not None:
        config["commandLineArguments"] = arguments
    if rs.maximum_runtime_in_minutes:
        config["maximumRuntimeInMinutes"] = rs.maximum_runtime_in_minutes
    details = CreateJobDetails(
        projectId=infra.project_id,
        compartmentId=infra.compartment_id,
        displayName=job_display_name(spec, now),
    )
    infrastructure = infrastructure_details(spec)
    environment = environment_details(runtime)
    if is_multi_node(spec):
        details["jobNodeConfigurationDetails"] = node_configuration(
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


def run_details(
    job_spec: DataScienceJobSpec | None,
    run_spec: DataScienceJobRunSpec,
    *,
    job_id: str,
    project_id: str,
    compartment_id: str,
    job_display_name: str | None = None,
    now: datetime | None = None,
) -> CreateJobRunDetails:
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
    details = CreateJobRunDetails(
        projectId=run_spec.project_id or project_id,
        compartmentId=run_spec.compartment_id or compartment_id,
        jobId=job_id,
    )
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
    config = _run_configuration(run_spec)
    environment = _run_environment(job_spec, run_spec)
    if job_spec is not None and is_multi_node(job_spec):
        if config or environment:
            group = JobNodeGroupConfigurationDetails(name=NODE_GROUP_NAME)
            if config:
                group["jobConfigurationDetails"] = config
            if environment:
                group["jobEnvironmentConfigurationDetails"] = environment
            details["jobNodeConfigurationOverrideDetails"] = JobNodeConfigurationDetails(
                jobNodeType="MULTI_NODE", jobNodeGroupConfigurationDetailsList=[group]
            )
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
    add_overrides(details, run_spec)
    return details


def _run_configuration(run_spec: DataScienceJobRunSpec) -> JobConfigurationDetails | None:
    """The run's ``jobConfigurationOverrideDetails``; None when it overrides nothing."""
    config = JobConfigurationDetails(jobType=DEFAULT_JOB_TYPE)
    if run_spec.args is not None:
        config["commandLineArguments"] = run_spec.args  # raw: ADS does not quote run args
    if run_spec.env_vars:
        config["environmentVariables"] = dict(run_spec.env_vars)
    if run_spec.maximum_runtime_in_minutes is not None:
        config["maximumRuntimeInMinutes"] = run_spec.maximum_runtime_in_minutes
    if run_spec.startup_probe_details is not None:
        config["startupProbeDetails"] = probe_details(run_spec.startup_probe_details)
    return config if len(config) > 1 else None


def _run_environment(
    job_spec: DataScienceJobSpec | None, run_spec: DataScienceJobRunSpec
) -> JobEnvironmentConfigurationDetails | None:
    """The run's container override; None when it overrides nothing.

    OCI requires the image in an override, and whether it merges an override with the
    job's environment field by field is not documented: the job's values are sent for
    whatever the run does not change."""
    override = JobEnvironmentConfigurationDetails(jobEnvironmentType=OCIR_CONTAINER)
    if run_spec.image is not None:
        override["image"] = run_spec.image
    if run_spec.cmd is not None:
        override["cmd"] = run_spec.cmd
    if run_spec.entrypoint is not None:
        override["entrypoint"] = run_spec.entrypoint
    if run_spec.image_digest is not None:
        override["imageDigest"] = run_spec.image_digest
    if run_spec.image_signature_id is not None:
        override["imageSignatureId"] = run_spec.image_signature_id
    if len(override) == 1:
        return None
    job_environment = environment_details(job_spec.rt) if job_spec is not None else None
    if job_environment is None:
        return override
    merged = job_environment.copy()
    merged.update(override)
    return merged


def job_display_name_of(spec: DataScienceJobSpec, now: datetime) -> str:
    """Alias of :func:`job_display_name` kept for readability at call sites."""
    return job_display_name(spec, now)
