"""Waiting out an authorization failure without waiting for the fix to be noticed.

After 401 / 403 / NotAuthorizedOrNotFound (or a Secret that is missing or unusable) a
person has to act, so OCI is not asked again for ``AUTH_RETRY_DELAY`` (300 s). When the
resource names a Secret, that Secret is the likely fix: it is read (one GET of that one
Secret, no OCI call, no list or watch of Secrets, which the operator's role does not
allow) every ``POLL_INTERVAL``, and the retry happens as soon as it appears or its data
changes. Compared by a digest of the data, never kept or logged.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping

from ads_operator.kube import client as kube

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
