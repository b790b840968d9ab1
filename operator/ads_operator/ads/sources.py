"""Code-source URIs that make sense inside a cluster, parsed once into a small value.

``oci://bucket@namespace/path`` (Object Storage), ``https://...`` and
``configmap://<name>[/<key>]`` (a whole ConfigMap is a folder named after it). A local
path is refused with a hint: it would name a file on whatever machine the operator
happens to run on, which is never what the author meant.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit


class SourceKind(StrEnum):
    OBJECT_STORAGE = "oci"
    HTTPS = "https"
    CONFIGMAP = "configmap"


class SourceError(ValueError):
    """A source URI the operator cannot read from a cluster."""


_CONFIGMAP_NAME: Final = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_CONFIGMAP_KEY: Final = re.compile(r"^[-._a-zA-Z0-9]+$")
_LOCAL_HINT: Final = (
    "local paths do not exist in the cluster; put the file in a ConfigMap "
    "(kubectl create configmap NAME --from-file=FILE) and use configmap://NAME/FILE, "
    "or use oci://bucket@namespace/path or https://"
)


@dataclass(frozen=True)
class Source:
    """A parsed source. ``path`` is the object name/prefix, URL path or ConfigMap key."""

    uri: str
    kind: SourceKind
    #: Object Storage bucket, or the ConfigMap name.
    bucket: str = ""
    #: Object Storage namespace.
    namespace: str = ""
    #: Object name or prefix (Object Storage), ConfigMap key, or the URL path.
    path: str = ""

    @property
    def basename(self) -> str:
        """The name ADS would give the copied file or folder."""
        if self.kind is SourceKind.CONFIGMAP:
            return self.path or self.bucket
        if self.kind is SourceKind.HTTPS:
            return posixpath.basename(urlsplit(self.uri).path.rstrip("/")) or "index"
        return posixpath.basename(self.path.rstrip("/")) or self.bucket

    @property
    def is_folder(self) -> bool | None:
        """True for a whole ConfigMap or an Object Storage prefix ending in ``/``; False
        for a ConfigMap key; None when only the reader can tell (an object or a prefix)."""
        if self.kind is SourceKind.CONFIGMAP:
            return not self.path
        if self.kind is SourceKind.OBJECT_STORAGE and (not self.path or self.path.endswith("/")):
            return True
        if self.kind is SourceKind.HTTPS:
            return False
        return None


def parse_source(uri: str) -> Source:
    """Parse a code source URI or raise :class:`SourceError` saying what would work."""
    if "://" not in uri:
        raise SourceError(f"{uri!r} is a local path: {_LOCAL_HINT}")
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "oci":
        return _parse_oci(uri)
    if scheme == "https":
        parts = urlsplit(uri)
        if not parts.hostname:
            raise SourceError(f"{uri!r}: an https URI needs a host")
        return Source(uri=uri, kind=SourceKind.HTTPS, path=parts.path)
    if scheme == "configmap":
        return _parse_configmap(uri)
    if scheme == "file":
        raise SourceError(f"{uri!r} is a local file: {_LOCAL_HINT}")
    raise SourceError(
        f"{uri!r}: unsupported scheme {scheme!r}; use oci://, https:// or configmap://"
    )


def _parse_oci(uri: str) -> Source:
    rest = uri[len("oci://") :]
    authority, _, path = rest.partition("/")
    bucket, at, namespace = authority.partition("@")
    if not at or not bucket or not namespace:
        raise SourceError(f"{uri!r}: expected oci://bucket@namespace/path")
    return Source(
        uri=uri, kind=SourceKind.OBJECT_STORAGE, bucket=bucket, namespace=namespace, path=path
    )


def _parse_configmap(uri: str) -> Source:
    rest = uri[len("configmap://") :]
    name, _, key = rest.partition("/")
    if not _CONFIGMAP_NAME.match(name):
        raise SourceError(f"{uri!r}: {name!r} is not a valid ConfigMap name")
    if key and not _CONFIGMAP_KEY.match(key):
        raise SourceError(f"{uri!r}: {key!r} is not a valid ConfigMap key")
    return Source(uri=uri, kind=SourceKind.CONFIGMAP, bucket=name, path=key)
