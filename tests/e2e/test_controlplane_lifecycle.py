"""hack/controlplane: side-by-side instances, exact teardown, clear errors."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from hack import localcluster

from tests.fixtures.cluster import Cluster

REPO = Path(__file__).resolve().parents[2]


def test_second_instance_runs_beside_the_first_and_down_stops_exactly_its_own(
    cluster: Cluster, tmp_path: Path
) -> None:
    directory = tmp_path / "second"
    instance = localcluster.up(directory)
    try:
        assert instance.server != cluster.server
        assert instance.ready()
        assert all(p.alive() for p in instance.processes)
    finally:
        stopped = localcluster.down(directory)
    assert sorted(s.split(" ")[0] for s in stopped) == ["etcd", "kube-apiserver"]
    assert not any(p.alive() for p in instance.processes)
    assert not directory.exists()
    # The session's own control plane is untouched.
    assert cluster.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"


def test_script_reports_a_port_in_use_plainly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [str(REPO / "hack" / "controlplane"), "up",
             "--dir", str(tmp_path / "x"), "--port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert proc.returncode == 1
    assert f"port {port} is already in use" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_status_of_a_stopped_instance_says_not_running(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(REPO / "hack" / "controlplane"), "status", "--dir", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "not running" in proc.stderr
