"""Crash and restart a local control plane on the same ports and the same etcd data.

``hack/localcluster.py`` starts and stops whole control planes; a restart needs the
exact command lines again (ports, data dir, certificates), so they are read back from
``/proc/<pid>/cmdline`` of the running processes before they are killed. The new PIDs
are written to the instance's ``state.json``, so ``localcluster.down`` stops them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import urllib.request
from collections.abc import Callable
from pathlib import Path

from hack import localcluster

from tests.fixtures.waiting import wait_for


def _argv(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode() for part in raw.split(b"\0") if part]


def _etcd_port(argv: list[str]) -> int:
    for arg in argv:
        found = re.fullmatch(r"--listen-client-urls=http://127\.0\.0\.1:(\d+)", arg)
        if found:
            return int(found.group(1))
    raise AssertionError(f"no client URL in etcd's command line {argv}")


def _etcd_healthy(port: int) -> bool:
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(json.loads(response.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


def _exited(process: localcluster.Process) -> Callable[[], bool]:
    return lambda: not process.alive()


def crash_and_restart(directory: Path) -> localcluster.Instance:
    """SIGKILL kube-apiserver and etcd, then start both again as they were."""
    instance = localcluster.Instance.load(directory)
    assert instance is not None, f"no control plane recorded in {directory}"
    by_name = {p.name: p for p in instance.processes}
    argvs = {name: _argv(p.pid) for name, p in by_name.items()}
    for name in ("kube-apiserver", "etcd"):
        os.kill(by_name[name].pid, signal.SIGKILL)
    for name in ("kube-apiserver", "etcd"):
        wait_for(_exited(by_name[name]), timeout=30, what=f"{name} to exit")
    etcd = localcluster.spawn("etcd", argvs["etcd"], directory / "etcd.log")
    port = _etcd_port(argvs["etcd"])
    wait_for(
        lambda: _etcd_healthy(port),
        timeout=localcluster.ETCD_READY_SECONDS,
        what="etcd to be healthy again",
    )
    apiserver = localcluster.spawn(
        "kube-apiserver", argvs["kube-apiserver"], directory / "kube-apiserver.log"
    )
    restarted = localcluster.Instance(directory, instance.server, (etcd, apiserver))
    restarted.save()
    wait_for(
        restarted.ready,
        timeout=localcluster.APISERVER_READY_SECONDS,
        what="kube-apiserver to be ready again",
    )
    return restarted
