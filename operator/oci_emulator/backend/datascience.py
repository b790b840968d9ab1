"""Data Science (20190101): jobs, job artifacts, job runs, shapes and work requests.

Business rules only; the HTTP layer parses requests and serialises what these methods
return. Run progression after creation belongs to the run driver (:mod:`oci_emulator.runs`),
reached through :class:`RunControl`.

Job lifecycle decisions (documented in docs/emulator.md):
- a job with a container environment (BYOC) or a multi-node job is ACTIVE immediately,
  because the service needs no artifact for it;
- any other job stays CREATING until its artifact is uploaded, then becomes ACTIVE.
"""

from __future__ import annotations

from typing import Any

from oci_emulator import ids, lifecycle, validation
from oci_emulator.backend.context import Caller, RunControl, Scheduler
from oci_emulator.backend.logmanagement import LoggingBackend
from oci_emulator.backend.store import Store, StoredBlob
from oci_emulator.backend.workrequests import Affected, WorkRequests
from oci_emulator.errors import (
    Conflict,
    IncorrectState,
    InvalidParameter,
    MissingParameter,
    NoEtagMatch,
    NotAuthorizedOrNotFound,
    RelatedResourceNotAuthorizedOrNotFound,
)
from oci_emulator.multinode import merge_node_configuration
from oci_emulator.settings import Settings

Doc = dict[str, Any]

JOB = "ds.job"
RUN = "ds.jobrun"

JOB_SUMMARY_FIELDS = (
    "id",
    "timeCreated",
    "createdBy",
    "projectId",
    "compartmentId",
    "displayName",
    "lifecycleState",
    "lifecycleDetails",
    "freeformTags",
    "definedTags",
)
RUN_SUMMARY_FIELDS = (
    "id",
    "timeAccepted",
    "timeStarted",
    "timeFinished",
    "createdBy",
    "projectId",
    "compartmentId",
    "jobId",
    "displayName",
    "lifecycleState",
    "lifecycleDetails",
    "freeformTags",
    "definedTags",
)


def _has_container(job: Doc) -> bool:
    """Whether every part of the job runs a container image (then no artifact is needed)."""
    if "jobEnvironmentConfigurationDetails" in job:
        return True
    nodes: Doc = job.get("jobNodeConfigurationDetails") or {}
    groups: list[Doc] = nodes.get("jobNodeGroupConfigurationDetailsList") or []
    return bool(groups) and all("jobEnvironmentConfigurationDetails" in g for g in groups)


def check_etag(doc: Doc, if_match: str | None) -> None:
    """412 NoEtagMatch unless ``if-match`` is absent, ``*`` or the current ETag."""
    if if_match and if_match != "*" and if_match != doc.get("_etag"):
        raise NoEtagMatch(
            f"The if-match ETag {if_match!r} does not match the current ETag of {doc['id']}."
        )


class DataScienceBackend:
    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        settings: Settings,
        logging: LoggingBackend,
        runs: RunControl,
    ) -> None:
        self._store = store
        self._settings = settings
        self._logging = logging
        self.runs = runs
        self.work_requests = WorkRequests(store, scheduler, settings, "ds")
        self.work_requests.actions["JOB_DELETE"] = self._finish_delete

    # -- jobs -----------------------------------------------------------------------------

    def create_job(self, caller: Caller, body: Doc) -> Doc:
        project = validation.require_str(body, "projectId")
        compartment = validation.require_str(body, "compartmentId")
        validation.check_tags(body)
        job: Doc = {
            "id": ids.new_ocid("datasciencejob"),
            "timeCreated": ids.now_iso(),
            "createdBy": caller.user,
            "projectId": project,
            "compartmentId": compartment,
            "displayName": body.get("displayName") or f"job-{ids.now_iso()}",
            "description": body.get("description"),
            "freeformTags": body.get("freeformTags") or {},
            "definedTags": body.get("definedTags") or {},
        }
        node = validation.optional_object(body, "jobNodeConfigurationDetails")
        config = validation.optional_object(body, "jobConfigurationDetails")
        infra = validation.optional_object(body, "jobInfrastructureConfigurationDetails")
        env = validation.optional_object(body, "jobEnvironmentConfigurationDetails")
        if node is not None:
            job["jobNodeConfigurationDetails"] = validation.node_configuration(node)
            job["jobConfigurationDetails"] = {"jobType": "EMPTY"}
            job["jobInfrastructureConfigurationDetails"] = {"jobInfrastructureType": "EMPTY"}
        else:
            if config is None:
                raise MissingParameter("jobConfigurationDetails is required for a single-node job.")
            if infra is None:
                raise MissingParameter(
                    "jobInfrastructureConfigurationDetails is required for a single-node job."
                )
            job["jobConfigurationDetails"] = validation.job_configuration(config)
            job["jobInfrastructureConfigurationDetails"] = validation.infrastructure(infra)
            if job["jobInfrastructureConfigurationDetails"]["jobInfrastructureType"] in (
                "EMPTY",
                "MULTI_NODE",
            ):
                raise InvalidParameter(
                    "jobInfrastructureType EMPTY or MULTI_NODE needs jobNodeConfigurationDetails."
                )
        if env is not None:
            job["jobEnvironmentConfigurationDetails"] = validation.environment(env)
        log_config = validation.optional_object(body, "jobLogConfigurationDetails")
        if log_config is not None:
            job["jobLogConfigurationDetails"] = self._checked_log_config(log_config)
        mounts = body.get("jobStorageMountConfigurationDetailsList")
        if mounts is not None:
            job["jobStorageMountConfigurationDetailsList"] = validation.storage_mounts(
                mounts, "jobStorageMountConfigurationDetailsList"
            )
        needs_artifact = not _has_container(job)
        job["lifecycleState"] = lifecycle.JOB_CREATING if needs_artifact else lifecycle.JOB_ACTIVE
        if needs_artifact:
            job["lifecycleDetails"] = "Waiting for the job artifact to be uploaded."
        job["_etag"] = ids.new_etag()
        job["_tenancy"] = caller.tenancy
        return self._store.insert(JOB, job, compartment=compartment, parent=project)

    def _checked_log_config(self, block: Doc) -> Doc:
        config = validation.log_configuration(block)
        group_id = config.get("logGroupId")
        if group_id:
            try:
                self._logging.get_log_group(group_id)
            except NotAuthorizedOrNotFound:
                raise RelatedResourceNotAuthorizedOrNotFound(
                    f"Log group {group_id} not found."
                ) from None
        log_id = config.get("logId")
        if log_id:
            log = self._logging.find_log(log_id)
            if log is None or (group_id and log["logGroupId"] != group_id):
                raise RelatedResourceNotAuthorizedOrNotFound(
                    f"Log {log_id} not found in log group {group_id}."
                )
        return config

    def get_job(self, job_id: str) -> Doc:
        job = self._store.get(JOB, job_id)
        if job is None:
            raise NotAuthorizedOrNotFound(f"Job {job_id} not found or not authorized.")
        return job

    def list_jobs(self, compartment: str) -> list[Doc]:
        return self._store.query(JOB, compartment=compartment)

    def update_job(self, job_id: str, body: Doc, if_match: str | None) -> Doc:
        job = self.get_job(job_id)
        check_etag(job, if_match)
        if job["lifecycleState"] in (lifecycle.JOB_DELETING, lifecycle.JOB_DELETED):
            raise IncorrectState(f"Job {job_id} is {job['lifecycleState']} and cannot be updated.")
        validation.check_tags(body)
        for key in ("displayName", "description", "freeformTags", "definedTags"):
            if key in body and body[key] is not None:
                job[key] = body[key]
        infra = validation.optional_object(body, "jobInfrastructureConfigurationDetails")
        if infra is not None:
            job["jobInfrastructureConfigurationDetails"] = validation.infrastructure(infra)
        mounts = body.get("jobStorageMountConfigurationDetailsList")
        if mounts is not None:
            job["jobStorageMountConfigurationDetailsList"] = validation.storage_mounts(
                mounts, "jobStorageMountConfigurationDetailsList"
            )
        job["_etag"] = ids.new_etag()
        return self._store.save(job)

    def delete_job(self, job_id: str, *, delete_runs: bool, if_match: str | None) -> str:
        job = self.get_job(job_id)
        check_etag(job, if_match)
        if job["lifecycleState"] in (lifecycle.JOB_DELETING, lifecycle.JOB_DELETED):
            raise IncorrectState(f"Job {job_id} is already {job['lifecycleState']}.")
        active = [
            r["id"] for r in self._runs_of(job_id) if r["lifecycleState"] in lifecycle.RUN_ACTIVE
        ]
        if active:
            raise IncorrectState(
                f"Job {job_id} has {len(active)} active job run(s) ({', '.join(active[:3])}); "
                "cancel them before deleting the job."
            )
        self._set_job_state(job, lifecycle.JOB_DELETING)
        return self.work_requests.submit(
            operation_type="JOB_DELETE",
            compartment_id=job["compartmentId"],
            affected=Affected("job", job_id, f"/jobs/{job_id}"),
            action_type="DELETED",
            args={"deleteRelatedJobRuns": delete_runs},
        )

    def _finish_delete(self, job_id: str, args: Doc) -> None:
        job = self.get_job(job_id)
        if args.get("deleteRelatedJobRuns"):
            for run in self._runs_of(job_id):
                if run["lifecycleState"] in lifecycle.RUN_FINISHED:
                    self._set_run_state(run, lifecycle.RUN_DELETED)
        self._set_job_state(job, lifecycle.JOB_DELETED)

    def _set_job_state(self, job: Doc, state: str) -> None:
        lifecycle.check_transition(
            lifecycle.JOB_TRANSITIONS, f"Job {job['id']}", job["lifecycleState"], state
        )
        job["lifecycleState"] = state
        job.pop("lifecycleDetails", None)
        job["_etag"] = ids.new_etag()
        self._store.save(job)

    # -- artifacts ------------------------------------------------------------------------

    def create_artifact(
        self, job_id: str, data: bytes, content_disposition: str | None
    ) -> StoredBlob:
        job = self.get_job(job_id)
        if job["lifecycleState"] not in (lifecycle.JOB_CREATING, lifecycle.JOB_ACTIVE):
            raise IncorrectState(f"Job {job_id} is {job['lifecycleState']}; no artifact accepted.")
        if self._store.get_artifact(job_id) is not None:
            raise Conflict(f"Job {job_id} already has an artifact; artifacts cannot be replaced.")
        filename = validation.artifact_filename(content_disposition)
        if not data:
            raise InvalidParameter("The job artifact is empty.")
        blob = StoredBlob(
            name=filename,
            data=data,
            md5=ids.md5_base64(data),
            etag=ids.new_etag(),
            time_ms=ids.now_ms(),
        )
        self._store.put_artifact(job_id, blob)
        if job["lifecycleState"] == lifecycle.JOB_CREATING:
            self._set_job_state(job, lifecycle.JOB_ACTIVE)
        return blob

    def get_artifact(self, job_id: str) -> StoredBlob:
        self.get_job(job_id)
        blob = self._store.get_artifact(job_id)
        if blob is None:
            raise NotAuthorizedOrNotFound(f"Job {job_id} has no artifact.")
        return blob

    # -- job runs -------------------------------------------------------------------------

    def create_job_run(self, caller: Caller, body: Doc) -> Doc:
        project = validation.require_str(body, "projectId")
        compartment = validation.require_str(body, "compartmentId")
        job_id = validation.require_str(body, "jobId")
        validation.check_tags(body)
        job = self._store.get(JOB, job_id)
        if job is None:
            raise RelatedResourceNotAuthorizedOrNotFound(
                f"Job {job_id} not found or not authorized."
            )
        if job["lifecycleState"] != lifecycle.JOB_ACTIVE:
            raise IncorrectState(
                f"Job {job_id} is {job['lifecycleState']}; runs can only start from an ACTIVE job"
                + (" (upload its artifact first)." if job["lifecycleState"] == "CREATING" else ".")
            )
        if not _has_container(job) and self._store.get_artifact(job_id) is None:
            raise IncorrectState(f"Job {job_id} has no artifact; upload one before starting runs.")
        run: Doc = {
            "id": ids.new_ocid("datasciencejobrun"),
            "timeAccepted": ids.now_iso(),
            "createdBy": caller.user,
            "projectId": project,
            "compartmentId": compartment,
            "jobId": job_id,
            "displayName": body.get("displayName") or f"{job.get('displayName', 'job')}-run",
            "freeformTags": body.get("freeformTags") or {},
            "definedTags": body.get("definedTags") or {},
            "lifecycleState": lifecycle.RUN_ACCEPTED,
            "lifecycleDetails": lifecycle.ACCEPTED_DETAILS[0],
        }
        run.update(self._effective_run_config(job, body))
        if "jobNodeConfigurationDetails" in job:
            run["_nodeConfig"] = merge_node_configuration(
                job["jobNodeConfigurationDetails"], run.get("jobNodeConfigurationOverrideDetails")
            )
            run["nodeGroupDetailsList"] = [
                {"name": g["name"], "lifecycleState": "CREATING"}
                for g in run["_nodeConfig"]["jobNodeGroupConfigurationDetailsList"]
            ]
        log_config = run.get("jobLogConfigurationOverrideDetails")
        if log_config and log_config.get("enableLogging"):
            run["logDetails"] = self._run_log_details(caller, log_config, run)
        run["_etag"] = ids.new_etag()
        run["_tenancy"] = caller.tenancy
        self._store.insert(RUN, run, compartment=compartment, parent=job_id)
        self.runs.start(run["id"])
        return run

    def _effective_run_config(self, job: Doc, body: Doc) -> Doc:
        """The run's effective configuration: the job's blocks with the run's overrides."""
        out: Doc = {}
        config = dict(job["jobConfigurationDetails"])
        override = validation.optional_object(body, "jobConfigurationOverrideDetails")
        if override is not None:
            checked = validation.job_configuration(override, "jobConfigurationOverrideDetails.")
            if checked["jobType"] == "DEFAULT":
                env = dict(config.get("environmentVariables") or {})
                env.update(checked.get("environmentVariables") or {})
                config = {**config, **checked}
                if env:
                    config["environmentVariables"] = env
        out["jobConfigurationOverrideDetails"] = config
        infra = validation.optional_object(body, "jobInfrastructureConfigurationOverrideDetails")
        if infra is not None:
            checked_infra = validation.infrastructure(
                infra, "jobInfrastructureConfigurationOverrideDetails."
            )
            out["jobInfrastructureConfigurationOverrideDetails"] = checked_infra
            out["jobInfrastructureConfigurationDetails"] = checked_infra
        else:
            out["jobInfrastructureConfigurationDetails"] = dict(
                job["jobInfrastructureConfigurationDetails"]
            )
        env_override = validation.optional_object(
            body, "jobEnvironmentConfigurationOverrideDetails"
        )
        if env_override is not None:
            out["jobEnvironmentConfigurationOverrideDetails"] = validation.environment(
                env_override, "jobEnvironmentConfigurationOverrideDetails."
            )
        elif "jobEnvironmentConfigurationDetails" in job:
            out["jobEnvironmentConfigurationOverrideDetails"] = dict(
                job["jobEnvironmentConfigurationDetails"]
            )
        log_override = validation.optional_object(body, "jobLogConfigurationOverrideDetails")
        if log_override is not None:
            out["jobLogConfigurationOverrideDetails"] = self._checked_log_config(log_override)
        elif "jobLogConfigurationDetails" in job:
            out["jobLogConfigurationOverrideDetails"] = dict(job["jobLogConfigurationDetails"])
        mounts = body.get("jobStorageMountConfigurationOverrideDetailsList")
        if mounts is not None:
            out["jobStorageMountConfigurationOverrideDetailsList"] = validation.storage_mounts(
                mounts, "jobStorageMountConfigurationOverrideDetailsList"
            )
        if "jobStorageMountConfigurationDetailsList" in job:
            out["jobStorageMountConfigurationDetailsList"] = job[
                "jobStorageMountConfigurationDetailsList"
            ]
        node = validation.optional_object(body, "jobNodeConfigurationOverrideDetails")
        if node is not None:
            out["jobNodeConfigurationOverrideDetails"] = validation.node_configuration(
                node, "jobNodeConfigurationOverrideDetails."
            )
        return out

    def _run_log_details(self, caller: Caller, log_config: Doc, run: Doc) -> Doc:
        group_id = log_config["logGroupId"]
        log_id = log_config.get("logId")
        if not log_id:
            if not log_config.get("enableAutoLogCreation"):
                raise InvalidParameter(
                    "Logging is enabled without a logId; set enableAutoLogCreation=true."
                )
            log = self._logging.create_log_now(caller, group_id, f"jobrun-{run['id'][-12:]}-logs")
            log_id = log["id"]
        return {"logGroupId": group_id, "logId": log_id}

    def get_job_run(self, run_id: str) -> Doc:
        run = self._store.get(RUN, run_id)
        if run is None:
            raise NotAuthorizedOrNotFound(f"Job run {run_id} not found or not authorized.")
        return run

    def list_job_runs(self, compartment: str) -> list[Doc]:
        """The compartment's runs, shared: the caller reads them and must not change them."""
        return self._store.query_shared(RUN, compartment=compartment)

    def update_job_run(self, run_id: str, body: Doc, if_match: str | None) -> Doc:
        run = self.get_job_run(run_id)
        check_etag(run, if_match)
        if run["lifecycleState"] == lifecycle.RUN_DELETED:
            raise IncorrectState(f"Job run {run_id} is DELETED and cannot be updated.")
        validation.check_tags(body)
        for key in ("displayName", "freeformTags", "definedTags"):
            if key in body and body[key] is not None:
                run[key] = body[key]
        run["_etag"] = ids.new_etag()
        return self._store.save(run)

    def cancel_job_run(self, run_id: str, if_match: str | None) -> None:
        run = self.get_job_run(run_id)
        check_etag(run, if_match)
        if run["lifecycleState"] not in lifecycle.RUN_CANCELABLE:
            raise IncorrectState(
                f"Job run {run_id} is {run['lifecycleState']} and cannot be canceled."
            )
        self.set_run_state(run_id, lifecycle.RUN_CANCELING, lifecycle.CANCELING_DETAILS)
        self.runs.cancel(run_id)

    def delete_job_run(self, run_id: str, if_match: str | None) -> None:
        run = self.get_job_run(run_id)
        check_etag(run, if_match)
        if run["lifecycleState"] == lifecycle.RUN_DELETED:
            raise NotAuthorizedOrNotFound(f"Job run {run_id} is already deleted.")
        if run["lifecycleState"] not in lifecycle.RUN_FINISHED:
            raise IncorrectState(
                f"Job run {run_id} is {run['lifecycleState']}; cancel it before deleting it."
            )
        self._set_run_state(run, lifecycle.RUN_DELETED)

    def set_run_state(self, run_id: str, state: str, details: str | None, **fields: Any) -> Doc:
        """Move a run along its state machine (used by the run driver)."""
        run = self.get_job_run(run_id)
        if state != run["lifecycleState"]:
            lifecycle.check_transition(
                lifecycle.RUN_TRANSITIONS, f"Job run {run_id}", run["lifecycleState"], state
            )
        run["lifecycleState"] = state
        if details is not None:
            run["lifecycleDetails"] = details
        run.update(fields)
        run["_etag"] = ids.new_etag()
        return self._store.save(run)

    def remember(self, run_id: str, *, pid: int) -> None:
        """Record a process of the run (private; the ETag does not change)."""
        run = self.get_job_run(run_id)
        run["_pids"] = [*run.get("_pids", []), pid]
        self._store.save(run)

    def _set_run_state(self, run: Doc, state: str) -> None:
        self.set_run_state(run["id"], state, None)

    def _runs_of(self, job_id: str) -> list[Doc]:
        return self._store.query(RUN, parent=job_id)

    def active_runs(self) -> list[Doc]:
        return [r for r in self._store.query(RUN) if r["lifecycleState"] in lifecycle.RUN_ACTIVE]

    def log_for_run(self, run: Doc) -> Doc | None:
        details = run.get("logDetails")
        if not details:
            return None
        return self._logging.find_log(details["logId"])
