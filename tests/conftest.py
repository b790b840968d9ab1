"""Shared pytest wiring: each tier's fixtures live in their own plugin module."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest_plugins = [
    "tests.fixtures.cluster",
    "tests.fixtures.emulator",
    "tests.fixtures.resources",
    "tests.fixtures.operator",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a session that mixes the cluster tier with another tier.

    tests/cluster/conftest.py provides ``cluster`` and ``emulator`` (a node, an emulator
    with the proxymux) under the names the other tiers use. Session fixtures built on them
    (``log_group``, ``operator_env``, ...) are cached once per session, with whichever tier
    asked first, so a mixed session runs e2e tests against the node's cluster and emulator.
    ``make test`` (hack/runtests.py) runs each tier in its own session.
    """
    tiers = {_tier_of(item) for item in items}
    if "cluster" in tiers and len(tiers) > 1:
        others = ", ".join(sorted(tiers - {"cluster"}))
        raise pytest.UsageError(
            f"tests/cluster runs in a pytest session of its own, not with {others}: "
            "its session fixtures shadow theirs (use `make test`, or run it alone)"
        )


def _tier_of(item: pytest.Item) -> str:
    try:
        parts = Path(str(item.path)).resolve().relative_to(REPO).parts
    except ValueError:
        return ""
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
