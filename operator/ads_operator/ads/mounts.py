"""File Storage mounts written by address: ``<mount target IP>:<export path>``.

OCI wants a mount target OCID and an export OCID. ADS accepts either half as an address
instead and resolves it, when it creates the job, with OCI Resource Search (free text):

1. the IP address: the newest resource found is the mount target's private IP;
2. that private IP's OCID: the one ``MountTarget`` found (none or several is an error);
3. the export path: the one ``Export`` found (none or several is an error).

:func:`resolve` follows the same steps through any search function, so ``convert`` can
resolve with the user's credentials, as ADS does on the user's machine. The operator
does not search (that needs tenancy-wide read rights it should not need): a resource
that still names an address is Terminal, its message says to convert or to give OCIDs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

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


def resolve(src: str, search: Search) -> str:
    """``src`` as ``<mount target OCID>:<export OCID>``, found as ADS finds them."""
    match = _FILE_STORAGE.match(src)
    if not match:
        raise MountNotResolvableError(
            f"{src!r} is not <IP or mount target OCID>:<export path or OCID>"
        )
    target, export = match["target"], match["export"]
    if not target.startswith("ocid1."):
        by_ip = sorted(search(target), key=lambda found: found.time_created)
        if not by_ip:
            raise MountNotResolvableError(f"Resource Search finds nothing at IP {target}")
        targets = [
            f.identifier for f in search(by_ip[-1].identifier) if f.resource_type == "MountTarget"
        ]
        target = _one(targets, f"mount target at IP {target}", "the mount target OCID")
    if not export.startswith("ocid1."):
        exports = [f.identifier for f in search(export) if f.resource_type == "Export"]
        export = _one(exports, f"export with path {export}", "the export OCID")
    return f"{target}:{export}"


def _one(found: list[str], what: str, instead: str) -> str:
    if not found:
        raise MountNotResolvableError(f"Resource Search finds no {what}")
    if len(found) > 1:
        raise MountNotResolvableError(
            f"Resource Search finds {len(found)} of {what}; give {instead} instead"
        )
    return found[0]
