"""File Storage mount targets and exports, and the Resource Search that finds them.

ADS lets a job mount File Storage as ``<mount target IP>:<export path>`` and resolves
that to OCIDs with three free-text searches (oci-api.md has no File Storage API: the
emulator only needs what those searches see):

1. the IP address finds the mount target's ``PrivateIp`` (the newest one wins);
2. that private IP's OCID finds the ``MountTarget`` that uses it;
3. the export path finds the ``Export``.

Mount targets and exports exist here only when seeded through ``/_emulator/file-systems``
(one call makes a mount target with its private IP, and an export on it). Free-text
search in OCI matches loosely across every field; the emulator matches a whole value
exactly (an IP address, an OCID, an export path), which is what those three searches
rely on, and searches only the caller's tenancy.
"""

from __future__ import annotations

from typing import Any

from oci_emulator import ids
from oci_emulator.backend.context import Caller
from oci_emulator.backend.store import Doc, Store
from oci_emulator.errors import InvalidParameter

PRIVATE_IP = "fss.privateip"
MOUNT_TARGET = "fss.mounttarget"
EXPORT = "fss.export"
#: Store kind -> (OCI resource type, fields whose whole value a free-text search matches)
_SEARCHABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    PRIVATE_IP: ("PrivateIp", ("id", "ipAddress", "displayName")),
    MOUNT_TARGET: ("MountTarget", ("id", "displayName", "privateIpIds")),
    EXPORT: ("Export", ("id", "path")),
}


class ResourceSearchBackend:
    def __init__(self, store: Store) -> None:
        self._store = store

    def seed_file_system(
        self, *, tenancy: str, compartment: str, ip_address: str, export_path: str
    ) -> dict[str, str]:
        """A mount target answering at ``ip_address`` with an export at ``export_path``."""
        if not export_path.startswith("/"):
            raise InvalidParameter("exportPath must start with '/'.")
        now = ids.now_iso()
        base: Doc = {"compartmentId": compartment, "timeCreated": now, "_tenancy": tenancy}
        private_ip: Doc = {
            **base,
            "id": ids.new_ocid("privateip"),
            "ipAddress": ip_address,
            "displayName": f"mount target {ip_address}",
        }
        mount_target: Doc = {
            **base,
            "id": ids.new_ocid("mounttarget"),
            "displayName": f"mount-target-{ip_address}",
            "privateIpIds": [private_ip["id"]],
            "lifecycleState": "ACTIVE",
        }
        export: Doc = {
            **base,
            "id": ids.new_ocid("export"),
            "path": export_path,
            "mountTargetId": mount_target["id"],
            "lifecycleState": "ACTIVE",
        }
        for kind, doc in ((PRIVATE_IP, private_ip), (MOUNT_TARGET, mount_target), (EXPORT, export)):
            self._store.insert(kind, doc, compartment=compartment, parent=None)
        return {
            "mountTargetId": mount_target["id"],
            "exportId": export["id"],
            "privateIpId": private_ip["id"],
        }

    def free_text(self, caller: Caller, text: str) -> list[Doc]:
        """``ResourceSummary`` documents of the caller's tenancy matching ``text``."""
        found: list[Doc] = []
        for kind, (resource_type, fields) in _SEARCHABLE.items():
            for doc in self._store.query(kind):
                if doc.get("_tenancy") != caller.tenancy:
                    continue
                if any(_matches(doc.get(name), text) for name in fields):
                    found.append(_summary(resource_type, doc))
        return found


def _matches(value: Any, text: str) -> bool:
    if isinstance(value, list):
        return text in value
    return isinstance(value, str) and value == text


def _summary(resource_type: str, doc: Doc) -> Doc:
    return {
        "resourceType": resource_type,
        "identifier": doc["id"],
        "compartmentId": doc["compartmentId"],
        "timeCreated": doc["timeCreated"],
        "displayName": doc.get("displayName") or doc.get("path"),
        "lifecycleState": doc.get("lifecycleState", "AVAILABLE"),
        "freeformTags": {},
        "definedTags": {},
    }
