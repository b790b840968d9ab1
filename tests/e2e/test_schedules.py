"""Job schedules end to end, on a clock the test controls.

The operator reads "now" for schedules from a file (``ADS_OPERATOR_SCHEDULE_CLOCK_FILE``);
the test writes times into it, so a nightly schedule or half an hour of missed times
costs no waiting. Everything else (the apiserver, the emulator running the scripts, the
runs' own timestamps) runs on the real clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from oci_emulator.testing import EmulatorHandle
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import (
    REPO,
    OperatorFactory,
    OperatorProcess,
    apply,
    events_of,
    job_run,
    script_configmap,
    script_job,
    status_of,
)
from tests.fixtures.waiting import wait_for

QUICK = "print('scheduled hello')\n"
SLOW = "import time\nprint('working', flush=True)\ntime.sleep(120)\n"
LABEL = "ads.oci.dev/scheduled-by"


class Clock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, moment: datetime) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(moment.astimezone(UTC).isoformat())
        tmp.replace(self.path)  # atomic: the operator never reads half a time


@pytest.fixture
def clock(tmp_path: Path) -> Clock:
    handle = Clock(tmp_path / "clock")
    handle.set(datetime(2000, 1, 1, tzinfo=UTC))  # long before any job exists
    return handle


@pytest.fixture
def scheduler(operator_with: OperatorFactory, clock: Clock) -> OperatorProcess:
    return operator_with(ADS_OPERATOR_SCHEDULE_CLOCK_FILE=str(clock.path))


def created_at(cluster: Cluster, namespace: str, job: str) -> datetime:
    meta: Any = cluster.get("dsjob", job, namespace)["metadata"]
    return datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))


def next_boundary(moment: datetime, minutes: int) -> datetime:
    """The next time after ``moment`` whose minute is a multiple of ``minutes``."""
    base = moment.replace(second=0, microsecond=0)
    step = minutes - base.minute % minutes
    return base + timedelta(minutes=step)


def scheduled_runs(cluster: Cluster, namespace: str, job: str) -> list[dict[str, Any]]:
    raw = cluster.kubectl(
        "get", "dsjobrun", "-n", namespace, "-l", f"{LABEL}={job}", "-o", "json"
    ).stdout
    items: list[dict[str, Any]] = json.loads(raw)["items"]
    return sorted(items, key=lambda r: str(r["metadata"]["name"]))


def run_for(job: str, moment: datetime) -> str:
    return f"{job}-{int(moment.timestamp()) // 60}"


def wait_runs(cluster: Cluster, namespace: str, job: str, names: list[str], op: Any) -> None:
    def exactly() -> list[str] | None:
        have = [r["metadata"]["name"] for r in scheduled_runs(cluster, namespace, job)]
        return have if have == sorted(names) else None

    wait_for(exactly, timeout=60, what=f"scheduled runs {names} ({op.log})")


def reasons(cluster: Cluster, namespace: str, name: str) -> list[str]:
    return [str(e["reason"]) for e in events_of(cluster, namespace, name)]


def scheduled_job(name: str, script: str, schedule: dict[str, Any]) -> dict[str, Any]:
    return script_job(name, script=script, log_group=None, extra_spec={"schedule": schedule})


def test_a_due_time_starts_one_run_and_missed_times_start_only_the_latest(
    cluster: Cluster, namespace: str, scheduler: OperatorProcess, clock: Clock
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("every5", {"quick.py": QUICK}),
        scheduled_job("every5", "quick.py", {"cron": "*/5 * * * *"}),
    )
    first = next_boundary(created_at(cluster, namespace, "every5"), 5)
    clock.set(first - timedelta(seconds=1))

    def next_known() -> bool:
        text = str(status_of(cluster, namespace, "dsjob", "every5").get("nextScheduleTime"))
        return text.startswith(first.strftime("%Y-%m-%dT%H:%M:%S"))

    wait_for(next_known, timeout=30, what=f"nextScheduleTime {first}")
    assert scheduled_runs(cluster, namespace, "every5") == []
    clock.set(first + timedelta(seconds=3))
    wait_runs(cluster, namespace, "every5", [run_for("every5", first)], scheduler)
    waited = cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Succeeded",
        f"dsjobrun/{run_for('every5', first)}", "--timeout=120s", check=False, timeout=150,
    )  # fmt: skip
    assert waited.returncode == 0, f"{waited.stderr}\n{scheduler.log}"
    status = status_of(cluster, namespace, "dsjob", "every5")
    assert str(status["lastScheduleTime"]).startswith(first.strftime("%Y-%m-%dT%H:%M:%S"))
    # The operator "was down" for 32 minutes: six times were missed, one run starts.
    latest = first + timedelta(minutes=30)
    clock.set(first + timedelta(minutes=32))
    wait_runs(
        cluster,
        namespace,
        "every5",
        [run_for("every5", first), run_for("every5", latest)],
        scheduler,
    )
    wait_for(
        lambda: reasons(cluster, namespace, "every5").count("SuccessfulCreate") == 2,
        timeout=30,
        what="one SuccessfulCreate Event per run",
    )


def test_forbid_skips_while_active_and_the_starting_deadline_reports_a_miss(
    cluster: Cluster, namespace: str, scheduler: OperatorProcess, clock: Clock
) -> None:
    plan = {"cron": "*/5 * * * *", "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 120}
    apply(
        cluster,
        namespace,
        script_configmap("forbid", {"slow.py": SLOW}),
        scheduled_job("forbid", "slow.py", plan),
    )
    first = next_boundary(created_at(cluster, namespace, "forbid"), 5)
    clock.set(first + timedelta(seconds=2))
    wait_runs(cluster, namespace, "forbid", [run_for("forbid", first)], scheduler)
    clock.set(first + timedelta(minutes=5, seconds=2))  # the first run still sleeps
    wait_for(
        lambda: "JobAlreadyActive" in reasons(cluster, namespace, "forbid"),
        timeout=30,
        what=f"the Forbid Event ({scheduler.log})",
    )
    assert len(scheduled_runs(cluster, namespace, "forbid")) == 1
    # Ten minutes on, the 10-minute time is 180 s old: past the 120 s starting deadline.
    clock.set(first + timedelta(minutes=13))
    wait_for(
        lambda: "MissedSchedule" in reasons(cluster, namespace, "forbid"),
        timeout=30,
        what=f"the MissedSchedule Event ({scheduler.log})",
    )
    assert len(scheduled_runs(cluster, namespace, "forbid")) == 1


def test_replace_deletes_the_active_run_and_suspend_stops_new_ones(
    cluster: Cluster, namespace: str, scheduler: OperatorProcess, clock: Clock
) -> None:
    plan = {"cron": "*/5 * * * *", "concurrencyPolicy": "Replace"}
    apply(
        cluster,
        namespace,
        script_configmap("replace", {"slow.py": SLOW}),
        scheduled_job("replace", "slow.py", plan),
    )
    first = next_boundary(created_at(cluster, namespace, "replace"), 5)
    second = first + timedelta(minutes=5)
    clock.set(first + timedelta(seconds=2))
    wait_runs(cluster, namespace, "replace", [run_for("replace", first)], scheduler)

    def running() -> bool:
        status = status_of(cluster, namespace, "dsjobrun", run_for("replace", first))
        return status.get("phase") == "Running"

    wait_for(running, timeout=60, what="the first run to be running")
    clock.set(second + timedelta(seconds=2))
    wait_runs(cluster, namespace, "replace", [run_for("replace", second)], scheduler)
    assert "Replaced" in reasons(cluster, namespace, "replace")
    cluster.kubectl(
        "patch", "dsjob", "replace", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"schedule": {**plan, "suspend": True}}}),
    )  # fmt: skip
    wait_for(
        lambda: not status_of(cluster, namespace, "dsjob", "replace").get("nextScheduleTime"),
        timeout=30,
        what="a suspended schedule to have no next time",
    )
    # Resumed ten minutes later: only the most recent missed time starts (replacing).
    latest = second + timedelta(minutes=10)
    clock.set(latest + timedelta(seconds=2))
    cluster.kubectl(
        "patch", "dsjob", "replace", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"schedule": {**plan, "suspend": False}}}),
    )  # fmt: skip
    wait_runs(cluster, namespace, "replace", [run_for("replace", latest)], scheduler)


def test_the_nightly_example_runs_at_two_in_berlin(
    cluster: Cluster,
    namespace: str,
    scheduler: OperatorProcess,
    clock: Clock,
    emulator: EmulatorHandle,
) -> None:
    # The example logs to the placeholder log group, as `make demo` seeds it.
    emulator.seed_log_group(
        "ocid1.loggroup.oc1.iad.aaaaaaaaexampleloggroup",
        compartment="ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
    )
    docs = [
        d for d in yaml.safe_load_all((REPO / "examples/schedule-nightly.yaml").read_text()) if d
    ]
    apply(cluster, namespace, *docs)
    created = created_at(cluster, namespace, "schedule-nightly")
    berlin = created.astimezone(ZoneInfo("Europe/Berlin"))
    night = berlin.replace(hour=2, minute=0, second=0, microsecond=0)
    if night <= berlin:
        night += timedelta(days=1)
    night = night.replace(tzinfo=ZoneInfo("Europe/Berlin"))
    clock.set(night - timedelta(minutes=1))

    expected = night.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def planned() -> bool:
        status = status_of(cluster, namespace, "dsjob", "schedule-nightly")
        return str(status.get("nextScheduleTime")).startswith(expected)

    wait_for(planned, timeout=30, what=f"the next night, {expected} UTC")
    clock.set(night + timedelta(seconds=5))
    name = run_for("schedule-nightly", night)
    wait_runs(cluster, namespace, "schedule-nightly", [name], scheduler)
    waited = cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Succeeded", f"dsjobrun/{name}",
        "--timeout=120s", check=False, timeout=150,
    )  # fmt: skip
    assert waited.returncode == 0, f"{waited.stderr}\n{scheduler.log}"


def _runs_of(cluster: Cluster, namespace: str, job: str) -> list[dict[str, Any]]:
    raw = cluster.kubectl("get", "dsjobrun", "-n", namespace, "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(raw)["items"]
    return [r for r in items if r["spec"].get("jobRef", {}).get("name") == job]


def _condition(cluster: Cluster, namespace: str, job: str, type_: str) -> dict[str, Any]:
    conds: Any = status_of(cluster, namespace, "dsjob", job).get("conditions") or []
    return next((c for c in conds if c["type"] == type_), {})


def test_a_job_named_longer_than_a_label_value_starts_its_scheduled_runs(
    cluster: Cluster, namespace: str, scheduler: OperatorProcess, clock: Clock
) -> None:
    """Issue 17, bug 2: the job's name as the ``scheduled-by`` label value was refused
    (over 63 characters), every ~12 s, seen only in the operator's log."""
    name = "a-nightly-training-job-whose-name-is-longer-than-any-label-value-may-be"
    assert len(name) > 63
    apply(
        cluster,
        namespace,
        script_configmap(name, {"quick.py": QUICK}),
        scheduled_job(name, "quick.py", {"cron": "*/5 * * * *"}),
    )
    first = next_boundary(created_at(cluster, namespace, name), 5)
    clock.set(first + timedelta(seconds=3))
    (run,) = wait_for(
        lambda: _runs_of(cluster, namespace, name),
        timeout=60,
        what=f"the scheduled run of the long-named job ({scheduler.log})",
    )
    label = run["metadata"]["labels"][LABEL]
    assert len(label) <= 63
    listed = scheduled_runs(cluster, namespace, label)
    assert [r["metadata"]["name"] for r in listed] == [run["metadata"]["name"]]
    waited = cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Succeeded",
        f"dsjobrun/{run['metadata']['name']}", "--timeout=120s", check=False, timeout=150,
    )  # fmt: skip
    assert waited.returncode == 0, f"{waited.stderr}\n{scheduler.log}"
    assert _condition(cluster, namespace, name, "ScheduledRunCreated")["status"] == "True"


def _refuse_scheduled_runs(namespace: str) -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy (CEL in the apiserver) refusing this namespace's
    scheduled runs: a real refusal, as a quota or an organisation's policy gives."""
    name = f"no-scheduled-runs-{namespace}"
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["ads.oci.dev"],
                            "apiVersions": ["*"],
                            "operations": ["CREATE"],
                            "resources": ["datasciencejobruns"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": f"!has(object.metadata.labels) || !('{LABEL}' in"
                        " object.metadata.labels)",
                        "message": "scheduled runs are paused by policy",
                    }
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                },
            },
        },
    ]


def test_a_scheduled_run_that_cannot_be_created_shows_as_an_event_and_a_condition(
    cluster: Cluster, namespace: str, scheduler: OperatorProcess, clock: Clock
) -> None:
    policy = _refuse_scheduled_runs(namespace)
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": policy})
    cluster.kubectl("apply", "-f", "-", input=manifest)
    try:
        probe = json.dumps(
            {
                "apiVersion": "ads.oci.dev/v1alpha1",
                "kind": "DataScienceJobRun",
                "metadata": {"name": "probe", "labels": {LABEL: "probe"}},
                "spec": {"jobRef": {"name": "probe"}},
            }
        )
        wait_for(  # the apiserver enforces a new policy a moment after it was stored
            lambda: (
                "paused by policy"
                in cluster.kubectl(
                    "create",
                    "--dry-run=server",
                    "-n",
                    namespace,
                    "-f",
                    "-",
                    input=probe,
                    check=False,
                ).stderr
            ),
            timeout=30,
            what="the admission policy to be enforced",
        )
        _refused_then_allowed(cluster, namespace, scheduler, clock, manifest)
    finally:
        cluster.kubectl("delete", "--ignore-not-found", "-f", "-", input=manifest)


def _refused_then_allowed(
    cluster: Cluster, namespace: str, scheduler: OperatorProcess, clock: Clock, manifest: str
) -> None:
    apply(
        cluster,
        namespace,
        script_configmap("refused", {"quick.py": QUICK}),
        scheduled_job("refused", "quick.py", {"cron": "*/5 * * * *"}),
    )
    first = next_boundary(created_at(cluster, namespace, "refused"), 5)
    clock.set(first + timedelta(seconds=3))

    def refused() -> dict[str, Any] | None:
        cond = _condition(cluster, namespace, "refused", "ScheduledRunCreated")
        return cond if cond.get("status") == "False" else None

    cond = wait_for(refused, timeout=60, what=f"ScheduledRunCreated=False ({scheduler.log})")
    assert cond["reason"] == "FailedCreate"
    assert run_for("refused", first) in cond["message"]
    assert "scheduled runs are paused by policy" in cond["message"]
    failed = [e for e in events_of(cluster, namespace, "refused") if e["reason"] == "FailedCreate"]
    assert [e["type"] for e in failed] == ["Warning"]
    assert _runs_of(cluster, namespace, "refused") == []
    cluster.kubectl("delete", "-f", "-", input=manifest)
    wait_runs(cluster, namespace, "refused", [run_for("refused", first)], scheduler)
    wait_for(
        lambda: (
            _condition(cluster, namespace, "refused", "ScheduledRunCreated").get("status") == "True"
        ),
        timeout=60,
        what="ScheduledRunCreated=True once the run was created",
    )
    # However often it was refused, the same refusal was one Event.
    failed = [e for e in events_of(cluster, namespace, "refused") if e["reason"] == "FailedCreate"]
    assert len(failed) == 1


def test_an_unknown_time_zone_holds_the_job_terminal_without_oci_until_fixed(
    cluster: Cluster, namespace: str, scheduler: OperatorProcess
) -> None:
    """The apiserver cannot know time zone names; the operator says so in conditions
    that stay (an Event expires), creates nothing in OCI, fails a run of the job at
    once, and makes the job once the spec is fixed."""
    apply(
        cluster,
        namespace,
        script_configmap("typo", {"quick.py": QUICK}),
        scheduled_job("typo", "quick.py", {"cron": "0 2 * * *", "timeZone": "Europe/Berln"}),
        job_run("typo-now", "typo"),
    )

    def invalid() -> dict[str, Any] | None:
        cond = _condition(cluster, namespace, "typo", "ScheduleValid")
        return cond if cond.get("status") == "False" else None

    cond = wait_for(invalid, timeout=60, what=f"ScheduleValid=False ({scheduler.log})")
    assert cond["reason"] == "InvalidSchedule"
    assert "unknown time zone 'Europe/Berln'" in cond["message"]
    for kind, value in (("Terminal", "True"), ("Ready", "False")):
        held = _condition(cluster, namespace, "typo", kind)
        assert (held["status"], held["reason"]) == (value, "InvalidSchedule")
    assert "ocid" not in status_of(cluster, namespace, "dsjob", "typo")
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Failed", "dsjobrun/typo-now",
        "--timeout=60s", timeout=90,
    )  # fmt: skip
    cluster.kubectl(
        "patch", "dsjob", "typo", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"schedule": {"timeZone": "Europe/Berlin"}}}),
    )  # fmt: skip
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", "dsjob/typo", "--timeout=60s",
        timeout=90,
    )  # fmt: skip
    assert _condition(cluster, namespace, "typo", "ScheduleValid")["status"] == "True"
    assert _condition(cluster, namespace, "typo", "Terminal")["status"] == "False"
