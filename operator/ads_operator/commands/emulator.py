"""``ads-operator emulator``: start the local OCI emulator.

The emulator is a separate package that shares no code with the operator (an
import-linter contract enforces it), so this hands over to its own entry point by module
name instead of importing it.
"""

from __future__ import annotations

import argparse
import runpy
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "All options go to the emulator: see `python -m oci_emulator --help`."


def main(args: argparse.Namespace) -> int:
    sys.argv = ["oci_emulator", *getattr(args, "passthrough", [])]
    runpy.run_module("oci_emulator", run_name="__main__", alter_sys=True)
    return 0
