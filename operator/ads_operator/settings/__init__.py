"""Operator settings, read once from the environment (``ADS_OPERATOR_*``).

Every knob that changes behaviour a user can observe lives here with its reason, so the
chart, ``make demo`` and the tests set the same names. Durations are seconds.
:mod:`.model` is the settings themselves, :mod:`.limits` the values each accepts,
:mod:`.environment` how they are read.
"""

from __future__ import annotations

from ads_operator.settings.environment import describe, from_env
from ads_operator.settings.limits import BOUNDS, NUMBER_LIMIT, Bounds
from ads_operator.settings.model import (
    PREFIX,
    SERVICE_ACCOUNT_TOKEN,
    AuthMode,
    Settings,
    SettingsError,
)

__all__ = [
    "BOUNDS",
    "NUMBER_LIMIT",
    "PREFIX",
    "SERVICE_ACCOUNT_TOKEN",
    "AuthMode",
    "Bounds",
    "Settings",
    "SettingsError",
    "describe",
    "from_env",
]
