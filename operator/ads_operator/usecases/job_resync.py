"""The job's timer: refresh the OCI state, delete retired OCI jobs once nothing uses them,
apply the run history limits, count the runs.

A retired job (replaced by a new spec, or left by ``spec.id``) stays while any run
resource refers to it: deleting an OCI job deletes its runs, the records (state, logs,
console links) those resources show. Their history limits and TTLs decide when they go,
then the job goes, once OCI lists no active run of it (in its compartment and in those
its run resources override it with).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from ads_operator.kube.events import reference
from ads_operator.kube.port import KubeError, Resource, StatusPatch, update_status
from ads_operator.models import JOB_PLURAL, RUN_PLURAL, DataScienceJobStatus
from ads_operator.models.oci_errors import NotFoundError, OciError, RetryableError
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import history, job_conditions
from ads_operator.reconcile.lifecycle import JOB_DELETING, JOB_GONE, RUN_ACTIVE
from ads_operator.usecases import api_trouble
from ads_operator.usecases.credentials import port_for, raw_secret
from ads_operator.usecases.job_delete import run_compartments, runs_of
from ads_operator.usecases.job_executor import get_job_or_none
from ads_operator.usecases.operator import Operator

log = logging.getLogger(__name__)
Notes = list[tuple[str, str]]


async def resync(op: Operator, body: Mapping[str, Any]) -> None:
    """Refresh OCI state, delete retired jobs once their runs finished, count runs.
    Nothing is written when nothing moved; an OCI failure waits for the next tick."""
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    status = DataScienceJobStatus.parse(body.get("status"))
    if not status.ocid:
        return
    raw = dict(body.get("spec") or {})
    notes: Notes = []  # Events of what was done, posted even when the pass fails after it
    try:
        port = await port_for(op, namespace, raw_secret(raw), raw.get("region"))
        job = await port.get_job(job_id=status.ocid)
        runs = await op.kube.list_resources(RUN_PLURAL, namespace)
        if status.retired_ocids:
            notes += await retire(op, port, namespace, name, runs)
        runs, pruned = await prune_history(op, raw, runs, namespace, name)
        notes += pruned
        conditions = status.condition_dicts()
        if job.lifecycle_state != status.lifecycle_state:
            rules = job_conditions.resynced(conditions, job.lifecycle_state, job.lifecycle_details)
            conditions = job_conditions.apply(conditions, rules, now=op.now())
        after = status.updated(
            lifecycle_state=job.lifecycle_state,
            lifecycle_details=job.lifecycle_details or None,
            runs=history.run_summary(runs, name),
            conditions=conditions or None,
        )
        patch = after.patch_from(status)
        if patch:
            stored = (body.get("status") or {}).get("conditions") or []
            await op.kube.patch_status(JOB_PLURAL, namespace, name, patch, conditions_from=stored)
    except OciError as exc:
        log.warning("resync of %s/%s: %s", namespace, name, exc.summary())
    except KubeError as exc:  # after the adapter's retries: said, and the next tick redoes it
        interval = op.settings.job_resync_interval
        await api_trouble.report(op, body, exc, retry=0, doing="resyncing", next_in=interval)
    for reason, message in notes:
        await op.events.post(reference(body), reason=reason, message=message)


async def retire(
    op: Operator,
    port: OciPort,
    namespace: str,
    name: str,
    runs: list[Resource],
) -> Notes:
    """Delete the retired jobs no run resource refers to any more; their Events.

    The reconcile handler may retire another job, or make a retired one current again
    (a spec edited back), while this timer runs: the list is read fresh just before, a
    job current again is never deleted, and the list is written back only onto the
    version it was read from (read again after a conflict).
    """
    fresh = await op.kube.get_resource(JOB_PLURAL, namespace, name)
    current = DataScienceJobStatus.parse((fresh or {}).get("status"))
    retired = [o for o in current.retired_ocids or [] if o != current.ocid]
    kept, notes = await retire_jobs(
        port, retired, run_compartments(runs, name, retired), in_use=referenced_jobs(runs)
    )
    gone = set(retired) - set(kept)

    def without_gone(status: Mapping[str, Any]) -> StatusPatch:
        listed = DataScienceJobStatus.parse(status).retired_ocids or []
        return {"retiredOcids": [o for o in listed if o not in gone] or None}

    if gone:  # still racing after three reads: the next tick writes it
        try:
            await update_status(op.kube, JOB_PLURAL, namespace, name, without_gone)
        except KubeError as exc:  # so does it then; the jobs deleted keep their Events
            log.warning("retired jobs of %s/%s not written: %s", namespace, name, exc)
    return notes


def referenced_jobs(runs: list[Resource]) -> set[str]:
    """The OCI jobs that run resources (finished or not) refer to."""
    return {str(ocid) for r in runs if (ocid := (r.get("status") or {}).get("jobOcid"))}


async def retire_jobs(
    port: OciPort,
    retired: list[str],
    compartments: Collection[str] = (),
    *,
    in_use: Collection[str] = (),
) -> tuple[list[str], Notes]:
    """Delete retired OCI jobs without an active run; returns those kept.

    Runs are looked for in each job's own compartment (a job retired by a new
    compartment is in the old one) and in ``compartments``. A DeleteJob refused with a 409
    (an active run these could not list) keeps the job for a later tick rather than
    failing the whole pass.

    ``in_use`` are jobs that run resources refer to: their OCI runs are the records those
    resources show (state, logs, console links), so the job, whose deletion deletes its
    runs, stays until the last such resource is gone.
    """
    kept: list[str] = []
    notes: Notes = []
    for ocid in retired:
        if ocid in in_use:
            kept.append(ocid)
            continue
        job = await get_job_or_none(port, ocid)
        if job is None or job.lifecycle_state in JOB_GONE | JOB_DELETING:
            continue
        try:
            if any(r.lifecycle_state in RUN_ACTIVE for r in await runs_of(port, job, compartments)):
                kept.append(ocid)
                continue
            await port.delete_job(job_id=ocid, delete_related_job_runs=True)
            notes.append(("Retired", f"Deleted retired OCI job {ocid}"))
        except NotFoundError:
            continue
        except RetryableError as exc:
            if exc.status != 409:
                raise
            kept.append(ocid)
    return kept, notes


async def prune_history(
    op: Operator, raw: Mapping[str, Any], runs: list[Resource], namespace: str, name: str
) -> tuple[list[Resource], Notes]:
    """Delete finished runs beyond the job's history limits; the runs left, and Events."""
    victims = history.to_delete(
        runs,
        name,
        successful_limit=raw.get("successfulRunsHistoryLimit"),
        failed_limit=raw.get("failedRunsHistoryLimit"),
    )
    notes: Notes = []
    gone: set[str] = set()
    for victim in victims:
        try:
            deleted = await op.kube.delete_resource(RUN_PLURAL, namespace, victim.name, victim.uid)
        except Exception as exc:  # e.g. no delete right: the summary must still be written
            log.warning(
                "history limit: could not delete run %s/%s: %s", namespace, victim.name, exc
            )
            continue
        if deleted:
            notes.append(
                (
                    "HistoryLimit",
                    f"Deleted {victim.phase} run {victim.name}: over the history limit",
                )
            )
        gone.add(victim.uid)
    return [r for r in runs if r["metadata"].get("uid") not in gone], notes
