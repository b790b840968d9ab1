"""``python -m oci_emulator``: serve the emulator until interrupted.

``--port 0`` picks a free port; ``--ready-file PATH`` then receives the endpoint
(``http://HOST:PORT``, the chosen port last) once the server accepts connections, so a
parent process can wait for the file instead of sleeping.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from oci_emulator.auth import KeyRegistry
from oci_emulator.emulator import Emulator
from oci_emulator.faults import Faults
from oci_emulator.proxymux import ProxymuxConfig
from oci_emulator.server import start_site
from oci_emulator.settings import Settings
from oci_emulator.workload_identity import DEFAULT_SESSION_SECONDS, Grant


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oci_emulator",
        description="A local OCI (Data Science jobs, Logging, Object Storage) for the oci SDK.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one")
    parser.add_argument("--db", default=":memory:", help="SQLite file, or :memory: (default)")
    parser.add_argument(
        "--public-key",
        action="append",
        default=[],
        metavar="[TENANCY/USER=]PATH",
        help="PEM API public key to accept (repeatable); optionally bound to one principal",
    )
    parser.add_argument("--no-auth", action="store_true", help="accept unsigned requests")
    parser.add_argument("--ready-file", help="write http://HOST:PORT here once serving")
    parser.add_argument("--work-root", help="directory for per-run work dirs (default: temp)")
    parser.add_argument("--mode", choices=("execute", "simulate"), default="execute")
    parser.add_argument(
        "--allow-installs",
        action="store_true",
        help="let runs pip-install packages into their own environment (default: refused)",
    )
    parser.add_argument("--accepted-seconds", type=float, default=Settings.accepted_seconds)
    parser.add_argument("--log-visibility-delay", type=float, default=Settings.log_visibility_delay)
    parser.add_argument("--work-request-seconds", type=float, default=Settings.work_request_seconds)
    parser.add_argument(
        "--runtime-minute-seconds",
        type=float,
        default=Settings.runtime_minute_seconds,
        help="seconds one minute of maximumRuntimeInMinutes lasts (default 60)",
    )
    parser.add_argument("--namespace", default=Settings.namespace)
    parser.add_argument(
        "--run-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment variable for every run (repeatable), e.g. an endpoint",
    )
    parser.add_argument("--faults", help="JSON file with a fault configuration (see docs)")
    wi = parser.add_argument_group(
        "OKE workload identity",
        "serve the proxymux token exchange (https://HOST:12250/resourcePrincipalSessionTokens)",
    )
    wi.add_argument(
        "--proxymux-host",
        help="loopback address for the proxymux (the pods' KUBERNETES_SERVICE_HOST); off if unset",
    )
    wi.add_argument("--cluster-ca", help="the cluster CA certificate (pods' ca.crt), PEM")
    wi.add_argument("--cluster-ca-key", help="its private key, to issue the serving certificate")
    wi.add_argument("--kubeconfig", help="credentials for TokenReview at the cluster's apiserver")
    wi.add_argument(
        "--session-token-seconds",
        type=float,
        default=DEFAULT_SESSION_SECONDS,
        help="lifetime of the session tokens (default 3600)",
    )
    wi.add_argument(
        "--workload-grant",
        action="append",
        default=[],
        metavar="NAMESPACE/SERVICEACCOUNT=COMPARTMENT[,COMPARTMENT]",
        help="let a ServiceAccount act in compartments (* for all; repeatable)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def load_keys(specs: list[str]) -> KeyRegistry:
    keys = KeyRegistry()
    for spec in specs:
        principal, _, path = spec.rpartition("=")
        tenancy, _, user = principal.partition("/")
        keys.add_pem(Path(path).read_bytes(), tenancy=tenancy or None, user=user or None)
    return keys


def proxymux_config(args: argparse.Namespace) -> ProxymuxConfig | None:
    if not args.proxymux_host:
        return None
    missing = [
        flag
        for flag, value in (
            ("--cluster-ca", args.cluster_ca),
            ("--cluster-ca-key", args.cluster_ca_key),
            ("--kubeconfig", args.kubeconfig),
        )
        if not value
    ]
    if missing:
        raise SystemExit(f"--proxymux-host needs {', '.join(missing)}")
    if not ipaddress.ip_address(args.proxymux_host).is_loopback:
        raise SystemExit(f"--proxymux-host {args.proxymux_host} is not a loopback address")
    return ProxymuxConfig(
        host=args.proxymux_host,
        ca_cert=Path(args.cluster_ca),
        ca_key=Path(args.cluster_ca_key),
        kubeconfig=Path(args.kubeconfig),
        session_seconds=args.session_token_seconds,
    )


def read_json(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def write_ready_file(path: str, endpoint: str) -> None:
    """Write the endpoint atomically, so a waiting reader never sees a partial file."""
    tmp = Path(path + ".tmp")
    tmp.write_text(f"{endpoint}\n")
    os.replace(tmp, path)


async def serve(args: argparse.Namespace) -> None:
    settings = Settings(
        accepted_seconds=args.accepted_seconds,
        log_visibility_delay=args.log_visibility_delay,
        work_request_seconds=args.work_request_seconds,
        mode=args.mode,
        namespace=args.namespace,
        work_root=args.work_root,
        runtime_minute_seconds=args.runtime_minute_seconds,
        run_env={key: value for key, _, value in (i.partition("=") for i in args.run_env)},
        allow_installs=args.allow_installs,
    )
    faults = Faults()
    if args.faults:
        faults.configure(read_json(args.faults))
    emu = Emulator(
        db_path=args.db,
        settings=settings,
        faults=faults,
        keys=load_keys(args.public_key),
        auth_enabled=not args.no_auth,
        proxymux=proxymux_config(args),
    )
    for spec in args.workload_grant:
        emu.workload_policy.grant(Grant.parse(spec))
    runner, port = await start_site(emu, args.host, args.port)
    logging.getLogger("oci_emulator").info(
        "oci_emulator serving on http://%s:%d (db %s, auth %s)",
        args.host,
        port,
        args.db,
        "off" if args.no_auth else "on",
    )
    if emu.proxymux is not None:
        logging.getLogger("oci_emulator").info(
            "OKE proxymux on https://%s:%d (session tokens of %.0f s, %d workload grant(s))",
            emu.proxymux.config.host,
            emu.proxymux.config.port,
            emu.proxymux.config.session_seconds,
            len(args.workload_grant),
        )
    if args.ready_file:
        write_ready_file(args.ready_file, f"http://{args.host}:{port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--"]:  # `ads-operator emulator -- --port 0 ...` forwards the "--"
        arguments = arguments[1:]
    args = build_parser().parse_args(arguments)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.no_auth is False and not args.public_key:
        logging.getLogger("oci_emulator").warning(
            "auth is on and no --public-key was given: register keys via POST /_emulator/keys"
        )
    try:
        asyncio.run(serve(args))
    except (OSError, sqlite3.Error, ValueError) as exc:
        # A path, port or file given on the command line that cannot be used: one line.
        print(
            f"oci_emulator: {_describe(exc)}; check --db, --port, --public-key, --faults and"
            " --work-root",
            file=sys.stderr,
        )
        return 1
    return 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, sqlite3.Error):
        return f"cannot open the database: {exc}"
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
