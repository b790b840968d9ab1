"""ADS infrastructure ``{kind: infrastructure, type: dataScienceJob, spec}``.

Keys and meanings are ADS's ``DataScienceJob.attribute_map`` (see
docs/model.md). Defaults that ADS fills in at creation time (``jobType: DEFAULT``,
``jobInfrastructureType: ME_STANDALONE`` or ``STANDALONE`` with a subnet,
``blockStorageSize: 50``) are *not* written into the resource: the translation applies
them, so the stored spec stays exactly what the user wrote.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import Field, StrictInt, model_validator

from ads_operator.models.base import WireModel
from ads_operator.models.common import (
    MAX_OCID,
    MAX_STRING,
    MAX_URI,
    CompartmentOcid,
    DefinedTags,
    FreeformTags,
    ProjectOcid,
    ocid_pattern,
)

#: ADS refuses more storage mounts than this (``MAXIMUM_MOUNT_COUNT``).
MAX_STORAGE_MOUNTS: Final = 5
#: The smallest block volume OCI Data Science accepts, and ADS's default.
MIN_BLOCK_STORAGE_GB: Final = 50
#: The largest block volume a job may ask for.
MAX_BLOCK_STORAGE_GB: Final = 10240

#: ``src`` of a storage mount: ``oci://bucket@namespace[/prefix]``, or File Storage as
#: ``<mount target>:<export>``, each half an OCID or (as ADS accepts) an address: the
#: mount target's IPv4 and the export's path.
STORAGE_SOURCE_PATTERN: Final = (
    r"^(oci://[^@/\s]+@[^/\s]+(/.*)?"
    r"|(ocid1\.mounttarget\.[^:\s]+|[0-9]{1,3}(\.[0-9]{1,3}){3})"
    r":(ocid1\.export\.\S+|/\S*))$"
)


class JobInfrastructureType(StrEnum):
    STANDALONE = "STANDALONE"
    ME_STANDALONE = "ME_STANDALONE"
    MULTI_NODE = "MULTI_NODE"


class CpuBaseline(StrEnum):
    BASELINE_1_8 = "BASELINE_1_8"
    BASELINE_1_2 = "BASELINE_1_2"
    BASELINE_1_1 = "BASELINE_1_1"


class ShapeConfigDetails(WireModel):
    """CPU and memory of a Flex shape (``jobShapeConfigDetails`` in OCI)."""

    ocpus: float | None = Field(
        default=None, gt=0, le=1024, description="Number of OCPUs (Flex shapes only)."
    )
    memory_in_gbs: float | None = Field(
        default=None,
        alias="memoryInGBs",
        gt=0,
        le=65536,
        description="Memory in GB (Flex shapes only).",
    )
    cpu_baseline: CpuBaseline | None = Field(
        default=None,
        description="Burstable baseline utilisation; the service defaults to BASELINE_1_1.",
    )


class StorageMount(WireModel):
    """One storage mount as ADS writes it: ``{src, dest}``."""

    src: str = Field(
        pattern=STORAGE_SOURCE_PATTERN,
        max_length=MAX_URI,
        description=(
            "oci://bucket@namespace[/prefix] (Object Storage), or <mount target OCID>:"
            "<export OCID> (File Storage); ADS's <IPv4>:<export path> (either half) is "
            "resolved with OCI Resource Search when the job is created, as ADS does."
        ),
    )
    dest: str = Field(
        min_length=1,
        max_length=MAX_STRING,
        pattern=r"^[^\s\x00-\x1f\x7f]+$",  # no blanks, no control characters (NUL, ...)
        description="Mount point: a bare name mounts under /mnt/<name>; a path is used as is.",
    )


class DataScienceJobInfrastructureSpec(WireModel):
    """The infrastructure ``spec``: where and on what the job's runs execute."""

    project_id: ProjectOcid | None = Field(
        default=None, description="OCID of the Data Science project (required to create)."
    )
    compartment_id: CompartmentOcid | None = Field(
        default=None, description="OCID of the compartment for the job (required to create)."
    )
    display_name: str | None = Field(
        default=None,
        max_length=255,
        description="Job display name; ADS normally fills it from spec.name.",
    )
    job_type: Literal["DEFAULT"] | None = Field(
        default=None, description="Job configuration type. Default DEFAULT."
    )
    job_infrastructure_type: JobInfrastructureType | None = Field(
        default=None,
        description=(
            "ME_STANDALONE (managed egress, the default), STANDALONE (your subnet; forced "
            "when subnetId is set) or MULTI_NODE."
        ),
    )
    shape_name: str | None = Field(
        default=None,
        max_length=MAX_STRING,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Compute shape, e.g. VM.Standard.E4.Flex (required to create).",
    )
    block_storage_size: StrictInt | None = Field(
        default=None,
        ge=MIN_BLOCK_STORAGE_GB,
        le=MAX_BLOCK_STORAGE_GB,
        description="Block storage in GB. Default 50.",
    )
    subnet_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("subnet"),
        max_length=MAX_OCID,
        description="Subnet for custom networking; absent means managed egress.",
    )
    shape_config_details: ShapeConfigDetails | None = Field(
        default=None, description="OCPUs/memory/baseline; only valid with a Flex shape."
    )
    log_group_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("loggroup"),
        max_length=MAX_OCID,
        description="Log group for run logs; alone, the service creates a log per run.",
    )
    log_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("log"),
        max_length=MAX_OCID,
        description="Log for run logs (give logGroupId too).",
    )
    storage_mount: Annotated[list[StorageMount], Field(max_length=MAX_STORAGE_MOUNTS)] | None = (
        Field(default=None, description="Up to 5 Object Storage or File Storage mounts.")
    )
    freeform_tags: FreeformTags | None = Field(
        default=None, description="Job tags, used only when the runtime has no tags."
    )
    defined_tags: DefinedTags | None = Field(
        default=None, description="Job defined tags, used only when the runtime has none."
    )

    @model_validator(mode="after")
    def _cross_field_rules(self) -> DataScienceJobInfrastructureSpec:
        for message in infrastructure_problems(self):
            raise ValueError(message)
        return self


def infrastructure_problems(spec: DataScienceJobInfrastructureSpec) -> list[str]:
    """The cross-field rules, in the same words as the CRD's CEL messages."""
    problems: list[str] = []
    if spec.shape_config_details is not None and not (spec.shape_name or "").endswith("Flex"):
        problems.append(MESSAGES["shapeConfigFlex"])
    if (
        spec.subnet_id is not None
        and spec.job_infrastructure_type == JobInfrastructureType.ME_STANDALONE
    ):
        problems.append(MESSAGES["subnetStandalone"])
    if spec.log_id is not None and spec.log_group_id is None:
        problems.append(MESSAGES["logIdNeedsGroup"])
    return problems


#: Messages shared by pydantic and CEL so a user sees the same words either way.
MESSAGES: Final = {
    "shapeConfigFlex": (
        "shapeConfigDetails is only allowed with a Flex shape (shapeName ending in 'Flex')"
    ),
    "subnetStandalone": (
        "subnetId implies jobInfrastructureType STANDALONE; ME_STANDALONE is managed egress "
        "without a subnet"
    ),
    "logIdNeedsGroup": (
        "logId needs logGroupId as well (the operator does not search your tenancy for the group)"
    ),
}


class Infrastructure(WireModel):
    """``{kind: infrastructure, type: dataScienceJob, spec}`` exactly as in ADS YAML."""

    kind: Literal["infrastructure"] = Field(description="Always 'infrastructure'.")
    type: Literal["dataScienceJob"] = Field(
        description="Infrastructure type; only dataScienceJob (Data Flow is out of scope).",
    )
    spec: DataScienceJobInfrastructureSpec = Field(
        description="The DataScienceJob infrastructure keys as ADS writes them."
    )
