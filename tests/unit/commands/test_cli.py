"""The `ads-operator` dispatcher: subcommands load lazily, options reach the right parser."""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import pytest

from ads_operator import cli


def test_every_subcommand_has_its_module() -> None:
    for name in cli.SUBCOMMANDS:
        assert cli._load(name) is not None, name


def test_emulator_options_pass_through_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    fake = SimpleNamespace(
        add_arguments=lambda parser: None,
        main=lambda args: seen.append(args.passthrough) or 0,
    )
    monkeypatch.setattr(cli, "_load", lambda name: fake)
    assert cli.main(["emulator", "--port", "0", "--no-auth"]) == 0
    assert seen == [["--port", "0", "--no-auth"]]


def test_unknown_options_of_other_commands_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["crds", "--bogus"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_emulator_command_forwards_to_the_emulators_own_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ads_operator.commands import emulator

    ran: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(
        emulator.runpy,
        "run_module",
        lambda module, **kwargs: ran.append((module, list(sys.argv))),
    )
    assert emulator.main(argparse.Namespace(passthrough=["--port", "0"])) == 0
    assert ran == [("oci_emulator", ["oci_emulator", "--port", "0"])]


def test_emulator_command_explains_when_the_emulator_is_not_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The wheel and the image leave the emulator out: a readable refusal, no traceback."""
    from ads_operator.commands import emulator

    real_find_spec = emulator.importlib.util.find_spec
    monkeypatch.setattr(
        emulator.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "oci_emulator" else real_find_spec(name, *a),
    )
    monkeypatch.setattr(
        emulator.runpy, "run_module", lambda *a, **k: pytest.fail("must not run the emulator")
    )
    assert emulator.main(argparse.Namespace(passthrough=[])) == 2
    err = capsys.readouterr().err
    assert "not installed" in err
    assert "source checkout" in err


def test_malloc_arenas_are_capped_unless_the_variable_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ads_operator.commands.run import few_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert few_malloc_arenas() is False  # the operator's environment wins
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert few_malloc_arenas() is True  # glibc (this machine and the image)
