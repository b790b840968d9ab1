"""An executed run can never change the environment the emulator runs in.

A job's ``pip install`` once went into the project's own virtualenv (the emulator ran
jobs with its interpreter). Now each run has its own Python environment: installs are
refused by default (the run fails, saying how to allow them) and, allowed, land in the
run's environment only. Each test fingerprints the emulator's environment (every file
under ``sys.prefix`` but bytecode caches: names and sizes) before and after.

The package installed is built here from a local folder (hatchling is in the test
extras), so nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oci_emulator.sandbox import PIP_REFUSED_EXIT
from tests.emulator.conftest import JobFactory
from tests.fixtures.emulator import EmulatorHandle

PACKAGE = "emulator_isolation_probe"

#: The run installs the package with its interpreter's pip (as the pyTorchDistributed
#: driver does), then imports it in a fresh process and exits 0 only if the package came
#: from the run's own environment, not from the emulator's.
INSTALL_SCRIPT = f"""\
import subprocess, sys
code = subprocess.call([sys.executable, "-m", "pip", "install", "--no-index",
                        "--no-build-isolation", "--no-deps", sys.argv[1]])
if code:
    sys.exit(code)
where = subprocess.run([sys.executable, "-c", "import {PACKAGE}; print({PACKAGE}.__file__)"],
                       capture_output=True, text=True, check=True).stdout.strip()
print("imported from", where)
sys.exit(0 if where.startswith(sys.prefix) and sys.argv[2] not in where else 10)
"""
#: The same with the bare `pip` a shell script (or a container's cmd) would call.
SHELL_SCRIPT = 'pip install --no-index --no-build-isolation --no-deps "$1"\n'


def fingerprint(prefix: Path) -> str:
    """Every file under ``prefix`` with its size (bytecode caches aside: any process that
    imports a module may write those), hashed."""
    digest = hashlib.sha256()
    for directory, dirs, files in os.walk(prefix):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(directory, name)
            size = path.lstat().st_size if not path.is_symlink() else -1
            digest.update(f"{path.relative_to(prefix)}\0{size}\n".encode())
    return digest.hexdigest()


@pytest.fixture
def package(tmp_path: Path) -> Path:
    source = tmp_path / "probe"
    (source / PACKAGE).mkdir(parents=True)
    (source / PACKAGE / "__init__.py").write_text("VALUE = 1\n")
    (source / "pyproject.toml").write_text(
        f'[project]\nname = "{PACKAGE}"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    return source


@pytest.fixture
def untouched() -> Iterator[None]:
    """Fails the test if the emulator's environment changed while it ran."""
    prefix = Path(sys.prefix)
    before = fingerprint(prefix)
    yield
    assert fingerprint(prefix) == before, f"a run changed {prefix}"
    assert not list(prefix.glob(f"lib/python*/site-packages/{PACKAGE}*"))


@pytest.mark.parametrize(
    ("name", "script"),
    [("install.py", INSTALL_SCRIPT), ("install.sh", SHELL_SCRIPT)],
    ids=["python -m pip", "pip on PATH"],
)
def test_installs_are_refused_by_default(
    name: str,
    script: str,
    package: Path,
    untouched: None,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
) -> None:
    job = make_job(artifact=(name, script.encode()), args=f"{package} {sys.prefix}")
    done = wait_run(start_run(job).id, timeout=120)
    assert done.lifecycle_state == "FAILED"
    assert f"exit code {PIP_REFUSED_EXIT}" in done.lifecycle_details


def test_allowed_installs_go_to_the_runs_own_environment(
    package: Path,
    untouched: None,
    emulator: EmulatorHandle,
    make_job: JobFactory,
    start_run: Any,
    wait_run: Any,
) -> None:
    job = make_job(artifact=("install.py", INSTALL_SCRIPT.encode()), args=f"{package} {sys.prefix}")
    with emulator.overridden(allow_installs=True):
        done = wait_run(start_run(job).id, timeout=120)
    assert (done.lifecycle_state, done.lifecycle_details) == (
        "SUCCEEDED",
        "Job run artifact execution succeeded. Infrastructure de-provisioning.",
    )
