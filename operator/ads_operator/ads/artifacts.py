"""Job artifacts, laid out as ADS lays them out, from sources read by the caller.

Network I/O stays out of this layer: this module decides *what* to read
(:func:`source_to_read`) and how to pack it (:func:`assemble_artifact`); the operator reads
it (:mod:`ads_operator.usecases.artifacts`: Object Storage, https, ConfigMaps). Zips are
deterministic (sorted entries, fixed timestamps and modes), so the same spec and the same
source bytes always give the same SHA-256: the operator can tell from the hash alone
whether a job's artifact changed.

Layouts (ADS ``ads/jobs/builders/runtimes/artifact.py``):

* script (and container's optional ``scriptPathURI``): a single file as is; a folder
  zipped as ``<folder>.zip`` with the folder as its top-level directory.
* python: ``<base>.zip`` with the drivers at the root and the code under ``code/`` (an
  archive source is unpacked into ``code/``).
* notebook: ``<base>.zip`` with the notebook drivers and ``code/<notebook or folder>``.
* gitPython: ``ads_driver.zip`` with the drivers only; the code is cloned at run time.
* pyTorchDistributed: ``<base>.zip`` (``artifact.zip`` without a source) with its drivers
  and ``code/``.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Final

from ads_operator.ads import envcontract as ec
from ads_operator.ads.sources import Source, SourceError, parse_source
from ads_operator.models import Runtime, RuntimeType

#: The fixed timestamp of every zip entry (the earliest a zip can record).
ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)
_ARCHIVE_SUFFIXES: Final = (".zip", ".tar.gz", ".tgz", ".tar")

#: Driver files per runtime type, at the root of the artifact.
DRIVERS: Final[dict[RuntimeType, tuple[str, ...]]] = {
    RuntimeType.PYTHON: (ec.DRIVER_UTILS, ec.DRIVER_PYTHON, ec.DRIVER_NOTEBOOK),
    RuntimeType.NOTEBOOK: (ec.DRIVER_UTILS, ec.DRIVER_NOTEBOOK),
    RuntimeType.GIT_PYTHON: (ec.DRIVER_UTILS, ec.DRIVER_GIT, ec.DRIVER_NOTEBOOK),
    RuntimeType.PYTORCH_DISTRIBUTED: (
        ec.DRIVER_UTILS,
        ec.DRIVER_PYTORCH,
        ec.DRIVER_GIT,
        ec.DRIVER_PYTHON,
        ec.DRIVER_NOTEBOOK,
    ),
}
GIT_ARTIFACT_NAME: Final = "ads_driver.zip"


class ArtifactError(ValueError):
    """The sources do not make the artifact the spec describes (e.g. a missing notebook)."""


@dataclass(frozen=True)
class SourceFiles:
    """What reading one source gives (:class:`ads_operator.usecases.artifacts.SourceReader`).

    ``name`` is the file name (single file) or folder name (folder); ``files`` maps the
    relative path of every file to its bytes (for a single file: ``{name: bytes}``).
    """

    name: str
    files: Mapping[str, bytes]
    is_folder: bool


@dataclass(frozen=True)
class Artifact:
    """An artifact ready for CreateJobArtifact (the name goes in content-disposition)."""

    file_name: str
    content: bytes = field(repr=False)
    sha256: str
    #: Things ADS would warn about (e.g. the entrypoint is not in the code); not fatal.
    warnings: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.content)

    @classmethod
    def of(cls, file_name: str, content: bytes, warnings: tuple[str, ...] = ()) -> Artifact:
        return cls(file_name, content, hashlib.sha256(content).hexdigest(), warnings)


def artifact_source(runtime: Runtime) -> str | None:
    """The URI the artifact is built from, or None when the runtime needs none."""
    rs = runtime.spec
    kind = runtime.runtime_type
    if kind is RuntimeType.NOTEBOOK:
        return rs.source or rs.notebook_path_uri
    if kind is RuntimeType.GIT_PYTHON:
        return None
    return rs.script_path_uri


def artifact_source_field(runtime: Runtime) -> str:
    """Where in a DataScienceJob the URI :func:`artifact_source` returns is written (for
    messages that must name the field)."""
    rs = runtime.spec
    if runtime.runtime_type is RuntimeType.NOTEBOOK:
        return "spec.runtime.spec." + ("source" if rs.source else "notebookPathURI")
    return "spec.runtime.spec.scriptPathURI"


def needs_artifact(runtime: Runtime) -> bool:
    """Whether the job gets an artifact at all (a container job without one does not)."""
    return runtime.runtime_type is not RuntimeType.CONTAINER or bool(runtime.spec.script_path_uri)


def source_to_read(runtime: Runtime) -> Source | None:
    """The parsed source the artifact is built from, or None when nothing is read."""
    uri = artifact_source(runtime)
    if uri is None:
        return None
    try:
        return parse_source(uri)
    except SourceError as exc:
        raise ArtifactError(str(exc)) from exc


def assemble_artifact(runtime: Runtime, fetched: SourceFiles | None) -> Artifact | None:
    """The artifact for ``runtime`` from already-read source files (pure)."""
    kind = runtime.runtime_type
    if kind in (RuntimeType.SCRIPT, RuntimeType.CONTAINER):
        if fetched is None:
            return None
        return _script_artifact(fetched)
    if kind is RuntimeType.GIT_PYTHON:
        return Artifact.of(GIT_ARTIFACT_NAME, zip_bytes(driver_files(DRIVERS[kind])))
    if fetched is None and kind is not RuntimeType.PYTORCH_DISTRIBUTED:
        raise ArtifactError(f"runtime type {kind.value} needs a source")
    files = driver_files(DRIVERS[kind])
    code = _code_tree(fetched) if fetched is not None else {}
    files.update({f"code/{path}": data for path, data in code.items()})
    warnings: list[str] = []
    if kind is RuntimeType.NOTEBOOK:
        notebook = ec.notebook_path(runtime.spec)
        if f"code/{notebook}" not in files:
            raise ArtifactError(
                f"notebook {runtime.spec.entrypoint!r} is not in {runtime.spec.source!r}; "
                "entrypoint is the notebook's path relative to the root of source"
            )
    elif fetched is not None:
        warnings.extend(_entrypoint_warnings(runtime, fetched, files))
    base = _base_name(fetched.name if fetched is not None else "")
    return Artifact.of(f"{base}.zip", zip_bytes(files), tuple(warnings))


def _script_artifact(fetched: SourceFiles) -> Artifact:
    if not fetched.is_folder:
        return Artifact.of(fetched.name, fetched.files[fetched.name])
    entries = {posixpath.join(fetched.name, p): d for p, d in fetched.files.items()}
    return Artifact.of(f"{fetched.name}.zip", zip_bytes(entries))


def _code_tree(fetched: SourceFiles) -> dict[str, bytes]:
    """The files under ``code/``: a file as ``<file>``, a folder as ``<folder>/...``, an
    archive unpacked."""
    if fetched.is_folder:
        return {posixpath.join(fetched.name, p): d for p, d in fetched.files.items()}
    data = fetched.files[fetched.name]
    if fetched.name.endswith(_ARCHIVE_SUFFIXES):
        return unpack_archive(fetched.name, data)
    return {fetched.name: data}


def _entrypoint_warnings(
    runtime: Runtime, fetched: SourceFiles, files: Mapping[str, bytes]
) -> list[str]:
    rs = runtime.spec
    entry = rs.entrypoint if isinstance(rs.entrypoint, str) else None
    entry = entry or (fetched.name if not fetched.is_folder else None)
    if not entry:
        return []
    working = rs.working_dir or "."
    wanted = posixpath.normpath(posixpath.join("code", working, entry))
    if wanted in files:
        return []
    hint = ""
    if fetched.is_folder and not entry.startswith(f"{fetched.name}/"):
        hint = f"; did you mean {fetched.name}/{entry}?"
    return [f"entrypoint {entry!r} is not in the code (looked for {wanted}){hint}"]


def _base_name(name: str) -> str:
    """ADS's artifact base name: the source name cut at its first dot, or 'artifact'."""
    return name.split(".", 1)[0] or "artifact"


def driver_files(names: tuple[str, ...]) -> dict[str, bytes]:
    """Our own driver scripts, read from this package."""
    package = resources.files("ads_operator.ads.drivers")
    return {name: package.joinpath(name).read_bytes() for name in names}


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """A deterministic zip of ``files`` (path -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if path.endswith(".sh") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()


def unpack_archive(name: str, data: bytes) -> dict[str, bytes]:
    """The regular files of a zip or tar archive, refusing paths that climb out."""
    out: dict[str, bytes] = {}
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    out[_safe_member(info.filename)] = archive.read(info)
        return out
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive.getmembers():
            if member.isfile():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    out[_safe_member(member.name)] = extracted.read()
    return out


def _safe_member(path: str) -> str:
    normal = posixpath.normpath(path.lstrip("/"))
    if normal.startswith("..") or normal == ".":
        raise ArtifactError(f"archive member {path!r} points outside the archive")
    return normal
