"""``DataScienceJob``: the ADS job spec, key for key, plus operator-only settings beside it.

``spec.name``, ``spec.id``, ``spec.infrastructure`` and ``spec.runtime`` are exactly
ADS's ``Job.to_yaml()`` ``spec``. Operator-only keys (``deletionPolicy``,
``authSecretRef``, ``region``) sit next to them and never inside the ADS parts, so the
ADS parts export back to a file ``Job.from_yaml()`` reads (``ads-operator convert``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import Field, StrictInt, model_validator

from ads_operator.models.base import WireModel
from ads_operator.models.common import (
    MAX_OCID,
    DeletionPolicy,
    JobOcid,
    Region,
    SecretRef,
)
from ads_operator.models.conditions import MAX_CONDITIONS, Condition
from ads_operator.models.infrastructure import Infrastructure
from ads_operator.models.policy import JobSchedule, RunPolicy
from ads_operator.models.runtime import Runtime
from ads_operator.models.status import StatusModel, observed_generation_field

#: The ADS keys of a job spec; everything else in ``spec`` belongs to the operator.
ADS_JOB_KEYS: Final = ("name", "id", "infrastructure", "runtime")
#: Operator-only keys of ``DataScienceJob.spec``.
OPERATOR_JOB_KEYS: Final = (
    "deletionPolicy",
    "authSecretRef",
    "region",
    "runPolicy",
    "successfulRunsHistoryLimit",
    "failedRunsHistoryLimit",
    "schedule",
)


class DataScienceJobSpec(WireModel):
    """What a DataScienceJob asks for: an ADS job, and how the operator should treat it."""

    name: str | None = Field(
        default=None,
        max_length=255,
        description="Job display name; $VAR/${VAR} are filled from the runtime env.",
    )
    id: JobOcid | None = Field(
        default=None,
        description="Existing OCI job to adopt instead of creating one; then infrastructure"
        " and runtime may be left out (the operator never changes an adopted job).",
    )
    infrastructure: Infrastructure | None = Field(
        default=None,
        description="Where the job runs (ADS infrastructure); required unless id is set.",
    )
    runtime: Runtime | None = Field(
        default=None, description="What the job runs (ADS runtime); required unless id is set."
    )
    deletion_policy: DeletionPolicy | None = Field(
        default=None,
        description="Delete (default): delete the OCI job with the resource; Orphan: keep it.",
    )
    auth_secret_ref: SecretRef | None = Field(
        default=None, description="OCI credentials for this job; default: the operator's own."
    )
    region: Region | None = None
    run_policy: RunPolicy | None = Field(
        default=None, description="Defaults for the runPolicy of this job's runs."
    )
    successful_runs_history_limit: StrictInt | None = Field(
        default=None, ge=0, description="Keep at most this many succeeded runs (default: all)."
    )
    failed_runs_history_limit: StrictInt | None = Field(
        default=None, ge=0, description="Keep at most this many failed or canceled runs."
    )
    schedule: JobSchedule | None = Field(
        default=None, description="Start runs on a cron schedule (like a CronJob)."
    )

    @model_validator(mode="after")
    def _defined_or_adopted(self) -> DataScienceJobSpec:
        if self.id is None and (self.infrastructure is None or self.runtime is None):
            raise ValueError(JOB_MESSAGES["definedOrAdopted"])
        return self

    @property
    def effective_deletion_policy(self) -> DeletionPolicy:
        return DeletionPolicy(self.deletion_policy or DeletionPolicy.DELETE)

    @property
    def infra(self) -> Infrastructure:
        """``infrastructure``, for code that makes or runs a job from the spec (a spec
        without it adopts a job by ``id``, and such code is not reached for it)."""
        if self.infrastructure is None:
            raise ValueError(JOB_MESSAGES["definedOrAdopted"])
        return self.infrastructure

    @property
    def rt(self) -> Runtime:
        """``runtime``; see :attr:`infra`."""
        if self.runtime is None:
            raise ValueError(JOB_MESSAGES["definedOrAdopted"])
        return self.runtime


#: Messages of the job spec's cross-field rules (the same text in the CRD's CEL).
JOB_MESSAGES: Final = {
    "definedOrAdopted": "spec.infrastructure and spec.runtime are required unless spec.id"
    " names an existing OCI job to adopt",
}


class ArtifactStatus(WireModel):
    """The artifact uploaded to the current OCI job."""

    file_name: str | None = Field(default=None, max_length=1024, description="File name.")
    sha256: str | None = Field(default=None, max_length=64, description="SHA-256 (hex).")
    size: int | None = Field(default=None, ge=0, description="Size in bytes.")


class RunSummary(WireModel):
    """Counts of the job's runs known to the cluster, and the most recent one."""

    total: int | None = Field(default=None, ge=0, description="All runs.")
    active: int | None = Field(default=None, ge=0, description="Runs not yet finished.")
    succeeded: int | None = Field(default=None, ge=0, description="Runs that succeeded.")
    failed: int | None = Field(default=None, ge=0, description="Runs failed or canceled.")
    last_run: str | None = Field(default=None, max_length=253, description="Latest run name.")


class DataScienceJobStatus(StatusModel):
    """What the operator last observed; rebuilt from OCI on every pass."""

    ocid: str | None = Field(default=None, max_length=MAX_OCID, description="OCI job OCID.")
    lifecycle_state: str | None = Field(
        default=None, max_length=64, description="OCI lifecycle state of the job."
    )
    lifecycle_details: str | None = Field(
        default=None, max_length=4096, description="OCI's lifecycle details."
    )
    region: str | None = Field(default=None, max_length=64, description="Region of the job.")
    artifact: ArtifactStatus | None = Field(default=None, description="Uploaded artifact.")
    spec_hash: str | None = Field(
        default=None, max_length=128, description="Hash of the spec the OCI job was made from."
    )
    retired_ocids: (
        Annotated[list[Annotated[str, Field(max_length=MAX_OCID)]], Field(max_length=64)] | None
    ) = Field(
        default=None,
        description="Earlier OCI jobs of this resource, deleted once no run is active.",
    )
    console_url: str | None = Field(default=None, max_length=2048, description="OCI console.")
    runs: RunSummary | None = Field(default=None, description="Run counts.")
    last_schedule_time: datetime | None = Field(
        default=None, description="The schedule time of the last run started (or missed)."
    )
    next_schedule_time: datetime | None = Field(default=None, description="The next schedule time.")
    last_synced: datetime | None = Field(default=None, description="Last successful sync.")
    observed_generation: int | None = observed_generation_field()
    conditions: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] | None = Field(
        default=None,
        description="Ready, Synced, Terminal (a spec that cannot work); with a schedule,"
        " ScheduleValid and ScheduledRunCreated.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )

    def condition_dicts(self) -> list[dict[str, Any]]:
        """The conditions in wire form (what the condition rules compute on)."""
        return [c.to_wire() for c in self.conditions or ()]
