"""Helpers for tests and tools that need a running emulator and SDK credentials for it.

Typical use (pytest fixtures in ``tests/fixtures/emulator.py`` wrap exactly this)::

    key = generate_api_key(tmp_path)
    handle = start_emulator(keys=[key])          # in-process, free 127.0.0.1 port
    ds = oci.data_science.DataScienceClient(key.config, service_endpoint=handle.endpoint)
    ...
    handle.stop()

``start_emulator_process`` runs ``python -m oci_emulator`` as a child process instead (what
an operator under test in another process would talk to); both handles share the same
small interface (:class:`EmulatorControl`).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from oci_emulator.auth import KeyRegistry, fingerprint_of
from oci_emulator.emulator import Emulator
from oci_emulator.faults import Faults
from oci_emulator.proxymux import ProxymuxConfig
from oci_emulator.server import ServerThread
from oci_emulator.settings import Settings
from oci_emulator.workload_identity import PROXYMUX_PORT

DEFAULT_TENANCY = "ocid1.tenancy.oc1..aaaaaaaatestemulatortenancy"
DEFAULT_USER = "ocid1.user.oc1..aaaaaaaatestemulatoruser"
DEFAULT_REGION = "us-ashburn-1"
#: Settings for tests: a short ACCEPTED phase and no log visibility delay.
FAST_SETTINGS: dict[str, Any] = {
    "accepted_seconds": 0.4,
    "log_visibility_delay": 0.0,
    "work_request_seconds": 0.2,
}


@dataclass(frozen=True)
class ApiKey:
    """An RSA API key written to disk, with an OCI config file that points at it."""

    tenancy: str
    user: str
    fingerprint: str
    region: str
    key_file: Path
    public_key_pem: str
    config_file: Path

    @property
    def public_key_file(self) -> Path:
        """The PEM public key, for ``python -m oci_emulator --public-key PATH``."""
        return self.key_file.with_name(self.key_file.stem + "_public.pem")

    @property
    def config(self) -> dict[str, str]:
        """A config dict for ``oci.<service>.<Client>(config, service_endpoint=...)``."""
        return {
            "user": self.user,
            "tenancy": self.tenancy,
            "fingerprint": self.fingerprint,
            "region": self.region,
            "key_file": str(self.key_file),
        }


def generate_api_key(
    directory: Path,
    *,
    tenancy: str = DEFAULT_TENANCY,
    user: str = DEFAULT_USER,
    region: str = DEFAULT_REGION,
    name: str = "oci_api_key",
) -> ApiKey:
    """Create ``<name>.pem``, ``<name>_public.pem`` and ``config`` in ``directory``.

    The config file has a ``[DEFAULT]`` profile that ``oci.config.from_file`` loads as is.
    """
    directory.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = directory / f"{name}.pem"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (directory / f"{name}_public.pem").write_bytes(public_pem)
    fingerprint = fingerprint_of(private.public_key())
    config_file = directory / "config"
    config_file.write_text(_config_text(tenancy, user, fingerprint, region, key_file))
    return ApiKey(
        tenancy=tenancy,
        user=user,
        fingerprint=fingerprint,
        region=region,
        key_file=key_file,
        public_key_pem=public_pem.decode(),
        config_file=config_file,
    )


def write_api_key(
    directory: Path,
    *,
    tenancy: str = DEFAULT_TENANCY,
    user: str = DEFAULT_USER,
    region: str = DEFAULT_REGION,
    name: str = "oci_api_key",
) -> ApiKey:
    """Like :func:`generate_api_key`, but reuse the key already in ``directory`` if any.

    Separate processes (an emulator and an operator) can each call this with the same
    directory and get the same key and config file.
    """
    key_file = directory / f"{name}.pem"
    if not key_file.exists():
        return generate_api_key(directory, tenancy=tenancy, user=user, region=region, name=name)
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError(f"{key_file} is not an RSA private key")
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = fingerprint_of(private.public_key())
    config_file = directory / "config"
    config_file.write_text(_config_text(tenancy, user, fingerprint, region, key_file))
    return ApiKey(
        tenancy=tenancy,
        user=user,
        fingerprint=fingerprint,
        region=region,
        key_file=key_file,
        public_key_pem=public_pem.decode(),
        config_file=config_file,
    )


def _config_text(tenancy: str, user: str, fingerprint: str, region: str, key_file: Path) -> str:
    return (
        "[DEFAULT]\n"
        f"user={user}\n"
        f"fingerprint={fingerprint}\n"
        f"tenancy={tenancy}\n"
        f"region={region}\n"
        f"key_file={key_file}\n"
    )


class AdminError(RuntimeError):
    """The admin endpoint answered with an error status."""


@dataclass
class EmulatorControl:
    """What every running emulator offers: its endpoint and the admin API."""

    port: int
    host: str = "127.0.0.1"

    @property
    def endpoint(self) -> str:
        """Pass as ``service_endpoint=`` to every oci client (one port serves all services)."""
        return f"http://{self.host}:{self.port}"

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/_emulator/<path>`` and return the decoded JSON (None for no content)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback http by construction)
            f"{self.endpoint}/_emulator/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise AdminError(f"{method} {path}: {exc.code} {exc.read().decode()}") from exc
        return json.loads(raw) if raw else None

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Change settings (e.g. ``log_visibility_delay=0``); returns all settings."""
        result: dict[str, Any] = self.admin("PUT", "settings", changes)
        return result

    @contextlib.contextmanager
    def overridden(self, **changes: Any) -> Iterator[dict[str, Any]]:
        """Change settings for a ``with`` block, then restore the previous values."""
        before = self.admin("GET", "settings")
        try:
            yield self.settings(**changes)
        finally:
            self.settings(**{key: before[key] for key in changes})

    def faults(self, config: dict[str, Any]) -> dict[str, Any]:
        """Set faults, e.g. ``{"operations": {"GetJob": {"rate500": 1.0}}}``."""
        result: dict[str, Any] = self.admin("PUT", "faults", config)
        return result

    def clear_faults(self) -> None:
        self.faults({"operations": {}, "runNeedsAttention": 0.0})

    def requests(self, limit: int = 1000) -> dict[str, Any]:
        """The request log: ``{"counters": {op: {"total", "<status>"...}}, "entries": [...]}``."""
        result: dict[str, Any] = self.admin("GET", f"requests?limit={limit}")
        return result

    def reset_requests(self) -> None:
        self.admin("DELETE", "requests")

    def seed_log_group(
        self, group_id: str, *, compartment: str, tenancy: str = DEFAULT_TENANCY, name: str = ""
    ) -> dict[str, Any]:
        """An ACTIVE log group with the OCID ``group_id`` (e.g. a placeholder in a file)."""
        body = {
            "id": group_id,
            "compartmentId": compartment,
            "displayName": name or group_id.rsplit(".", 1)[-1],
            "tenancy": tenancy,
        }
        result: dict[str, Any] = self.admin("POST", "log-groups", body)
        return result

    def seed_log_records(self, log_id: str, *, source: str, records: list[tuple[int, str]]) -> int:
        """Append ``(datetime ms, message)`` records to a log, ingested in list order."""
        body = {
            "logId": log_id,
            "source": source,
            "records": [{"datetime": t, "message": m} for t, m in records],
        }
        result: dict[str, Any] = self.admin("POST", "log-records", body)
        return int(result["count"])

    def seed_file_system(
        self,
        *,
        compartment: str,
        ip_address: str,
        export_path: str,
        tenancy: str = DEFAULT_TENANCY,
    ) -> dict[str, str]:
        """A mount target at ``ip_address`` with an export at ``export_path``, for Resource
        Search; returns ``mountTargetId``, ``exportId`` and ``privateIpId``."""
        body = {
            "compartmentId": compartment,
            "ipAddress": ip_address,
            "exportPath": export_path,
            "tenancy": tenancy,
        }
        result: dict[str, str] = self.admin("POST", "file-systems", body)
        return result

    def register_key(self, key: ApiKey) -> str:
        result = self.admin(
            "POST",
            "keys",
            {"publicKeyPem": key.public_key_pem, "tenancy": key.tenancy, "user": key.user},
        )
        return str(result["fingerprint"])


@dataclass
class EmulatorHandle(EmulatorControl):
    """An emulator running in this process, on its own loop in a background thread."""

    server: ServerThread | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def free_loopback_address(port: int = PROXYMUX_PORT) -> str:
    """An address of 127.0.0.0/8 (all loopback on Linux) where ``port`` is free.

    The proxymux port is fixed by the SDK, so emulators that run at once (concurrent
    tests, a node beside them) each take an address of their own.
    """
    for _ in range(100):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"  # noqa: S311
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        return host
    raise RuntimeError(f"no loopback address with port {port} free")


def start_emulator(
    *,
    keys: list[ApiKey] | None = None,
    db_path: str = ":memory:",
    auth: bool = True,
    settings: dict[str, Any] | None = None,
    port: int = 0,
    proxymux: ProxymuxConfig | None = None,
) -> EmulatorHandle:
    """Start an in-process emulator on 127.0.0.1 (``port=0``: a free port)."""
    config = Settings()
    config.update({**FAST_SETTINGS, **(settings or {})})
    registry = KeyRegistry()
    for key in keys or []:
        registry.add_pem(key.public_key_pem.encode(), tenancy=key.tenancy, user=key.user)
    emu = Emulator(
        db_path=db_path,
        settings=config,
        faults=Faults(),
        keys=registry,
        auth_enabled=auth,
        proxymux=proxymux,
    )
    server = ServerThread(emu, "127.0.0.1", port)
    server.start()
    return EmulatorHandle(port=server.port, server=server)


@dataclass
class EmulatorProcess(EmulatorControl):
    """``python -m oci_emulator`` as a child process."""

    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.process = None


def start_emulator_process(
    *,
    keys: list[ApiKey] | None = None,
    db_path: str = ":memory:",
    extra_args: list[str] | None = None,
    ready_timeout: float = 60.0,
    log_file: Path | None = None,
) -> EmulatorProcess:
    """Start ``python -m oci_emulator --port 0 --ready-file ...`` and wait until it serves."""
    ready = Path(tempfile.mkdtemp(prefix="oci-emulator-")) / "port"
    argv = [sys.executable, "-m", "oci_emulator", "--port", "0", "--ready-file", str(ready)]
    argv += ["--db", db_path]
    for key in keys or []:
        argv += [
            "--public-key",
            f"{key.tenancy}/{key.user}={key.public_key_file}",
        ]
    argv += extra_args or []
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + ready_timeout
        while not ready.exists():
            if process.poll() is not None:
                raise RuntimeError(f"oci_emulator exited with {process.returncode} before serving")
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("oci_emulator did not report its port in time")
            time.sleep(0.05)  # polling the ready file, bounded by the deadline
        endpoint = ready.read_text().strip()
    finally:
        shutil.rmtree(ready.parent, ignore_errors=True)  # read once; nothing else uses it
    return EmulatorProcess(port=int(endpoint.rsplit(":", 1)[1]), process=process)
