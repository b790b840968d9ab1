"""``DataScienceTenancyPolicy``: which namespaces may use which OCI compartments, projects,
subnets, log groups, shapes, buckets, File Storage mount targets and exports, https
hosts and credentials.

The operator acts with its own OCI identity for whoever may create its resources; in
multi-tenant mode (chart value ``tenancy.mode: multi``) this policy is what stops a
namespace user from launching into a compartment, subnet or shape they were never given.
It is cluster-scoped (only cluster admins get RBAC on it) and a singleton named
:data:`POLICY_NAME`: the chart's ValidatingAdmissionPolicy reads it as its param (refusing
at ``kubectl apply``) and the operator reads it again before any OCI call
(:mod:`ads_operator.reconcile.tenancy`). ``tenants`` is an ordered list: a namespace gets
the first entry matching it, and a namespace no entry matches may use nothing.

Nothing here is read as "allow all": an absent list allows none (an absent ``subnets``
allows only managed egress, an absent ``logGroups`` only the service's default logging),
an entry must name its namespaces (an empty selector is refused), unknown keys are
refused (a typo is an error, not a dropped rule). A File Storage mount is judged by its
OCIDs: one written by address (``<IP>:<export path>``, which only an OCI Resource Search
turns into OCIDs) is refused in multi-tenant mode.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Final

from pydantic import Field, StrictBool, StrictInt

from ads_operator.models.base import WireModel
from ads_operator.models.common import MAX_OCID, MAX_STRING, CompartmentOcid, ProjectOcid
from ads_operator.models.common import ocid_pattern as _ocid
from ads_operator.models.rules import Rule, RuledModel

TENANCY_KIND: Final = "DataScienceTenancyPolicy"
TENANCY_PLURAL: Final = "datasciencetenancypolicies"
TENANCY_SHORT_NAME: Final = "dstenancy"
#: The one policy object the admission policy and the operator read.
POLICY_NAME: Final = "tenancy"
#: Longest list of OCIDs, hosts or buckets in one entry (bounds CEL cost).
MAX_ITEMS: Final = 256
MAX_TENANTS: Final = 64

#: OCI Data Science job shape names as of this release, for one thing only: a ``shapes``
#: pattern matching none of them is reported when the policy is applied (a kubectl
#: warning, not a refusal: a region may offer shapes newer than this list).
KNOWN_SHAPES: Final = (
    *(f"VM.Standard2.{n}" for n in (1, 2, 4, 8, 16, 24)),
    "VM.Standard3.Flex",
    "VM.Standard.E3.Flex",
    "VM.Standard.E4.Flex",
    "VM.Standard.E5.Flex",
    "VM.Standard.A1.Flex",
    "VM.Standard.A2.Flex",
    "VM.Optimized3.Flex",
    "VM.GPU2.1",
    *(f"VM.GPU3.{n}" for n in (1, 2, 4)),
    *(f"VM.GPU.A10.{n}" for n in (1, 2)),
    "BM.GPU2.2",
    "BM.GPU3.8",
    "BM.GPU4.8",
    "BM.GPU.A10.4",
    "BM.GPU.A100-v2.8",
    "BM.GPU.H100.8",
    "BM.GPU.L40S.4",
    "BM.Standard2.52",
    "BM.Standard3.64",
    "BM.Standard.E3.128",
    "BM.Standard.E4.128",
    "BM.Standard.E5.192",
)

#: The runtime fields whose URI the operator itself reads (into the job's artifact): an
#: oci:// one must name an allowed bucket, an https:// one an allowed host.
SOURCE_FIELDS: Final = ("scriptPathURI", "notebookPathURI", "source")

SubnetOcid = Annotated[str, Field(pattern=_ocid("subnet"), max_length=MAX_OCID)]
LogGroupOcid = Annotated[str, Field(pattern=_ocid("loggroup"), max_length=MAX_OCID)]
MountTargetOcid = Annotated[str, Field(pattern=_ocid("mounttarget"), max_length=MAX_OCID)]
ExportOcid = Annotated[str, Field(pattern=_ocid("export"), max_length=MAX_OCID)]
NamespaceName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
Bucket = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$", max_length=MAX_STRING)]
Host = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]


class CredentialsMode(StrEnum):
    """Which OCI credentials a tenant's resources may run under."""

    #: The operator's default identity, or a Secret of the resource's own namespace.
    DEFAULT_IDENTITY_ALLOWED = "DefaultIdentityAllowed"
    #: Only a Secret of the resource's own namespace (``spec.authSecretRef``).
    OWN_SECRETS_ONLY = "OwnSecretsOnly"


class NamespaceMatch(RuledModel):
    """Namespaces by name, or by labels (every label listed must be on the namespace)."""

    names: Annotated[list[NamespaceName], Field(max_length=MAX_ITEMS)] | None = Field(
        default=None, description="Namespaces by name."
    )
    match_labels: (
        Annotated[dict[str, Annotated[str, Field(max_length=63)]], Field(max_length=16)] | None
    ) = Field(default=None, description="Namespaces carrying all these labels.")
    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "(has(self.names) && size(self.names) > 0)"
            " || (has(self.matchLabels) && size(self.matchLabels) > 0)",
            "namespaces needs names or matchLabels: an empty selector would match every "
            "namespace, and is refused rather than read as allow-all",
            ".names",
            lambda m: bool(m.names) or bool(m.match_labels),
        ),
    )


class ShapeRule(WireModel):
    """Shapes by pattern, with ceilings; a shape takes the first rule whose pattern matches."""

    pattern: str = Field(
        min_length=1,
        max_length=MAX_STRING,
        pattern=r"^[A-Za-z0-9.*+?|()\[\]\\-]+$",
        description=(
            "Regular expression (RE2) matched against the whole shape name, e.g. "
            "VM\\.Standard\\.E4\\.Flex or VM\\.GPU\\.A10\\.[12]."
        ),
    )
    max_ocpus: float | None = Field(
        default=None, gt=0, le=1024, description="Most OCPUs of a Flex shape (shapeConfigDetails)."
    )
    max_memory_in_gbs: float | None = Field(
        default=None,
        alias="maxMemoryInGBs",
        gt=0,
        le=65536,
        description="Most memory in GB of a Flex shape (shapeConfigDetails).",
    )
    max_gpus: StrictInt | None = Field(
        default=None,
        ge=0,
        le=64,
        description="Most GPUs (the count ending a GPU shape's name, e.g. VM.GPU.A10.2 has 2).",
    )


class Tenant(WireModel):
    """One entry: the namespaces it matches and what they may use."""

    name: str = Field(
        min_length=1, max_length=63, description="Names the entry in refusal messages."
    )
    namespaces: NamespaceMatch = Field(description="The namespaces this entry is for.")
    credentials: CredentialsMode = Field(
        description="DefaultIdentityAllowed, or OwnSecretsOnly (spec.authSecretRef required)."
    )
    compartments: Annotated[list[CompartmentOcid], Field(min_length=1, max_length=MAX_ITEMS)] = (
        Field(description="Compartments jobs and runs may be created in.")
    )
    projects: Annotated[list[ProjectOcid], Field(min_length=1, max_length=MAX_ITEMS)] = Field(
        description="Data Science projects jobs and runs may belong to."
    )
    shapes: Annotated[list[ShapeRule], Field(min_length=1, max_length=32)] = Field(
        description="Shapes allowed, by pattern, with ceilings."
    )
    subnets: Annotated[list[SubnetOcid], Field(max_length=MAX_ITEMS)] | None = Field(
        default=None, description="Subnets allowed; absent: managed egress only."
    )
    log_groups: Annotated[list[LogGroupOcid], Field(max_length=MAX_ITEMS)] | None = Field(
        default=None, description="Log groups allowed; absent: none (service default logging)."
    )
    buckets: Annotated[list[Bucket], Field(max_length=MAX_ITEMS)] | None = Field(
        default=None,
        description=(
            "Object Storage buckets (bucket@namespace) for storage mounts and oci:// code "
            "sources; absent: none."
        ),
    )
    mount_targets: Annotated[list[MountTargetOcid], Field(max_length=MAX_ITEMS)] | None = Field(
        default=None,
        description="File Storage mount targets storage mounts may use; absent: none.",
    )
    exports: Annotated[list[ExportOcid], Field(max_length=MAX_ITEMS)] | None = Field(
        default=None,
        description=(
            "File Storage exports (each a file system's path on a mount target) storage "
            "mounts may use; absent: none. A mount needs its mount target and its export "
            "allowed."
        ),
    )
    https_hosts: Annotated[list[Host], Field(max_length=MAX_ITEMS)] | None = Field(
        default=None, description="Hosts https:// code sources may be fetched from; absent: none."
    )
    allow_adoption: StrictBool | None = Field(
        default=None,
        description=(
            "May adopt existing OCI jobs by spec.id (their compartment is only known after "
            "reading them). Default false."
        ),
    )


class DataScienceTenancyPolicySpec(WireModel):
    """The tenants, in order: a namespace gets the first entry matching it, or nothing."""

    tenants: Annotated[list[Tenant], Field(max_length=MAX_TENANTS)] = Field(
        description="Ordered entries; a namespace no entry matches may create nothing."
    )


def tenancy_rules() -> list[dict[str, str]]:
    """The root rule: the policy is a singleton, so a misnamed one is refused, not ignored."""
    return [
        {
            "rule": f"self.metadata.name == '{POLICY_NAME}'",
            "message": (
                f"the tenancy policy must be named '{POLICY_NAME}': the admission policy and "
                "the operator read that one only"
            ),
        }
    ]
