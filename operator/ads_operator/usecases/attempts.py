"""One pass of a run under its runPolicy: deadline, retries, then the plain pass.

:func:`run_with_policy` wraps :func:`~ads_operator.usecases.run_executor.run_once`;
the decisions come from :mod:`ads_operator.reconcile.policy` and are re-derived from
status on every pass, so the kopf daemon can stop and restart anywhere in between.
"""

from __future__ import annotations

import contextlib

from ads_operator.models import RunPolicy
from ads_operator.oci.errors import NotFoundError
from ads_operator.reconcile import policy
from ads_operator.reconcile.lifecycle import is_terminal_phase
from ads_operator.usecases.run_executor import RunContext, run_once


async def _enforce_deadline(ctx: RunContext, rules: RunPolicy) -> bool:
    """Cancel an active attempt past the deadline; end a run that has none. True: ended."""
    now = ctx.now()
    status = ctx.status
    if policy.needs_deadline_cancel(rules, status, now=now):
        with contextlib.suppress(NotFoundError):  # gone already: the next read says how
            await ctx.port.cancel_job_run(run_id=str(status["ocid"]))
        await ctx.post(policy.DEADLINE_REASON, policy.deadline_message(rules), True)
        return False
    if (
        not status.get("ocid")
        and not is_terminal_phase(status.get("phase"))
        and policy.deadline_passed(rules, status, now)
    ):
        await ctx.save(policy.deadline_final(rules, status, now=now, generation=ctx.generation))
        await ctx.post(
            policy.DEADLINE_REASON,
            f"runPolicy.activeDeadlineSeconds ({rules.active_deadline_seconds}s) exceeded"
            f" before attempt {policy.attempt_of(status)} started; no more attempts",
            True,
        )
        return True
    return False


async def run_with_policy(ctx: RunContext) -> float | None:
    """One pass; returns the delay before the next one, or None when the run is over."""
    rules = ctx.run_policy
    if rules is None:
        return await run_once(ctx)
    if await _enforce_deadline(ctx, rules):
        return None
    delay = await run_once(ctx)
    if delay is not None:
        return delay
    now = ctx.now()
    if not policy.will_retry(rules, ctx.status, canceling=bool(ctx.spec.cancel), now=now):
        return None
    start = policy.retry_at(rules, ctx.status)
    if start is not None and start > now:
        return (start - now).total_seconds()
    failed = policy.attempt_of(ctx.status)
    await ctx.save(policy.archive(ctx.status, now=now, generation=ctx.generation))
    await ctx.post(
        policy.RETRY_REASON,
        f"Attempt {failed} failed; starting attempt {failed + 1} of"
        f" {(rules.backoff_limit or 0) + 1} as a new OCI job run",
        True,
    )
    return 0.0
