"""Shared pytest wiring: each tier's fixtures live in their own plugin module."""

pytest_plugins = [
    "tests.fixtures.cluster",
    "tests.fixtures.emulator",
    "tests.fixtures.operator",
]
