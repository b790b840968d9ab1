"""How ADS reads a spec's values: names, command lines, user variables, replicas, tags.

Shared by the job and run bodies (:mod:`ads_operator.ads.translate`): a run's default
name comes from its job's, and both split a container's ``cmd`` the same way.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, TypeVar

from ads_operator.ads.envvars import substitute, template_name
from ads_operator.models import DataScienceJobSpec, Runtime, RuntimeType
from ads_operator.models.runtime_spec import args_list

T = TypeVar("T")

#: ADS's timestamp suffix on default names (UTC for jobs).
NAME_TIME_FORMAT: Final = "%Y-%m-%d-%H:%M.%S"


def user_env(runtime: Runtime) -> dict[str, str]:
    """Only the user's variables after substitution (what ADS fills names from)."""
    return substitute((v.name, v.value) for v in runtime.spec.env or [])


def split_exec(value: str | list[str] | None) -> list[str] | None:
    """ADS's reading of a container ``cmd``/``entrypoint``: a string is split on commas
    (not by shell rules) and each piece trimmed; a list passes through."""
    if value is None:
        return None
    if isinstance(value, str):
        return [piece.strip() for piece in value.split(",")] if value else []
    return list(value)


def command_line(args: str | list[str] | None) -> str | None:
    """``args`` as one string, each element shell-quoted (ADS; loading uses shlex.split).

    A string is split by shell rules first. ADS itself would quote each *character* of
    a string (it iterates over it), which no one means: we split it as ADS splits the
    arguments of a job it reads back, so ``"--n 3"`` sends ``--n 3``.
    """
    arguments = args_list(args)
    if not arguments:
        return None
    return " ".join(shlex.quote(str(a)) for a in arguments)


def is_multi_node(spec: DataScienceJobSpec) -> bool:
    """ADS's test: a container or pyTorchDistributed runtime with more than one replica."""
    runtime = spec.rt
    return runtime.runtime_type in (RuntimeType.CONTAINER, RuntimeType.PYTORCH_DISTRIBUTED) and (
        (runtime.spec.replicas or 1) > 1
    )


def default_job_name(spec: DataScienceJobSpec, now: datetime) -> str:
    """ADS's default: the code's base name cut at the first dot, ``-``, UTC time.

    ADS picks a random adjective-animal name for gitPython and container jobs; a name
    derived from the repository or the image says more and is reproducible.
    """
    rs = spec.rt.spec
    source = rs.script_path_uri or rs.notebook_path_uri or rs.source or rs.url
    if spec.rt.runtime_type is RuntimeType.CONTAINER and rs.image:
        source = rs.image.split("@", 1)[0].rsplit(":", 1)[0]
    if source is None and rs.git is not None:
        source = rs.git.url
    base = posixpath.basename((source or "job").rstrip("/")).split(".", 1)[0] or "job"
    return f"{base}-{now.astimezone(UTC).strftime(NAME_TIME_FORMAT)}"


def job_display_name(spec: DataScienceJobSpec, now: datetime | None = None) -> str:
    """``displayName`` of the job: the name with env placeholders filled, else the
    infrastructure's ``displayName``, else :func:`default_job_name`."""
    if spec.name:
        return template_name(spec.name, user_env(spec.rt))
    if spec.infra.spec.display_name:
        return spec.infra.spec.display_name
    return default_job_name(spec, now or datetime.now(UTC))


def strip_name_timestamp(name: str) -> str:
    """ADS drops a trailing ``-<YYYY-mm-dd-HH:MM.SS>`` before naming a run after the job."""
    try:
        datetime.strptime(name[-19:], NAME_TIME_FORMAT)
    except ValueError:
        return name
    return name[:-20]


def merge_tags(
    run_tags: Mapping[str, T] | None, runtime_tags: Mapping[str, T] | None
) -> dict[str, T]:
    """Run tags merged with the runtime's; the runtime's values win on the same key."""
    merged = dict(run_tags or {})
    merged.update(runtime_tags or {})
    return merged
