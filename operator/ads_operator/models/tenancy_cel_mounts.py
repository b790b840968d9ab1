"""The words every tenancy CEL rule shares (the guard, the refusal message) and the File
Storage mount rules, apart from :mod:`.tenancy_cel` to keep each module short.

The messages are :mod:`ads_operator.reconcile.tenancy`'s (the operator's second check).
"""

from __future__ import annotations

from ads_operator.models.schema import JsonSchema

NS = "namespaceObject.metadata.name"
ENTRY = '\' + " of entry \'" + variables.tenant.name + "\' for namespace " + ' + NS
_GUARD = "!variables.hasTenant || "


def not_in(field: str, value: str, rule: str) -> str:
    """The CEL message of :func:`ads_operator.reconcile.tenancy._not_in`."""
    return f"'{field} ' + {value} + ' is not allowed by the tenancy policy: not in {rule}{ENTRY}"


def check(expression: str, message: str) -> JsonSchema:
    return {"expression": _GUARD + expression, "messageExpression": message}


#: A File Storage mount source written by OCIDs (``[.]``: no backslashes to escape).
_BY_OCIDS = "'^ocid1[.]mounttarget[.][^:]+:ocid1[.]export[.][^:]+$'"


def file_storage(infra: str, spec: str) -> list[JsonSchema]:
    """A File Storage mount (any ``src`` but oci://) only by OCIDs, its mount target in
    ``mountTargets`` and its export in ``exports``, in the operator's words."""
    mounts = f"{spec}.storageMount"
    present = f"!has({infra}) || !has({mounts}) || "
    file_storage = "!m.src.startsWith('oci://')"
    by_address = f"{file_storage} && !m.src.matches({_BY_OCIDS})"
    target_ok = (
        "(has(variables.tenant.mountTargets) && "
        "variables.tenant.mountTargets.exists(t, m.src.startsWith(t + ':')))"
    )
    export_ok = (
        "(has(variables.tenant.exports) && "
        "variables.tenant.exports.exists(e, m.src.endsWith(':' + e)))"
    )
    first = f"{mounts}.filter(m, %s)[0].src"
    return [
        check(
            f"{present}{mounts}.all(m, !({by_address}))",
            f"'storageMount ' + {first % by_address} + ' names a File Storage mount by "
            "address, which the tenancy policy cannot judge: give <mount target OCID>:<export "
            f"OCID>{ENTRY} + ')'",
        ),
        check(
            f"{present}{mounts}.all(m, !({file_storage}) || {target_ok})",
            not_in(
                "storageMount mount target",
                (first % f"{file_storage} && !{target_ok}") + ".find('^[^:]+')",
                "mountTargets",
            ),
        ),
        check(
            f"{present}{mounts}.all(m, !({file_storage}) || {export_ok})",
            not_in(
                "storageMount export",
                (first % f"{file_storage} && !{export_ok}") + ".find('[^:]+$')",
                "exports",
            ),
        ),
    ]


def file_storage_overrides(mounts: str) -> list[JsonSchema]:
    """A run's FILE_STORAGE mount overrides: mount target and export allowed."""
    checks = []
    for key, rule in (("mountTargetId", "mountTargets"), ("exportId", "exports")):
        ok = f"has(variables.tenant.{rule}) && m.{key} in variables.tenant.{rule}"
        bad = f"m.storageType == 'FILE_STORAGE' && has(m.{key}) && !({ok})"
        checks.append(
            check(
                f"!has({mounts}) || {mounts}.all(m, !({bad}))",
                not_in(f"storage mount {key}", f"{mounts}.filter(m, {bad})[0].{key}", rule),
            )
        )
    return checks
