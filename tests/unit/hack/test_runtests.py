"""hack/runtests.py: the tiers' sessions are counted from pytest's closing lines, and a
session that ended without one (killed, crashed) is a failure, never silently passed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hack import runtests


def _ended(name: str, returncode: int, output: str, tmp_path: Path) -> runtests.Session:
    log = tmp_path / f"{name}.log"
    log.write_text(output)
    session = runtests.Session(name, ("tests/x",), log, returncode=returncode, ended=1.0)
    session.counts = runtests.summary_counts(output)
    return session


def test_closing_line_counts_are_read() -> None:
    output = "tests/a.py ..F\n===== 3 passed, 1 failed, 2 errors, 4 skipped in 9.12s =====\n"
    assert runtests.summary_counts(output) == {
        "passed": 3,
        "failed": 1,
        "errors": 2,
        "skipped": 4,
    }


def test_total_adds_the_sessions_and_counts_errors_as_failures(tmp_path: Path) -> None:
    sessions = [
        _ended("a", 0, "==== 10 passed in 1.0s ====\n", tmp_path),
        _ended("b", 1, "==== 5 passed, 1 failed, 1 error in 2.0s ====\n", tmp_path),
    ]
    assert runtests.total_line(sessions) == "15 passed, 2 failed"


def test_a_session_without_a_closing_line_is_a_failure(tmp_path: Path) -> None:
    sessions = [
        _ended("a", 0, "==== 10 passed in 1.0s ====\n", tmp_path),
        _ended("killed", -15, "tests/e2e/test_x.py ..", tmp_path),
        _ended("empty", 5, "==== no tests ran in 0.1s ====\n", tmp_path),
    ]
    assert runtests.total_line(sessions) == "10 passed, 2 failed"


def test_an_unknown_tier_is_refused_in_one_line() -> None:
    with pytest.raises(SystemExit) as refused:
        runtests.main(["nosuch", "--python", sys.executable])
    assert refused.value.code == 2
