"""Running the application: on the caller's loop, or in a background thread with its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from oci_emulator.app import create_app
from oci_emulator.emulator import Emulator


async def start_site(emu: Emulator, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (for cleanup) and the bound port (for port 0)."""
    runner = web.AppRunner(create_app(emu), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = int(runner.addresses[0][1])
    emu.endpoint = f"http://{host}:{bound}"
    return runner, bound


class ServerThread:
    """An emulator on its own event loop in a daemon thread (for in-process tests)."""

    def __init__(self, emu: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emu = emu
        self.host = host
        self._requested_port = port
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, name="oci-emulator", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the emulator did not start in time")
        if self._error is not None:
            raise RuntimeError(f"the emulator failed to start: {self._error}") from self._error

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._runner, self.port = self._loop.run_until_complete(
                start_site(self.emu, self.host, self._requested_port)
            )
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def call(self, fn: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run ``fn`` on the emulator loop (the only thread that touches its state)."""

        async def invoke() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(timeout)

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Await ``coroutine`` on the emulator loop (e.g. stop or start its proxymux)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
