"""What GitOps tools conclude from our status, computed by their own libraries: kstatus
(``sigs.k8s.io/cli-utils``, what Flux's ``wait: true`` relies on) and Argo CD's health
scripts (``integrations/argocd/``, run by ``github.com/yuin/gopher-lua``, Argo CD's Lua),
both run by ``ads-kstatus`` (``hack/tools/kstatus``) on the live objects.

A table over the states the operator produces, for both kinds. Each case waits for a
snapshot of the object in that state and judges that very snapshot, so a state that
moves on between two reads cannot make a case pass or fail by luck.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hack import buildtools

from tests.fixtures.operator import OperatorFactory, OperatorProcess
from tests.fixtures.resources import Kube, condition_of, job_run, script_job, scripted_job

#: Long enough that a run is seen Running (or holding the namespace's one slot).
SLOW = "import time\nprint('working', flush=True)\ntime.sleep(300)\n"
Predicate = Callable[[dict[str, Any]], bool]
#: kstatus's status and message, the health script's status and message.
Verdict = tuple[str, str, str, str]
ARGOCD = Path(__file__).resolve().parents[2] / "integrations" / "argocd" / "ads.oci.dev"

#: The table: each state the operator produces -> (kstatus, Argo CD health).
EXPECTED: dict[str, tuple[str, str]] = {
    "run applied, not yet seen by the operator": ("InProgress", "Progressing"),
    "run waiting for its job": ("InProgress", "Progressing"),
    "run in progress": ("InProgress", "Progressing"),
    "run waiting for the namespace cap": ("InProgress", "Suspended"),
    "run canceled": ("Failed", "Degraded"),
    "run succeeded": ("Current", "Healthy"),
    "run failed (exit code)": ("Failed", "Degraded"),
    "run terminal": ("Failed", "Degraded"),
    "job applied, not yet seen by the operator": ("InProgress", "Progressing"),
    "job waiting for its source": ("InProgress", "Progressing"),
    "job active": ("Current", "Healthy"),
    "job spec edited, not reconciled": ("InProgress", "Progressing"),
    "job spec edited, reconciled": ("Current", "Healthy"),
    "job terminal": ("Failed", "Degraded"),
    "job edited into terminal": ("Failed", "Degraded"),
}


def judged(
    kube: Kube, ref: str, state: Predicate, what: str, expected: tuple[str, str]
) -> tuple[Verdict, str]:
    """kstatus's verdict and the Argo CD health script's on the first snapshot of ``ref``
    whose status is in ``state``; and what is wrong with them ("" when both are
    ``expected``)."""

    def snapshot() -> dict[str, Any] | None:
        got = kube.kubectl("get", ref, "-o", "json", check=False)
        if got.returncode != 0:
            return None
        obj: dict[str, Any] = json.loads(got.stdout)
        return obj if state(obj.get("status") or {}) else None

    obj = kube.wait_until(snapshot, f"{ref}: {what}", timeout=90)
    result = ads_kstatus(obj)
    health = result["health"]
    verdict = (result["status"], result["message"], health["status"], health["message"])
    if (result["status"], health["status"]) == expected and health["message"]:
        return verdict, ""
    return verdict, f"{verdict}, expected {expected}; status: {obj.get('status')}"


def ads_kstatus(obj: dict[str, Any]) -> dict[str, Any]:
    """``ads-kstatus --lua <the kind's health.lua>`` on one object."""
    script = ARGOCD / str(obj.get("kind")) / "health.lua"
    done = subprocess.run(
        [str(buildtools.find_binary("ads-kstatus")), "--lua", str(script)],
        input=json.dumps(obj),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def has(type_: str, status: str = "True", **fields: str) -> Predicate:
    def check(status_: dict[str, Any]) -> bool:
        cond = condition_of(status_, type_)
        return cond.get("status") == status and all(cond.get(k) == v for k, v in fields.items())

    return check


def phase(name: str) -> Predicate:
    return lambda status: status.get("phase") == name


def both(*checks: Predicate) -> Predicate:
    return lambda status: all(check(status) for check in checks)


class Judge:
    """Judges every case of one kind and shows all wrong verdicts together at the end."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.verdicts: dict[str, Verdict] = {}
        self.wrong: dict[str, str] = {}

    def case(self, name: str, ref: str, state: Predicate, what: str) -> None:
        self.verdicts[name], problem = judged(self.kube, ref, state, what, EXPECTED[name])
        if problem:
            self.wrong[name] = problem

    def check(self, kind: str) -> None:
        """Every case of ``kind`` (``"run "`` or ``"job "``) was judged, and rightly."""
        print(json.dumps(self.verdicts, indent=1))
        assert self.wrong == {}
        assert set(self.verdicts) == {name for name in EXPECTED if name.startswith(kind)}


@pytest.fixture
def capped(operator_with: OperatorFactory) -> OperatorProcess:
    """One active run per namespace, so a second run waits for the slot."""
    return operator_with(ADS_OPERATOR_MAX_ACTIVE_RUNS_PER_NAMESPACE="1")


def test_kstatus_verdicts_of_runs(kube: Kube, capped: OperatorProcess) -> None:
    judge = Judge(kube)
    case = judge.case

    # Pending: its job does not exist yet.
    kube.apply(job_run("early", "later"))
    case(
        "run waiting for its job",
        "dsjobrun/early",
        has("Ready", "False", reason="JobNotFound"),
        "waiting for its job",
    )
    # ACCEPTED / IN_PROGRESS, then a second run waiting for the namespace's one slot.
    kube.apply(*scripted_job("slow", SLOW, log_group=None), job_run("slow-run", "slow"))
    case("run in progress", "dsjobrun/slow-run", phase("Running"), "Running")
    kube.apply(job_run("queued", "slow"))
    case(
        "run waiting for the namespace cap",
        "dsjobrun/queued",
        has("Ready", "False", reason="WaitingForCapacity"),
        "queued",
    )
    # Canceled: over, and not a success.
    for run in ("slow-run", "queued"):
        kube.kubectl("patch", "dsjobrun", run, "--type=merge", "-p", '{"spec":{"cancel":true}}')
    case("run canceled", "dsjobrun/slow-run", phase("Canceled"), "Canceled")
    kube.wait("dsjobrun/queued", "Finished")  # frees the slot
    # Succeeded, and Failed with an exit code.
    kube.apply(*scripted_job("ok", "print('ok')\n", log_group=None), job_run("ok-run", "ok"))
    case("run succeeded", "dsjobrun/ok-run", phase("Succeeded"), "Succeeded")
    failing = "import sys\nsys.exit(3)\n"
    kube.apply(*scripted_job("fail", failing, log_group=None), job_run("fail-run", "fail"))
    case(
        "run failed (exit code)",
        "dsjobrun/fail-run",
        both(phase("Failed"), has("Failed", reason="ExitCode3")),
        "ExitCode3",
    )
    # Terminal: its job can never run (no projectId), so the run fails before it starts.
    broken = script_job("broken", script="x.py", log_group=None)
    del broken["spec"]["infrastructure"]["spec"]["projectId"]
    kube.apply(broken, job_run("broken-run", "broken"))
    case("run terminal", "dsjobrun/broken-run", has("Terminal"), "Terminal")
    # Before the operator's first status write (it is stopped): the CRD's default status.
    capped.stop()
    kube.apply(job_run("unseen", "ok"))
    case(
        "run applied, not yet seen by the operator",
        "dsjobrun/unseen",
        lambda s: s == {"observedGeneration": 0},
        "the default status",
    )
    judge.check("run ")
    # Canceled on request is not success (Flux's dependsOn, Argo CD's sync waves must not go
    # on as if the run had done its work), and both verdicts say it was a cancel.
    kstatus_message, health_message = (judge.verdicts["run canceled"][i] for i in (1, 3))
    assert "canceled" in kstatus_message.lower(), judge.verdicts["run canceled"]
    assert health_message.startswith("Canceled"), judge.verdicts["run canceled"]


def test_kstatus_verdicts_of_jobs(kube: Kube, operator: OperatorProcess) -> None:
    judge = Judge(kube)
    case = judge.case

    # Not ACTIVE yet: its script's ConfigMap is missing, the operator retries.
    kube.apply(script_job("nosource", script="main.py", log_group=None))
    case(
        "job waiting for its source",
        "dsjob/nosource",
        has("Synced", "False", reason="SourceNotFound"),
        "SourceNotFound",
    )
    # ACTIVE at the current generation.
    kube.apply(*scripted_job("hello", "print('hi')\n", log_group=None))
    ready = both(has("Ready"), lambda s: s.get("lifecycleState") == "ACTIVE")
    case("job active", "dsjob/hello", ready, "ACTIVE")
    # A spec edit the operator has not reconciled yet (it is stopped): InProgress.
    operator.stop()
    edit = '{"spec":{"runtime":{"spec":{"env":[{"name":"GREETING","value":"hi"}]}}}}'
    kube.kubectl("patch", "dsjob", "hello", "--type=merge", "-p", edit)
    kube.apply(script_job("unseen", script="main.py", log_group=None))
    case(
        "job applied, not yet seen by the operator",
        "dsjob/unseen",
        lambda s: s == {"observedGeneration": 0},
        "the default status",
    )
    case(
        "job spec edited, not reconciled",
        "dsjob/hello",
        lambda s: s.get("observedGeneration") == 1,
        "observedGeneration 1",
    )
    operator.start()
    case(
        "job spec edited, reconciled",
        "dsjob/hello",
        both(ready, lambda s: s.get("observedGeneration") == 2),
        "generation 2",
    )
    # Terminal: a spec only the operator can refuse, new or edited into it.
    broken = script_job("broken", script="x.py", log_group=None)
    del broken["spec"]["infrastructure"]["spec"]["projectId"]
    kube.apply(broken)
    case("job terminal", "dsjob/broken", has("Terminal"), "Terminal")
    remove = '[{"op":"remove","path":"/spec/infrastructure/spec/projectId"}]'
    kube.kubectl("patch", "dsjob", "hello", "--type=json", "-p", remove)
    case(
        "job edited into terminal",
        "dsjob/hello",
        both(has("Terminal"), lambda s: s.get("observedGeneration") == 3),
        "gen 3",
    )
    judge.check("job ")


def _obj(kind: str, status: object = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": kind, "metadata": {"name": "x", "generation": 1}}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize("kind", ["DataScienceJob", "DataScienceJobRun"])
@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("no status yet", None),
        ("an unknown phase", {"phase": "Hibernating", "observedGeneration": 1}),
        ("an older operator's status", {"state": "RUNNING", "conditions": [{"kind": "x"}]}),
        ("conditions that are not a list", {"phase": "Running", "conditions": "nonsense"}),
    ],
)
def test_health_of_a_status_it_does_not_know_is_progressing(
    kind: str, case: str, status: object
) -> None:
    health = ads_kstatus(_obj(kind, status))["health"]
    assert health["status"] == "Progressing", case
    assert health["message"], case
