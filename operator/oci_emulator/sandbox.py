"""Each executed run's own Python environment: no run can change the emulator's.

On OCI every job run (every node of a multi-node run) gets a fresh machine, so a job's
``pip install`` changes nothing else. The emulator runs jobs as host processes; run with
the emulator's own interpreter, the pyTorchDistributed example once installed torch (and
replaced setuptools) in the project's virtualenv, two replicas at once. So each run, and
each replica, gets a virtual environment of its own in its work directory:

* its ``python`` runs ``.py`` entrypoints, and its ``bin/`` comes first on ``PATH``, with
  ``pip``/``pip3`` that call ``python -m pip`` (so a bare ``pip`` never reaches the
  emulator's);
* the emulator's packages stay importable (the ``oci`` SDK for uploads, the notebook
  runner's dependencies) through a ``.pth`` file, read-only: pip installs into the run's
  environment, and refuses to uninstall what lies outside it;
* no bytecode is written (``PYTHONDONTWRITEBYTECODE``): the emulator's ``__pycache__``
  folders stay as they are, and the compiled files already there are still used (a
  per-run ``PYTHONPYCACHEPREFIX`` would recompile the standard library for every run);
* installs are refused unless the emulator runs with ``--allow-installs``: a stand-in
  ``pip`` in the run's environment fails the run with a message that says so. As nothing
  can be installed then, runs share one such environment (made once per work root); with
  installs allowed each run and each replica has its own. Installing
  means downloading from a package index (torch is gigabytes), which tests and the demo
  must not depend on; allowed, the packages land in the run's environment and go with
  its work directory.

Creating one costs a few milliseconds (no pip, no activation scripts).
"""

from __future__ import annotations

import os
import shutil
import site
import sys
import sysconfig
import uuid
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

#: Exit code of a refused ``pip``.
PIP_REFUSED_EXIT: Final = 3
PIP_REFUSED_MESSAGE: Final = (
    "oci_emulator: this run tried to install Python packages (pip); the emulator refuses"
    " installs so that runs never download packages or change its environment. Start the"
    " emulator with --allow-installs (settings allow_installs) to let runs install into"
    " their own environment."
)
_REFUSING_PIP: Final = f"""\
import sys

sys.stderr.write({PIP_REFUSED_MESSAGE!r} + "\\n")
sys.exit({PIP_REFUSED_EXIT})
"""
_PIP_SHIM: Final = '#!/bin/sh\nexec "$(dirname "$0")/python" -m pip "$@"\n'


@dataclass(frozen=True)
class Sandbox:
    """A run's virtual environment (see the module docstring)."""

    root: Path

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin_dir / "python"

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with the run's environment first on ``PATH`` and the emulator's
        virtualenv (if any) off it."""
        path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p]
        host_bin = str(Path(sys.prefix) / "bin")
        if sys.prefix != sys.base_prefix:  # the emulator runs in a virtualenv
            path = [p for p in path if os.path.normpath(p) != host_bin]
        env = dict(env)
        env.pop("PYTHONHOME", None)
        env.update(
            PATH=os.pathsep.join([str(self.bin_dir), *path]),
            VIRTUAL_ENV=str(self.root),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONNOUSERSITE="1",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )
        return env


class _Builder(venv.EnvBuilder):
    """A virtual environment without activation scripts: nobody activates it."""

    def setup_scripts(self, context: Any) -> None:
        return None


def create(root: Path, *, allow_installs: bool) -> Sandbox:
    """The virtual environment at ``root``, made on first use."""
    sandbox = Sandbox(root)
    if sandbox.python.exists():
        return sandbox
    # Built aside and moved into place, so runs starting together may share one root.
    building = root.with_name(f"{root.name}.{uuid.uuid4().hex}")
    _build(building, allow_installs=allow_installs)
    try:
        building.rename(root)
    except OSError:  # another run's environment got there first: use that one
        shutil.rmtree(building, ignore_errors=True)
        if not sandbox.python.exists():
            raise
    return sandbox


def _build(root: Path, *, allow_installs: bool) -> None:
    _Builder(with_pip=False, symlinks=True, clear=True).create(root)
    site_packages = Path(
        sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)})
    )
    host_dirs = [d for d in dict.fromkeys(site.getsitepackages()) if os.path.isdir(d)]
    (site_packages / "_oci_emulator_host.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in host_dirs)
    )
    if not allow_installs:
        stand_in = site_packages / "pip"
        stand_in.mkdir()
        (stand_in / "__init__.py").write_text(_REFUSING_PIP)
        (stand_in / "__main__.py").write_text(_REFUSING_PIP)
    for name in ("pip", "pip3", f"pip{sys.version_info.major}.{sys.version_info.minor}"):
        shim = root / "bin" / name
        shim.write_text(_PIP_SHIM)
        shim.chmod(0o755)
