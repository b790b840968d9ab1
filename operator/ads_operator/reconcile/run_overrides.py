"""What a run's overrides need of its job, judged before any OCI call.

The CRD schema sees only the run. Whether its job is multi-node (it then takes a node
override, not an infrastructure one) and which node groups the job has are the job's, so
they are checked here once the job is known. A run whose overrides its job cannot take
fails Terminal with the message, and no OCI run is created: OCI would refuse it, or
quietly ignore an override of a group the job does not have.
"""

from __future__ import annotations

from typing import Final

from ads_operator.ads.job_parts import NODE_GROUP_NAME
from ads_operator.ads.spec_values import is_multi_node
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.reconcile.run_step import JobInfo, Waiting

#: The Terminal reason of a run whose overrides do not fit its job.
REASON: Final = "OverrideNotApplicable"


def override_problem(job: DataScienceJobSpec | None, run: DataScienceJobRunSpec) -> str | None:
    """Why ``run``'s overrides cannot apply to ``job``; None when they can (or when the
    job is known only by OCID, whose layout OCI judges)."""
    if job is None or job.runtime is None:
        return None
    infra = run.job_infrastructure_configuration_override_details
    nodes = run.job_node_configuration_override_details
    if is_multi_node(job):
        if infra is not None:
            return (
                "jobInfrastructureConfigurationOverrideDetails is for single-node jobs and"
                f" this job runs {job.rt.spec.replicas} replicas: override its node group's"
                " jobInfrastructureConfigurationDetails in jobNodeConfigurationOverrideDetails"
            )
        unknown = (
            [
                g.name
                for g in nodes.job_node_group_configuration_details_list
                if g.name != NODE_GROUP_NAME
            ]
            if nodes is not None
            else []
        )
        if unknown:
            return (
                f"jobNodeConfigurationOverrideDetails names node group {unknown[0]!r}; the job's"
                f" only group is {NODE_GROUP_NAME!r}"
            )
    elif nodes is not None:
        return (
            "jobNodeConfigurationOverrideDetails is for multi-node jobs and this job runs on"
            " one node: use jobInfrastructureConfigurationOverrideDetails"
        )
    return None


def usable_job(job: JobInfo | Waiting, run: DataScienceJobRunSpec) -> JobInfo | Waiting:
    """The job looked up for ``run``, or why the run can never start on it (Terminal)."""
    if isinstance(job, JobInfo):
        problem = override_problem(job.spec, run)
        if problem is not None:
            return Waiting(REASON, problem, terminal=True)
    return job
