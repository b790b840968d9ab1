"""Deleting a DataScienceJob: per ``deletionPolicy``, cancel the active runs of its OCI
jobs (current and retired), then delete each job with its runs; ``Orphan`` leaves OCI
alone. The resource keeps kopf's finalizer until OCI says the jobs are gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ads_operator.kube.events import reference
from ads_operator.kube.port import KubeError
from ads_operator.models import DataScienceJobStatus, DeletionPolicy
from ads_operator.models.oci_errors import NotFoundError, OciError
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import outcomes
from ads_operator.reconcile.lifecycle import JOB_GONE, RUN_ACTIVE, RUN_CANCELING
from ads_operator.usecases import api_trouble
from ads_operator.usecases.credentials import port_for, raw_secret
from ads_operator.usecases.job_executor import get_job_or_none
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.outcome import Done, Outcome, RetryAfter

#: The retry delay of a deletion whose OCI error is terminal (e.g. a 400): a deletion is
#: never given up (the resource keeps its finalizer), but a terminal error will not pass
#: by itself, so it is asked again only as often as a person could have fixed something.
TERMINAL_DELETE_RETRY: Final = 60.0


async def delete(op: Operator, body: Mapping[str, Any], *, retry: int) -> Outcome:
    """Per deletionPolicy: cancel active runs, delete the OCI jobs with their runs. The
    finalizer stays while the Kubernetes API fails (said on the job, tried again)."""
    try:
        return await _delete(op, body, retry=retry)
    except KubeError as exc:
        return await api_trouble.report(op, body, exc, retry=retry, doing="deleting")


async def _delete(op: Operator, body: Mapping[str, Any], *, retry: int) -> Outcome:
    namespace = body["metadata"]["namespace"]
    raw = dict(body.get("spec") or {})
    status = DataScienceJobStatus.parse(body.get("status"))
    if raw.get("deletionPolicy") == DeletionPolicy.ORPHAN:
        return Done()
    ocids = [o for o in [status.ocid, *(status.retired_ocids or [])] if o]
    if not ocids:
        return Done()
    compartment = ((raw.get("infrastructure") or {}).get("spec") or {}).get("compartmentId")
    try:
        port = await port_for(op, namespace, raw_secret(raw), raw.get("region"))
        if not compartment:
            compartment = (await port.get_job(job_id=ocids[0])).compartment_id
        done, notes = await delete_jobs(port, ocids, compartment)
    except NotFoundError:
        return Done()
    except OciError as exc:
        d = outcomes.disposition(exc, attempt=retry, settings=op.settings)
        delay = d.delay if isinstance(d, outcomes.Retry) else TERMINAL_DELETE_RETRY
        return RetryAfter(delay, d.message)
    for reason, message in notes:
        await op.events.post(reference(body), reason=reason, message=message)
    if not done:
        return RetryAfter(
            op.settings.poll_interval, "waiting for OCI to cancel runs and delete the job"
        )
    return Done()


async def delete_jobs(
    port: OciPort, ocids: list[str], compartment_id: str
) -> tuple[bool, list[tuple[str, str]]]:
    """Cancel active runs, then delete each job with its runs. True once all are gone."""
    done = True
    events: list[tuple[str, str]] = []
    for ocid in ocids:
        job = await get_job_or_none(port, ocid)
        if job is None or job.lifecycle_state in JOB_GONE:
            continue
        done = False
        if job.lifecycle_state == "DELETING":
            continue
        runs = await port.list_job_runs(compartment_id=compartment_id, job_id=ocid)
        active = [r for r in runs if r.lifecycle_state in RUN_ACTIVE]
        for run in active:
            if run.lifecycle_state not in RUN_CANCELING:
                try:
                    await port.cancel_job_run(run_id=run.id)
                    events.append(("CancelingRun", f"Canceling OCI run {run.id} of job {ocid}"))
                except NotFoundError:
                    pass
        if active:
            continue
        try:
            await port.delete_job(job_id=ocid, delete_related_job_runs=True)
            events.append(("Deleting", f"Deleting OCI job {ocid} and its runs"))
        except NotFoundError:
            continue
    return done, events
