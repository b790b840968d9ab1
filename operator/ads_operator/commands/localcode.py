"""Local code in an ADS job YAML, made reachable from the cluster by ``convert``.

In ADS YAML, ``scriptPathURI``, ``notebookPathURI`` and ``source`` are most often local
paths, which ADS uploads when it creates the job. A path on the user's machine means
nothing to the operator, so ``convert`` moves the code where the cluster can read it:

- small code (a file, or a folder without subfolders, at most :data:`CONFIGMAP_BUDGET`
  bytes) becomes a ConfigMap written beside the DataScienceJob, and the key points at
  it (``configmap://<job>-code/<file>``; a folder becomes a ConfigMap named after the
  folder, ``configmap://<folder>``, since the artifact keeps the folder's name and an
  ``entrypoint`` may start with it);
- with ``--upload oci://bucket@namespace/prefix``, every local code path is uploaded
  under that prefix (a folder keeps its name: ``prefix/<folder>/...``) with the user's
  OCI config, and the key points at the uploaded copy.

Relative paths are read from the current directory, as ADS reads them. This module only
plans: it reads the files and says what to write or upload; ``convert`` uploads and
writes the output only when every job's plan is complete, so an error leaves nothing
half-written.
"""

from __future__ import annotations

import base64
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NotRequired, TypedDict

from ads_operator.ads.yaml_io import ConversionError
from ads_operator.models.base import JsonObject

#: Runtime keys that may hold code.
CODE_KEYS: Final = ("scriptPathURI", "notebookPathURI", "source")
#: Kubernetes refuses a ConfigMap whose data exceeds 1 MiB.
CONFIGMAP_LIMIT: Final = 1024 * 1024
#: What ``convert`` puts into one ConfigMap (encoded size): a quarter below the limit
#: leaves room for metadata and for the request's JSON escaping.
CONFIGMAP_BUDGET: Final = 768 * 1024
#: The operator downloads at most this much code for a job (usecases/sources.py).
MAX_CODE_BYTES: Final = 100 * 1024 * 1024
_CONFIGMAP_KEY: Final = re.compile(r"^[-._a-zA-Z0-9]+$")
_CONFIGMAP_NAME: Final = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_OCI_TARGET: Final = re.compile(
    r"^oci://(?P<bucket>[^@/\s]+)@(?P<namespace>[^/\s]+)(/(?P<prefix>\S*))?$"
)
BOTH_WAYS: Final = (
    "code of at most 768 KiB in one file or a folder without subfolders goes into a "
    "ConfigMap; anything else needs --upload oci://bucket@namespace/prefix"
)


class ConfigMapMetadata(TypedDict):
    name: str
    #: Only with ``--namespace``: otherwise kubectl applies it where the job goes.
    namespace: NotRequired[str]


class ConfigMap(TypedDict):
    """A core v1 ConfigMap manifest holding a job's code, written before the job."""

    apiVersion: str
    kind: str
    metadata: ConfigMapMetadata
    #: File name -> UTF-8 text.
    data: NotRequired[dict[str, str]]
    #: File name -> base64 of a file that is not UTF-8 text.
    binaryData: NotRequired[dict[str, str]]


@dataclass(frozen=True)
class LocalCode:
    """One local code path of a job, read: its files by relative POSIX path."""

    key: str
    given: str
    path: Path
    files: dict[str, bytes]

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()

    @property
    def size(self) -> int:
        return sum(len(content) for content in self.files.values())


@dataclass
class CodePlan:
    """What ``convert`` must write and upload for the local code of all jobs."""

    configmaps: list[ConfigMap] = field(default_factory=list)
    #: (namespace, bucket) -> object name -> content
    uploads: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)

    @property
    def upload_count(self) -> int:
        return sum(len(objects) for objects in self.uploads.values())


def is_local(value: object) -> bool:
    """A path on this machine: no scheme, or ``file://``."""
    return isinstance(value, str) and ("://" not in value or value.startswith("file://"))


def read_local(key: str, value: str, base: Path) -> LocalCode:
    """The file or folder at ``value`` (relative to ``base``), or a one-line error."""
    where = f"spec.runtime.spec.{key}"
    path = base / (value[len("file://") :] if value.startswith("file://") else value)
    if not path.exists():
        raise ConversionError(
            f"{where}: local path {value!r} does not exist (relative paths are read from {base})"
        )
    try:
        if path.is_file():
            files = {path.name: path.read_bytes()}
        else:
            files = {
                item.relative_to(path).as_posix(): item.read_bytes()
                for item in sorted(path.rglob("*"))
                if item.is_file()
            }
    except OSError as exc:
        raise ConversionError(f"{where}: cannot read {value!r}: {exc.strerror or exc}") from None
    if not files:
        raise ConversionError(f"{where}: local folder {value!r} has no files")
    code = LocalCode(key=key, given=value, path=path, files=files)
    if code.size > MAX_CODE_BYTES:
        raise ConversionError(
            f"{where}: {value!r} holds {code.size} bytes, more than the "
            f"{MAX_CODE_BYTES} bytes the operator reads for a job's code"
        )
    return code


def configmap_for(
    code: LocalCode, *, job_name: str, namespace: str | None
) -> tuple[ConfigMap, str]:
    """The ConfigMap holding ``code`` and the ``configmap://`` source naming it; a
    one-line error saying both ways when the code does not fit in one."""
    where = f"spec.runtime.spec.{code.key}"
    problem = _why_not_a_configmap(code)
    if problem:
        raise ConversionError(f"{where}: {code.given!r} {problem}; {BOTH_WAYS}")
    if code.is_folder:
        name = code.path.resolve().name
        uri = f"configmap://{name}"
    else:
        name = f"{job_name}-code"[:253].rstrip("-.")
        uri = f"configmap://{name}/{code.path.name}"
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for file_name, content in code.files.items():
        try:
            data[file_name] = content.decode("utf-8")
        except UnicodeDecodeError:
            binary[file_name] = base64.b64encode(content).decode()
    metadata: ConfigMapMetadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    configmap: ConfigMap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    if data:
        configmap["data"] = data
    if binary:
        configmap["binaryData"] = binary
    return configmap, uri


def _why_not_a_configmap(code: LocalCode) -> str | None:
    if code.is_folder and any("/" in name for name in code.files):
        return "is a folder with subfolders, which a ConfigMap cannot hold"
    bad = sorted(name for name in code.files if not _CONFIGMAP_KEY.match(name))
    if bad:
        return f"holds a file name a ConfigMap key cannot be ({bad[0]!r})"
    if code.is_folder and not _CONFIGMAP_NAME.match(code.path.resolve().name):
        return (
            f"is a folder whose name {code.path.resolve().name!r} cannot name a ConfigMap "
            "(lower-case letters, digits, '-' and '.')"
        )
    encoded = sum(_encoded_size(content) for content in code.files.values())
    if encoded > CONFIGMAP_BUDGET:
        return f"is {encoded} bytes in a ConfigMap, more than {CONFIGMAP_BUDGET}"
    return None


def _encoded_size(content: bytes) -> int:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return (len(content) + 2) // 3 * 4
    return len(content)


def parse_upload_target(target: str) -> tuple[str, str, str]:
    """``oci://bucket@namespace[/prefix]`` as (namespace, bucket, prefix without '/')."""
    match = _OCI_TARGET.match(target)
    if not match:
        raise ConversionError(f"--upload {target!r}: expected oci://bucket@namespace/prefix")
    return match["namespace"], match["bucket"], (match["prefix"] or "").strip("/")


def upload_for(code: LocalCode, target: str) -> tuple[str, str, dict[str, bytes], str]:
    """(namespace, bucket, objects, source URI) that put ``code`` under ``target``."""
    namespace, bucket, prefix = parse_upload_target(target)
    if code.is_folder:
        folder = posixpath.join(prefix, code.path.resolve().name)
        objects = {posixpath.join(folder, name): content for name, content in code.files.items()}
        return namespace, bucket, objects, f"oci://{bucket}@{namespace}/{folder}/"
    name = posixpath.join(prefix, code.path.name)
    return (
        namespace,
        bucket,
        {name: code.files[code.path.name]},
        f"oci://{bucket}@{namespace}/{name}",
    )


def place_local_code(
    runtime_spec: JsonObject,
    *,
    job_name: str,
    namespace: str | None,
    upload: str | None,
    base: Path,
    plan: CodePlan,
) -> None:
    """Point every local code key of ``runtime_spec`` at where ``plan`` puts the code."""
    for key in CODE_KEYS:
        value = runtime_spec.get(key)
        if not is_local(value):
            continue
        code = read_local(key, str(value), base)
        if upload:
            ns, bucket, objects, uri = upload_for(code, upload)
            plan.uploads.setdefault((ns, bucket), {}).update(objects)
        else:
            configmap, uri = configmap_for(code, job_name=job_name, namespace=namespace)
            plan.configmaps.append(configmap)
        runtime_spec[key] = uri
