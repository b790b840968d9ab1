"""Reading settings from ``ADS_OPERATOR_*`` variables, and listing them for the docs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields

from ads_operator.settings.model import PREFIX, AuthMode, Settings, SettingsError


def _convert(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r} is not a boolean")
    try:
        if isinstance(default, AuthMode):
            return AuthMode(raw.strip())
        if isinstance(default, int):
            return _whole_number(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r}: {exc}") from None
    return raw


def _whole_number(raw: str) -> int:
    """An integer, also in the exponent form Helm renders a values file's numbers in
    (``1000000`` in a values file reaches the environment as ``1e+06``)."""
    try:
        return int(raw)
    except ValueError:
        number = float(raw)
        if not number.is_integer():
            raise ValueError(f"{raw!r} is not a whole number") from None
        return int(number)


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``ADS_OPERATOR_*`` variables; unset ones keep their defaults."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, object] = {}
    for field in fields(Settings):
        raw = env.get(PREFIX + field.name.upper())
        if raw is not None:
            values[field.name] = _convert(field.name, raw, getattr(defaults, field.name))
    return Settings(**values)  # type: ignore[arg-type]


def describe() -> list[tuple[str, str]]:
    """(variable, default) pairs, for ``docs/operator.md`` and ``--help``."""
    defaults = Settings()
    return [(PREFIX + f.name.upper(), str(getattr(defaults, f.name))) for f in fields(Settings)]
