"""The operator's settings -> the Helm chart's ``values.schema.json``.

The chart passes each ``settings.<key>`` value to the operator as
``ADS_OPERATOR_<KEY_IN_SNAKE_CASE>``, and ``oci.endpoint`` as ``ADS_OPERATOR_OCI_ENDPOINT``.
A value the operator refuses at startup (``SettingsError``) would install fine and then
crash-loop, so the schema must refuse it first. The limits live once, in
:data:`ads_operator.settings.BOUNDS`; ``make crds`` (``ads-operator crds``) writes the
``settings`` part of the schema and the endpoint rule from them here, and a unit test
fails when the committed file differs. The rest of the schema (image, RBAC, probes, ...)
is the chart's own and is kept as written.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Final

from ads_operator import settings
from ads_operator.models.schema import JsonSchema

SCHEMA_FILE: Final = Path("charts/ads-operator/values.schema.json")

#: Settings the chart sets from its ``oci`` and ``metrics`` blocks rather than ``settings``.
FROM_OTHER_VALUES: Final = frozenset(
    {
        "auth",
        "oci_config_file",
        "oci_profile",
        "region",
        "oci_endpoint",
        "allow_remote_endpoint",
        "metrics_port",
        "multi_tenant",
    }
)
#: Settings deliberately not offered: changing the finalizer name on a live operator would
#: strand every existing resource behind the old finalizer; the schedule clock file is a
#: test hook (a file standing in for the clock) with no use in a real cluster; in a pod
#: Kubernetes projects the ServiceAccount token at the default path (the setting is for the
#: operator run as a process beside a cluster).
NOT_OFFERED: Final = frozenset({"finalizer", "schedule_clock_file", "service_account_token_file"})

#: What ``oci.endpoint`` may be without ``oci.allowRemoteEndpoint``: empty, or http(s) to
#: 127.0.0.0/8, ``[::1]`` or ``localhost``. Narrower than the operator's own check (which
#: also takes other spellings of a loopback address), never wider: the chart may refuse
#: what the operator would take, not the reverse. Go's regexp syntax (RE2).
_OCTET: Final = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
LOOPBACK_ENDPOINT_PATTERN: Final = (
    rf"^(https?://(localhost|127(\.{_OCTET}){{3}}|\[::1\])(:[0-9]{{1,5}})?(/.*)?)?$"
)

#: helm's ``--set`` passes ``1.5`` as the string "1.5" (only whole numbers become
#: numbers), so a number setting also accepts a decimal string matching these limits.
#: Each pattern admits only strings whose value lies within the limits (RE2 has no
#: look-ahead, hence the two branches of the positive one).
_DECIMAL_PATTERNS: Final = {
    settings.Bounds(at_least=0, below=settings.NUMBER_LIMIT): (
        r"^(0*[0-9]{1,9}(\.[0-9]+)?|\.[0-9]+)$"
    ),
    settings.Bounds(above=0, below=settings.NUMBER_LIMIT): (
        r"^(0*[1-9][0-9]{0,8}(\.[0-9]+)?|0*\.[0-9]*[1-9][0-9]*)$"
    ),
}


def camel(name: str) -> str:
    """``log_tail_lines`` -> ``logTailLines`` (the chart's ``snakecase`` undoes it)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def offered() -> list[str]:
    """The settings the chart offers under ``settings``, in the operator's order."""
    return [
        f.name
        for f in fields(settings.Settings)
        if f.name not in FROM_OTHER_VALUES and f.name not in NOT_OFFERED
    ]


def setting_schema(name: str) -> JsonSchema:
    """The schema of one ``settings`` value; null keeps the operator's default."""
    default = getattr(settings.Settings(), name)
    bounds = settings.BOUNDS.get(name, settings.Bounds())
    variable = settings.PREFIX + name.upper()
    if isinstance(default, bool):
        return {"type": ["boolean", "null"], "description": variable}
    if isinstance(default, int):
        node: JsonSchema = {"type": ["integer", "null"]}
        node.update(_number_limits(bounds))
        node["description"] = f"{variable}: a whole number {bounds.describe()}"
        return node
    if isinstance(default, float):
        pattern = _DECIMAL_PATTERNS.get(bounds)
        if pattern is None:
            raise ValueError(
                f"{name}: no decimal-string pattern for {bounds}; add one to _DECIMAL_PATTERNS"
            )
        return {
            "description": (
                f"{variable}: a number {bounds.describe()} (helm's --set passes decimals as"
                " strings, so a decimal string is accepted too)"
            ),
            "anyOf": [
                {"type": "number", **_number_limits(bounds)},
                {"type": "string", "pattern": pattern},
                {"type": "null"},
            ],
        }
    node = {"type": ["string", "null"]}
    if bounds.min_length is not None:
        node["minLength"] = bounds.min_length
    if bounds.max_length is not None:
        node["maxLength"] = bounds.max_length
    if bounds.pattern is not None:
        node["pattern"] = bounds.pattern
    node["description"] = variable + (f": {bounds.describe()}" if name in settings.BOUNDS else "")
    return node


def _number_limits(bounds: settings.Bounds) -> dict[str, float]:
    limits: dict[str, float] = {}
    for key, value in (
        ("minimum", bounds.at_least),
        ("exclusiveMinimum", bounds.above),
        ("maximum", bounds.at_most),
        ("exclusiveMaximum", bounds.below),
    ):
        if value is not None:
            limits[key] = value
    return limits


def settings_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "operator settings, ADS_OPERATOR_<KEY_IN_SNAKE_CASE>; generated by"
        " `make crds` from the operator's settings (do not edit)",
        "properties": {camel(name): setting_schema(name) for name in offered()},
    }


def endpoint_rule() -> JsonSchema:
    """``oci.endpoint`` must be loopback unless ``oci.allowRemoteEndpoint`` is true."""
    return {
        "if": {
            "not": {
                "properties": {"allowRemoteEndpoint": {"const": True}},
                "required": ["allowRemoteEndpoint"],
            }
        },
        "then": {"properties": {"endpoint": {"pattern": LOOPBACK_ENDPOINT_PATTERN}}},
    }


def render(current: str) -> str:
    """``current`` (the committed schema) with its generated parts regenerated."""
    schema = json.loads(current)
    properties = schema["properties"]
    properties["settings"] = settings_schema()
    properties["oci"].update(endpoint_rule())
    return json.dumps(schema, indent=2) + "\n"
