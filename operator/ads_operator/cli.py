"""The ``ads-operator`` command line.

Each subcommand lives in its own module and is imported only when it runs, so that
``ads-operator --help`` stays fast and a subcommand's dependencies never load for another.
The table below is the whole dispatch (the demo is ``make demo`` in a checkout: it needs
the locally built control plane, which an installed package does not have); a module
exposes ``add_arguments(parser)`` and ``main(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Final, Protocol, cast

from ads_operator import __version__

#: subcommand -> (module implementing it, one-line help)
SUBCOMMANDS: Final[dict[str, tuple[str, str]]] = {
    "run": ("ads_operator.commands.run", "run the operator (kopf) against the current cluster"),
    "emulator": ("ads_operator.commands.emulator", "start the local OCI emulator"),
    "crds": ("ads_operator.commands.crds", "generate the CRDs from the models"),
    "convert": ("ads_operator.commands.convert", "convert ADS job YAML <-> DataScienceJob"),
    "logs": ("ads_operator.commands.logs", "print a run's log lines, optionally following"),
}


#: Subcommands that hand their options to another program's parser.
PASSTHROUGH: Final = frozenset({"emulator"})


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def main(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> _Command | None:
    module_name, _ = SUBCOMMANDS[name]
    try:
        return cast(_Command, importlib.import_module(module_name))
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None


def build_parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ads-operator",
        description="Run OCI Data Science jobs declaratively from Kubernetes.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            command = _load(name)
            if command is not None:
                command.add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(selected if selected in SUBCOMMANDS else None)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command in PASSTHROUGH:
        # Options of another program (e.g. the emulator's --port) go through untouched.
        args.passthrough = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    command = _load(args.command)
    if command is None:
        print(f"ads-operator: '{args.command}' is not implemented yet", file=sys.stderr)
        return 2
    try:
        return command.main(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # The commands report the errors a user can fix themselves, in one line; anything
        # else is a bug of ours, still one line unless --traceback asks for the details.
        if args.traceback:
            raise
        text = (str(exc).strip().splitlines() or [""])[0]
        print(
            f"ads-operator {args.command}: unexpected {type(exc).__name__}: {text} (a bug:"
            " please report it with the command line; --traceback shows where it happened)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
