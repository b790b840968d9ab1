"""Build the operator image from the repository's unchanged ``Dockerfile`` with buildah.

No image registry is reachable from these machines, so the Dockerfile's base
(``PYTHON_IMAGE``, ``python:3.11-slim-bookworm`` by default) is made here: a Debian
bookworm root file system from ``mmdebstrap`` with Debian's Python 3.11, shaped like the
official slim image (``python`` on PATH, ``venv`` works, pip installed by pip rather than
by dpkg so the Dockerfile's ``pip uninstall`` can remove it, no EXTERNALLY-MANAGED
marker). It is imported into a buildah store of our own and passed as
``--build-arg PYTHON_IMAGE=localhost/ads-operator-base:<key>``, where the key is a hash of
the recipe below: the slow part (a minute or two of Debian downloads) runs once per
recipe, not once per build.

The result is written as an OCI image archive (``dist/image/ads-operator.oci.tar``) whose
index names the image for ``ctr images import`` (``io.containerd.image.name``) as well as
for OCI tools (``org.opencontainers.image.ref.name``).

Everything is cached under ``~/.cache/ads-operator/image`` (or
``$ADS_OPERATOR_IMAGE_CACHE``): the base's root file system tar and buildah's storage with
its layer cache. Build steps reach PyPI on the host network, trusting the host's CA
bundle (bind-mounted for ``RUN`` steps only, never committed to a layer).

Only the standard library is used: this runs before any virtualenv exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

HACK_DIR = Path(__file__).resolve().parent
ROOT = HACK_DIR.parent
ARCHIVE = ROOT / "dist" / "image" / "ads-operator.oci.tar"
IMAGE_NAME = "localhost/ads-operator"
BASE_NAME = "localhost/ads-operator-base"
VERSION_FILE = ROOT / "operator" / "ads_operator" / "__init__.py"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# command -> Debian package that provides it
DEBIAN_PACKAGES = {"buildah": "buildah", "mmdebstrap": "mmdebstrap"}
CONTAINERD_NAME = "io.containerd.image.name"
OCI_REF_NAME = "org.opencontainers.image.ref.name"


class ImageError(Exception):
    """A build problem explained for a person: what failed and what to do."""


def _install_pip_from_debian_wheels() -> str:
    # Debian disables ensurepip for the system Python; its pip wheel still runs from the
    # zip. Installed this way pip has a RECORD, so `pip uninstall pip` works as in the
    # official image (a dpkg-installed pip refuses to uninstall itself).
    return (
        'chroot "$1" sh -c \'set -- /usr/share/python-wheels/pip-*.whl; '
        'python3 "$1/pip" install --quiet --no-index --no-cache-dir '
        "--find-links /usr/share/python-wheels pip setuptools'"
    )


@dataclass(frozen=True)
class BaseRecipe:
    """Everything that defines the base image; its hash names the cached copy."""

    suite: str = "bookworm"
    sources: tuple[str, ...] = (
        "deb http://deb.debian.org/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm-updates main",
        "deb http://deb.debian.org/debian-security bookworm-security main",
    )
    # What python:3.11-slim-bookworm carries besides Python: CA certificates, netbase, tzdata.
    packages: tuple[str, ...] = (
        "python3",
        "python3-venv",
        "python-is-python3",
        "ca-certificates",
        "netbase",
        "tzdata",
    )
    options: tuple[str, ...] = (
        "--variant=minbase",
        # merged /usr by symlinks, without the usrmerge package (which pulls in perl)
        "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
        "--skip=output/dev",
        '--aptopt=APT::Install-Recommends "false"',
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/info/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    )
    customize: tuple[str, ...] = (
        'rm -f "$1"/usr/lib/python3.11/EXTERNALLY-MANAGED',
        _install_pip_from_debian_wheels(),
        'chroot "$1" python -m pip --version',
        'chroot "$1" python -m venv --without-pip /tmp/venv-check',
        'rm -rf "$1"/tmp/venv-check "$1"/root/.cache "$1"/var/lib/apt/lists/*',
        'rm -rf "$1"/var/cache/apt/*.bin "$1"/var/cache/debconf/*-old "$1"/var/log/*.log',
    )
    env: tuple[str, ...] = (
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG=C.UTF-8",
    )
    cmd: tuple[str, ...] = ("python3",)
    # Bump when something outside these fields changes what the base contains.
    revision: int = 1

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def image(self) -> str:
        return f"{BASE_NAME}:{self.key()}"


RECIPE = BaseRecipe()


def cache_root() -> Path:
    configured = os.environ.get("ADS_OPERATOR_IMAGE_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "ads-operator" / "image"


def package_version() -> str:
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', VERSION_FILE.read_text(), re.M)
    return match.group(1) if match else "dev"


class Progress:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[build-image {time.monotonic() - self.started:6.1f}s] {message}", flush=True)


def _run(
    cmd: Sequence[str], what: str, hint: str, *, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), capture_output=capture, text=True, check=False)
    if proc.returncode != 0:
        output = (proc.stderr or "") + (proc.stdout or "") if capture else ""
        tail = "\n".join(output.strip().splitlines()[-25:])
        raise ImageError(f"{what} failed (exit {proc.returncode}):\n{tail}\n\nWhat to do: {hint}")
    return proc


def ensure_debian_packages(say: Progress) -> None:
    """apt-get install buildah and mmdebstrap when missing, saying so (a fresh machine)."""
    missing = sorted({pkg for cmd, pkg in DEBIAN_PACKAGES.items() if shutil.which(cmd) is None})
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise ImageError(
            f"missing {', '.join(missing)}; on Debian 12 run as root: "
            f"apt-get update && apt-get install -y {' '.join(missing)}"
        )
    say(f"installing Debian packages: {' '.join(missing)} (apt-get update first)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]  # another apt-get may be running
    for args in (["update"], ["install", "-y", "--no-install-recommends", *missing]):
        proc = subprocess.run([apt, *lock, *args], env=env, text=True, check=False)
        if proc.returncode != 0:
            raise ImageError(f"apt-get {args[0]} failed (exit {proc.returncode}); see above")
    say(f"installed {' '.join(missing)}")


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One build at a time per cache (two checkouts may run `make test` together)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass(frozen=True)
class Buildah:
    """buildah pointed at our own store, so nothing touches /var/lib/containers."""

    cache: Path
    driver: str

    @property
    def global_args(self) -> list[str]:
        return [
            "buildah",
            "--root",
            str(self.cache / f"storage-{self.driver}"),
            "--runroot",
            str(self.cache / f"run-{self.driver}"),
            "--storage-driver",
            self.driver,
        ]

    def run(self, *args: str, what: str, hint: str = "read buildah's message above") -> str:
        return _run([*self.global_args, *args], what, hint).stdout

    def has_image(self, name: str) -> bool:
        proc = subprocess.run(
            [*self.global_args, "inspect", "--type", "image", name],
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.returncode == 0


def pick_driver(cache: Path, say: Progress) -> Buildah:
    """overlay when the kernel and file system allow it, else vfs (slower, always works)."""
    forced = os.environ.get("ADS_OPERATOR_STORAGE_DRIVER")
    for driver in [forced] if forced else ["overlay", "vfs"]:
        buildah = Buildah(cache, driver)
        proc = subprocess.run(
            [*buildah.global_args, "images"], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0:
            say(f"buildah storage: {driver} in {cache}")
            return buildah
        say(f"buildah storage driver {driver} unusable here: {proc.stderr.strip()[:200]}")
    raise ImageError("no buildah storage driver works here (tried overlay and vfs)")


def ensure_base(buildah: Buildah, recipe: BaseRecipe, say: Progress) -> str:
    """The base image in buildah's store, made from the cached root file system tar."""
    if buildah.has_image(recipe.image):
        say(f"base {recipe.image}: cached")
        return recipe.image
    tar = buildah.cache / f"base-{recipe.key()}.tar"
    if not tar.is_file():
        say(f"base: mmdebstrap {recipe.suite} with {', '.join(recipe.packages)} (a minute or two)")
        partial = tar.with_name(f".{tar.name}.partial-{os.getpid()}")
        try:
            _run(
                [
                    "mmdebstrap",
                    *recipe.options,
                    f"--include={','.join(recipe.packages)}",
                    *(f"--customize-hook={hook}" for hook in recipe.customize),
                    "--format=tar",
                    recipe.suite,
                    str(partial),
                    *recipe.sources,
                ],
                "mmdebstrap (the base root file system)",
                "check that deb.debian.org is reachable, then run `make image` again",
            )
            os.replace(partial, tar)
        finally:
            partial.unlink(missing_ok=True)
        for old in buildah.cache.glob("base-*.tar"):
            if old != tar:
                old.unlink()
        say(f"base: root file system ready ({tar.stat().st_size / 1e6:.0f} MB)")
    say(f"base: importing as {recipe.image}")
    container = f"ads-operator-base-{os.getpid()}"
    buildah.run("from", "--name", container, "scratch", what="buildah from scratch")
    try:
        buildah.run("add", container, str(tar), "/", what="adding the base root file system")
        config: list[str] = []
        for env in recipe.env:
            config += ["--env", env]
        buildah.run(
            "config",
            *config,
            "--cmd",
            json.dumps(list(recipe.cmd)),
            "--os",
            "linux",
            "--arch",
            "amd64",
            container,
            what="configuring the base image",
        )
        buildah.run("commit", "--quiet", container, recipe.image, what="committing the base")
    finally:
        subprocess.run(
            [*buildah.global_args, "rm", container], capture_output=True, text=True, check=False
        )
    for line in buildah.run(
        "images", "--format", "{{.Name}}:{{.Tag}}", what="listing images"
    ).splitlines():
        if line.startswith(f"{BASE_NAME}:") and line != recipe.image:
            buildah.run("rmi", line, what=f"removing the old base {line}")
    return recipe.image


#: buildah's step lines: "--> 06bdce96581" (a new layer) or "--> Using cache <id>".
STEP_IMAGE = re.compile(r"^--> (?:Using cache )?([0-9a-f]{11,64})\s*$")


def build(buildah: Buildah, base: str, reference: str, say: Progress) -> set[str]:
    """Run the Dockerfile; the IDs of the images (one per step) this build made or reused."""
    say(f"buildah build {reference} from Dockerfile (PYTHON_IMAGE={base})")
    mounts: list[str] = []
    if HOST_CA_BUNDLE.is_file():
        # This machine's trust store (it may include a TLS-inspecting proxy's CA) for the
        # RUN steps that reach PyPI; a bind mount, so it never lands in a layer.
        mounts = ["--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
    cmd = [
        *buildah.global_args,
        "build",
        "--file",
        str(ROOT / "Dockerfile"),
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--pull=never",
        "--layers",
        "--isolation",
        "chroot",
        "--network",
        "host",
        *mounts,
        "--format",
        "oci",
        "--tag",
        reference,
        str(ROOT),
    ]
    used: set[str] = set()
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            match = STEP_IMAGE.match(line)
            if match:
                used.add(match.group(1))
    if proc.returncode != 0:
        raise ImageError(
            f"buildah build failed (exit {proc.returncode}); read its output above "
            "(the build stage needs PyPI)"
        )
    return used


def prune(buildah: Buildah, keep: set[str], say: Progress) -> None:
    """Drop the layer cache of earlier builds: only this build's steps are worth keeping.

    Every source change makes a new chain of intermediate images (the virtualenv alone is
    ~330 MB), so without this the store grows with each edit.
    """
    images = json.loads(
        buildah.run("images", "--all", "--no-trunc", "--json", what="listing images") or "[]"
    )
    old = [
        image
        for image in images
        if not image.get("names")
        and not any(image["id"].removeprefix("sha256:").startswith(k) for k in keep)
    ]
    # Children before parents: newest first, and a second pass for what was still in use.
    for _ in range(2):
        for image in sorted(old, key=lambda i: i.get("created", 0), reverse=True):
            subprocess.run(
                [*buildah.global_args, "rmi", image["id"]],
                capture_output=True,
                text=True,
                check=False,
            )
    if old:
        say(f"pruned the layer cache of earlier builds ({len(old)} images)")


def archived_image_id(archive: Path, reference: str) -> str | None:
    """The image (config digest) the archive already holds under ``reference``, if any."""
    try:
        with tarfile.open(archive) as tar:
            index = json.loads(_member(tar, "index.json"))
            (entry,) = index["manifests"]
            if entry.get("annotations", {}).get(CONTAINERD_NAME) != reference:
                return None
            manifest = json.loads(_member(tar, _blob_path(entry["digest"])))
    except (OSError, KeyError, ValueError, tarfile.TarError):
        return None
    digest: str = manifest["config"]["digest"]
    return digest.removeprefix("sha256:")


def _blob_path(digest: str) -> str:
    return f"blobs/{digest.replace(':', '/')}"


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise KeyError(name)
    return member.read()


def export(buildah: Buildah, reference: str, archive: Path, say: Progress) -> Path:
    """An OCI archive that ``ctr images import`` and OCI tools both name ``reference``."""
    say(f"exporting to {archive}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".layout-") as tmp:
        layout = Path(tmp) / "layout"
        buildah.run("push", "--quiet", reference, f"oci:{layout}:{reference}", what="buildah push")
        index_path = layout / "index.json"
        index = json.loads(index_path.read_text())
        for manifest in index["manifests"]:
            annotations = manifest.setdefault("annotations", {})
            annotations[CONTAINERD_NAME] = reference
            annotations[OCI_REF_NAME] = reference
        index_path.write_text(json.dumps(index, separators=(",", ":")))
        partial = archive.with_name(f".{archive.name}.partial-{os.getpid()}")
        try:
            with tarfile.open(partial, "w") as out:
                for path in sorted(layout.rglob("*")):
                    info = out.gettarinfo(str(path), arcname=str(path.relative_to(layout)))
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mtime = 0
                    if path.is_file():
                        with path.open("rb") as fh:
                            out.addfile(info, fh)
                    else:
                        out.addfile(info)
            os.replace(partial, archive)
        finally:
            partial.unlink(missing_ok=True)
    return archive


@dataclass(frozen=True)
class Summary:
    reference: str
    layers: int
    compressed: int
    uncompressed: int


def summarize(archive: Path) -> Summary:
    """Name, layer count and sizes, read back from the archive itself."""
    with tarfile.open(archive) as tar:
        index = json.loads(_member(tar, "index.json"))
        (entry,) = index["manifests"]
        manifest = json.loads(_member(tar, _blob_path(entry["digest"])))
        uncompressed = 0
        for layer in manifest["layers"]:
            data = _member(tar, _blob_path(layer["digest"]))
            if "gzip" in layer["mediaType"]:
                data = gzip.decompress(data)
            uncompressed += len(data)
    return Summary(
        reference=entry["annotations"][CONTAINERD_NAME],
        layers=len(manifest["layers"]),
        compressed=archive.stat().st_size,
        uncompressed=uncompressed,
    )


#: What a registry accepts as a tag (the distribution spec's grammar).
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def build_image(tag: str, archive: Path = ARCHIVE, recipe: BaseRecipe = RECIPE) -> Summary:
    if not TAG.fullmatch(tag):
        raise ImageError(
            f"{tag!r} is not a valid image tag (IMAGE_TAG / --tag): letters, digits, '_', "
            "'.' and '-', at most 128, not starting with '.' or '-'"
        )
    say = Progress()
    ensure_debian_packages(say)
    cache = cache_root()
    reference = f"{IMAGE_NAME}:{tag}"
    with _locked(cache):
        buildah = pick_driver(cache, say)
        base = ensure_base(buildah, recipe, say)
        used = build(buildah, base, reference, say)
        image_id = buildah.run(
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.FromImageID}}",
            reference,
            what="reading the new image's ID",
        ).strip()
        prune(buildah, used | {image_id}, say)
        if archived_image_id(archive, reference) == image_id:
            say(f"{archive} already holds this image")
        else:
            export(buildah, reference, archive, say)
    summary = summarize(archive)
    say(
        f"{summary.reference}: {summary.layers} layers, "
        f"{summary.compressed / 1e6:.1f} MB archive, {summary.uncompressed / 1e6:.1f} MB unpacked"
    )
    say(f"load it into the local node: hack/controlplane load-image {archive}")
    return summary


def main(argv: list[str]) -> int:
    args = argv[1:]
    tag = os.environ.get("IMAGE_TAG") or package_version()
    if args[:1] == ["--tag"] and len(args) == 2:
        tag = args[1]
    elif args:
        print("usage: hack/build-image [--tag TAG]   (default: $IMAGE_TAG or the version)")
        return 2
    try:
        build_image(tag)
    except ImageError as exc:
        print(f"build-image: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
