"""Status is read and written through its model: unknown keys are left out on reading,
and the patch holds only what changed, by wire name, with None deleting a field."""

from __future__ import annotations

from datetime import UTC, datetime

from ads_operator.models import ArtifactStatus, DataScienceJobStatus
from ads_operator.models.conditions import Condition


def test_a_stored_status_parses_without_the_keys_the_model_does_not_know() -> None:
    status = DataScienceJobStatus.parse(
        {"ocid": "ocid1.j", "lifecycleState": "ACTIVE", "_last_reason": "x", "old": 1}
    )
    assert (status.ocid, status.lifecycle_state) == ("ocid1.j", "ACTIVE")
    assert DataScienceJobStatus.parse(None) == DataScienceJobStatus()


def test_the_patch_holds_only_changed_fields_by_wire_name() -> None:
    before = DataScienceJobStatus.parse(
        {
            "ocid": "ocid1.j",
            "lifecycleState": "CREATING",
            "specHash": "h",
            "artifact": {"fileName": "a.py", "sha256": "s", "size": 1},
            "nextScheduleTime": "2026-11-26T09:00:00Z",
            "conditions": [{"type": "Ready", "status": "False", "reason": "Creating"}],
        }
    )
    after = before.model_copy(
        update={
            "lifecycle_state": "ACTIVE",
            "artifact": None,
            "next_schedule_time": datetime(2026, 11, 26, 10, tzinfo=UTC),
            "conditions": [Condition(type="Ready", status="True", reason="Active")],
        }
    )
    assert after.patch_from(before) == {
        "lifecycleState": "ACTIVE",
        "artifact": None,
        "nextScheduleTime": "2026-11-26T10:00:00Z",
        "conditions": [{"type": "Ready", "status": "True", "reason": "Active"}],
    }
    assert before.patch_from(before) == {}


def test_a_nested_object_is_sent_whole_so_its_unset_keys_are_deleted() -> None:
    before = DataScienceJobStatus(artifact=ArtifactStatus(file_name="a.py", sha256="s", size=1))
    after = DataScienceJobStatus(artifact=ArtifactStatus(file_name="b.py"))
    assert after.patch_from(before) == {
        "artifact": {"fileName": "b.py", "sha256": None, "size": None}
    }
    assert after.to_patch() == {"artifact": {"fileName": "b.py", "sha256": None, "size": None}}


def test_an_update_is_validated_into_the_models_types() -> None:
    status = DataScienceJobStatus(ocid="ocid1.j").updated(
        artifact={"fileName": "a.py"},
        last_schedule_time="2026-11-26T02:00:00Z",
        conditions=[{"type": "Ready", "status": "True", "reason": "Active"}],
    )
    assert status.artifact == ArtifactStatus(file_name="a.py")
    assert status.last_schedule_time == datetime(2026, 11, 26, 2, tzinfo=UTC)
    assert status.condition_dicts() == [{"type": "Ready", "status": "True", "reason": "Active"}]
    assert status.ocid == "ocid1.j"
