"""The chart's values: documented, schema-checked, and the operator's own settings.

These read files only (no helm); tests/e2e/test_chart_static.py renders the chart. The
point is that the chart and the operator cannot drift apart silently: a setting added to
``ads_operator.settings`` without a chart value, a value the schema does not know (helm
would reject it), or a value the README does not list each fails here with its name.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from ads_operator import __version__, settings
from ads_operator.commands import chartschema

CHART = Path(__file__).resolve().parents[3] / "charts" / "ads-operator"
VALUES_TEXT = (CHART / "values.yaml").read_text()
VALUES: dict[str, Any] = yaml.safe_load(VALUES_TEXT)
SCHEMA: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
README = (CHART / "README.md").read_text()

#: Settings the chart sets from its `oci` and `metrics` blocks, and those it does not offer.
FROM_OTHER_VALUES = chartschema.FROM_OTHER_VALUES
NOT_OFFERED = chartschema.NOT_OFFERED


def _paths(values: Mapping[str, Any], prefix: str = "", *, leaves: bool = False) -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            if not leaves:
                yield path
            yield from _paths(value, f"{path}.", leaves=leaves)
        else:
            yield path


def _documented(text: str) -> set[str]:
    """Keys with a ``# --`` comment directly above them (the values.yaml convention)."""
    documented: set[str] = set()
    stack: list[str] = []
    pending = False
    for line in text.splitlines():
        if not line.strip():
            pending = False
            continue
        comment = re.match(r"^\s*#( --)?", line)
        if comment:
            pending = pending or bool(comment.group(1))
            continue
        key = re.match(r"^(\s*)([A-Za-z0-9_]+):", line)
        if key:
            stack = [*stack[: len(key.group(1)) // 2], key.group(2)]
            if pending:
                documented.add(".".join(stack))
        pending = False
    return documented


def _snake(camel: str) -> str:
    """What the chart's ``snakecase`` does to a settings key."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def _schema_node(path: str) -> dict[str, Any] | None:
    node: dict[str, Any] = SCHEMA
    for part in path.split("."):
        properties = node.get("properties")
        if properties is None:
            return node  # a free-form object: anything below is Kubernetes' business
        if part not in properties:
            return None
        node = properties[part]
    return node


def test_every_value_has_a_comment_on_itself_or_its_parent() -> None:
    documented = _documented(VALUES_TEXT)
    undocumented = [
        path
        for path in _paths(VALUES, leaves=True)
        if not any(path == d or path.startswith(f"{d}.") for d in documented)
    ]
    assert not undocumented, f"values.yaml keys without a `# --` comment: {undocumented}"


def test_the_readme_lists_every_documented_value() -> None:
    missing = sorted(k for k in _documented(VALUES_TEXT) if f"| `{k}` |" not in README)
    assert not missing, f"charts/ads-operator/README.md does not list: {missing}"


def test_the_schema_knows_every_value() -> None:
    unknown = [path for path in _paths(VALUES) if _schema_node(path) is None]
    assert not unknown, f"values.schema.json would reject the chart's own values: {unknown}"


def test_the_schema_closes_every_chart_owned_object() -> None:
    """A typo in a key must fail `helm install`, not be ignored."""

    def open_objects(node: dict[str, Any], path: str) -> Iterator[str]:
        if "properties" in node:
            if node.get("additionalProperties") is not False:
                yield path or "(top level)"
            for key, child in node["properties"].items():
                yield from open_objects(child, f"{path}.{key}".lstrip("."))

    assert list(open_objects(SCHEMA, "")) == []


def test_settings_values_are_exactly_the_operator_settings() -> None:
    fields = {name.removeprefix(settings.PREFIX).lower() for name, _ in settings.describe()}
    offered = {_snake(key) for key in VALUES["settings"]}
    assert offered - fields == set(), "chart settings the operator does not read"
    missing = fields - offered - FROM_OTHER_VALUES - NOT_OFFERED
    assert missing == set(), "operator settings the chart does not offer"


def test_settings_default_to_the_operators_own_defaults() -> None:
    """Null leaves the operator's default: one source of truth for every default."""
    assert {k: v for k, v in VALUES["settings"].items() if v is not None} == {}


def test_the_readme_states_the_operators_defaults() -> None:
    defaults = dict(settings.describe())
    for key in VALUES["settings"]:
        variable = settings.PREFIX + _snake(key).upper()
        row = next((r for r in README.splitlines() if r.startswith(f"| `settings.{key}` |")), "")
        assert f"`{variable}`; operator default `{defaults[variable]}`" in row, row or key


def test_the_auth_modes_are_the_operators() -> None:
    assert set(SCHEMA["properties"]["oci"]["properties"]["auth"]["enum"]) == {
        mode.value for mode in settings.AuthMode
    }


def test_the_chart_version_follows_the_operator() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    release = re.match(r"\d+\.\d+\.\d+", __version__)
    assert release is not None
    assert chart["appVersion"] == release.group(0)


def test_the_settings_schema_is_generated_from_the_operators_settings() -> None:
    """One source of truth: `make crds` writes the settings part; a hand edit is drift."""
    committed = (CHART / "values.schema.json").read_text()
    assert chartschema.render(committed) == committed, "run `make crds`"


def test_every_number_setting_has_bounds() -> None:
    """A number setting without limits would let the chart pass anything."""
    defaults = settings.Settings()
    numbers = {
        f.name
        for f in dataclasses.fields(settings.Settings)
        if isinstance(getattr(defaults, f.name), int | float)
        and not isinstance(getattr(defaults, f.name), bool)
    }
    assert numbers - set(settings.BOUNDS) == set()
    assert set(settings.BOUNDS) <= {f.name for f in dataclasses.fields(settings.Settings)}


@pytest.mark.parametrize("name", chartschema.offered())
def test_each_settings_value_carries_the_operators_limits(name: str) -> None:
    node = SCHEMA["properties"]["settings"]["properties"][chartschema.camel(name)]
    bounds = settings.BOUNDS.get(name)
    if bounds is None:
        return
    number = next(
        (n for n in node.get("anyOf", [node]) if "integer" in n["type"] or n["type"] == "number"),
        None,
    )
    limits = {
        "minimum": bounds.at_least,
        "exclusiveMinimum": bounds.above,
        "maximum": bounds.at_most,
        "exclusiveMaximum": bounds.below,
    }
    if number is None:  # a string
        assert (node.get("minLength"), node.get("maxLength")) == (
            bounds.min_length,
            bounds.max_length,
        )
        return
    assert {k: number.get(k) for k in limits} == limits


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("", True),
        ("http://127.0.0.1:8123", True),
        ("https://127.255.0.9/path", True),
        ("http://localhost:80", True),
        ("http://[::1]:9000", True),
        ("http://10.0.0.5:8080", False),
        ("https://example.com", False),
        ("http://127.0.0.1.example.com", False),
        ("http://128.0.0.1", False),
        ("http://127.0.0.256", False),
        ("http://localhost.example.com", False),
    ],
)
def test_the_endpoint_pattern_admits_only_what_the_operator_admits(
    endpoint: str, allowed: bool
) -> None:
    """The chart may be stricter than the operator, never looser."""
    pattern = chartschema.LOOPBACK_ENDPOINT_PATTERN
    assert bool(re.fullmatch(pattern, endpoint)) is allowed
    try:
        settings.from_env({"ADS_OPERATOR_OCI_ENDPOINT": endpoint})
    except settings.SettingsError:
        assert not allowed


def test_the_chart_has_no_symbolic_links() -> None:
    """helm prints `walk.go:75: found symbolic link` on every command for each one."""
    assert [p for p in CHART.rglob("*") if p.is_symlink()] == []
