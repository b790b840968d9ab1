"""``ads-operator emulator``: start the local OCI emulator.

The emulator is a separate package that shares no code with the operator (an
import-linter contract enforces it), so this hands over to its own entry point by module
name instead of importing it. It is a development tool: a source checkout (``make venv``)
has it, the wheel and the image do not, and there this command says so instead of
failing with a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import runpy
import sys

NOT_INSTALLED = (
    "ads-operator: the OCI emulator is not installed here. It is a development tool that "
    "the ads-operator wheel and image leave out; run it from a source checkout "
    "(`make venv`, then `.venv/bin/ads-operator emulator` or `python -m oci_emulator`)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "All options go to the emulator: see `python -m oci_emulator --help`."


def main(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("oci_emulator") is None:
        print(NOT_INSTALLED, file=sys.stderr)
        return 2
    sys.argv = ["oci_emulator", *getattr(args, "passthrough", [])]
    runpy.run_module("oci_emulator", run_name="__main__", alter_sys=True)
    return 0
