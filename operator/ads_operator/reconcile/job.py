"""The job plan: what to do about one DataScienceJob, from desired and observed state.

The desired OCI job is split into two hashes. The *replace hash* covers everything OCI
cannot change on an existing job (runtime, configuration, artifact bytes); when it
changes a new OCI job is made and the old one retired. The *update hash* covers what
UpdateJob accepts (display name, description, infrastructure, storage mounts, tags).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ads_operator.ads.artifacts import Artifact
from ads_operator.models.oci_records import OciJob
from ads_operator.models.wire import CreateJobDetails, UpdateJobDetails, update_details
from ads_operator.reconcile.identity import TAG_SPEC, owned_by
from ads_operator.reconcile.lifecycle import (
    JOB_BROKEN,
    JOB_CREATING,
    JOB_DELETING,
    JOB_GONE,
    JOB_UPDATABLE_FIELDS,
)


@dataclass(frozen=True)
class DesiredJob:
    details: CreateJobDetails
    artifact: Artifact | None
    replace_hash: str
    update_hash: str

    @property
    def spec_hash(self) -> str:
        """What ``status.specHash`` records: both hashes."""
        return f"{self.replace_hash}.{self.update_hash}"

    def update_details(self) -> UpdateJobDetails:
        return update_details(self.details)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def desired_job(
    details: CreateJobDetails, artifact: Artifact | None, provenance: dict[str, str]
) -> DesiredJob:
    fixed = {k: v for k, v in details.items() if k not in JOB_UPDATABLE_FIELDS}
    replace_hash = _digest({"job": fixed, "artifact": artifact.sha256 if artifact else None})
    tags = {**details.get("freeformTags", {}), **provenance, TAG_SPEC: replace_hash}
    full = details.copy()
    full["freeformTags"] = tags
    update_hash = _digest({k: v for k, v in full.items() if k in JOB_UPDATABLE_FIELDS})
    return DesiredJob(full, artifact, replace_hash, update_hash)


def split_hash(spec_hash: str | None) -> tuple[str | None, str | None]:
    if not spec_hash or "." not in spec_hash:
        return spec_hash, None
    replace, _, update = spec_hash.partition(".")
    return replace, update


class JobStep(StrEnum):
    CREATE = "create"  # no usable OCI job: look up by tag, else create
    REPLACE = "replace"  # the spec needs a new OCI job; retire the current one
    UPLOAD = "upload"  # created but the artifact upload did not happen yet
    UPDATE = "update"  # UpdateJob with the updatable fields
    WAIT = "wait"  # CREATING: poll again soon
    FAILED = "failed"  # OCI says FAILED: nothing the operator can fix
    READY = "ready"


def plan_job(
    *,
    desired: DesiredJob,
    recorded_hash: str | None,
    observed: OciJob | None,
    artifact_uploaded: bool,
) -> JobStep:
    """One step towards a Ready job; the executor repeats until READY, FAILED or WAIT."""
    if observed is None or observed.lifecycle_state in JOB_GONE | JOB_DELETING:
        return JobStep.CREATE
    replace, update = split_hash(recorded_hash)
    if replace is not None and replace != desired.replace_hash:
        return JobStep.REPLACE
    if desired.artifact is not None and not artifact_uploaded:
        return JobStep.UPLOAD
    if observed.lifecycle_state in JOB_BROKEN:
        return JobStep.FAILED
    if observed.lifecycle_state in JOB_CREATING:
        return JobStep.WAIT
    if update is not None and update != desired.update_hash:
        return JobStep.UPDATE
    return JobStep.READY


def pick_existing(jobs: list[OciJob], *, uid: str, replace_hash: str) -> OciJob | None:
    """The OCI job a crashed earlier attempt made for this resource and spec, if any."""
    candidates = [
        j
        for j in jobs
        if owned_by(j.freeform_tags, uid=uid)
        and j.freeform_tags.get(TAG_SPEC) == replace_hash
        and j.lifecycle_state not in JOB_GONE | JOB_DELETING | JOB_BROKEN
    ]
    return candidates[0] if candidates else None
