"""OKE workload identity over a long run: how many token exchanges, against how many calls.

    .venv/bin/python -m bench.workload_identity [--minutes 10] [--session-seconds 60] [--runs 5]

The operator runs with ``ADS_OPERATOR_AUTH=oke_workload_identity`` and its default timings
against the local control plane and an in-process emulator (simulate mode, every run
IN_PROGRESS for ``--minutes``) whose proxymux issues ``--session-seconds`` tokens. Printed:
exchanges, OCI calls, refused calls (401) and the exchanges per token lifetime. The
operator renews at half life, so about two exchanges per lifetime are expected; one per
call would mean the signer is rebuilt or refreshed per request.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hack import buildtools, localcluster
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import OperatorProcess, install_crds
from tests.fixtures.resources import (
    COMPARTMENT,
    apply,
    job_run,
    script_configmap,
    script_job,
    wait_for_condition,
)

from oci_emulator.proxymux import OPERATION, ProxymuxConfig
from oci_emulator.testing import free_loopback_address, start_emulator
from oci_emulator.workload_identity import Grant

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--session-seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-wi-"))
    instance = localcluster.up(work / "controlplane")
    cluster = Cluster(instance.kubeconfig, instance.server, tuple(buildtools.bin_dirs()))
    host = free_loopback_address()
    emulator = start_emulator(
        settings={"mode": "simulate", "simulate": {"run_seconds": args.minutes * 60}},
        proxymux=ProxymuxConfig(
            host=host,
            ca_cert=instance.pki / "ca.crt",
            ca_key=instance.pki / "ca.key",
            kubeconfig=instance.kubeconfig,
            session_seconds=args.session_seconds,
        ),
    )
    operator: OperatorProcess | None = None
    try:
        install_crds(cluster)
        namespace = "bench-wi"
        cluster.kubectl("create", "namespace", namespace)
        cluster.kubectl("create", "serviceaccount", "ads-operator", "-n", namespace)
        token = cluster.kubectl(
            "create", "token", "ads-operator", "-n", namespace, "--duration=2h"
        ).stdout.strip()
        (work / "token").write_text(token)
        assert emulator.server is not None
        emulator.server.emu.workload_policy.grant(
            Grant(namespace, "ads-operator", frozenset({COMPARTMENT}))
        )
        env = cluster.env(
            {
                "ADS_OPERATOR_AUTH": "oke_workload_identity",
                "ADS_OPERATOR_SERVICE_ACCOUNT_TOKEN_FILE": str(work / "token"),
                "ADS_OPERATOR_OCI_ENDPOINT": emulator.endpoint,
                "ADS_OPERATOR_REGION": "us-ashburn-1",
                "KUBERNETES_SERVICE_HOST": host,
                "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH": str(instance.pki / "ca.crt"),
                "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO)]),
            }
        )
        env.pop("ADS_OPERATOR_OCI_CONFIG_FILE", None)
        operator = OperatorProcess((namespace,), env, work / "operator.log", verbose=False)
        operator.start()
        started = time.monotonic()
        apply(
            cluster,
            namespace,
            script_configmap("wi", {"main.py": "print('simulated')"}),
            script_job("wi", script="main.py", log_group=None),
            *(job_run(f"wi-{i}", "wi") for i in range(args.runs)),
        )
        deadline = time.monotonic() + args.minutes * 60 + 300
        for i in range(args.runs):  # one deadline for all: the runs go on side by side
            left = max(1.0, deadline - time.monotonic())
            wait_for_condition(
                cluster, f"dsjobrun/wi-{i}", "Succeeded", namespace=namespace, timeout=left
            )
        elapsed = time.monotonic() - started
        counters = emulator.requests(limit=0)["counters"]
        exchanges = counters.get(OPERATION, {}).get("total", 0)
        calls = {op: c for op, c in counters.items() if op != OPERATION}
        total = sum(c["total"] for c in calls.values())
        refused = sum(c.get("401", 0) for c in calls.values())
        print(
            f"{args.runs} runs over {elapsed:.0f} s, tokens of {args.session_seconds:.0f} s:"
            f" {exchanges} exchanges, {total} OCI calls, {refused} refused (401);"
            f" {exchanges / (elapsed / args.session_seconds):.2f} exchanges per token lifetime"
        )
    finally:
        if operator is not None:
            operator.stop()
        emulator.stop()
        localcluster.down(work / "controlplane")


if __name__ == "__main__":
    main()
