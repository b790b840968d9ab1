"""OCI Data Science request bodies as the REST API spells them (camelCase).

:mod:`ads_operator.ads.translate` builds them from a spec, the OCI port sends them (the
``oci`` SDK takes plain dicts for its model arguments) and the emulator's goldens read
them, so they are typed once, here, below both. Every field is optional but the ones
the service requires and the translation always sets (``Required``); a polymorphic
block is one TypedDict with its discriminator (``jobType``, ``jobInfrastructureType``,
...) and the fields of all its subtypes the operator uses. Fields the operator never
sends are left out. Reference: docs of ``CreateJobDetails`` and friends in the SDK's
``oci.data_science.models``.
"""

from __future__ import annotations

from typing import Required, TypedDict

#: ``freeformTags``: key -> value.
FreeformTags = dict[str, str]
#: ``definedTags``: namespace -> key -> value (values the operator sends are strings).
DefinedTags = dict[str, dict[str, str]]


class JobProbeDetails(TypedDict, total=False):
    """``jobProbeCheckType`` EXEC: a command saying when the process is up."""

    jobProbeCheckType: Required[str]
    command: list[str]
    periodInSeconds: int
    failureThreshold: int
    initialDelayInSeconds: int


class JobConfigurationDetails(TypedDict, total=False):
    """``jobType`` DEFAULT: what the job's process gets."""

    jobType: Required[str]
    environmentVariables: dict[str, str]
    #: One string (ADS shell-quotes a job's argument list; a run's is sent as given).
    commandLineArguments: str
    maximumRuntimeInMinutes: int
    startupProbeDetails: JobProbeDetails


class JobShapeConfigDetails(TypedDict, total=False):
    """CPU and memory of a Flex shape."""

    ocpus: float
    memoryInGBs: float
    cpuBaseline: str


class JobInfrastructureConfigurationDetails(TypedDict, total=False):
    """``jobInfrastructureType`` STANDALONE (``subnetId``), ME_STANDALONE or MULTI_NODE
    (inside a node group)."""

    jobInfrastructureType: Required[str]
    shapeName: str
    blockStorageSizeInGBs: int
    subnetId: str
    jobShapeConfigDetails: JobShapeConfigDetails


class JobEnvironmentConfigurationDetails(TypedDict, total=False):
    """``jobEnvironmentType`` OCIR_CONTAINER: the container a job runs."""

    jobEnvironmentType: Required[str]
    image: str
    cmd: list[str]
    entrypoint: list[str]
    imageDigest: str
    imageSignatureId: str


class JobLogConfigurationDetails(TypedDict, total=False):
    enableLogging: bool
    enableAutoLogCreation: bool
    logGroupId: str
    logId: str


class StorageMountConfigurationDetails(TypedDict, total=False):
    """``storageType`` OBJECT_STORAGE (``namespace``, ``bucket``, ``prefix``) or
    FILE_STORAGE (``mountTargetId``, ``exportId``)."""

    storageType: Required[str]
    destinationDirectoryName: str
    destinationPath: str
    namespace: str
    bucket: str
    prefix: str
    mountTargetId: str
    exportId: str


class JobNetworkConfiguration(TypedDict, total=False):
    """``jobNetworkType`` DEFAULT_NETWORK, or CUSTOM_NETWORK with ``subnetId``."""

    jobNetworkType: Required[str]
    subnetId: str


class JobNodeGroupConfigurationDetails(TypedDict, total=False):
    name: Required[str]
    replicas: int
    minimumSuccessReplicas: int
    jobInfrastructureConfigurationDetails: JobInfrastructureConfigurationDetails
    jobConfigurationDetails: JobConfigurationDetails
    jobEnvironmentConfigurationDetails: JobEnvironmentConfigurationDetails


class JobNodeConfigurationDetails(TypedDict, total=False):
    """``jobNodeType`` MULTI_NODE: a multi-node job's groups and network (or a run's
    override of its group's configuration and environment)."""

    jobNodeType: Required[str]
    startupOrder: str
    maximumRuntimeInMinutes: int
    jobNetworkConfiguration: JobNetworkConfiguration
    jobNodeGroupConfigurationDetailsList: list[JobNodeGroupConfigurationDetails]


class CreateJobDetails(TypedDict, total=False):
    """CreateJob's body. A single-node job has the configuration and infrastructure
    blocks, a multi-node one ``jobNodeConfigurationDetails`` instead."""

    projectId: Required[str]
    compartmentId: Required[str]
    displayName: str
    description: str
    jobConfigurationDetails: JobConfigurationDetails
    jobInfrastructureConfigurationDetails: JobInfrastructureConfigurationDetails
    jobEnvironmentConfigurationDetails: JobEnvironmentConfigurationDetails
    jobLogConfigurationDetails: JobLogConfigurationDetails
    jobStorageMountConfigurationDetailsList: list[StorageMountConfigurationDetails]
    jobNodeConfigurationDetails: JobNodeConfigurationDetails
    freeformTags: FreeformTags
    definedTags: DefinedTags


class UpdateJobDetails(TypedDict, total=False):
    """UpdateJob's body: the fields OCI lets change on an existing job."""

    displayName: str
    description: str
    jobInfrastructureConfigurationDetails: JobInfrastructureConfigurationDetails
    jobStorageMountConfigurationDetailsList: list[StorageMountConfigurationDetails]
    freeformTags: FreeformTags
    definedTags: DefinedTags


class CreateJobRunDetails(TypedDict, total=False):
    """CreateJobRun's body: the run's job and what it overrides of it."""

    projectId: Required[str]
    compartmentId: Required[str]
    jobId: Required[str]
    displayName: str
    jobConfigurationOverrideDetails: JobConfigurationDetails
    jobEnvironmentConfigurationOverrideDetails: JobEnvironmentConfigurationDetails
    jobNodeConfigurationOverrideDetails: JobNodeConfigurationDetails
    jobInfrastructureConfigurationOverrideDetails: JobInfrastructureConfigurationDetails
    jobLogConfigurationOverrideDetails: JobLogConfigurationDetails
    jobStorageMountConfigurationOverrideDetailsList: list[StorageMountConfigurationDetails]
    freeformTags: FreeformTags
    definedTags: DefinedTags


def update_details(details: CreateJobDetails) -> UpdateJobDetails:
    """The part of a CreateJob body that UpdateJob can change on the job it made."""
    update = UpdateJobDetails()
    if "displayName" in details:
        update["displayName"] = details["displayName"]
    if "description" in details:
        update["description"] = details["description"]
    if "jobInfrastructureConfigurationDetails" in details:
        update["jobInfrastructureConfigurationDetails"] = details[
            "jobInfrastructureConfigurationDetails"
        ]
    if "jobStorageMountConfigurationDetailsList" in details:
        update["jobStorageMountConfigurationDetailsList"] = details[
            "jobStorageMountConfigurationDetailsList"
        ]
    if "freeformTags" in details:
        update["freeformTags"] = details["freeformTags"]
    if "definedTags" in details:
        update["definedTags"] = details["definedTags"]
    return update
