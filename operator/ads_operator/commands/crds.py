"""``ads-operator crds [--check]``: write (or verify) the files generated from the code.

Writes ``crds/*.yaml`` and the identical copies in ``charts/ads-operator/files/crds/``
(from the models), and the generated parts of ``charts/ads-operator/values.schema.json``
(from the operator's settings: their limits, and the loopback rule of ``oci.endpoint``).
With ``--check`` nothing is written: it prints a unified diff and exits 1 when a
committed file differs from a fresh generation (CI and the unit test use this).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from ads_operator.commands import chartschema
from ads_operator.models import crdgen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="only compare the files with a fresh generation; exit 1 with a diff if they differ",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(),
        help="repository root the paths are relative to (default: the current directory)",
    )


def generated_files(root: Path) -> dict[Path, str]:
    """Every generated file (relative to ``root``) and its content. The chart schema is
    regenerated from its committed copy (only its settings part is generated), so it is
    left out when ``root`` has none."""
    files = crdgen.generated_files()
    schema = root / chartschema.SCHEMA_FILE
    if schema.exists():
        files[chartschema.SCHEMA_FILE] = chartschema.render(schema.read_text())
    return files


def stale_files(root: Path) -> dict[Path, str]:
    """Generated files whose committed copy under ``root`` is missing or different,
    mapped to a unified diff."""
    stale: dict[Path, str] = {}
    for relative, text in generated_files(root).items():
        path = root / relative
        current = path.read_text() if path.exists() else ""
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{relative} (committed)",
                tofile=f"{relative} (generated)",
            )
            stale[relative] = "".join(diff)
    return stale


def main(args: argparse.Namespace) -> int:
    root: Path = args.root
    if args.check:
        stale = stale_files(root)
        for relative, diff in stale.items():
            print(diff or f"{relative}: missing", end="")
        if stale:
            print(f"\n{len(stale)} generated file(s) out of date: run `make crds`", file=sys.stderr)
            return 1
        return 0
    for relative, text in generated_files(root).items():
        path = root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                print(f"wrote {relative}")
        except OSError as exc:
            print(
                f"ads-operator crds: cannot write {path}: {exc.strerror or exc}; give --root"
                " the repository's root directory (writable)",
                file=sys.stderr,
            )
            return 1
    return 0
