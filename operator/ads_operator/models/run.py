"""``DataScienceJobRun``: one OCI job run, started with ADS's ``run()`` overrides.

The overrides are ADS's ``Job.run(name=, args=, env_var=, freeform_tags=,
defined_tags=, **kwargs)``: ``args`` is a raw command-line string (ADS sends it without
quoting), ``envVars`` are *additional* variables (the job's are not re-sent), tags merge
with the runtime's (runtime values win). Every field that defines the run is immutable
once the resource exists (CEL transition rules); ``cancel`` is how a run is stopped.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import Field, StrictBool, StrictInt, model_validator

from ads_operator.models.base import WireModel
from ads_operator.models.common import (
    K8S_NAME_PATTERN,
    MAX_OCID,
    MAX_STRING,
    DefinedTags,
    DeletionPolicy,
    FreeformTags,
    JobOcid,
    Region,
    SecretRef,
    ocid_pattern,
)
from ads_operator.models.conditions import MAX_CONDITIONS, Condition
from ads_operator.models.policy import Attempts, RunPolicy
from ads_operator.models.run_overrides import OVERRIDE_FIELDS, RunOverrides
from ads_operator.models.status import StatusModel, observed_generation_field

#: At most this many log lines are kept in ``status.logTail``.
LOG_TAIL_LINES: Final = 50
#: At most this many log record ids are remembered in the overlap window of the cursor.
LOG_CURSOR_IDS: Final = 512
#: At most this many Events are left pending per pass (reconcile.log_batches.MAX_PENDING).
LOG_PENDING_EVENTS: Final = 64

ExecList = Annotated[list[Annotated[str, Field(max_length=2048)]], Field(max_length=64)]


class JobRef(WireModel):
    """A DataScienceJob in the same namespace."""

    name: str = Field(pattern=K8S_NAME_PATTERN, max_length=253, description="Its name.")


class DataScienceJobRunSpec(RunOverrides):
    """Which job to run, and the per-run overrides ADS's ``run()`` accepts (the
    ``CreateJobRunDetails`` overrides beyond its named ones come from the base)."""

    job_ref: JobRef | None = Field(
        default=None, description="The DataScienceJob (same namespace) to run."
    )
    job_id: JobOcid | None = Field(
        default=None, description="Or an OCI job not managed here, by OCID."
    )
    name: str | None = Field(
        default=None,
        max_length=255,
        description="Run display name; $VAR filled from env. Default: <job>-run-<time>.",
    )
    args: str | None = Field(
        default=None,
        max_length=32768,
        description="Command-line arguments as one string, sent as is (ADS run(args=)).",
    )
    env_vars: (
        Annotated[dict[str, Annotated[str, Field(max_length=32768)]], Field(max_length=256)] | None
    ) = Field(default=None, description="Additional environment variables.")
    freeform_tags: FreeformTags | None = Field(
        default=None, description="Run tags, merged with the runtime's (runtime wins)."
    )
    defined_tags: DefinedTags | None = Field(
        default=None, description="Run defined tags, merged with the runtime's (runtime wins)."
    )
    maximum_runtime_in_minutes: StrictInt | None = Field(
        default=None, ge=1, description="Stop the run after this many minutes."
    )
    image: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^\S+$",
        description="Container jobs: image for this run.",
    )
    cmd: ExecList | None = Field(default=None, description="Container jobs: CMD for this run.")
    entrypoint: ExecList | None = Field(
        default=None, description="Container jobs: entrypoint for this run."
    )
    image_digest: str | None = Field(
        default=None, max_length=MAX_STRING, description="Container jobs: image digest."
    )
    image_signature_id: str | None = Field(
        default=None,
        max_length=MAX_OCID,
        pattern=ocid_pattern("containerimagesignature"),
        description="Container jobs: image signature OCID.",
    )
    region: Region | None = None
    cancel: StrictBool | None = Field(
        default=None, description="true cancels the run; the resource stays as a record."
    )
    deletion_policy: DeletionPolicy | None = Field(
        default=None,
        description="Delete (default): delete the OCI run with the resource; Orphan: keep it.",
    )
    auth_secret_ref: SecretRef | None = Field(
        default=None, description="OCI credentials; default: the job's, else the operator's."
    )
    run_policy: RunPolicy | None = Field(
        default=None, description="Retries, deadline and TTL; unset fields come from the job's."
    )

    @model_validator(mode="after")
    def _one_job(self) -> DataScienceJobRunSpec:
        if (self.job_ref is None) == (self.job_id is None):
            raise ValueError(RUN_MESSAGES["oneJob"])
        return self

    @property
    def effective_deletion_policy(self) -> DeletionPolicy:
        return DeletionPolicy(self.deletion_policy or DeletionPolicy.DELETE)

    @property
    def has_container_overrides(self) -> bool:
        overrides = (self.image, self.cmd, self.entrypoint, self.image_digest)
        return any(v is not None for v in overrides) or self.image_signature_id is not None


RUN_MESSAGES: Final = {"oneJob": "exactly one of jobRef or jobId must be set"}

#: Wire names of the spec fields that define the run and so may never change.
IMMUTABLE_RUN_FIELDS: Final = (
    "jobRef",
    "jobId",
    "name",
    "args",
    "envVars",
    "freeformTags",
    "definedTags",
    "maximumRuntimeInMinutes",
    "image",
    "cmd",
    "entrypoint",
    "imageDigest",
    "imageSignatureId",
    "region",
    *OVERRIDE_FIELDS,
)


class Phase(StrEnum):
    """The normalised run phase; ``lifecycleState`` keeps OCI's own word."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"


class LogLine(WireModel):
    """One mirrored log record."""

    time: datetime | None = Field(default=None, description="Log record time.")
    message: str = Field(max_length=2048, description="The line (truncated at 2 KiB).")


class LogCursor(WireModel):
    """Where log mirroring stands. Records become searchable late, so each read ends a
    settle time before now and the next starts where it ended (the watermark); records
    re-read by the optional overlap are skipped by id."""

    last_time: datetime | None = Field(default=None, description="Newest record time mirrored.")
    watermark: datetime | None = Field(
        default=None, description="Records before this time were read after they settled."
    )
    floor: datetime | None = Field(
        default=None,
        description="Records before this time are not mirrored (ids had to be dropped).",
    )
    ids: (
        Annotated[list[Annotated[str, Field(max_length=256)]], Field(max_length=LOG_CURSOR_IDS)]
        | None
    ) = Field(default=None, description="Record ids mirrored in the overlap re-read window.")
    steps: int | None = Field(
        default=None,
        ge=0,
        description="Log steps of this attempt whose Events exist; later ones are found by"
        " the step Events they created first.",
    )


class PendingLogEvent(WireModel):
    """A log-line Event persisted before it is created (write-ahead): after a crash the
    operator creates it again under the same name, which is a no-op if it exists."""

    name: str = Field(max_length=253, description="Event name (derived from the record ids).")
    reason: str = Field(max_length=128, description="Event reason, e.g. LogLines.")
    message: str = Field(max_length=4096, description="Event message (the log lines).")
    warning: bool | None = Field(default=None, description="A Warning (not Normal) Event.")


class DataScienceJobRunStatus(StatusModel):
    """What the operator last observed of the run (OCI's words plus a normalised phase)."""

    ocid: str | None = Field(default=None, max_length=MAX_OCID, description="OCI run OCID.")
    job_ocid: str | None = Field(
        default=None, max_length=MAX_OCID, description="OCID of the job it runs."
    )
    display_name: str | None = Field(default=None, max_length=255, description="Run name.")
    lifecycle_state: str | None = Field(
        default=None, max_length=64, description="OCI lifecycle state, e.g. IN_PROGRESS."
    )
    lifecycle_details: str | None = Field(
        default=None, max_length=4096, description="OCI's lifecycle details."
    )
    phase: Phase | None = Field(
        default=None, description="Pending, Running, Succeeded, Failed or Canceled."
    )
    exit_code: int | None = Field(default=None, description="Exit code once finished.")
    time_accepted: datetime | None = Field(default=None, description="Accepted by OCI.")
    time_started: datetime | None = Field(default=None, description="Started running.")
    time_finished: datetime | None = Field(default=None, description="Finished.")
    duration: str | None = Field(
        default=None, max_length=32, description="Run time so far or in total, e.g. 1m23s."
    )
    log_group_id: str | None = Field(default=None, max_length=MAX_OCID, description="Log group.")
    log_id: str | None = Field(default=None, max_length=MAX_OCID, description="Log.")
    log_tail: Annotated[list[LogLine], Field(max_length=LOG_TAIL_LINES)] | None = Field(
        default=None, description="The last log lines (the OCI log is the full record)."
    )
    log_cursor: LogCursor | None = Field(default=None, description="Log mirroring position.")
    log_pending: Annotated[list[PendingLogEvent], Field(max_length=LOG_PENDING_EVENTS)] | None = (
        Field(default=None, description="Log Events persisted but maybe not yet created.")
    )
    log_lines_not_mirrored: int | None = Field(
        default=None,
        ge=0,
        description="Log lines of this run (all attempts) not shown as Events because of the"
        " Event rate limits; the OCI log (logId) has them all: kubectl ads logs <run>.",
    )
    console_url: str | None = Field(default=None, max_length=2048, description="OCI console.")
    progress: str | None = Field(
        default=None, max_length=32, description="Latest ADS_PROGRESS marker: 42/100 or 37.5%."
    )
    progress_percent: int | None = Field(
        default=None, ge=0, le=100, description="The same as a whole percentage."
    )
    attempt: int | None = Field(
        default=None, ge=1, description="Number of the current attempt (runPolicy.backoffLimit)."
    )
    create_requested: int | None = Field(
        default=None,
        ge=1,
        description="Attempt whose CreateJobRun was sent before its OCID was stored; the"
        " next pass looks that run up before creating one.",
    )
    attempts: Attempts | None = Field(
        default=None, description="Earlier attempts, each its own OCI run, oldest first."
    )
    observed_generation: int | None = observed_generation_field()
    conditions: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] | None = Field(
        default=None,
        description="Ready, Synced, Succeeded, Failed (kubectl wait --for=condition=...).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
