"""File Storage mounts written by address: ``<mount target IP>:<export path>``.

OCI wants a mount target OCID and an export OCID. ADS accepts either half as an address
instead and resolves it, when it creates the job, with OCI Resource Search (free text):

1. the IP address: the newest resource found is the mount target's private IP;
2. that private IP's OCID: the one ``MountTarget`` found (none or several is an error);
3. the export path: the one ``Export`` found (none or several is an error).

:func:`resolve_step` decides those steps, purely: ``convert`` drives it with the
user's credentials, as ADS does on the user's machine (:func:`resolve`); the operator
drives it through its OCI port with the resource's credentials when it creates the job
(``ads_operator.usecases.mounts``), so a resource may name a mount by address as ADS's
YAML does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ads_operator.models import DataScienceJobSpec

#: ``<IPv4>`` or a mount target OCID, ``:``, an export path or an export OCID.
_FILE_STORAGE: Final = re.compile(
    r"^(?P<target>ocid1\.mounttarget\.[^:\s]+|\d{1,3}(\.\d{1,3}){3}):"
    r"(?P<export>ocid1\.export\.\S+|/\S*)$"
)


@dataclass(frozen=True)
class Found:
    """One Resource Search result: what it is, its OCID, and when it was created."""

    resource_type: str
    identifier: str
    time_created: str = ""


Search = Callable[[str], Sequence[Found]]


class MountNotResolvableError(ValueError):
    """Resource Search does not name exactly one mount target or export."""


def needs_search(src: str) -> bool:
    """A File Storage source with an IP address or an export path in it."""
    match = _FILE_STORAGE.match(src)
    if match is None:
        return False
    return not (match["target"].startswith("ocid1.") and match["export"].startswith("ocid1."))


@dataclass(frozen=True)
class Query:
    """The next free-text Resource Search resolving a source needs."""

    text: str


#: What the searches made so far found, by the text searched.
Answers = Mapping[str, Sequence[Found]]


def resolve_step(src: str, answers: Answers) -> Query | str:
    """The next search resolving ``src`` needs, or ``src`` as ``<mount target OCID>:
    <export OCID>`` once ``answers`` hold every search it needs: found as ADS finds them.

    Pure, so that ``convert`` (synchronous, the user's credentials) and the operator
    (asynchronous, the resource's credentials) follow the same steps; each drives it
    with its own search (see :func:`resolve`). Raises :class:`MountNotResolvableError`.
    """
    match = _FILE_STORAGE.match(src)
    if not match:
        raise MountNotResolvableError(
            f"{src!r} is not <IP or mount target OCID>:<export path or OCID>"
        )
    target, export = match["target"], match["export"]
    if not target.startswith("ocid1."):
        if target not in answers:
            return Query(target)
        by_ip = sorted(answers[target], key=lambda found: found.time_created)
        if not by_ip:
            raise MountNotResolvableError(f"Resource Search finds nothing at IP {target}")
        private_ip = by_ip[-1].identifier
        if private_ip not in answers:
            return Query(private_ip)
        targets = [f.identifier for f in answers[private_ip] if f.resource_type == "MountTarget"]
        target = _one(targets, f"mount target at IP {target}", "the mount target OCID")
    if not export.startswith("ocid1."):
        if export not in answers:
            return Query(export)
        exports = [f.identifier for f in answers[export] if f.resource_type == "Export"]
        export = _one(exports, f"export with path {export}", "the export OCID")
    return f"{target}:{export}"


def resolve(src: str, search: Search) -> str:
    """``src`` resolved with a synchronous ``search`` (``convert``'s)."""
    answers: dict[str, Sequence[Found]] = {}
    while isinstance(step := resolve_step(src, answers), Query):
        answers[step.text] = search(step.text)
    return step


def _one(found: list[str], what: str, instead: str) -> str:
    if not found:
        raise MountNotResolvableError(f"Resource Search finds no {what}")
    if len(found) > 1:
        raise MountNotResolvableError(
            f"Resource Search finds {len(found)} of {what}; give {instead} instead"
        )
    return found[0]


def addresses(spec: DataScienceJobSpec) -> list[str]:
    """The job's File Storage mount sources that name an address (to be searched)."""
    return [m.src for m in spec.infra.spec.storage_mount or [] if needs_search(m.src)]


def with_sources(spec: DataScienceJobSpec, resolved: Mapping[str, str]) -> DataScienceJobSpec:
    """``spec`` with each mount source in ``resolved`` replaced by what it resolved to."""
    infra = spec.infra
    if not infra.spec.storage_mount:
        return spec
    mounts = [
        m.model_copy(update={"src": resolved.get(m.src, m.src)}) for m in infra.spec.storage_mount
    ]
    infra_spec = infra.spec.model_copy(update={"storage_mount": mounts})
    return spec.model_copy(update={"infrastructure": infra.model_copy(update={"spec": infra_spec})})
