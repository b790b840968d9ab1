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
    parser.add_argument(
        "emulator_args", nargs=argparse.REMAINDER, help="options of `python -m oci_emulator`"
    )


def main(args: argparse.Namespace) -> int:
    sys.argv = ["oci_emulator", *args.emulator_args]
    runpy.run_module("oci_emulator", run_name="__main__", alter_sys=True)
    return 0
