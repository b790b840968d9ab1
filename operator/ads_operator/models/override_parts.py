"""The building blocks of a run's overrides, in the shapes of OCI's models.

``jobInfrastructureConfigurationOverrideDetails`` (and a node group's MULTI_NODE
infrastructure), ``jobLogConfigurationOverrideDetails``, one storage mount of
``jobStorageMountConfigurationOverrideDetailsList`` and ``startupProbeDetails``; the
rules are the job's own (Flex-only shape config, block storage range, subnet only with
STANDALONE) in OCI's names.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StrictBool, StrictInt

from ads_operator.models.base import WireModel
from ads_operator.models.common import MAX_OCID, MAX_STRING, ocid_pattern
from ads_operator.models.infrastructure import (
    MAX_BLOCK_STORAGE_GB,
    MIN_BLOCK_STORAGE_GB,
    ShapeConfigDetails,
)
from ads_operator.models.rules import Rule, RuledModel

SubnetOcid = Annotated[str, Field(pattern=ocid_pattern("subnet"), max_length=MAX_OCID)]


_FLEX = Rule(
    "!has(self.jobShapeConfigDetails) || self.shapeName.endsWith('Flex')",
    "jobShapeConfigDetails is only allowed with a Flex shape (shapeName ending in 'Flex')",
    ".jobShapeConfigDetails",
    lambda m: m.job_shape_config_details is None or m.shape_name.endswith("Flex"),
)


class _ShapeOverride(RuledModel):
    shape_name: str = Field(
        max_length=MAX_STRING,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Compute shape for this run, e.g. VM.Standard.E4.Flex.",
    )
    block_storage_size_in_gbs: StrictInt = Field(
        alias="blockStorageSizeInGBs",
        ge=MIN_BLOCK_STORAGE_GB,
        le=MAX_BLOCK_STORAGE_GB,
        description="Block storage in GB (OCI requires it in an override).",
    )
    job_shape_config_details: ShapeConfigDetails | None = Field(
        default=None, description="OCPUs/memory/baseline; only with a Flex shape."
    )
    RULES: ClassVar[tuple[Rule, ...]] = (_FLEX,)


class InfrastructureOverride(_ShapeOverride):
    """``jobInfrastructureConfigurationOverrideDetails``: this run's shape and storage."""

    job_infrastructure_type: Literal["ME_STANDALONE", "STANDALONE"] = Field(
        description="ME_STANDALONE (managed egress) or STANDALONE (your subnetId)."
    )
    subnet_id: SubnetOcid | None = Field(default=None, description="Subnet (STANDALONE only).")
    RULES = (
        _FLEX,
        Rule(
            "self.jobInfrastructureType != 'STANDALONE' || has(self.subnetId)",
            "jobInfrastructureType STANDALONE needs subnetId",
            ".subnetId",
            lambda m: m.job_infrastructure_type != "STANDALONE" or m.subnet_id is not None,
        ),
        Rule(
            "self.jobInfrastructureType != 'ME_STANDALONE' || !has(self.subnetId)",
            "subnetId needs jobInfrastructureType STANDALONE; ME_STANDALONE is managed egress",
            ".subnetId",
            lambda m: m.job_infrastructure_type != "ME_STANDALONE" or m.subnet_id is None,
        ),
    )


class NodeInfrastructureOverride(_ShapeOverride):
    """A node group's infrastructure in a node override (``MULTI_NODE``)."""

    job_infrastructure_type: Literal["MULTI_NODE"] = Field(description="Always MULTI_NODE.")


class LogOverride(RuledModel):
    """``jobLogConfigurationOverrideDetails``: where this run logs (or that it does not)."""

    enable_logging: StrictBool | None = Field(
        default=None, description="Log this run (false: no logging for this run)."
    )
    enable_auto_log_creation: StrictBool | None = Field(
        default=None, description="Create a log for the run in logGroupId (instead of logId)."
    )
    log_group_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("loggroup"),
        max_length=MAX_OCID,
        description="OCID of the log group for this run's logs.",
    )
    log_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("log"),
        max_length=MAX_OCID,
        description="OCID of the log for this run's logs (in logGroupId).",
    )
    RULES = (
        Rule(
            "!has(self.enableLogging) || !self.enableLogging || has(self.logGroupId)",
            "enableLogging: true needs logGroupId",
            ".logGroupId",
            lambda m: not m.enable_logging or m.log_group_id is not None,
        ),
        Rule(
            "!has(self.logId) || has(self.logGroupId)",
            "logId needs logGroupId as well",
            ".logId",
            lambda m: m.log_id is None or m.log_group_id is not None,
        ),
        Rule(
            "!has(self.enableAutoLogCreation) || !self.enableAutoLogCreation || "
            "(has(self.enableLogging) && self.enableLogging)",
            "enableAutoLogCreation: true needs enableLogging: true",
            ".enableAutoLogCreation",
            lambda m: not m.enable_auto_log_creation or m.enable_logging is True,
        ),
        Rule(
            "!has(self.logGroupId) || (has(self.enableLogging) && self.enableLogging)",
            "logGroupId without enableLogging: true would be ignored; set enableLogging",
            ".enableLogging",
            lambda m: m.log_group_id is None or m.enable_logging is True,
        ),
    )


class StorageMountOverride(RuledModel):
    """One ``StorageMountConfigurationDetails`` (OCI's form, not ADS's ``{src, dest}``)."""

    storage_type: Literal["OBJECT_STORAGE", "FILE_STORAGE"] = Field(
        description=(
            "OBJECT_STORAGE (namespace, bucket, prefix) or FILE_STORAGE (mountTargetId, exportId)."
        )
    )
    destination_directory_name: str = Field(
        max_length=MAX_STRING,
        pattern=r"^[^/\s\x00-\x1f\x7f]+$",
        description="Directory name under destinationPath (default /mnt).",
    )
    destination_path: str | None = Field(
        default=None,
        max_length=MAX_STRING,
        pattern=r"^/\S*$",
        description="Absolute path the directory is created in (default /mnt).",
    )
    namespace: str | None = Field(
        default=None,
        max_length=MAX_STRING,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Object Storage namespace (OBJECT_STORAGE).",
    )
    bucket: str | None = Field(
        default=None,
        max_length=MAX_STRING,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Bucket name (OBJECT_STORAGE).",
    )
    prefix: str | None = Field(
        default=None,
        max_length=MAX_STRING,
        description="Object name prefix to mount (OBJECT_STORAGE, optional).",
    )
    mount_target_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("mounttarget"),
        max_length=MAX_OCID,
        description="OCID of the File Storage mount target (FILE_STORAGE).",
    )
    export_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("export"),
        max_length=MAX_OCID,
        description="OCID of the File Storage export (FILE_STORAGE).",
    )
    RULES = (
        Rule(
            "self.storageType != 'OBJECT_STORAGE' || (has(self.namespace) && has(self.bucket)"
            " && !has(self.mountTargetId) && !has(self.exportId))",
            "OBJECT_STORAGE takes namespace and bucket (prefix optional), not mountTargetId"
            " or exportId",
            ".storageType",
            lambda m: (
                m.storage_type != "OBJECT_STORAGE"
                or (m.namespace and m.bucket and not m.mount_target_id and not m.export_id)
            ),
        ),
        Rule(
            "self.storageType != 'FILE_STORAGE' || (has(self.mountTargetId) && has(self.exportId)"
            " && !has(self.namespace) && !has(self.bucket) && !has(self.prefix))",
            "FILE_STORAGE takes mountTargetId and exportId, not namespace, bucket or prefix",
            ".storageType",
            lambda m: (
                m.storage_type != "FILE_STORAGE"
                or (m.mount_target_id and m.export_id and not (m.namespace or m.bucket or m.prefix))
            ),
        ),
    )


class StartupProbe(WireModel):
    """``startupProbeDetails``: a command that says when the run's process is up."""

    job_probe_check_type: Literal["EXEC"] = Field(description="Always EXEC.")
    command: Annotated[list[Annotated[str, Field(max_length=2048)]], Field(max_length=64)] = Field(
        min_length=1, description="The command to execute, as a list."
    )
    period_in_seconds: StrictInt | None = Field(
        default=None, ge=1, description="Seconds between probes."
    )
    failure_threshold: StrictInt | None = Field(
        default=None, ge=1, description="Failed probes before the run fails."
    )
    initial_delay_in_seconds: StrictInt | None = Field(
        default=None, ge=0, description="Seconds before the first probe."
    )
