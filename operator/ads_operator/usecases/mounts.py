"""File Storage mounts written by address, resolved before the job is translated.

ADS resolves ``<IP>:<export path>`` to a mount target and an export with OCI Resource
Search when it creates the job; so does the operator, through the resource's OCI port
(its credentials: those of ``authSecretRef``, else the operator's own), following the
steps of :mod:`ads_operator.ads.mounts`. What a source resolved to is kept for the
resource's generation, so a job that takes several passes to become ACTIVE is searched
for once; a new generation (or a restart of the operator) searches again, as a new
``Job.create()`` in ADS would. Only successes are kept: a failed search is retried as
any OCI error is, and an address found nowhere (or twice) makes the job Terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ads_operator.ads import mounts
from ads_operator.ads.job_parts import TranslationError
from ads_operator.models import DataScienceJobSpec
from ads_operator.oci.port import OciPort


@dataclass
class ResolvedMounts:
    """Per resource UID: the generation resolved for, and each address's OCIDs."""

    by_uid: dict[str, tuple[int | None, dict[str, str]]] = field(default_factory=dict)


async def with_resolved_mounts(
    cache: ResolvedMounts,
    port: OciPort,
    spec: DataScienceJobSpec,
    uid: str,
    generation: int | None,
) -> DataScienceJobSpec:
    """``spec`` with every mount source written by address replaced by the OCIDs it
    resolves to; raises :class:`TranslationError` (Terminal) when one resolves to none
    or to several."""
    wanted = mounts.addresses(spec)
    if not wanted:
        return spec
    kept_for, resolved = cache.by_uid.get(uid, (None, {}))
    if kept_for != generation:
        resolved = {}
    for src in wanted:
        if src not in resolved:
            resolved[src] = await _resolve(port, src, spec)
    cache.by_uid[uid] = (generation, resolved)
    return mounts.with_sources(spec, resolved)


async def _resolve(port: OciPort, src: str, spec: DataScienceJobSpec) -> str:
    answers: dict[str, list[mounts.Found]] = {}
    while True:
        try:
            step = mounts.resolve_step(src, answers)
        except mounts.MountNotResolvableError as exc:
            index = [m.src for m in spec.infra.spec.storage_mount or []].index(src)
            raise TranslationError(
                f"spec.infrastructure.spec.storageMount[{index}].src {src!r}: {exc}"
            ) from None
        if not isinstance(step, mounts.Query):
            return step
        answers[step.text] = await port.search_resources(text=step.text)
