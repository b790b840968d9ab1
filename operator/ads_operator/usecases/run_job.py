"""What a run needs from around it: its job (Ready, its spec, its OCI job), its
effective runPolicy, its credentials, a slot under the namespace's active-run cap, and
the context its passes run in (:func:`build_context`, wired to Kubernetes here)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ads_operator import metrics
from ads_operator.kube.port import ObjectReference, Resource
from ads_operator.models import (
    JOB_PLURAL,
    RUN_PLURAL,
    DataScienceJobRunSpec,
    DataScienceJobSpec,
    RunPolicy,
)
from ads_operator.models.conditions import ConditionWire
from ads_operator.models.oci_records import LogRecord, OciJob
from ads_operator.models.run_wire import RunStatusWire
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import admission, policy
from ads_operator.reconcile.conditions import get_condition, is_true
from ads_operator.reconcile.events import LOG_REASON, plan_named_events
from ads_operator.reconcile.identity import foreign_owner
from ads_operator.reconcile.log_batches import PendingEvent, once_name
from ads_operator.usecases.credentials import port_for, raw_secret
from ads_operator.usecases.operator import Operator
from ads_operator.usecases.run_executor import URGENT_KEYS, JobInfo, RunContext, Waiting


async def secret_of_run(op: Operator, spec: DataScienceJobRunSpec, namespace: str) -> str | None:
    """The Secret a run's credentials come from: its own authSecretRef, else its job's."""
    if spec.auth_secret_ref is not None:
        return spec.auth_secret_ref.name
    if spec.job_ref is None:
        return None
    job = await job_body(op, namespace, spec.job_ref.name)
    return raw_secret(dict((job or {}).get("spec") or {}))


async def run_policy_of(
    op: Operator, spec: DataScienceJobRunSpec, namespace: str
) -> RunPolicy | None:
    """The run's runPolicy over its job's defaults; None when neither sets one."""
    defaults: RunPolicy | None = None
    if spec.job_ref is not None:
        job = await job_body(op, namespace, spec.job_ref.name)
        raw = ((job or {}).get("spec") or {}).get("runPolicy")
        if raw:
            try:
                defaults = RunPolicy.model_validate(raw)
            except ValidationError:
                defaults = None  # the job reports its own invalid spec
    if spec.run_policy is None and defaults is None:
        return None
    return policy.effective(spec.run_policy, defaults)


@dataclass
class RunWiring:
    """:class:`~ads_operator.usecases.run_context.RunKube` over the apiserver: the run's
    status patches, its Events, and the namespace's admission slots."""

    op: Operator
    port: OciPort
    spec: DataScienceJobRunSpec
    namespace: str
    name: str
    uid: str
    involved: ObjectReference
    #: The run's status as its passes keep it (metrics count the whole of it).
    status: RunStatusWire

    async def persist(
        self, patch: RunStatusWire, conditions_from: list[ConditionWire] | None = None
    ) -> list[ConditionWire] | None:
        written = await self.op.kube.patch_status(
            RUN_PLURAL,
            self.namespace,
            self.name,
            dict(patch),
            urgent=not URGENT_KEYS.isdisjoint(patch),  # a new state: ahead of log cursors
            conditions_from=conditions_from,
        )
        metrics.record_run(self.uid, self.namespace, self.status)  # patches are partial
        metrics.state_written(patch, self.status)
        return written

    async def post(self, reason: str, message: str, warning: bool) -> None:
        # Once per attempt, reason and message: a pass retried after a failed save posts
        # its state change again, and the fixed name makes that the same Event.
        name = once_name(self.name, self.uid, str(policy.attempt_of(self.status)), reason, message)
        await self.op.events.post(
            self.involved, reason=reason, message=message, warning=warning, name=name
        )

    def plan_lines(self, records: Sequence[LogRecord]) -> tuple[list[PendingEvent], int]:
        op = self.op
        planned, dropped = plan_named_events(
            records, run_name=self.name, run_uid=self.uid, limiter=op.limiter, settings=op.settings
        )
        lines = tuple(e.message for e in planned if e.reason == LOG_REASON)
        metrics.log_lines(mirrored=metrics.lines_in(lines), dropped=dropped)
        return planned, dropped

    async def post_events(self, pending: Sequence[PendingEvent]) -> list[PendingEvent]:
        """Creates a step's Events at once, not one after another: the step holds one of
        the few log-write slots (``Operator.log_lane``) meanwhile, and at a thousand
        runs the steps queued for those slots were most of a line's lag. Each Event's
        time is taken in order as its body is built, before the first is sent."""
        posted = await asyncio.gather(
            *(self.op.events.post_named(self.involved, event) for event in pending)
        )
        return [event for event, ok in zip(pending, posted, strict=True) if not ok]

    async def step_record(self, name: str) -> str | None:
        return await self.op.events.step_record(self.namespace, name)

    async def resolve_job(self) -> JobInfo | Waiting:
        return await resolve_job(self.op, self.port, self.spec, self.namespace)

    async def admit(self) -> Waiting | None:
        op, namespace = self.op, self.namespace
        cap = op.settings.max_active_runs_per_namespace
        async with op.admission_lock:  # one decision at a time: each sees the last one's slot
            runs = await op.kube.list_resources(RUN_PLURAL, namespace)
            ready = {
                j["metadata"]["name"]
                for j in await op.kube.list_resources(JOB_PLURAL, namespace)
                if is_true((j.get("status") or {}).get("conditions"), "Ready")
            }
            booked = op.reservations.of(namespace)
            decision = admission.admit(
                runs, uid=self.uid, cap=cap, reserved=booked, ready_jobs=ready
            )
            if decision.allowed:
                booked.add(self.uid)
                return None
        return Waiting(admission.REASON, decision.message(cap))


async def build_context(
    op: Operator,
    body: Any,
    spec: DataScienceJobRunSpec,
    status: RunStatusWire,
    namespace: str,
    name: str,
    uid: str,
    involved: ObjectReference,
) -> RunContext:
    """The context of a run's passes: its job's credentials and region decide its port."""
    job = None
    if spec.job_ref is not None:
        job = await job_body(op, namespace, spec.job_ref.name)
    job_spec = dict((job or {}).get("spec") or {})
    secret = spec.auth_secret_ref.name if spec.auth_secret_ref else raw_secret(job_spec)
    region = spec.region or job_spec.get("region")
    port = await port_for(op, namespace, secret, region)
    return RunContext(
        namespace=namespace,
        name=name,
        uid=uid,
        generation=body["metadata"].get("generation"),
        spec=spec,
        status=status,
        settings=op.settings,
        port=port,
        kube=RunWiring(op, port, spec, namespace, name, uid, involved, status),
        now=op.now,
        region=region or op.settings.region,
        headroom=op.headroom,
        log_fresh=op.log_fresh,
        log_settle=op.log_settle,
        log_lane=op.log_lane,
    )


async def resolve_job(
    op: Operator, port: OciPort, spec: DataScienceJobRunSpec, namespace: str
) -> JobInfo | Waiting:
    """The job to run: a DataScienceJob of this namespace that is Ready, or an OCI job by
    OCID that no other namespace of this cluster owns."""
    if spec.job_ref is not None:
        ref = spec.job_ref.name
        job = await job_body(op, namespace, ref)
        if job is None:
            return Waiting("JobNotFound", f"DataScienceJob {ref!r} not found in {namespace!r}")
        jstatus = job.get("status") or {}
        broken = _terminal_now(job)
        if broken is not None:
            return Waiting(
                str(broken.get("reason") or "JobTerminal"),
                f"DataScienceJob {ref!r} cannot run: {broken.get('message') or 'Terminal'}",
                terminal=True,
            )
        if not jstatus.get("ocid") or not is_true(jstatus.get("conditions"), "Ready"):
            ready = get_condition(jstatus.get("conditions"), "Ready") or {}
            why = f" ({ready['reason']}: {ready.get('message') or ''})" if ready else ""
            return Waiting("WaitingForJob", f"DataScienceJob {ref!r} is not Ready yet{why}")
        try:
            job_spec = DataScienceJobSpec.model_validate(job.get("spec") or {})
        except ValidationError:
            return Waiting("WaitingForJob", f"DataScienceJob {ref!r} has an invalid spec")
        infra = job_spec.infrastructure.spec if job_spec.infrastructure else None
        oci_job = await _shared_job(op, port, str(jstatus["ocid"]))
        return JobInfo(
            ocid=oci_job.id,
            compartment_id=(infra and infra.compartment_id) or oci_job.compartment_id,
            project_id=(infra and infra.project_id) or oci_job.project_id,
            spec=job_spec,
            display_name=oci_job.display_name or None,
        )
    assert spec.job_id is not None
    oci_job = await _shared_job(op, port, spec.job_id)
    owner = foreign_owner(
        oci_job.freeform_tags, namespace=namespace, cluster_id=op.settings.cluster_id
    )
    if owner is not None:
        return Waiting(
            "JobOfOtherNamespace",
            f"OCI job {spec.job_id} belongs to a DataScienceJob in namespace {owner!r};"
            " a run may only use jobs of its own namespace",
            terminal=True,
        )
    if oci_job.lifecycle_state != "ACTIVE":
        return Waiting("WaitingForJob", f"OCI job {spec.job_id} is {oci_job.lifecycle_state}")
    return JobInfo(
        ocid=oci_job.id,
        compartment_id=oci_job.compartment_id,
        project_id=oci_job.project_id,
        display_name=oci_job.display_name or None,
    )


def _terminal_now(job: Resource) -> Mapping[str, Any] | None:
    """The job's ``Terminal=True`` condition when it is about the job's current spec.

    A condition written for an older generation may be about a spec that was just fixed
    (job and run applied together): the job's handler has yet to look at the new one."""
    cond = get_condition((job.get("status") or {}).get("conditions"), "Terminal")
    if cond is None or cond.get("status") != "True":
        return None
    generation = (job.get("metadata") or {}).get("generation")
    if generation is not None and cond.get("observedGeneration") != generation:
        return None
    return cond


async def job_body(op: Operator, namespace: str, name: str) -> Resource | None:
    """The DataScienceJob a run names, read once for all the runs that ask within a
    moment (a run's start reads it three times, and a thousand runs start together).
    The body is shared: callers never change it."""
    return await op.job_bodies.get(
        (namespace, name), lambda: op.kube.get_resource(JOB_PLURAL, namespace, name)
    )


async def _shared_job(op: Operator, port: OciPort, job_ocid: str) -> OciJob:
    """GetJob, asked once for all the runs of a job that are created together."""
    return await op.jobs.get((id(port), job_ocid), lambda: port.get_job(job_id=job_ocid))
