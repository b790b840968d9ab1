"""The composition root: one emulator instance's state, backends and controls."""

from __future__ import annotations

import asyncio
import logging

from oci_emulator import ids
from oci_emulator.auth import KeyRegistry
from oci_emulator.backend.datascience import DataScienceBackend
from oci_emulator.backend.logmanagement import LoggingBackend
from oci_emulator.backend.objectstorage import ObjectStorageBackend
from oci_emulator.backend.resourcesearch import ResourceSearchBackend
from oci_emulator.backend.store import Store
from oci_emulator.faults import Faults
from oci_emulator.principals import TokenAuthority
from oci_emulator.proxymux import Proxymux, ProxymuxConfig
from oci_emulator.requestlog import RequestLog
from oci_emulator.runs import LoopScheduler, RunDriver
from oci_emulator.settings import Settings
from oci_emulator.workload_identity import WorkloadPolicy

log = logging.getLogger(__name__)

#: Retry tokens expire after 24 hours, as the service documents.
RETRY_TOKEN_TTL_MS = 24 * 3600 * 1000


class Emulator:
    """Everything one running emulator holds; built before the server, started on its loop."""

    def __init__(
        self,
        *,
        db_path: str = ":memory:",
        settings: Settings | None = None,
        faults: Faults | None = None,
        keys: KeyRegistry | None = None,
        auth_enabled: bool = True,
        region: str = ids.REGION,
        proxymux: ProxymuxConfig | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.faults = faults or Faults()
        self.keys = keys or KeyRegistry()
        self.auth_enabled = auth_enabled
        self.region = region
        self.request_log = RequestLog()
        self.tokens = TokenAuthority()
        #: Which OKE workloads may act in which compartments (see :mod:`.access`).
        self.workload_policy = WorkloadPolicy()
        #: The OKE proxymux (token exchange), when configured; served beside the API.
        self.proxymux = Proxymux(proxymux, self.tokens, self.workload_policy) if proxymux else None
        #: ``http://host:port`` once serving (set by the server).
        self.endpoint = ""
        self.store = Store(db_path)
        self.retry_locks: dict[str, asyncio.Lock] = {}
        self._driver: RunDriver | None = None
        self._ds: DataScienceBackend | None = None
        self._logging: LoggingBackend | None = None
        self.objects = ObjectStorageBackend(self.store)
        #: File Storage mount targets/exports (seeded) and the Resource Search over them.
        self.search = ResourceSearchBackend(self.store)

    @property
    def ds(self) -> DataScienceBackend:
        assert self._ds is not None, "Emulator.start() was not called"
        return self._ds

    @property
    def logging(self) -> LoggingBackend:
        assert self._logging is not None, "Emulator.start() was not called"
        return self._logging

    async def start(self) -> None:
        """Bind the backends to the running loop and settle runs a previous process left."""
        loop = asyncio.get_running_loop()
        scheduler = LoopScheduler(loop)
        self._driver = RunDriver(
            self.settings, self.faults, self.region, self.tokens, lambda: self.endpoint
        )
        self._logging = LoggingBackend(self.store, scheduler, self.settings)
        self._ds = DataScienceBackend(
            self.store, scheduler, self.settings, self._logging, self._driver
        )
        self._driver.bind(self._ds, self._logging, loop)
        self._ds.work_requests.resume()
        self._logging.work_requests.resume()
        settled = self._driver.recover()
        if settled:
            log.warning("settled %d job run(s) left active by a previous emulator process", settled)
        self.store.expire_retry_tokens(ids.now_ms() - RETRY_TOKEN_TTL_MS)

    async def stop(self) -> None:
        if self._driver is not None:
            await self._driver.shutdown()
        self.store.close()
