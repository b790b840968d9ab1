"""The operator's second line of tenancy enforcement: read the policy and the namespace's
labels, ask :mod:`ads_operator.reconcile.tenancy`. Single-tenant mode reads nothing.

Called by the job and run use cases after the spec parsed and before any OCI call; a
refusal is Terminal there (reason ``TenancyPolicy``). The policy is read at every pass,
not cached: a tightened policy applies to the next pass, and a removed one denies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec
from ads_operator.models.run_wire import RunStatusWire
from ads_operator.models.tenancy import POLICY_NAME, TENANCY_PLURAL, DataScienceTenancyPolicySpec
from ads_operator.reconcile import outcomes, tenancy
from ads_operator.usecases.failures import report_run
from ads_operator.usecases.operator import Operator

#: The reason of the Terminal condition a refusal leaves.
REASON = "TenancyPolicy"


async def _policy(op: Operator) -> DataScienceTenancyPolicySpec | None:
    raw = await op.kube.get_cluster_resource(TENANCY_PLURAL, POLICY_NAME)
    try:
        return DataScienceTenancyPolicySpec.model_validate((raw or {})["spec"])
    except (KeyError, ValidationError):
        return None  # missing or unreadable: denies, never allows


async def job_refusal(op: Operator, namespace: str, spec: DataScienceJobSpec) -> str | None:
    """Why the policy refuses this job, or None (also in single-tenant mode)."""
    if not op.settings.multi_tenant:
        return None
    labels = await op.kube.namespace_labels(namespace)
    return tenancy.job_refusal(await _policy(op), namespace, labels, spec)


async def run_refusal(op: Operator, namespace: str, spec: DataScienceJobRunSpec) -> str | None:
    """Why the policy refuses this run's own choices, or None."""
    if not op.settings.multi_tenant:
        return None
    labels = await op.kube.namespace_labels(namespace)
    return tenancy.run_refusal(await _policy(op), namespace, labels, spec)


async def refused_run(
    op: Operator, body: Mapping[str, Any], status: RunStatusWire, spec: DataScienceJobRunSpec
) -> bool:
    """True when the policy refuses the run: then it is reported Terminal (its status and
    an Event say why) and the run's daemon ends without an OCI call."""
    refused = await run_refusal(op, body["metadata"]["namespace"], spec)
    if refused is None:
        return False
    terminal = outcomes.Terminal(REASON, refused)
    await report_run(op, body, status, terminal, body["metadata"])
    return True
