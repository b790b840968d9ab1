"""``make demo``: the operator on the embedded local stack, taking a job run to completion.

Brings up (or reuses) the local kube-apiserver + etcd, the OCI emulator and the operator
as local processes, applies the hello-world example, follows the run until it finishes,
and prints what a user would look at: ``kubectl get dsjob,dsjobrun`` and the run's
Events (state transitions and the script's own output lines). Everything stays running
for you to explore; ``make demo-down`` stops exactly what this started.

Nothing here talks to real OCI or any non-loopback address: the operator's OCI endpoint
is the emulator on 127.0.0.1, and the operator refuses non-loopback overrides anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import oci
import yaml

from hack import buildtools, localcluster
from oci_emulator import testing as emulator_testing

REPO = Path(__file__).resolve().parent.parent
#: Everything the demo starts keeps its state, logs and PIDs here (tests use their own).
STATE_DIR = Path(os.environ.get("ADS_OPERATOR_DEMO_DIR", REPO / ".demo")).resolve()
CLUSTER_DIR = STATE_DIR / "controlplane"
EXAMPLE = REPO / "examples" / "hello-world.yaml"
NAMESPACE = "demo"
RUN_TIMEOUT_SECONDS = 180.0
PY = Path(sys.executable)


def say(message: str) -> None:
    print(f"[demo {time.monotonic() - STARTED:5.1f}s] {message}", flush=True)


STARTED = time.monotonic()


class Demo:
    def __init__(self) -> None:
        STATE_DIR.mkdir(exist_ok=True)
        self.instance: localcluster.Instance | None = None

    # -- processes -------------------------------------------------------------------------
    def _record(self, process: localcluster.Process) -> None:
        (STATE_DIR / f"{process.name}.json").write_text(json.dumps(vars(process)))

    def _recorded(self, name: str) -> localcluster.Process | None:
        try:
            return localcluster.Process(**json.loads((STATE_DIR / f"{name}.json").read_text()))
        except FileNotFoundError:
            return None

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        assert self.instance is not None
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.instance.kubeconfig)
        env["PATH"] = os.pathsep.join([*(str(d) for d in buildtools.bin_dirs()), env["PATH"]])
        env.update(extra or {})
        return env

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kubectl = str(buildtools.find_binary("kubectl"))
        proc = subprocess.run(
            [kubectl, *args], capture_output=True, text=True, env=self.env(), check=False
        )
        if check and proc.returncode != 0:
            raise SystemExit(f"demo: kubectl {' '.join(args)} failed:\n{proc.stderr.strip()}")
        return proc

    # -- steps -----------------------------------------------------------------------------
    def cluster(self) -> None:
        say("local control plane (kube-apiserver + etcd) ...")
        self.instance = localcluster.up(CLUSTER_DIR)
        say(f"  ready at {self.instance.server}")

    def emulator(self) -> str:
        recorded = self._recorded("oci-emulator")
        endpoint_file = STATE_DIR / "emulator-endpoint"
        if recorded is not None and recorded.alive() and endpoint_file.exists():
            endpoint = endpoint_file.read_text().strip()
            say(f"OCI emulator already running at {endpoint}")
            return endpoint
        say("OCI emulator (Data Science, Logging, Object Storage; signatures verified) ...")
        key = emulator_testing.write_api_key(STATE_DIR / "oci")
        ready = STATE_DIR / "emulator-ready"
        ready.unlink(missing_ok=True)
        process = localcluster.spawn(
            "oci-emulator",
            [
                str(PY), "-m", "oci_emulator", "--host", "127.0.0.1", "--port", "0",
                "--ready-file", str(ready), "--db", str(STATE_DIR / "emulator.sqlite"),
                "--public-key", str(key.public_key_file),
            ],
            STATE_DIR / "emulator.log",
        )  # fmt: skip
        self._record(process)
        endpoint = _wait_for_file(ready, process, STATE_DIR / "emulator.log").strip()
        endpoint_file.write_text(endpoint)
        say(f"  ready at {endpoint}")
        return endpoint

    def crds(self) -> None:
        say("CRDs DataScienceJob, DataScienceJobRun ...")
        self.kubectl("apply", "-f", str(REPO / "crds"))
        self.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s",
            "crd/datasciencejobs.ads.oci.dev", "crd/datasciencejobruns.ads.oci.dev",
        )  # fmt: skip

    def operator(self, endpoint: str) -> None:
        recorded = self._recorded("ads-operator")
        if recorded is not None and recorded.alive():
            say("operator already running")
            return
        say("operator (ads-operator run) ...")
        key = emulator_testing.write_api_key(STATE_DIR / "oci")
        process = localcluster.spawn(
            "ads-operator",
            [str(PY), "-m", "ads_operator.cli", "run", "--namespace", NAMESPACE],
            STATE_DIR / "operator.log",
            env=self.env(
                {
                    "ADS_OPERATOR_OCI_ENDPOINT": endpoint,
                    "ADS_OPERATOR_OCI_CONFIG_FILE": str(key.config_file),
                    "ADS_OPERATOR_LOG_GRACE": "5",
                    # the demo emulator makes records searchable after 2 s (its default)
                    "ADS_OPERATOR_LOG_SETTLE": "3",
                }
            ),
        )
        self._record(process)

    def log_group(self, endpoint: str, compartment: str) -> str:
        """A log group in the emulator, so the run's output lines can become Events.

        In a real tenancy the log group is something you create once and name in the job's
        ``infrastructure.spec.logGroupId``; the demo creates one with the real SDK.
        """
        key = emulator_testing.write_api_key(STATE_DIR / "oci")
        client = oci.logging.LoggingManagementClient(key.config, service_endpoint=endpoint)
        existing = client.list_log_groups(compartment, display_name="demo").data
        if not existing:
            client.create_log_group(
                oci.logging.models.CreateLogGroupDetails(
                    compartment_id=compartment, display_name="demo"
                )
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            groups = client.list_log_groups(compartment, display_name="demo").data
            if groups and groups[0].lifecycle_state == "ACTIVE":
                return str(groups[0].id)
            time.sleep(0.2)  # the creation is a work request; poll until it is done
        raise SystemExit("demo: the emulator's log group did not become ACTIVE")

    def example(self, endpoint: str) -> str:
        documents: list[dict[str, Any]] = [
            d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d is not None
        ]
        job = next(d for d in documents if d["kind"] == "DataScienceJob")
        infrastructure = job["spec"]["infrastructure"]["spec"]
        infrastructure["logGroupId"] = self.log_group(endpoint, infrastructure["compartmentId"])
        say(f"applying {EXAMPLE.relative_to(REPO)} in namespace {NAMESPACE}")
        say(f"  (with infrastructure.spec.logGroupId={infrastructure['logGroupId']})")
        if self.kubectl("get", "namespace", NAMESPACE, check=False).returncode != 0:
            self.kubectl("create", "namespace", NAMESPACE)
        self.kubectl_input(yaml.safe_dump_all(documents), "apply", "-n", NAMESPACE, "-f", "-")
        run = next(d for d in documents if d["kind"] == "DataScienceJobRun")
        return str(run["metadata"]["name"])

    def kubectl_input(self, text: str, *args: str) -> None:
        kubectl = str(buildtools.find_binary("kubectl"))
        proc = subprocess.run(
            [kubectl, *args],
            input=text,
            capture_output=True,
            text=True,
            env=self.env(),
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"demo: kubectl {' '.join(args)} failed:\n{proc.stderr.strip()}")

    def follow(self, run: str) -> str:
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        seen = ""
        while time.monotonic() < deadline:
            status = json.loads(
                self.kubectl("get", "dsjobrun", run, "-n", NAMESPACE, "-o", "json").stdout
            ).get("status", {})
            line = f"{status.get('phase', 'Pending')} {status.get('lifecycleState', '')}".strip()
            details = status.get("lifecycleDetails")
            if details:
                line += f" - {details}"
            if status.get("phase") in {"Succeeded", "Failed", "Canceled"}:
                line += " (reading the last log lines)"
            if line != seen:
                say(f"  run {run}: {line}")
                seen = line
            logging_reason = next(
                (c.get("reason") for c in status.get("conditions", []) if c["type"] == "Logging"),
                None,
            )
            # Finished, and the log reader has read the last lines (OCI Logging is late).
            finished = status.get("phase") in {"Succeeded", "Failed", "Canceled"}
            if finished and logging_reason in {"Complete", "LoggingNotConfigured"}:
                return str(status["phase"])
            time.sleep(1)  # polling the resource for the next state change, bounded above
        raise SystemExit(f"demo: the run did not finish within {RUN_TIMEOUT_SECONDS:.0f}s")

    def show(self, run: str) -> None:
        print()
        print(f"$ kubectl get dsjob,dsjobrun -n {NAMESPACE}")
        print(self.kubectl("get", "dsjob,dsjobrun", "-n", NAMESPACE).stdout)
        print(f"$ kubectl get events -n {NAMESPACE} --field-selector involvedObject.name={run}")
        print(
            self.kubectl(
                "get", "events", "-n", NAMESPACE, "--sort-by=.metadata.creationTimestamp",
                "--field-selector", f"involvedObject.name={run}",
                "-o", "custom-columns=REASON:.reason,MESSAGE:.message",
            ).stdout
        )  # fmt: skip

    def down(self) -> None:
        for name in ("ads-operator", "oci-emulator"):
            process = self._recorded(name)
            if process is not None and localcluster.stop(process):
                print(f"stopped {name} (pid {process.pid})")
            (STATE_DIR / f"{name}.json").unlink(missing_ok=True)
        for stopped in localcluster.down(CLUSTER_DIR):
            print(f"stopped {stopped}")
        print("the demo is down")


def _wait_for_file(path: Path, process: localcluster.Process, log: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        if not process.alive():
            raise SystemExit(f"demo: {process.name} exited; see {log}")
        time.sleep(0.1)  # waiting for the process to write its ready file, bounded above
    raise SystemExit(f"demo: {process.name} did not start within 60s; see {log}")


def main(argv: list[str]) -> int:
    demo = Demo()
    if argv[1:] == ["down"]:
        demo.down()
        return 0
    if argv[1:] not in ([], ["up"]):
        print("usage: hack/demo [up|down]", file=sys.stderr)
        return 2
    try:
        demo.cluster()
        endpoint = demo.emulator()
        demo.crds()
        demo.operator(endpoint)
        run = demo.example(endpoint)
        phase = demo.follow(run)
        demo.show(run)
    except (localcluster.ControlPlaneError, buildtools.ToolError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    print(f"The run ended {phase}. Everything is still running; explore with:")
    print(f'  eval "$(hack/controlplane env --dir {CLUSTER_DIR})"')
    print(f"  kubectl get dsjob,dsjobrun -n {NAMESPACE}; kubectl describe dsjobrun -n {NAMESPACE}")
    print(f"  logs: {STATE_DIR}/operator.log, {STATE_DIR}/emulator.log")
    print("Stop it all with: make demo-down")
    return 0 if phase == "Succeeded" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
