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
from tests.fixtures.operator import REPO, OperatorFactory, OperatorProcess
from tests.fixtures.resources import Kube, job_run, scripted_job

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


def created_at(kube: Kube, job: str) -> datetime:
    meta: Any = kube.cluster.get("dsjob", job, kube.namespace)["metadata"]
    return datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))


def next_boundary(moment: datetime, minutes: int) -> datetime:
    """The next time after ``moment`` whose minute is a multiple of ``minutes``."""
    base = moment.replace(second=0, microsecond=0)
    step = minutes - base.minute % minutes
    return base + timedelta(minutes=step)


def scheduled_runs(kube: Kube, job: str) -> list[dict[str, Any]]:
    raw = kube.kubectl("get", "dsjobrun", "-l", f"{LABEL}={job}", "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(raw)["items"]
    return sorted(items, key=lambda r: str(r["metadata"]["name"]))


def run_for(job: str, moment: datetime) -> str:
    return f"{job}-{int(moment.timestamp()) // 60}"


def wait_runs(kube: Kube, job: str, names: list[str]) -> None:
    def exactly() -> list[str] | None:
        have = [r["metadata"]["name"] for r in scheduled_runs(kube, job)]
        return have if have == sorted(names) else None

    kube.wait_until(exactly, f"scheduled runs {names}")


def scheduled(name: str, schedule: dict[str, Any], code: str = QUICK) -> list[dict[str, Any]]:
    """A job running ``code`` on ``schedule``, and its ConfigMap."""
    return scripted_job(name, code, log_group=None, extra_spec={"schedule": schedule})


def started_at_first_time(kube: Kube, clock: Clock, job: str, *, plus: int) -> datetime:
    """Set the clock ``plus`` seconds past the job's first 5-minute time, and wait for the
    run started for that time; the time."""
    first = next_boundary(created_at(kube, job), 5)
    clock.set(first + timedelta(seconds=plus))
    wait_runs(kube, job, [run_for(job, first)])
    return first


def test_a_due_time_starts_one_run_and_missed_times_start_only_the_latest(
    kube: Kube, scheduler: OperatorProcess, clock: Clock
) -> None:
    kube.apply(*scheduled("every5", {"cron": "*/5 * * * *"}))
    first = next_boundary(created_at(kube, "every5"), 5)
    clock.set(first - timedelta(seconds=1))

    def next_known() -> bool:
        text = str(kube.status("dsjob", "every5").get("nextScheduleTime"))
        return text.startswith(first.strftime("%Y-%m-%dT%H:%M:%S"))

    kube.wait_until(next_known, f"nextScheduleTime {first}", timeout=30)
    assert scheduled_runs(kube, "every5") == []
    started_at_first_time(kube, clock, "every5", plus=3)
    kube.wait(f"dsjobrun/{run_for('every5', first)}")
    status = kube.status("dsjob", "every5")
    assert str(status["lastScheduleTime"]).startswith(first.strftime("%Y-%m-%dT%H:%M:%S"))
    # The operator "was down" for 32 minutes: six times were missed, one run starts.
    latest = first + timedelta(minutes=30)
    clock.set(first + timedelta(minutes=32))
    wait_runs(kube, "every5", [run_for("every5", first), run_for("every5", latest)])
    kube.wait_until(
        lambda: kube.reasons("every5").count("SuccessfulCreate") == 2,
        "one SuccessfulCreate Event per run",
        timeout=30,
    )


def test_forbid_skips_while_active_and_the_starting_deadline_reports_a_miss(
    kube: Kube, scheduler: OperatorProcess, clock: Clock
) -> None:
    plan = {"cron": "*/5 * * * *", "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 120}
    kube.apply(*scheduled("forbid", plan, SLOW))
    first = started_at_first_time(kube, clock, "forbid", plus=2)
    clock.set(first + timedelta(minutes=5, seconds=2))  # the first run still sleeps
    kube.wait_until(
        lambda: "JobAlreadyActive" in kube.reasons("forbid"), "the Forbid Event", timeout=30
    )
    assert len(scheduled_runs(kube, "forbid")) == 1
    # Ten minutes on, the 10-minute time is 180 s old: past the 120 s starting deadline.
    clock.set(first + timedelta(minutes=13))
    kube.wait_until(
        lambda: "MissedSchedule" in kube.reasons("forbid"), "the MissedSchedule Event", timeout=30
    )
    assert len(scheduled_runs(kube, "forbid")) == 1


def test_replace_deletes_the_active_run_and_suspend_stops_new_ones(
    kube: Kube, scheduler: OperatorProcess, clock: Clock
) -> None:
    plan = {"cron": "*/5 * * * *", "concurrencyPolicy": "Replace"}
    kube.apply(*scheduled("replace", plan, SLOW))
    first = started_at_first_time(kube, clock, "replace", plus=2)
    second = first + timedelta(minutes=5)
    kube.wait_phase(run_for("replace", first), "Running", timeout=60)
    clock.set(second + timedelta(seconds=2))
    wait_runs(kube, "replace", [run_for("replace", second)])
    assert "Replaced" in kube.reasons("replace")

    def suspend(suspended: bool) -> None:
        patch = json.dumps({"spec": {"schedule": {**plan, "suspend": suspended}}})
        kube.kubectl("patch", "dsjob", "replace", "--type=merge", "-p", patch)

    suspend(True)
    kube.wait_until(
        lambda: not kube.status("dsjob", "replace").get("nextScheduleTime"),
        "a suspended schedule to have no next time",
        timeout=30,
    )
    # Resumed ten minutes later: only the most recent missed time starts (replacing).
    latest = second + timedelta(minutes=10)
    clock.set(latest + timedelta(seconds=2))
    suspend(False)
    wait_runs(kube, "replace", [run_for("replace", latest)])


def test_the_nightly_example_runs_at_two_in_berlin(
    kube: Kube, scheduler: OperatorProcess, clock: Clock, emulator: EmulatorHandle
) -> None:
    # The example logs to the placeholder log group, as `make demo` seeds it.
    emulator.seed_log_group(
        "ocid1.loggroup.oc1.iad.aaaaaaaaexampleloggroup",
        compartment="ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
    )
    docs = [
        d for d in yaml.safe_load_all((REPO / "examples/schedule-nightly.yaml").read_text()) if d
    ]
    kube.apply(*docs)
    created = created_at(kube, "schedule-nightly")
    berlin = created.astimezone(ZoneInfo("Europe/Berlin"))
    night = berlin.replace(hour=2, minute=0, second=0, microsecond=0)
    if night <= berlin:
        night += timedelta(days=1)
    night = night.replace(tzinfo=ZoneInfo("Europe/Berlin"))
    clock.set(night - timedelta(minutes=1))

    expected = night.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def planned() -> bool:
        status = kube.status("dsjob", "schedule-nightly")
        return str(status.get("nextScheduleTime")).startswith(expected)

    kube.wait_until(planned, f"the next night, {expected} UTC", timeout=30)
    clock.set(night + timedelta(seconds=5))
    name = run_for("schedule-nightly", night)
    wait_runs(kube, "schedule-nightly", [name])
    kube.wait(f"dsjobrun/{name}")


def _runs_of(kube: Kube, job: str) -> list[dict[str, Any]]:
    raw = kube.kubectl("get", "dsjobrun", "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(raw)["items"]
    return [r for r in items if r["spec"].get("jobRef", {}).get("name") == job]


def test_a_job_named_longer_than_a_label_value_starts_its_scheduled_runs(
    kube: Kube, scheduler: OperatorProcess, clock: Clock
) -> None:
    """Issue 17, bug 2: the job's name as the ``scheduled-by`` label value was refused
    (over 63 characters), every ~12 s, seen only in the operator's log."""
    name = "a-nightly-training-job-whose-name-is-longer-than-any-label-value-may-be"
    assert len(name) > 63
    kube.apply(*scheduled(name, {"cron": "*/5 * * * *"}))
    first = next_boundary(created_at(kube, name), 5)
    clock.set(first + timedelta(seconds=3))
    (run,) = kube.wait_until(
        lambda: _runs_of(kube, name), "the scheduled run of the long-named job"
    )
    label = run["metadata"]["labels"][LABEL]
    assert len(label) <= 63
    listed = scheduled_runs(kube, label)
    assert [r["metadata"]["name"] for r in listed] == [run["metadata"]["name"]]
    kube.wait(f"dsjobrun/{run['metadata']['name']}")
    assert kube.condition("dsjob", name, "ScheduledRunCreated")["status"] == "True"


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
    kube: Kube, scheduler: OperatorProcess, clock: Clock
) -> None:
    policy = _refuse_scheduled_runs(kube.namespace)
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": policy})
    kube.cluster.kubectl("apply", "-f", "-", input=manifest)
    try:
        probe = json.dumps(
            {
                "apiVersion": "ads.oci.dev/v1alpha1",
                "kind": "DataScienceJobRun",
                "metadata": {"name": "probe", "labels": {LABEL: "probe"}},
                "spec": {"jobRef": {"name": "probe"}},
            }
        )
        kube.wait_until(  # the apiserver enforces a new policy a moment after it was stored
            lambda: "paused by policy" in kube.kubectl(
                "create", "--dry-run=server", "-f", "-", input=probe, check=False
            ).stderr,
            "the admission policy to be enforced",
            timeout=30,
        )  # fmt: skip
        _refused_then_allowed(kube, clock, manifest)
    finally:
        kube.cluster.kubectl("delete", "--ignore-not-found", "-f", "-", input=manifest)


def _refused_then_allowed(kube: Kube, clock: Clock, manifest: str) -> None:
    kube.apply(*scheduled("refused", {"cron": "*/5 * * * *"}))
    first = next_boundary(created_at(kube, "refused"), 5)
    clock.set(first + timedelta(seconds=3))
    cond = kube.wait_reason("dsjob", "refused", "ScheduledRunCreated", status="False")
    assert cond["reason"] == "FailedCreate"
    assert run_for("refused", first) in cond["message"]
    assert "scheduled runs are paused by policy" in cond["message"]
    failed = [e for e in kube.events("refused") if e["reason"] == "FailedCreate"]
    assert [e["type"] for e in failed] == ["Warning"]
    assert _runs_of(kube, "refused") == []
    kube.cluster.kubectl("delete", "-f", "-", input=manifest)
    wait_runs(kube, "refused", [run_for("refused", first)])
    # ScheduledRunCreated=True once the run was created
    kube.wait_reason("dsjob", "refused", "ScheduledRunCreated", status="True")
    # However often it was refused, the same refusal was one Event.
    failed = [e for e in kube.events("refused") if e["reason"] == "FailedCreate"]
    assert len(failed) == 1


def test_an_unknown_time_zone_holds_the_job_terminal_without_oci_until_fixed(
    kube: Kube, scheduler: OperatorProcess
) -> None:
    """The apiserver cannot know time zone names; the operator says so in conditions
    that stay (an Event expires), creates nothing in OCI, fails a run of the job at
    once, and makes the job once the spec is fixed."""
    kube.apply(
        *scheduled("typo", {"cron": "0 2 * * *", "timeZone": "Europe/Berln"}),
        job_run("typo-now", "typo"),
    )
    cond = kube.wait_reason("dsjob", "typo", "ScheduleValid", status="False")
    assert cond["reason"] == "InvalidSchedule"
    assert "unknown time zone 'Europe/Berln'" in cond["message"]
    for kind, value in (("Terminal", "True"), ("Ready", "False")):
        held = kube.condition("dsjob", "typo", kind)
        assert (held["status"], held["reason"]) == (value, "InvalidSchedule")
    assert "ocid" not in kube.status("dsjob", "typo")
    kube.wait("dsjobrun/typo-now", "Failed", timeout=60)
    fixed = json.dumps({"spec": {"schedule": {"timeZone": "Europe/Berlin"}}})
    kube.kubectl("patch", "dsjob", "typo", "--type=merge", "-p", fixed)
    kube.wait("dsjob/typo", "Ready", timeout=60)
    assert kube.condition("dsjob", "typo", "ScheduleValid")["status"] == "True"
    assert kube.condition("dsjob", "typo", "Terminal")["status"] == "False"
