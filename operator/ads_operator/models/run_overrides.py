"""The ``CreateJobRunDetails`` overrides a run may carry beyond ADS's named ``run()`` ones.

ADS's ``Job.run(**kwargs)`` hands every other keyword to the SDK's ``JobRun`` model, so an
ADS user runs the same job bigger or elsewhere with
``job_infrastructure_configuration_override_details={...}`` and its siblings. Here they
are fields of ``DataScienceJobRun.spec`` under OCI's own names (camelCase, as the SDK
serialises them), with the shapes of OCI's models, and the rules of the job's own fields
(Flex-only shape config, block storage range, subnet only with STANDALONE, at most five
storage mounts). Each rule is written once as data: CEL for the API server (refused at
``kubectl apply``, naming the field) and a Python predicate for pydantic, same message.

What only the job can tell (a node override needs a multi-node job) is judged by
:mod:`ads_operator.reconcile.run_overrides` before any OCI call.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import Field

from ads_operator.models.common import CompartmentOcid, ProjectOcid
from ads_operator.models.infrastructure import MAX_STORAGE_MOUNTS
from ads_operator.models.node_override import NodeOverride
from ads_operator.models.override_parts import (
    InfrastructureOverride,
    LogOverride,
    StartupProbe,
    StorageMountOverride,
)
from ads_operator.models.rules import Rule, RuledModel

#: The run's own fields a node override carries inside its groups instead.
_PER_GROUP: Final = (
    "args",
    "envVars",
    "maximumRuntimeInMinutes",
    "startupProbeDetails",
    "image",
    "cmd",
    "entrypoint",
    "imageDigest",
    "imageSignatureId",
)


def _none_set(spec: Any, names: tuple[str, ...]) -> bool:
    fields = type(spec).model_fields
    by_alias = {info.alias or name: name for name, info in fields.items()}
    return all(getattr(spec, by_alias[n]) is None for n in names)


class RunOverrides(RuledModel):
    """The override fields of ``DataScienceJobRun.spec`` (a base of its model)."""

    compartment_id: CompartmentOcid | None = Field(
        default=None, description="Compartment of the run; default: the job's."
    )
    project_id: ProjectOcid | None = Field(
        default=None, description="Project of the run; default: the job's."
    )
    job_infrastructure_configuration_override_details: InfrastructureOverride | None = Field(
        default=None, description="Shape, shape config and block storage of this run."
    )
    job_log_configuration_override_details: LogOverride | None = Field(
        default=None, description="Logging of this run instead of the job's."
    )
    job_storage_mount_configuration_override_details_list: (
        Annotated[list[StorageMountOverride], Field(max_length=MAX_STORAGE_MOUNTS)] | None
    ) = Field(default=None, description="Up to 5 storage mounts for this run.")
    job_node_configuration_override_details: NodeOverride | None = Field(
        default=None, description="Multi-node jobs: per node group overrides."
    )
    startup_probe_details: StartupProbe | None = Field(
        default=None, description="Startup probe of this run (EXEC)."
    )
    RULES = (
        Rule(
            "!has(self.jobNodeConfigurationOverrideDetails) || !("
            + " || ".join(f"has(self.{n})" for n in _PER_GROUP)
            + ")",
            "jobNodeConfigurationOverrideDetails carries its node groups' own overrides: put "
            + ", ".join(_PER_GROUP)
            + " in its group's jobConfigurationDetails or jobEnvironmentConfigurationDetails",
            ".jobNodeConfigurationOverrideDetails",
            lambda m: m.job_node_configuration_override_details is None or _none_set(m, _PER_GROUP),
        ),
        Rule(
            "!has(self.jobNodeConfigurationOverrideDetails) || "
            "!has(self.jobInfrastructureConfigurationOverrideDetails)",
            "jobInfrastructureConfigurationOverrideDetails is for single-node jobs and "
            "jobNodeConfigurationOverrideDetails for multi-node jobs: give one of them",
            ".jobInfrastructureConfigurationOverrideDetails",
            lambda m: (
                m.job_node_configuration_override_details is None
                or m.job_infrastructure_configuration_override_details is None
            ),
        ),
    )


#: Wire names of the override fields; like every run-defining field they are immutable.
OVERRIDE_FIELDS: Final = tuple(
    info.alias or name for name, info in RunOverrides.model_fields.items()
)
