"""The bad-input corpus: ``tests/manifests/invalid`` (the model's, all refused at apply)
plus ``tests/manifests/bad-input`` (this tier's).

Each file starts with comment lines:

* ``# expect: TEXT`` — the message must contain TEXT (a field path, or the name of the
  missing object);
* ``# outcome: refused | terminal | waiting`` (default ``refused``) — refused by the API
  server at apply; accepted but marked ``Terminal`` by the operator; or accepted and held
  back with a condition naming the missing reference (it may still appear, so it is not
  terminal). In the last two cases the operator must not have called OCI at all;
* ``# inflate: "C" * N`` — every ``@@INFLATE@@`` in a string is replaced by ``C`` repeated
  ``N`` times when loaded, so 1 MiB values need no 1 MiB files in the repository.

A file with two documents is an update: the first is created, the second must be refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.operator import REPO

CORPUS_DIRS = (REPO / "tests" / "manifests" / "invalid", REPO / "tests" / "manifests" / "bad-input")
PLACEHOLDER = "@@INFLATE@@"
_INFLATE = re.compile(r'^# inflate: ("(?:[^"\\]|\\.)*") \* (\d+)')


@dataclass(frozen=True)
class BadInput:
    path: Path
    expect: str
    outcome: str
    documents: tuple[dict[str, Any], ...]

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"


def _header(text: str, key: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def _inflate(node: Any, value: str) -> Any:
    if isinstance(node, str):
        return node.replace(PLACEHOLDER, value)
    if isinstance(node, list):
        return [_inflate(item, value) for item in node]
    if isinstance(node, dict):
        return {_inflate(k, value): _inflate(v, value) for k, v in node.items()}
    return node


def load(path: Path) -> BadInput:
    text = path.read_text(encoding="utf-8")
    expect = _header(text, "expect")
    if not expect:
        raise AssertionError(f"{path} has no '# expect:' line")
    outcome = _header(text, "outcome") or "refused"
    if outcome not in ("refused", "terminal", "waiting"):
        raise AssertionError(f"{path}: unknown outcome {outcome!r}")
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    for line in text.splitlines():
        found = _INFLATE.match(line)
        if found:
            filler = json.loads(found.group(1)) * int(found.group(2))
            documents = [_inflate(d, filler) for d in documents]
    return BadInput(path, expect, outcome, tuple(documents))


def corpus() -> list[BadInput]:
    return [load(p) for d in CORPUS_DIRS for p in sorted(d.glob("*.yaml"))]
