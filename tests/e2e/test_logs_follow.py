"""``ads-operator logs RUN -f`` as a live tail (issue 21): started right after ``kubectl
apply``, it shows the run's lines while the run is still going (the script waits for a
file the test writes only once the tail has shown its first lines), a record that OCI
Logging ingests late once, records sharing a millisecond each once, and it ends when the
run ends with the run's exit code. Through the real apiserver, the operator and the
emulator; how fast the lines come is measured by ``bench/tail_lag.py``, not here."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.emulator import OciClients
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.resources import Kube, job_run, scripted_job
from tests.fixtures.waiting import wait_for

#: Prints five lines, waits for the test's go-ahead (a file), prints five more, fails.
GATED = """import os, sys, time
for i in range(5):
    print(f"before {i}", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
for i in range(5):
    print(f"after {i}", flush=True)
sys.exit(3)
"""


class Tail:
    """``ads-operator logs ... -f`` as a process; its stdout lines as they come."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ads_operator.cli", "logs", *argv],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def printed(self) -> list[str]:
        return [line.split(" - ", 1)[1] for line in list(self.lines)]

    def shows(self, text: str) -> bool:
        return text in self.printed()

    def finish(self, timeout: float) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.process.kill()
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


def test_follow_shows_a_live_runs_lines_once_in_order_and_exits_with_its_code(
    kube: Kube,
    operator: OperatorProcess,
    log_group: str,
    operator_env: dict[str, str],
    emulator: EmulatorHandle,
    oci_clients: OciClients,
    tmp_path: Path,
) -> None:
    gate = tmp_path / "go-ahead"
    kube.apply(
        *scripted_job("gated", GATED, log_group=log_group),
        job_run("gated-run", "gated", args=str(gate)),
    )
    tail = Tail(["gated-run", "-n", kube.namespace, "-f"], operator_env)
    try:
        wait_for(lambda: tail.shows("before 4"), timeout=90, what="the first lines, live")
        ocid = kube.status("dsjobrun", "gated-run")["ocid"]
        run = oci_clients.data_science.get_job_run(ocid).data
        assert run.lifecycle_state == "IN_PROGRESS", "shown while the run waits for the test"
        # Two records of one millisecond, ingested now with a time 30 s before the run
        # was accepted (an emitter's clock may be behind; the tail reads from a minute
        # before): older than every quick re-read reaches, so a deep one has to find them.
        late = int(run.time_accepted.timestamp() * 1000) - 30_000
        emulator.seed_log_records(
            run.log_details.log_id, source=ocid, records=[(late, "late 1"), (late, "late 2")]
        )
        wait_for(lambda: tail.shows("late 2"), timeout=60, what="the late records, live")
        gate.touch()
        code, stderr = tail.finish(timeout=120)
    finally:
        tail.process.kill()
    printed = tail.printed()
    assert code == 3, stderr  # the run's exit code
    written = [f"before {i}" for i in range(5)] + [f"after {i}" for i in range(5)]
    assert [p for p in printed if p.startswith(("before", "after"))] == written
    assert [p for p in printed if p.startswith("late")] == ["late 1", "late 2"]
    assert printed[0] == "Job Run ACCEPTED"
    assert any(p.startswith("Job Run IN_PROGRESS") for p in printed)
    assert printed[-1].startswith("Job Run FAILED")
    assert "exit code 3" in printed[-1]
    assert len(printed) == len(set(printed)), printed

    # --context and --kubeconfig choose the cluster: the current context of this
    # kubeconfig is one that cannot be reached.
    config: dict[str, Any] = yaml.safe_load(Path(operator_env["KUBECONFIG"]).read_text())
    good = config["current-context"]
    context = next(c for c in config["contexts"] if c["name"] == good)["context"]
    config["clusters"].append({"name": "down", "cluster": {"server": "https://127.0.0.1:1"}})
    config["contexts"].append(
        {"name": "down", "context": {**context, "cluster": "down", "namespace": kube.namespace}}
    )
    config["current-context"] = "down"
    other = tmp_path / "kubeconfig"
    other.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in operator_env.items() if k != "KUBECONFIG"}
    argv = [sys.executable, "-m", "ads_operator.cli", "logs", "gated-run", "-n", kube.namespace]
    argv += ["--kubeconfig", str(other)]
    chosen = subprocess.run(
        [*argv, "--context", good], env=env, capture_output=True, text=True, timeout=60
    )
    assert chosen.returncode == 0, chosen.stderr
    assert [line.split(" - ", 1)[1] for line in chosen.stdout.splitlines()][-1] == "after 4"
    current = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert current.returncode == 1
    assert "cannot read dsjobrun/gated-run" in current.stderr
