"""Building a job's artifact: read its code through a :class:`SourceReader`, then pack it.

What to read and how to pack it is pure (:mod:`ads_operator.ads.artifacts`); the reading
is I/O, so it happens here, through a reader the caller passes (the operator's
:class:`~ads_operator.usecases.sources.ClusterSourceReader`; tests pass in-memory ones).
"""

from __future__ import annotations

from typing import Protocol

from ads_operator.ads.artifacts import (
    Artifact,
    SourceFiles,
    artifact_source_field,
    assemble_artifact,
    needs_artifact,
    source_to_read,
)
from ads_operator.ads.source_policy import RefusedSourceError
from ads_operator.ads.sources import Source
from ads_operator.models import DataScienceJobSpec


class SourceReader(Protocol):
    """Reads a parsed source. The operator implements it for ``oci://`` (a single object,
    or every object under a prefix), ``https://`` (one file) and ``configmap://`` (one
    key, or the whole ConfigMap as a folder named after it, ``data`` and ``binaryData``)."""

    async def read(self, source: Source) -> SourceFiles: ...


async def build_artifact(spec: DataScienceJobSpec, sources: SourceReader) -> Artifact | None:
    """Read the spec's source (if any) through ``sources`` and assemble the artifact."""
    runtime = spec.rt
    if not needs_artifact(runtime):
        return None
    source = source_to_read(runtime)
    try:
        fetched = await sources.read(source) if source is not None else None
    except RefusedSourceError as refused:
        raise RefusedSourceError(f"{artifact_source_field(runtime)}: {refused}") from None
    return assemble_artifact(runtime, fetched)
