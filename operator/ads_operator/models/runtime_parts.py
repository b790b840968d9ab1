"""The pieces a runtime spec is built from: the six runtime types, where code may come
from (``SourceUri``), relative paths, and the nested ``conda``, ``git`` and
``dependencies`` models.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, Field, model_validator

from ads_operator.models.base import WireModel
from ads_operator.models.common import (
    MAX_OCID,
    MAX_STRING,
    MAX_URI,
    Region,
    ocid_pattern,
)


class RuntimeType(StrEnum):
    SCRIPT = "script"
    PYTHON = "python"
    NOTEBOOK = "notebook"
    GIT_PYTHON = "gitPython"
    CONTAINER = "container"
    PYTORCH_DISTRIBUTED = "pyTorchDistributed"


#: Where code may come from inside a cluster. Local paths are refused: they do not exist
#: where the operator runs.
SOURCE_PATTERN: Final = (
    r"^(oci://[^@/\s]+@[^/\s]+/\S*"
    r"|https://\S+"
    r"|configmap://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[-._a-zA-Z0-9]+)?)$"
)
SOURCE_MESSAGE: Final = (
    "must be oci://bucket@namespace/path, https://... or configmap://<name>[/<key>]; "
    "a local path does not exist in the cluster: put the file in a ConfigMap and use "
    "configmap://<name>/<key>"
)
#: ``oci://bucket@namespace/object`` with an object name (published conda, outputs).
OCI_OBJECT_PATTERN: Final = r"^oci://[^@/\s]+@[^/\s]+/\S+$"
OCI_PREFIX_PATTERN: Final = r"^oci://[^@/\s]+@[^/\s]+(/\S*)?$"


def _check_source(value: str) -> str:
    if not re.match(SOURCE_PATTERN, value):
        raise ValueError(SOURCE_MESSAGE)
    return value


#: A code source URI; the CRD checks it with CEL so the message can suggest configmap://.
SourceUri = Annotated[
    str,
    AfterValidator(_check_source),
    Field(
        max_length=MAX_URI,
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": f"self.matches(r'{SOURCE_PATTERN}')", "message": SOURCE_MESSAGE}
            ]
        },
    ),
]


RelativePath = Annotated[
    str,
    Field(
        max_length=MAX_STRING,
        pattern=r"^[^/\s][^\s]*$|^\.$",
        description="A path relative to the artifact's code directory.",
    ),
]


class Conda(WireModel):
    """The conda environment the job runs in: a service pack or a published one."""

    type: Literal["service", "published"] = Field(
        description="service (an OCI-provided pack, by slug) or published (your pack, by URI)."
    )
    slug: str | None = Field(
        default=None,
        max_length=MAX_STRING,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Slug of the service conda pack (type service).",
    )
    uri: str | None = Field(
        default=None,
        max_length=MAX_URI,
        pattern=OCI_OBJECT_PATTERN,
        description="oci://bucket@namespace/object of the published pack (type published).",
    )
    region: Region | None = Field(
        default=None,
        description="Region of the published pack's bucket. Default: the job's region.",
    )

    @model_validator(mode="after")
    def _form(self) -> Conda:
        if self.type == "service" and (self.slug is None or self.uri is not None):
            raise ValueError(CONDA_MESSAGES["service"])
        if self.type == "published" and (self.uri is None or self.slug is not None):
            raise ValueError(CONDA_MESSAGES["published"])
        return self


CONDA_MESSAGES: Final = {
    "service": "conda type service needs slug (and no uri)",
    "published": "conda type published needs uri (and no slug)",
}


class GitSource(WireModel):
    """The repository a pyTorchDistributed job clones (``git`` key)."""

    url: str = Field(min_length=1, max_length=MAX_URI, description="Repository URL.")
    branch: str | None = Field(default=None, max_length=MAX_STRING, description="Branch.")
    commit: str | None = Field(
        default=None, max_length=64, pattern=r"^[0-9a-fA-F]{4,64}$", description="Commit."
    )
    git_secret_id: str | None = Field(
        default=None,
        pattern=ocid_pattern("vaultsecret"),
        max_length=MAX_OCID,
        description="Vault secret holding the SSH key for the repository.",
    )


class Dependencies(WireModel):
    """pip dependencies a pyTorchDistributed job installs before it starts."""

    pip_requirements: str | None = Field(
        default=None, max_length=MAX_STRING, description="requirements.txt path in the code."
    )
    pip_packages: str | None = Field(
        default=None, max_length=MAX_STRING, description="Packages, space separated."
    )
