"""The operator's :class:`~ads_operator.usecases.artifacts.SourceReader`: code from the cluster
(ConfigMaps in the resource's own namespace), Object Storage and https.

The namespace is fixed when the reader is built from the resource being handled, so a
``configmap://`` source can never reach into another namespace; ``oci://`` is read through
the resource's own port (its ``authSecretRef`` Secret's credentials, else the operator's);
``https://`` only from public addresses or networks the admin allowed
(:mod:`.https_source`).
"""

from __future__ import annotations

import posixpath
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from ads_operator.ads.artifacts import SourceFiles
from ads_operator.ads.source_policy import Network
from ads_operator.ads.sources import Source, SourceError, SourceKind
from ads_operator.kube.port import KubePort
from ads_operator.oci.port import OciPort
from ads_operator.usecases import https_source

#: Largest artifact source the operator downloads (OCI's artifact limit is far above
#: anything that should travel through an operator's memory).
MAX_SOURCE_BYTES: Final = 100 * 1024 * 1024
#: Longest an https download may take, redirects included.
SOURCE_TIMEOUT: Final = 120.0


class MissingSourceError(SourceError):
    """The source does not exist (yet): the spec may be fine, a ConfigMap may come later."""


class ClusterSourceReader:
    def __init__(
        self,
        *,
        kube: KubePort,
        namespace: str,
        port: OciPort,
        allowed_networks: Sequence[Network] = (),
        service_networks: Callable[[], Awaitable[Sequence[Network]]] | None = None,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.port = port
        #: Non-public networks an https source may come from (the operator's setting).
        self.allowed_networks = allowed_networks
        #: The cluster's Service networks, asked for only when an https source is read.
        self.service_networks = service_networks

    async def read(self, source: Source) -> SourceFiles:
        if source.kind is SourceKind.CONFIGMAP:
            return await self._configmap(source)
        if source.kind is SourceKind.OBJECT_STORAGE:
            return await self._object_storage(source)
        return await self._https(source)

    async def _configmap(self, source: Source) -> SourceFiles:
        data = await self.kube.read_configmap(self.namespace, source.bucket)
        if data is None:
            raise MissingSourceError(
                f"ConfigMap {source.bucket!r} not found in namespace {self.namespace!r}"
            )
        if not source.path:
            return SourceFiles(name=source.bucket, files=data, is_folder=True)
        if source.path not in data:
            raise MissingSourceError(f"ConfigMap {source.bucket!r} has no key {source.path!r}")
        return SourceFiles(
            name=source.path, files={source.path: data[source.path]}, is_folder=False
        )

    async def _object_storage(self, source: Source) -> SourceFiles:
        ns, bucket, path = source.namespace, source.bucket, source.path
        if source.is_folder is not True:
            names = await self.port.list_objects(namespace=ns, bucket=bucket, prefix=path)
            if path in names:
                data = await self.port.get_object(namespace=ns, bucket=bucket, name=path)
                name = posixpath.basename(path)
                return SourceFiles(name=name, files={name: data}, is_folder=False)
        prefix = path if not path or path.endswith("/") else path + "/"
        names = await self.port.list_objects(namespace=ns, bucket=bucket, prefix=prefix)
        files = {
            n[len(prefix) :]: await self.port.get_object(namespace=ns, bucket=bucket, name=n)
            for n in names
            if not n.endswith("/")
        }
        if not files:
            raise MissingSourceError(f"{source.uri}: no such object or prefix")
        return SourceFiles(name=source.basename, files=files, is_folder=True)

    async def _https(self, source: Source) -> SourceFiles:
        try:
            fetched = await https_source.fetch(
                source.uri,
                self.allowed_networks,
                max_bytes=MAX_SOURCE_BYTES,
                time_limit=SOURCE_TIMEOUT,
                services=await self.service_networks() if self.service_networks else (),
            )
        except socket.gaierror as exc:  # like a 404: the name may exist later
            raise MissingSourceError(f"{source.uri}: the host does not resolve ({exc})") from None
        if fetched.status == 404:
            raise MissingSourceError(f"{fetched.url}: 404 Not Found")
        if fetched.status >= 400:
            raise SourceError(f"{fetched.url}: HTTP {fetched.status}")
        name = source.basename
        return SourceFiles(name=name, files={name: fetched.body}, is_folder=False)
