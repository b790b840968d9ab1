"""The resource models: the single source of truth for the CRDs and for parsing resources.

``DataScienceJobSpec`` is ADS's job YAML ``spec`` (``name``, ``id``, ``infrastructure``,
``runtime``) with operator-only keys beside it; ``DataScienceJobRunSpec`` carries ADS's
``run()`` overrides. Wire names are camelCase (Kubernetes and ADS agree), attributes are
snake_case; every model accepts both.
"""

from __future__ import annotations

from typing import Final

from ads_operator.models.common import DeletionPolicy, EnvVar, SecretRef
from ads_operator.models.conditions import Condition, ConditionType
from ads_operator.models.infrastructure import (
    CpuBaseline,
    DataScienceJobInfrastructureSpec,
    Infrastructure,
    JobInfrastructureType,
    ShapeConfigDetails,
    StorageMount,
)
from ads_operator.models.job import (
    ArtifactStatus,
    DataScienceJobSpec,
    DataScienceJobStatus,
    RunSummary,
)
from ads_operator.models.policy import Attempt, ConcurrencyPolicy, JobSchedule, RunPolicy
from ads_operator.models.run import (
    DataScienceJobRunSpec,
    DataScienceJobRunStatus,
    JobRef,
    LogCursor,
    LogLine,
    Phase,
)
from ads_operator.models.runtime import Runtime
from ads_operator.models.runtime_parts import Conda, Dependencies, GitSource, RuntimeType
from ads_operator.models.runtime_spec import RuntimeSpec

GROUP: Final = "ads.oci.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
JOB_KIND: Final = "DataScienceJob"
RUN_KIND: Final = "DataScienceJobRun"
JOB_PLURAL: Final = "datasciencejobs"
RUN_PLURAL: Final = "datasciencejobruns"
JOB_SHORT_NAME: Final = "dsjob"
RUN_SHORT_NAME: Final = "dsjobrun"
CATEGORIES: Final = ("oci", "datascience")

__all__ = [
    "API_VERSION",
    "CATEGORIES",
    "GROUP",
    "JOB_KIND",
    "JOB_PLURAL",
    "JOB_SHORT_NAME",
    "RUN_KIND",
    "RUN_PLURAL",
    "RUN_SHORT_NAME",
    "VERSION",
    "ArtifactStatus",
    "Attempt",
    "ConcurrencyPolicy",
    "Conda",
    "Condition",
    "ConditionType",
    "CpuBaseline",
    "DataScienceJobInfrastructureSpec",
    "DataScienceJobRunSpec",
    "DataScienceJobRunStatus",
    "DataScienceJobSpec",
    "DataScienceJobStatus",
    "DeletionPolicy",
    "Dependencies",
    "EnvVar",
    "GitSource",
    "Infrastructure",
    "JobInfrastructureType",
    "JobRef",
    "JobSchedule",
    "LogCursor",
    "LogLine",
    "Phase",
    "RunPolicy",
    "RunSummary",
    "Runtime",
    "RuntimeSpec",
    "RuntimeType",
    "SecretRef",
    "ShapeConfigDetails",
    "StorageMount",
]
