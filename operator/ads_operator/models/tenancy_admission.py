"""The tenancy policy's admission side: a ValidatingAdmissionPolicy per kind (CEL with the
DataScienceTenancyPolicy as its param) and their bindings, generated like the CRDs
(``make crds`` writes ``charts/ads-operator/files/admission/``; the chart installs them
when ``tenancy.mode`` is ``multi``).

No webhook runs: the API server itself evaluates the rules at ``kubectl apply``. The
bindings name the singleton policy with ``parameterNotFoundAction: Deny``, so deleting
the policy denies rather than opens. Only creations and spec changes are judged: the
operator's own finalizer and annotation patches, and deletions, pass whatever the
policy says. The rules and their words are those of
:mod:`ads_operator.reconcile.tenancy` (the operator's second check), each message
naming the policy key that refused.
"""

from __future__ import annotations

from typing import Final

from ads_operator.models import API_VERSION, GROUP, JOB_PLURAL, RUN_PLURAL
from ads_operator.models.schema import JsonSchema
from ads_operator.models.tenancy import KNOWN_SHAPES, POLICY_NAME, TENANCY_KIND, TENANCY_PLURAL
from ads_operator.models.tenancy_cel import job_validations, run_validations

ADMISSION_DIR: Final = "charts/ads-operator/files/admission"
NAME_PREFIX: Final = "ads-operator-tenancy"


def _policy(plural: str, variables: list[JsonSchema], checks: list[JsonSchema]) -> JsonSchema:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": f"{NAME_PREFIX}-{plural}"},
        "spec": {
            "failurePolicy": "Fail",
            "paramKind": {"apiVersion": API_VERSION, "kind": TENANCY_KIND},
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [plural],
                    }
                ]
            },
            # A spec change only: finalizer and annotation patches pass (the operator's
            # own, and a deletion's), so a tightened policy never strands a resource.
            "matchConditions": [
                {
                    "name": "spec-written",
                    "expression": "request.operation == 'CREATE' || "
                    "!has(oldObject.spec) || object.spec != oldObject.spec",
                }
            ],
            "variables": variables,
            "validations": checks,
        },
    }


def _binding(plural: str) -> JsonSchema:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": f"{NAME_PREFIX}-{plural}"},
        "spec": {
            "policyName": f"{NAME_PREFIX}-{plural}",
            "paramRef": {"name": POLICY_NAME, "parameterNotFoundAction": "Deny"},
            "validationActions": ["Deny"],
        },
    }


def _review() -> tuple[JsonSchema, JsonSchema]:
    """A warning (kubectl prints it; the policy is stored) for shapes patterns matching no
    shape in :data:`KNOWN_SHAPES`: a typo allows nothing, silently otherwise."""
    known = "[" + ", ".join(f"'{s}'" for s in KNOWN_SHAPES) + "]"
    unknown = f"!{known}.exists(s, s.matches('^(?:' + r.pattern + ')$'))"
    name = f"{NAME_PREFIX}-review"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Ignore",  # a warning only: never block the admin
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [TENANCY_PLURAL],
                    }
                ]
            },
            "validations": [
                {
                    "expression": f"object.spec.tenants.all(t, t.shapes.all(r, !({unknown})))",
                    "messageExpression": "'shapes patterns matching no shape the operator "
                    "knows (a typo? they allow nothing): ' + object.spec.tenants.filter(t, "
                    f"t.shapes.exists(r, {unknown})).map(t, t.name + ': ' + t.shapes.filter("
                    f"r, {unknown}).map(r, r.pattern).join(', ')).join('; ')",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Warn"]},
    }
    return policy, binding


def admission_objects() -> list[JsonSchema]:
    """The policies and their bindings, in the order they are applied."""
    jobs, runs = job_validations(), run_validations()
    return [
        _policy(JOB_PLURAL, *jobs),
        _binding(JOB_PLURAL),
        _policy(RUN_PLURAL, *runs),
        _binding(RUN_PLURAL),
        *_review(),
    ]
