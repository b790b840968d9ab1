"""The CEL of the tenancy admission policies (:mod:`.tenancy_admission`): the variables
(the namespace's entry, the shape and its numbers) and one validation per rule, each
with a ``messageExpression`` in the words of :mod:`ads_operator.reconcile.tenancy` (the
operator's second check), naming the field, the value and the policy key.

Every rule after the first reads ``!variables.hasTenant || ...``: a namespace without an
entry is refused once, by the first, and the others never touch the missing entry.
Single quotes inside messages sit in double-quoted CEL strings.
"""

from __future__ import annotations

from ads_operator.models.schema import JsonSchema
from ads_operator.models.tenancy import POLICY_NAME, SOURCE_FIELDS
from ads_operator.models.tenancy_cel_mounts import (
    NS,
    check,
    file_storage,
    file_storage_overrides,
    not_in,
)

_LABELS = "namespaceObject.metadata.labels"


def _member(field: str, path: str, guards: list[str], rule: str, optional: bool) -> JsonSchema:
    allowed = f"{path} in variables.tenant.{rule}"
    if optional:
        allowed = f"(has(variables.tenant.{rule}) && {allowed})"
    skip = " || ".join(f"!has({g})" for g in guards)
    return check(f"{skip} || {allowed}", not_in(field, path, rule))


def _common_variables() -> list[JsonSchema]:
    matches = (
        f"(has(t.namespaces.names) && {NS} in t.namespaces.names)"
        " || (has(t.namespaces.matchLabels) && size(t.namespaces.matchLabels) > 0"
        f" && t.namespaces.matchLabels.all(k, has({_LABELS}) && k in {_LABELS}"
        f" && {_LABELS}[k] == t.namespaces.matchLabels[k]))"
    )
    return [
        {"name": "matching", "expression": f"params.spec.tenants.filter(t, {matches})"},
        {"name": "hasTenant", "expression": "size(variables.matching) > 0"},
        {"name": "tenant", "expression": "variables.matching[0]"},
    ]


def _shape_variables(shape: str, config: str, guards: list[str]) -> list[JsonSchema]:
    """``shape`` ('' when none), its OCPUs and memory (0 when not given), GPUs, rules."""
    present = " && ".join(f"has({g})" for g in guards)

    def number(key: str) -> str:
        return f"{present} && has({config}) && has({config}.{key}) ? {config}.{key} : 0.0"

    return [
        {"name": "shape", "expression": f"{present} && has({shape}) ? {shape} : ''"},
        {"name": "ocpus", "expression": number("ocpus")},
        {"name": "memory", "expression": number("memoryInGBs")},
        {
            "name": "gpus",
            "expression": "variables.shape.contains('GPU') && variables.shape.matches('"
            "\\\\.[0-9]+$') ? int(variables.shape.find('[0-9]+$')) : 0",
        },
        {
            "name": "shapeRules",
            "expression": "variables.tenant.shapes.filter(r, "
            "variables.shape.matches('^(?:' + r.pattern + ')$'))",
        },
    ]


def _ceiling(key: str, value: str, what: str) -> JsonSchema:
    rule = "variables.shapeRules[0]"
    where = (
        f"', the ceiling of shapes pattern ' + {rule}.pattern + \" of entry '\" + "
        'variables.tenant.name + "\'"'
    )
    return check(
        f"variables.shape == '' || size(variables.shapeRules) == 0 || !has({rule}.{key})"
        f" || {value} <= {rule}.{key}",
        f"variables.shape + ' with ' + string({value}) + ' {what} exceeds {key} ' + "
        f"string({rule}.{key}) + {where}",
    )


def _shape_checks() -> list[JsonSchema]:
    return [
        check(
            "variables.shape == '' || size(variables.shapeRules) > 0",
            not_in("shapeName", "variables.shape", "shapes"),
        ),
        _ceiling("maxOcpus", "variables.ocpus", "OCPUs"),
        _ceiling("maxMemoryInGBs", "variables.memory", "GB"),
        _ceiling("maxGpus", "variables.gpus", "GPUs"),
    ]


def _no_tenant() -> JsonSchema:
    return {
        "expression": "variables.hasTenant",
        "messageExpression": f"'namespace ' + {NS} + ' matches no entry of the tenancy policy "
        f"(DataScienceTenancyPolicy {POLICY_NAME}): multi-tenant mode denies by default'",
    }


def _adoption(path: str, field: str) -> JsonSchema:
    return check(
        f"!has({path}) || (has(variables.tenant.allowAdoption) && variables.tenant.allowAdoption)",
        not_in(field, path, "allowAdoption"),
    )


def _source(field: str) -> JsonSchema:
    """An oci:// source only from ``buckets``, an https:// one only from ``httpsHosts``
    (the operator reads both into the job's artifact); named by bucket or host only."""
    uri = f"object.spec.runtime.spec.{field}"
    scheme = f"{uri}.lowerAscii()"
    allowed = (
        f"!has(object.spec.runtime) || !has({uri}) || "
        f"!({scheme}.startsWith('oci://') || {scheme}.startsWith('https://')) || "
        f"({scheme}.startsWith('oci://') && has(variables.tenant.buckets) && "
        f"variables.tenant.buckets.exists(b, {uri}.substring(6) == b || "
        f"{uri}.substring(6).startsWith(b + '/'))) || "
        f"({scheme}.startsWith('https://') && has(variables.tenant.httpsHosts) && "
        f"url({uri}).getHostname().lowerAscii() in variables.tenant.httpsHosts)"
    )
    where = f"spec.runtime.spec.{field}"
    message = (
        f"{scheme}.startsWith('oci://') ? "
        + not_in(f"{where} bucket", f"{uri}.find('[^/]+@[^/]+')", "buckets")
        + " : "
        + not_in(f"{where} host", f"url({uri}).getHostname()", "httpsHosts")
    )
    return check(allowed, message)


def job_validations() -> tuple[list[JsonSchema], list[JsonSchema]]:
    """(variables, validations) for DataScienceJob."""
    infra = "object.spec.infrastructure"
    spec = f"{infra}.spec"
    variables = _common_variables() + _shape_variables(
        f"{spec}.shapeName", f"{spec}.shapeConfigDetails", [infra]
    )
    buckets = (
        f"!has({infra}) || !has({spec}.storageMount) || {spec}.storageMount.all(m, "
        "!m.src.startsWith('oci://') || (has(variables.tenant.buckets) && "
        "variables.tenant.buckets.exists(b, m.src == 'oci://' + b || "
        "m.src.startsWith('oci://' + b + '/'))))"
    )
    validations = [
        _no_tenant(),
        check(
            "variables.tenant.credentials != 'OwnSecretsOnly' || has(object.spec.authSecretRef)",
            '"spec.authSecretRef is required by the tenancy policy: entry \'" + '
            f'variables.tenant.name + "\' for namespace " + {NS} + '
            "' has credentials OwnSecretsOnly'",
        ),
        _adoption("object.spec.id", "spec.id"),
        _member(
            "compartmentId",
            f"{spec}.compartmentId",
            [infra, f"{spec}.compartmentId"],
            "compartments",
            optional=False,
        ),
        _member(
            "projectId",
            f"{spec}.projectId",
            [infra, f"{spec}.projectId"],
            "projects",
            optional=False,
        ),
        _member(
            "subnetId", f"{spec}.subnetId", [infra, f"{spec}.subnetId"], "subnets", optional=True
        ),
        _member(
            "logGroupId",
            f"{spec}.logGroupId",
            [infra, f"{spec}.logGroupId"],
            "logGroups",
            optional=True,
        ),
        *_shape_checks(),
        check(buckets, not_in("storageMount", "'oci://'", "buckets")),
        *file_storage(infra, spec),
        *(_source(field) for field in SOURCE_FIELDS),
    ]
    return variables, validations


def run_validations() -> tuple[list[JsonSchema], list[JsonSchema]]:
    """(variables, validations) for DataScienceJobRun's own choices (its overrides)."""
    infra = "object.spec.jobInfrastructureConfigurationOverrideDetails"
    logs = "object.spec.jobLogConfigurationOverrideDetails"
    mounts = "object.spec.jobStorageMountConfigurationOverrideDetailsList"
    variables = _common_variables() + _shape_variables(
        f"{infra}.shapeName", f"{infra}.jobShapeConfigDetails", [infra]
    )
    buckets = (
        f"!has({mounts}) || {mounts}.all(m, m.storageType != 'OBJECT_STORAGE' || "
        "!has(m.bucket) || !has(m.namespace) || (has(variables.tenant.buckets) && "
        "(m.bucket + '@' + m.namespace) in variables.tenant.buckets))"
    )
    validations = [
        _no_tenant(),
        _adoption("object.spec.jobId", "spec.jobId"),
        _member(
            "compartmentId",
            "object.spec.compartmentId",
            ["object.spec.compartmentId"],
            "compartments",
            optional=False,
        ),
        _member(
            "projectId",
            "object.spec.projectId",
            ["object.spec.projectId"],
            "projects",
            optional=False,
        ),
        _member(
            "subnetId", f"{infra}.subnetId", [infra, f"{infra}.subnetId"], "subnets", optional=True
        ),
        _member(
            "logGroupId",
            f"{logs}.logGroupId",
            [logs, f"{logs}.logGroupId"],
            "logGroups",
            optional=True,
        ),
        *_shape_checks(),
        check(buckets, not_in("storage mount", "'bucket'", "buckets")),
        *file_storage_overrides(mounts),
        check(
            "!has(object.spec.jobNodeConfigurationOverrideDetails)",
            '"jobNodeConfigurationOverrideDetails is refused in multi-tenant mode: its node '
            "groups' shapes and subnets are not judged by the tenancy policy (entry '\" + "
            'variables.tenant.name + "\')"',
        ),
    ]
    return variables, validations
