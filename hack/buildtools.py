"""Build (or reuse) the local control plane's binaries from Go modules.

kube-apiserver and kubectl come from ``k8s.io/kubernetes``, etcd from
``go.etcd.io/etcd/server/v3``, helm from ``helm.sh/helm/v3``. With ``--node`` the node's
binaries are built too: kubelet, kube-controller-manager and kube-scheduler from the same
``k8s.io/kubernetes`` module, and ``ads-pause`` (``hack/tools/pause``), the tiny program
that is both the pod sandbox image and the node tests' workload. Each tool has its own Go
module under ``hack/tools/<tool>/`` so that Go's minimal version selection never merges
their dependency graphs; the pinned versions live in those ``go.mod`` files and nowhere
else.

Binaries are cached per tool and version in ``$ADS_OPERATOR_TOOLS_BIN`` (default
``~/.cache/ads-operator/bin``), e.g. ``kube-v1.35.4/kube-apiserver``. A binary is built
to a temporary name, checked by running it, and only then renamed into place, so an
interrupted build never leaves a file that later runs as if complete.

Only the standard library is used: this runs before any virtualenv exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HACK_DIR = Path(__file__).resolve().parent
MODULES_DIR = HACK_DIR / "tools"
MIN_GO = (1, 26)


class ToolError(Exception):
    """A build problem explained for a person: what failed and what to do."""


@dataclass(frozen=True)
class Binary:
    name: str
    package: str  # Go package path inside the tool's module ("." for the module itself)
    version_args: tuple[str, ...] = ("--version",)
    node: bool = False  # only needed to run pods (hack/build-tools --node)


@dataclass(frozen=True)
class Tool:
    """One Go module under hack/tools/ and the binaries it builds."""

    name: str
    # The required module whose version names the cache directory; empty for our own
    # source (hack/tools/pause), named by a hash of its files instead.
    module: str
    binaries: tuple[Binary, ...]
    ldflags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def module_dir(self) -> Path:
        return MODULES_DIR / self.name

    @property
    def version(self) -> str:
        if not self.module:
            return source_version(self.module_dir)
        return pinned_version(self.module_dir / "go.mod", self.module)

    def cache_dir(self, root: Path) -> Path:
        return root / f"{self.name}-{self.version}"

    def resolved_ldflags(self) -> str:
        if not self.ldflags:
            return "-s -w"
        version = self.version
        major, minor = version.lstrip("v").split(".")[:2]
        values = {"version": version, "major": major, "minor": minor}
        return " ".join(["-s", "-w", *(flag.format(**values) for flag in self.ldflags)])


def _kube_version_flags() -> tuple[str, ...]:
    # Without these, /version reports v0.0.0-master and helm refuses charts with kubeVersion.
    flags: list[str] = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={{version}}",
            f"-X {pkg}.gitMajor={{major}}",
            f"-X {pkg}.gitMinor={{minor}}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.gitCommit=go-module-build",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return tuple(flags)


def _helm_version_flags() -> tuple[str, ...]:
    # helm's lint rules and .Capabilities.KubeVersion default to an old Kubernetes otherwise.
    return (
        "-X helm.sh/helm/v3/internal/version.version={version}",
        "-X helm.sh/helm/v3/internal/version.metadata=",
        "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
        "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1",
        "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=35",
        "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1",
        "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=35",
    )


TOOLS: tuple[Tool, ...] = (
    Tool(
        name="kube",
        module="k8s.io/kubernetes",
        binaries=(
            Binary("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"),
            Binary("kubectl", "k8s.io/kubernetes/cmd/kubectl", ("version", "--client")),
        ),
        ldflags=_kube_version_flags(),
    ),
    Tool(
        name="kube",
        module="k8s.io/kubernetes",
        binaries=(
            Binary("kubelet", "k8s.io/kubernetes/cmd/kubelet", node=True),
            Binary(
                "kube-controller-manager",
                "k8s.io/kubernetes/cmd/kube-controller-manager",
                node=True,
            ),
            Binary("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", node=True),
        ),
        ldflags=_kube_version_flags(),
    ),
    Tool(name="pause", module="", binaries=(Binary("ads-pause", ".", node=True),)),
    # The e2e tests' judge of our status: kstatus (what Flux waits on) and Argo CD's Lua.
    Tool(name="kstatus", module="", binaries=(Binary("ads-kstatus", "."),)),
    Tool(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        binaries=(Binary("etcd", "."),),
    ),
    Tool(
        name="helm",
        module="helm.sh/helm/v3",
        binaries=(Binary("helm", "helm.sh/helm/v3/cmd/helm", ("version", "--short")),),
        ldflags=_helm_version_flags(),
    ),
)


def cache_root() -> Path:
    configured = os.environ.get("ADS_OPERATOR_TOOLS_BIN")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "ads-operator" / "bin"


def pinned_version(go_mod: Path, module: str) -> str:
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", go_mod.read_text(), re.M)
    if match is None:
        raise ToolError(f"{go_mod} does not require {module}; the pin is missing")
    return match.group(1)


def source_version(module_dir: Path) -> str:
    """A version for our own Go source: a hash of its files, so an edit means a rebuild."""
    digest = hashlib.sha256()
    for path in sorted(module_dir.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return "src-" + digest.hexdigest()[:12]


def bin_dirs(root: Path | None = None) -> list[Path]:
    """The cache directories holding this checkout's pinned binaries (may not exist yet)."""
    root = root or cache_root()
    return list(dict.fromkeys(tool.cache_dir(root) for tool in TOOLS))


def find_binary(name: str, root: Path | None = None) -> Path:
    """Path of a cached binary; ToolError with the command to run when it is missing."""
    for directory in bin_dirs(root):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    node = any(b.name == name and b.node for tool in TOOLS for b in tool.binaries)
    how = (
        "`make node-tools` (hack/build-tools --node)" if node else "`make tools` (hack/build-tools)"
    )
    raise ToolError(f"{name} is not built yet: run {how} first")


def _progress(message: str, started: float) -> None:
    print(f"[build-tools {time.monotonic() - started:6.1f}s] {message}", flush=True)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolError(
            "the Go toolchain was not found on PATH; install Go "
            f"{MIN_GO[0]}.{MIN_GO[1]} or newer and run this again"
        )
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    match = re.match(r"go(\d+)\.(\d+)", out.stdout.strip())
    if match is None or (int(match.group(1)), int(match.group(2))) < MIN_GO:
        raise ToolError(
            f"found {out.stdout.strip() or 'an unknown Go'} at {go}; these modules need "
            f"Go {MIN_GO[0]}.{MIN_GO[1]} or newer (the build never downloads a toolchain)"
        )
    return go


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Static binaries like upstream's; never fetch another toolchain behind our back.
    env.update({"CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-trimpath"})
    return env


def _run(cmd: list[str], cwd: Path, what: str, hint: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=_go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise ToolError(f"{what} failed (exit {proc.returncode}):\n{tail}\n\nWhat to do: {hint}")


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One builder at a time per cache (two checkouts may run `make test` together)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_tool(tool: Tool, root: Path, started: float, node: bool = False) -> None:
    target = tool.cache_dir(root)
    wanted = [b for b in tool.binaries if node or not b.node]
    missing = [b for b in wanted if not (target / b.name).is_file()]
    if not wanted:
        return
    if not missing:
        names = ", ".join(b.name for b in wanted)
        _progress(f"{tool.name} {tool.version}: {names} cached in {target}", started)
        return
    go = _go()
    target.mkdir(parents=True, exist_ok=True)
    _progress(f"{tool.name} {tool.version}: downloading modules", started)
    _run(
        [go, "mod", "download"],
        tool.module_dir,
        f"downloading the Go modules for {tool.name}",
        "check that the Go module proxy is reachable (GOPROXY) and run `make tools` again",
    )
    for binary in missing:
        _progress(
            f"{tool.name} {tool.version}: building {binary.name} (minutes when cold)", started
        )
        partial = target / f".{binary.name}.partial-{os.getpid()}"
        try:
            _run(
                [
                    go,
                    "build",
                    "-ldflags",
                    tool.resolved_ldflags(),
                    "-o",
                    str(partial),
                    binary.package,
                ],
                tool.module_dir,
                f"building {binary.name}",
                "read the compiler output above; `go clean -cache` helps after a corrupted cache",
            )
            check = subprocess.run(
                [str(partial), *binary.version_args], capture_output=True, text=True, check=False
            )
            if check.returncode != 0:
                raise ToolError(f"the freshly built {binary.name} does not run: {check.stderr}")
            os.replace(partial, target / binary.name)
        finally:
            partial.unlink(missing_ok=True)
        first_line = (check.stdout or check.stderr).strip().splitlines()[0]
        _progress(f"{tool.name}: {binary.name} ready ({first_line})", started)


def build_all(root: Path | None = None, node: bool = False) -> list[Path]:
    root = root or cache_root()
    started = time.monotonic()
    with _locked(root):
        for tool in TOOLS:
            build_tool(tool, root, started, node)
    _progress(f"all tools ready under {root}", started)
    return bin_dirs(root)


def main(argv: list[str]) -> int:
    if argv[1:] == ["--print-path"]:
        print(os.pathsep.join(str(d) for d in bin_dirs()))
        return 0
    if argv[1:] not in ([], ["--node"]):
        print("usage: hack/build-tools [--node | --print-path]", file=sys.stderr)
        return 2
    try:
        build_all(node=argv[1:] == ["--node"])
    except ToolError as exc:
        print(f"build-tools: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
