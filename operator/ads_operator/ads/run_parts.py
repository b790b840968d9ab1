"""The ``CreateJobRunDetails`` overrides ADS passes through from ``Job.run(**kwargs)``.

ADS hands each of these keywords to the SDK's ``JobRun`` model unchanged, so the
request carries them exactly as given (OCI's camelCase names, unset keys left out);
``startupProbeDetails`` is a field of the job configuration, so it joins
``jobConfigurationOverrideDetails`` (see :func:`ads_operator.ads.translate.run_details`).
The run models already have OCI's shapes, so each part is the model's wire form.
"""

from __future__ import annotations

from typing import cast

from ads_operator.models import DataScienceJobRunSpec
from ads_operator.models.override_parts import StartupProbe
from ads_operator.models.wire import (
    CreateJobRunDetails,
    JobInfrastructureConfigurationDetails,
    JobLogConfigurationDetails,
    JobNodeConfigurationDetails,
    JobProbeDetails,
    StorageMountConfigurationDetails,
)


def probe_details(probe: StartupProbe) -> JobProbeDetails:
    return cast(JobProbeDetails, probe.to_wire())


def add_overrides(details: CreateJobRunDetails, spec: DataScienceJobRunSpec) -> None:
    """Add the run's infrastructure, log, storage-mount and node overrides to ``details``."""
    infra = spec.job_infrastructure_configuration_override_details
    if infra is not None:
        details["jobInfrastructureConfigurationOverrideDetails"] = cast(
            JobInfrastructureConfigurationDetails, infra.to_wire()
        )
    log = spec.job_log_configuration_override_details
    if log is not None:
        details["jobLogConfigurationOverrideDetails"] = cast(
            JobLogConfigurationDetails, log.to_wire()
        )
    mounts = spec.job_storage_mount_configuration_override_details_list
    if mounts is not None:
        details["jobStorageMountConfigurationOverrideDetailsList"] = [
            cast(StorageMountConfigurationDetails, m.to_wire()) for m in mounts
        ]
    nodes = spec.job_node_configuration_override_details
    if nodes is not None:
        details["jobNodeConfigurationOverrideDetails"] = cast(
            JobNodeConfigurationDetails, nodes.to_wire()
        )
