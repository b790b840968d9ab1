"""ADS's environment-variable substitution and name templating, reimplemented.

ADS runs the runtime's ``env`` through a configparser-style interpolation before it
writes the job: ``${OTHER}`` becomes the value of another variable of the same runtime
(recursively), ``$$`` becomes ``$``, a ``$`` before anything else stays as it is, and a
reference to an unknown variable leaves the rest of that value untouched (ADS stops
interpreting the value there, so a later ``$$`` survives as ``$$``). Job and run names
use :class:`string.Template` ``safe_substitute`` instead, so ``$NAME`` works there too.
The differences are ADS's; matching them keeps a job we create identical to ADS's.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any, Final

#: configparser's ``ExtendedInterpolation`` reference syntax.
_REFERENCE: Final = re.compile(r"\$\{([^}]+)\}")
#: configparser's recursion limit (``MAX_INTERPOLATION_DEPTH``).
MAX_DEPTH: Final = 10
#: ADS keeps its variables in a configparser section of this name, so ``${envs:X}``
#: resolves too.
_SECTION: Final = "envs"


class SubstitutionError(ValueError):
    """An env value ADS itself would refuse (bad ``${`` syntax or a reference loop)."""


def normalise_value(value: Any) -> str:
    """ADS's coercion of a value: None -> "", strings as is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def substitute(env: Iterable[tuple[str, Any]] | Mapping[str, Any]) -> dict[str, str]:
    """The variables as ADS writes them into the job, in their original order."""
    pairs = env.items() if isinstance(env, Mapping) else env
    raw = {name: normalise_value(value) for name, value in pairs}
    return {name: _expand(name, value, raw, 1) for name, value in raw.items()}


def _expand(name: str, value: str, raw: Mapping[str, str], depth: int) -> str:
    if depth > MAX_DEPTH:
        raise SubstitutionError(f"env {name}: references nest deeper than {MAX_DEPTH}")
    out: list[str] = []
    rest = value
    while rest:
        at = rest.find("$")
        if at < 0:
            out.append(rest)
            break
        out.append(rest[:at])
        rest = rest[at:]
        follower = rest[1:2]
        if follower == "$":
            out.append("$")
            rest = rest[2:]
        elif follower == "{":
            match = _REFERENCE.match(rest)
            if match is None:
                raise SubstitutionError(f"env {name}: bad reference {rest!r}")
            path = match.group(1).split(":")
            if len(path) > 2:
                raise SubstitutionError(f"env {name}: more than one ':' in {match.group(0)!r}")
            target = None if len(path) == 2 and path[0] != _SECTION else path[-1]
            if target is None or target not in raw:
                out.append(rest)  # ADS leaves the remainder uninterpreted
                break
            rest = rest[match.end() :]
            referenced = raw[target]
            if "$" in referenced:
                out.append(_expand(target, referenced, raw, depth + 1))
            else:
                out.append(referenced)
        else:
            out.append("$")
            rest = rest[1:]
    return "".join(out)


def template_name(name: str, env: Mapping[str, str]) -> str:
    """A job or run name with ``$VAR``/``${VAR}`` filled in, unknown ones left alone."""
    return string.Template(name).safe_substitute(env)
