"""A resource's OCI port (its own Secret's credentials, or the operator's), and waiting
out an authorization failure without waiting for the fix to be noticed.

After 401 / 403 / NotAuthorizedOrNotFound (or a Secret that is missing or unusable) a
person has to act, so OCI is not asked again for ``AUTH_RETRY_DELAY`` (300 s). When the
resource names a Secret, that Secret is the likely fix: it is read (one GET of that one
Secret, no OCI call, no list or watch of Secrets, which the operator's role does not
allow) every ``POLL_INTERVAL``, and the retry happens as soon as it appears or its data
changes. Compared by a digest of the data, never kept or logged.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ads_operator.kube.port import KubePort
from ads_operator.models import DataScienceJobSpec
from ads_operator.models.oci_errors import NotAuthorizedError, OciError
from ads_operator.oci.port import OciPort
from ads_operator.reconcile import outcomes
from ads_operator.usecases.operator import Operator

#: A function that pauses this many seconds (a daemon's ``stopped.wait``, asyncio.sleep).
Pause = Callable[[float], Awaitable[object]]


def digest(data: Mapping[str, bytes] | None) -> str | None:
    """A fingerprint of a Secret's data (None: the Secret does not exist)."""
    if data is None:
        return None
    hashed = hashlib.sha256()
    for key in sorted(data):
        hashed.update(key.encode() + b"\0" + data[key] + b"\0")
    return hashed.hexdigest()


async def until_secret_changes(
    kube: KubePort,
    namespace: str,
    name: str,
    seen: str | None,
    *,
    within: float,
    interval: float,
    pause: Pause,
    give_up: Callable[[], Awaitable[bool]] | None = None,
) -> bool:
    """Waits until Secret ``name`` differs from the digest ``seen`` (True), or ``within``
    passes or ``give_up`` says the wait no longer matters, e.g. the resource changed or
    is being deleted (False)."""
    deadline = time.monotonic() + within
    while (remaining := deadline - time.monotonic()) > 0:
        await pause(min(interval, remaining))
        if digest(await kube.read_secret(namespace, name)) != seen:
            return True
        if give_up is not None and await give_up():
            return False
    return False


def secret_of(spec: DataScienceJobSpec) -> str | None:
    """The Secret a job's credentials come from (None: the operator's own)."""
    return spec.auth_secret_ref.name if spec.auth_secret_ref else None


def raw_secret(spec: Mapping[str, Any]) -> str | None:
    """The same, from a spec not parsed (another resource's, read for a run)."""
    ref = spec.get("authSecretRef") or {}
    return str(ref["name"]) if ref.get("name") else None


async def port_for(
    op: Operator, namespace: str, secret_name: str | None, region: str | None
) -> OciPort:
    """The port for a resource: its own Secret (same namespace only) or the default."""
    secret = None
    if secret_name:
        secret = await op.kube.read_secret(namespace, secret_name)
        op.secrets_seen[(namespace, secret_name)] = digest(secret)
        if secret is None:
            raise NotAuthorizedError(f"Secret {secret_name!r} not found in namespace {namespace!r}")
    try:
        if secret is None and not op.factory.has_default:
            # The first use may exchange a token over the network: not on the loop.
            await asyncio.to_thread(op.factory.credentials, None, None)
        if op.factory.is_built(secret=secret, secret_name=secret_name, region=region):
            return op.factory.port(secret=secret, secret_name=secret_name, region=region)
        return await asyncio.to_thread(
            functools.partial(
                op.factory.port, secret=secret, secret_name=secret_name, region=region
            )
        )
    except OciError:
        raise
    except Exception as exc:  # the SDK refusing the config (never echo its values)
        raise NotAuthorizedError(f"unusable OCI credentials: {type(exc).__name__}") from None


def is_auth_wait(disposition: outcomes.Disposition) -> bool:
    """Whether the failure waits for a person (credentials or policy), not for OCI."""
    return isinstance(disposition, outcomes.Retry) and disposition.reason in outcomes.AUTH_REASONS


async def wait_for_fix(
    op: Operator,
    namespace: str,
    secret_name: str | None,
    delay: float,
    *,
    pause: Pause,
    give_up: Callable[[], Awaitable[bool]] | None = None,
) -> float:
    """After an authorization failure: waits (up to ``delay``) for the resource's Secret to
    change and returns the delay still to wait before the retry, 0 when it changed.
    Without a Secret there is nothing to watch: the full delay is returned."""
    if not secret_name:
        return delay
    started = op.now()
    seen = op.secrets_seen.get((namespace, secret_name))
    if await until_secret_changes(
        op.kube,
        namespace,
        secret_name,
        seen,
        within=delay,
        interval=op.settings.poll_interval,
        pause=pause,
        give_up=give_up,
    ):
        return 0.0
    return max(0.0, delay - (op.now() - started).total_seconds())
