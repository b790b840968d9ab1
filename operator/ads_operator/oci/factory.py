"""Ports per (credentials, region), built once and shared.

SDK clients hold connection pools; building them per call would be slow and leak sockets.
The cache key includes a digest of the Secret's content, so a rotated key gets new clients.
"""

from __future__ import annotations

from collections.abc import Mapping

from ads_operator.oci.auth import Credentials, default_credentials, from_secret
from ads_operator.oci.port import OciPort
from ads_operator.oci.ratelimit import TokenBucket
from ads_operator.oci.sdk_adapter import SdkOciPort
from ads_operator.settings import Settings


class PortFactory:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limiter = TokenBucket(settings.oci_requests_per_second)
        self._default: Credentials | None = None
        self._ports: dict[tuple[str, str], OciPort] = {}

    def credentials(
        self, secret: Mapping[str, str | bytes] | None, secret_name: str | None
    ) -> Credentials:
        if secret is not None:
            return from_secret(secret, secret_name=secret_name or "?")
        if self._default is None:
            self._default = default_credentials(self.settings)
        return self._default

    def port(
        self,
        *,
        secret: Mapping[str, str | bytes] | None = None,
        secret_name: str | None = None,
        region: str | None = None,
    ) -> OciPort:
        creds = self.credentials(secret, secret_name).with_region(region)
        key = (creds.identity, creds.region)
        if key not in self._ports:
            self._ports[key] = SdkOciPort(creds, self.settings, self.limiter)
        return self._ports[key]
