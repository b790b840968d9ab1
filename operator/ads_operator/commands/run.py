"""``ads-operator run``: the operator (kopf) with the project's settings.

Scope is explicit: ``--namespace`` (repeatable) or ``--all-namespaces``; the chart's Role
or ClusterRole must match. ``--liveness`` serves kopf's health endpoint for the
Deployment's livenessProbe. OCI settings come from ``ADS_OPERATOR_*`` variables (see
``docs/operator.md``); ``--oci-endpoint`` and ``--oci-config`` are shortcuts for the two
that ``make demo`` and tests set.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import secrets
import sys
import threading
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n", "--namespace", action="append", default=[], help="watch this namespace (repeatable)"
    )
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    parser.add_argument(
        "--liveness", metavar="URL", help="health endpoint, e.g. http://0.0.0.0:8080/healthz"
    )
    parser.add_argument(
        "--oci-endpoint", help="send OCI calls here (sets ADS_OPERATOR_OCI_ENDPOINT)"
    )
    parser.add_argument("--oci-config", help="OCI config file (sets ADS_OPERATOR_OCI_CONFIG_FILE)")
    parser.add_argument("--peering", help="kopf peering name (default: run standalone)")
    parser.add_argument(
        "--priority",
        type=int,
        help="peering priority; the highest one works, the others wait (default with "
        "--peering: a random one, so that replicas never tie: kopf pauses peers of equal "
        "priority)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def main(args: argparse.Namespace) -> int:
    if args.oci_endpoint:
        os.environ["ADS_OPERATOR_OCI_ENDPOINT"] = args.oci_endpoint
    if args.oci_config:
        os.environ["ADS_OPERATOR_OCI_CONFIG_FILE"] = args.oci_config
    if not args.namespace and not args.all_namespaces:
        print(
            "ads-operator run: give --namespace NS (repeatable) or --all-namespaces",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        for noisy in ("oci", "urllib3", "kubernetes"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    # Never, not even with --verbose: these loggers print request and response bodies, and
    # a Secret read for authSecretRef would put key material into the operator's log.
    for body_logger in ("kubernetes.client.rest", "oci.base_client", "urllib3.connectionpool"):
        logging.getLogger(body_logger).setLevel(logging.WARNING)
    from ads_operator.settings import SettingsError, from_env

    try:
        from_env()
    except SettingsError as exc:
        print(f"ads-operator run: {exc}", file=sys.stderr)
        return 2
    problem = kube_config_problem()
    if problem:
        print(f"ads-operator run: {problem}", file=sys.stderr)
        return 2
    few_malloc_arenas()
    trim_freed_memory()
    from ads_operator.handlers import run_operator  # importing registers the handlers

    priority = args.priority
    if args.peering is not None and priority is None:
        priority = peering_priority()
        logging.getLogger(__name__).info("peering %r with priority %d", args.peering, priority)
    run_operator(
        standalone=args.peering is None,
        peering_name=args.peering,
        priority=priority or 0,
        clusterwide=bool(args.all_namespaces),
        namespaces=args.namespace,
        liveness_endpoint=args.liveness,
    )
    return 0


def kube_config_problem() -> str | None:
    """Why no cluster can be reached with the in-cluster or kubeconfig credentials (kopf
    would retry forever, logging a traceback each time), or None."""
    import kubernetes

    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        try:
            kubernetes.config.load_kube_config()
        except (kubernetes.config.ConfigException, OSError) as exc:
            return (
                f"no Kubernetes configuration ({type(exc).__name__}: {exc}); point KUBECONFIG"
                " at your cluster, or run in a pod with a service account"
            )
    return None


#: glibc's mallopt parameter for the number of malloc arenas.
M_ARENA_MAX = -8


def few_malloc_arenas(arenas: int = 2) -> bool:
    """Caps glibc's malloc arenas unless ``MALLOC_ARENA_MAX`` says otherwise.

    glibc gives threads their own arenas (up to 8 per CPU). The operator's worker threads
    each parse SDK and apiserver responses, and every arena keeps its high-water mark, so
    RSS grew with the thread count rather than with the runs followed. Two arenas keep
    the threads' allocations in shared, reusable memory. Returns whether the cap was set
    (not on other C libraries, or when the variable is set)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def trim_freed_memory(every: float = 10.0) -> bool:
    """Every ``every`` seconds, returns the memory glibc's malloc holds free to the system.

    Each poll tick frees what it parsed (watch events, log pages, list pages), but glibc
    gives back only the top of a heap by itself: the free pages in between stay in RSS
    until a later tick reuses some of them. ``malloc_trim`` releases them (a
    few milliseconds per call, in its own thread without the GIL). Returns whether the
    trimming thread was started (not on other C libraries)."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False

    def loop() -> None:
        while True:
            time.sleep(every)
            trim(0)

    threading.Thread(target=loop, name="malloc-trim", daemon=True).start()
    return True


def peering_priority() -> int:
    """A random peering priority for one replica.

    kopf lets the peer with the highest priority work and pauses the rest, but pauses *all*
    peers whose priorities are equal; replicas of one Deployment share their arguments, so
    each picks its own number. 2**31 values make a tie practically impossible.
    """
    return 1 + secrets.randbelow(2**31 - 1)
