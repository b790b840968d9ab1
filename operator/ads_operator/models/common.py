"""Small building blocks shared by the job and run models: OCIDs, tags, env vars, refs.

Patterns and length bounds live here as data so that the pydantic validation and the
generated CRD schema (and the CEL cost estimates that depend on ``maxLength``) agree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import Field

from ads_operator.models.base import WireModel

#: Longest string we accept in most places; bounds CEL cost estimates in the apiserver.
MAX_STRING: Final = 1024
#: URIs and paths get more room than names.
MAX_URI: Final = 2048
#: OCIDs are well below this; the bound keeps CEL rules over OCIDs cheap.
MAX_OCID: Final = 255


def ocid_pattern(*resource_types: str) -> str:
    """A regular expression for OCIDs of the given resource types (any realm and region)."""
    kinds = "|".join(resource_types)
    return rf"^ocid1\.({kinds})\.[a-z0-9-]+\.[a-z0-9-]*\.[a-zA-Z0-9._-]+$"


CompartmentOcid = Annotated[
    str,
    Field(
        pattern=ocid_pattern("compartment", "tenancy"),
        max_length=MAX_OCID,
        description="OCID of the compartment (a tenancy OCID names the root compartment).",
    ),
]
ProjectOcid = Annotated[
    str,
    Field(
        pattern=ocid_pattern("datascienceproject"),
        max_length=MAX_OCID,
        description="OCID of the Data Science project.",
    ),
]
JobOcid = Annotated[
    str,
    Field(
        pattern=ocid_pattern("datasciencejob"),
        max_length=MAX_OCID,
        description="OCID of an OCI Data Science job.",
    ),
]

#: Free-form tags: string keys and string values, as OCI defines them.
FreeformTags = Annotated[
    dict[str, Annotated[str, Field(max_length=256)]],
    Field(description="Free-form tags (key -> value).", max_length=64),
]
#: Defined tags: namespace -> key -> value. OCI tag values are strings; typing them (not
#: "any JSON") keeps them visible to CEL (the run's immutability rule compares them).
DefinedTags = Annotated[
    dict[str, Annotated[dict[str, Annotated[str, Field(max_length=256)]], Field(max_length=64)]],
    Field(description="Defined tags (namespace -> key -> value).", max_length=64),
]

REGION_PATTERN: Final = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*-[0-9]+$"
Region = Annotated[
    str,
    Field(
        pattern=REGION_PATTERN,
        max_length=64,
        description="OCI region identifier, e.g. us-ashburn-1. Default: the operator's region.",
    ),
]

#: A Kubernetes object name (DNS-1123 subdomain).
K8S_NAME_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


class DeletionPolicy(StrEnum):
    """What happens to the OCI resource when the Kubernetes resource is deleted."""

    DELETE = "Delete"
    ORPHAN = "Orphan"


class SecretRef(WireModel):
    """A Secret in the resource's own namespace holding OCI API-key credentials."""

    name: str = Field(
        pattern=K8S_NAME_PATTERN,
        max_length=253,
        description="Name of the Secret (same namespace) with the OCI API-key credentials.",
    )


class EnvVar(WireModel):
    """One environment variable, Kubernetes style, exactly as ADS writes ``env``.

    ADS substitutes ``${OTHER}`` with another variable of the same runtime and turns
    ``$$`` into a literal ``$``; the value is otherwise passed through.
    """

    name: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$",
        description="Variable name.",
    )
    value: str | None = Field(
        default=None,
        max_length=32768,
        description="Value; ${OTHER} refers to another variable, $$ is a literal $.",
    )
