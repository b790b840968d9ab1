"""Deleting a DataScienceJob: per ``deletionPolicy``, cancel the active runs of its OCI
jobs (current and retired), then delete each job with its runs; ``Orphan`` leaves OCI
alone. The resource keeps kopf's finalizer until OCI says the jobs are gone.

A run may live in another compartment than its job (the run resource's
``spec.compartmentId``), and ListJobRuns lists one compartment: the runs are looked for in
each job's own compartment and in those its run resources name (:func:`run_compartments`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Final

from ads_operator.kube.events import reference
from ads_operator.kube.port import KubeError, Resource
from ads_operator.models import RUN_PLURAL, DataScienceJobStatus, DeletionPolicy
from ads_operator.models.oci_errors import NotAuthorizedError, NotFoundError, OciError
from ads_operator.models.oci_records import OciJob, OciJobRun
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
    runs = await op.kube.list_resources(RUN_PLURAL, namespace)
    try:
        port = await port_for(op, namespace, raw_secret(raw), raw.get("region"))
        name = body["metadata"]["name"]
        done, notes = await delete_jobs(port, ocids, run_compartments(runs, name, ocids))
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


def run_compartments(runs: Iterable[Resource], name: str, ocids: Collection[str]) -> set[str]:
    """The compartments the job's run resources put their OCI runs in when not the job's
    (``spec.compartmentId``); a run resource is the job's by ``jobRef``, ``jobId`` or the
    OCI job it ran on (``status.jobOcid``)."""
    found: set[str] = set()
    for run in runs:
        spec = run.get("spec") or {}
        where = spec.get("compartmentId")
        if not where:
            continue
        ran_on = (run.get("status") or {}).get("jobOcid")
        if (spec.get("jobRef") or {}).get("name") == name or {spec.get("jobId"), ran_on} & {*ocids}:
            found.add(str(where))
    return found


async def runs_of(port: OciPort, job: OciJob, compartments: Collection[str]) -> list[OciJobRun]:
    """The job's OCI runs in its own compartment and in ``compartments``. Another
    compartment these credentials cannot list is passed over (a run resource may name one
    it was refused): a run there that is still active makes DeleteJob fail, tried again."""
    runs = await port.list_job_runs(compartment_id=job.compartment_id, job_id=job.id)
    for where in sorted(set(compartments) - {job.compartment_id}):
        with contextlib.suppress(NotFoundError, NotAuthorizedError):
            runs += await port.list_job_runs(compartment_id=where, job_id=job.id)
    return runs


async def delete_jobs(
    port: OciPort, ocids: list[str], compartments: Collection[str] = ()
) -> tuple[bool, list[tuple[str, str]]]:
    """Cancel active runs, then delete each job with its runs. True once all are gone.
    ``compartments``: where runs may be besides their job's compartment."""
    done = True
    events: list[tuple[str, str]] = []
    for ocid in ocids:
        job = await get_job_or_none(port, ocid)
        if job is None or job.lifecycle_state in JOB_GONE:
            continue
        done = False
        if job.lifecycle_state == "DELETING":
            continue
        active = [
            r for r in await runs_of(port, job, compartments) if r.lifecycle_state in RUN_ACTIVE
        ]
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
