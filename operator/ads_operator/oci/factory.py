"""Ports per (credentials, region), built once and shared.

SDK clients hold connection pools; building them per call would be slow and leak sockets.
The cache key includes a digest of the Secret's content, so a rotated key gets new clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from ads_operator.models.oci_errors import OciError
from ads_operator.oci.auth import Credentials, default_credentials, from_secret
from ads_operator.oci.batching import BatchingPort
from ads_operator.oci.log_counts import LogCountBatcher
from ads_operator.oci.logreader import LogSearchBatcher
from ads_operator.oci.poller import RunStateReader
from ads_operator.oci.port import OciPort
from ads_operator.oci.ratelimit import TenancyBudget
from ads_operator.oci.sdk_adapter import SdkOciPort
from ads_operator.settings import Settings


class PortFactory:
    """Builds the ports; with ``reader`` or ``logs`` given, each reads run states and
    searches logs through them (:class:`~ads_operator.oci.batching.BatchingPort`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        reader: RunStateReader | None = None,
        logs: LogSearchBatcher | None = None,
        counts: LogCountBatcher | None = None,
    ) -> None:
        self.settings = settings
        self.reader = reader
        self.logs = logs
        self.counts = counts
        #: One budget per tenancy (a bucket per OCI service in it): OCI throttles per
        #: tenancy and service, and every call for that tenancy (all namespaces and
        #: regions) spends from it, while another tenancy's runs are not slowed by this one's.
        self.limiters: dict[str, TenancyBudget] = {}
        self._default: Credentials | None = None
        self._default_lock = threading.Lock()
        self._default_failure: tuple[float, OciError] | None = None
        self._ports: dict[tuple[str, str], OciPort] = {}
        self._ports_lock = threading.Lock()

    @property
    def has_default(self) -> bool:
        """Whether the default credentials are built (building them may do network I/O)."""
        return self._default is not None

    def credentials(
        self, secret: Mapping[str, str | bytes] | None, secret_name: str | None
    ) -> Credentials:
        if secret is not None:
            return from_secret(secret, secret_name=secret_name or "?")
        if self._default is None:
            # Principals exchange a token first (OKE workload identity: HTTPS to the
            # proxymux): callers build them in a thread, one at a time, so the loop never
            # waits on it and concurrent first calls make one exchange, not one each.
            with self._default_lock:
                if self._default is None:
                    self._default = self._build_default()
        return self._default

    def _build_default(self) -> Credentials:
        """Build the default credentials, or repeat the last failure for a while: every
        resource retries on its own schedule, and a thousand of them must not each ask
        a proxymux that is down (one attempt per ``backoff_initial`` at most)."""
        if self._default_failure is not None:
            failed_at, error = self._default_failure
            if time.monotonic() - failed_at < self.settings.backoff_initial:
                raise error
        try:
            return default_credentials(self.settings)
        except OciError as error:
            self._default_failure = (time.monotonic(), error)
            raise

    def headroom(self, operation: str | None = None) -> float:
        """The share of the budget of ``operation``'s OCI service (without one: of the
        service nearest its limit) not in use lately, the least over tenancies (see
        :meth:`TenancyBudget.headroom`): 1.0 before any call."""
        return min((b.headroom(operation) for b in list(self.limiters.values())), default=1.0)

    def port(
        self,
        *,
        secret: Mapping[str, str | bytes] | None = None,
        secret_name: str | None = None,
        region: str | None = None,
    ) -> OciPort:
        creds = self.credentials(secret, secret_name).with_region(region)
        key = (creds.identity, creds.region)
        with self._ports_lock:  # built in a thread (see ``is_built``), one at a time
            return self._port(key, creds)

    def is_built(
        self,
        *,
        secret: Mapping[str, str | bytes] | None = None,
        secret_name: str | None = None,
        region: str | None = None,
    ) -> bool:
        """Whether :meth:`port` would answer from its cache. Building a port makes five
        SDK clients, each loading the key: about a second, which callers on the event loop
        spend in a thread instead of stalling every resource."""
        creds = self.credentials(secret, secret_name).with_region(region)
        return (creds.identity, creds.region) in self._ports

    def _port(self, key: tuple[str, str], creds: Credentials) -> OciPort:
        if key not in self._ports:
            tenancy = str(creds.config.get("tenancy") or creds.identity)
            limiter = self.limiters.get(tenancy)
            if limiter is None:
                limiter = self.limiters[tenancy] = TenancyBudget(
                    self.settings.oci_requests_per_second
                )
            port: OciPort = SdkOciPort(creds, self.settings, limiter)
            if self.reader is not None or self.logs is not None:
                port = BatchingPort(port, reader=self.reader, logs=self.logs, counts=self.counts)
            self._ports[key] = port
        return self._ports[key]
