"""``make demo``: the operator on the embedded local stack, taking job runs to completion.

Brings up (or reuses) the local kube-apiserver + etcd, the OCI emulator and the operator
(serving every namespace, as the chart does by default) as local processes, applies the
hello-world example exactly as its header says (``kubectl apply -f``, namespace
``default``), follows the run until it finishes, and prints what a user would look at:
``kubectl get dsjob,dsjobrun`` and the run's Events (state transitions and the script's
own output lines). Then it applies every other example that can succeed here (those
without a ``# Needs:`` line in their header) and waits for their runs, and prints the next
commands to try. Everything stays running for you to explore; ``hack/demo env`` prints the
shell settings that reach it; ``make demo-down`` stops exactly what this started.

The examples name a placeholder log group; the demo seeds the emulator with a log group of
that OCID, so they run as written and their output lines become Events.

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
from urllib.parse import urlparse

import yaml

from hack import buildtools, localcluster
from oci_emulator import testing as emulator_testing

REPO = Path(__file__).resolve().parent.parent
#: Everything the demo starts keeps its state, logs and PIDs here (tests use their own).
STATE_DIR = Path(os.environ.get("ADS_OPERATOR_DEMO_DIR", REPO / ".demo")).resolve()
CLUSTER_DIR = STATE_DIR / "controlplane"
EXAMPLES = REPO / "examples"
EXAMPLE = EXAMPLES / "hello-world.yaml"
#: Where the examples go when applied as their headers say (no namespace given).
NAMESPACE = "default"
RUN_TIMEOUT_SECONDS = 180.0
#: The placeholder log group and compartment every example names.
EXAMPLE_LOG_GROUP = "ocid1.loggroup.oc1.iad.aaaaaaaaexampleloggroup"
EXAMPLE_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaexamplecompartment"
#: A header line saying what an example needs beyond `make demo`; the demo skips those.
NEEDS = "# Needs:"
PY = Path(sys.executable)


def say(message: str) -> None:
    print(f"[demo {time.monotonic() - STARTED:5.1f}s] {message}", flush=True)


STARTED = time.monotonic()
FINISHED = {"Succeeded", "Failed", "Canceled"}


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
        # Not `kubectl wait`: it fails at once ("conditions accessor error") when it reads a
        # CRD before the API server has written any condition.
        names = ("datasciencejobs.ads.oci.dev", "datasciencejobruns.ads.oci.dev")
        query = '{.status.conditions[?(@.type=="Established")].status}'
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [
                self.kubectl("get", "crd", name, "-o", f"jsonpath={query}", check=False).stdout
                for name in names
            ]
            if all(state == "True" for state in states):
                return
            time.sleep(0.2)  # polling for the Established condition, bounded above
        raise SystemExit("demo: the CRDs were not Established within 60s")

    def operator(self, endpoint: str) -> None:
        recorded = self._recorded("ads-operator")
        if recorded is not None and recorded.alive():
            say("operator already running")
            return
        say("operator (ads-operator run) ...")
        key = emulator_testing.write_api_key(STATE_DIR / "oci")
        process = localcluster.spawn(
            "ads-operator",
            [str(PY), "-m", "ads_operator.cli", "run", "--all-namespaces"],
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

    def log_group(self, endpoint: str) -> None:
        """The log group the examples name, in the emulator, so their lines become Events.

        In a real tenancy the log group is something you create once and name in the job's
        ``infrastructure.spec.logGroupId``; the emulator can be seeded with one of a given
        OCID, the examples' placeholder."""
        key = emulator_testing.write_api_key(STATE_DIR / "oci")
        address = urlparse(endpoint)
        control = emulator_testing.EmulatorControl(
            port=address.port or 80, host=address.hostname or "127.0.0.1"
        )
        control.seed_log_group(
            EXAMPLE_LOG_GROUP, compartment=EXAMPLE_COMPARTMENT, tenancy=key.tenancy, name="demo"
        )

    def apply(self, example: Path) -> list[str]:
        """``kubectl apply -f`` the example as its header says; the names of its runs."""
        say(f"kubectl apply -f {example.relative_to(REPO)}")
        self.kubectl("apply", "-f", str(example))
        documents = [d for d in yaml.safe_load_all(example.read_text()) if d is not None]
        return [d["metadata"]["name"] for d in documents if d["kind"] == "DataScienceJobRun"]

    def others(self) -> None:
        """Every other example that can succeed here, applied together; their runs awaited."""
        runs: dict[str, str] = {}
        for example in sorted(EXAMPLES.glob("*.yaml")):
            needs = example_needs(example)
            if example == EXAMPLE:
                continue
            if needs:
                say(f"skipping {example.relative_to(REPO)}: it needs {needs}")
                continue
            for run in self.apply(example):
                runs[run] = example.name
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        phases: dict[str, str] = {}
        while time.monotonic() < deadline and len(phases) < len(runs):
            for run in runs:
                if run in phases:
                    continue
                status = self.run_status(run)
                if status.get("phase") in FINISHED:
                    phases[run] = str(status["phase"])
                    say(f"  run {run} ({runs[run]}): {phases[run]}")
            time.sleep(1)  # polling the runs for their end, bounded above
        late = sorted(set(runs) - set(phases))
        if late:
            raise SystemExit(f"demo: runs {', '.join(late)} did not finish in time")
        failed = sorted(run for run, phase in phases.items() if phase != "Succeeded")
        if failed:
            raise SystemExit(
                f"demo: runs {', '.join(failed)} did not succeed; "
                f"see kubectl describe dsjobrun {failed[0]}"
            )

    def run_status(self, run: str) -> dict[str, Any]:
        status: dict[str, Any] = json.loads(
            self.kubectl("get", "dsjobrun", run, "-n", NAMESPACE, "-o", "json").stdout
        ).get("status", {})
        return status

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
        """Print the run's transitions until it finished and its last log lines are read."""
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        seen = ""
        while time.monotonic() < deadline:
            status = self.run_status(run)
            line = f"{status.get('phase', 'Pending')} {status.get('lifecycleState', '')}".strip()
            details = status.get("lifecycleDetails")
            if details:
                line += f" - {details}"
            if status.get("phase") in FINISHED:
                line += " (reading the last log lines)"
            if line != seen:
                say(f"  run {run}: {line}")
                seen = line
            logging_reason = next(
                (c.get("reason") for c in status.get("conditions", []) if c["type"] == "Logging"),
                None,
            )
            # Finished, and the log reader has read the last lines (OCI Logging is late).
            finished = status.get("phase") in FINISHED
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


def example_needs(example: Path) -> str:
    """What an example's header says it needs beyond `make demo` ("" for nothing)."""
    needs: list[str] = []
    for line in example.read_text().splitlines():
        if not line.startswith("#") or (needs and not line.startswith("#   ")):
            break
        if line.startswith(NEEDS) or needs:
            needs.append(line.removeprefix(NEEDS).lstrip("#").strip())
    return " ".join(needs)


def env_lines() -> str:
    """Shell settings that reach the running demo: kubectl, ads-operator, the cluster and
    the emulator's endpoint and credentials (for ``ads-operator logs``)."""
    instance = localcluster.Instance.load(CLUSTER_DIR)
    endpoint_file = STATE_DIR / "emulator-endpoint"
    if instance is None or not instance.ready() or not endpoint_file.exists():
        raise SystemExit("demo: not running; start it with `make demo`")
    key = emulator_testing.write_api_key(STATE_DIR / "oci")
    return "\n".join(
        [
            localcluster.env_lines(instance),
            f'export PATH="{PY.parent}:$PATH"',
            f"export ADS_OPERATOR_OCI_ENDPOINT={endpoint_file.read_text().strip()}",
            f"export ADS_OPERATOR_OCI_CONFIG_FILE={key.config_file}",
            "export ADS_OPERATOR_LOG_SETTLE=3  # the demo's records are searchable after 2 s",
        ]
    )


def main(argv: list[str]) -> int:
    if argv[1:] == ["env"]:
        print(env_lines())
        return 0
    demo = Demo()
    if argv[1:] == ["down"]:
        demo.down()
        return 0
    if argv[1:] not in ([], ["up"]):
        print("usage: hack/demo [up|down|env]", file=sys.stderr)
        return 2
    try:
        demo.cluster()
        endpoint = demo.emulator()
        demo.crds()
        demo.log_group(endpoint)
        demo.operator(endpoint)
        (run,) = demo.apply(EXAMPLE)
        phase = demo.follow(run)
        demo.show(run)
        if phase == "Succeeded":
            say("the other examples that run here ...")
            demo.others()
    except (localcluster.ControlPlaneError, buildtools.ToolError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    print(f"The run ended {phase}. Everything is still running. Next, try:")
    print('  eval "$(hack/demo env)"    # kubectl, ads-operator and the settings reaching the demo')
    print(f"  kubectl describe dsjobrun {run}   # its transitions and log lines as Events")
    print(f"  ads-operator logs {run} -f        # its log, read from (emulated) OCI Logging")
    print("  kubectl apply -f examples/python-job.yaml   # or any example: its header says how")
    print(f"Logs of the demo itself: {STATE_DIR}/operator.log, {STATE_DIR}/emulator.log")
    print("Stop it all with: make demo-down")
    return 0 if phase == "Succeeded" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
