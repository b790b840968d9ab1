"""The SDK adapter's pure parts and credentials from a Secret (no network)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ads_operator.models.oci_errors import NotAuthorizedError
from ads_operator.oci.auth import from_secret
from ads_operator.oci.ratelimit import TenancyBudget, TokenBucket, priority_of
from ads_operator.oci.sdk_records import parse_log_result, run_of, run_of_wire

PEM = "-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n"
CONFIG = """[DEFAULT]
user=ocid1.user.oc1..u
fingerprint=aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99
tenancy=ocid1.tenancy.oc1..t
region=us-ashburn-1
key_file=/nowhere/key.pem
"""


def test_a_search_result_becomes_a_record() -> None:
    record = parse_log_result(
        {
            "datetime": 1764147600123,
            "logContent": {
                "id": "abc",
                "time": "2026-11-26T09:00:00.123Z",
                "data": {"message": "hello"},
            },
        }
    )
    assert record is not None
    assert record.id == "abc"
    assert record.message == "hello"
    assert record.time == datetime(2026, 11, 26, 9, 0, 0, 123000, tzinfo=UTC)
    assert record.ingested is None  # the record does not say when it was ingested


def test_a_record_says_when_it_was_ingested_unreadable_times_are_none() -> None:
    content = {"id": "abc", "time": "2026-11-26T09:00:00.123Z", "data": {"message": "m"}}
    record = parse_log_result(
        {"logContent": {**content, "oracle": {"ingestedtime": "2026-11-26T09:00:02.500Z"}}}
    )
    assert record is not None
    assert record.ingested == datetime(2026, 11, 26, 9, 0, 2, 500000, tzinfo=UTC)
    garbled = parse_log_result({"logContent": {**content, "oracle": {"ingestedtime": "soon"}}})
    assert garbled is not None  # mirrored all the same
    assert garbled.ingested is None


def test_results_that_are_not_log_lines_are_skipped() -> None:
    assert parse_log_result({"logContent": {"id": "x"}}) is None


def test_secret_with_config_and_key() -> None:
    creds = from_secret({"config": CONFIG.encode(), "key": PEM.encode()}, secret_name="oci")
    assert creds.config["key_content"] == PEM
    assert "key_file" not in creds.config
    assert creds.region == "us-ashburn-1"
    assert PEM not in repr(creds)
    assert "MIIsecret" not in creds.identity
    assert creds.with_region("eu-frankfurt-1").region == "eu-frankfurt-1"


def test_secret_without_a_key_is_refused_by_name_without_echoing_values() -> None:
    with pytest.raises(NotAuthorizedError, match="Secret oci has no 'key'") as info:
        from_secret({"config": CONFIG}, secret_name="oci")
    assert "ocid1.user" not in str(info.value)


def test_rotated_keys_give_a_different_identity() -> None:
    a = from_secret({"config": CONFIG, "key": PEM}, secret_name="oci")
    b = from_secret({"config": CONFIG, "key": PEM.replace("MII", "MIJ")}, secret_name="oci")
    assert a.identity != b.identity


def test_token_bucket_paces_after_the_burst() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=2, clock=lambda: now[0])
    assert bucket.try_take() == 0
    assert bucket.try_take() == 0
    assert bucket.try_take() == pytest.approx(0.5)
    now[0] = 0.5
    assert bucket.try_take() == 0


async def test_token_bucket_serves_state_reads_before_queued_creates() -> None:
    """A thousand queued creates must not delay the state polls of started runs."""
    bucket = TokenBucket(rate=200, burst=1)
    await bucket.acquire()  # the saved-up token
    served: list[str] = []

    async def call(name: str) -> None:
        await bucket.acquire(priority_of(name))
        served.append(name)

    creates = [asyncio.create_task(call("CreateJobRun")) for _ in range(5)]
    await asyncio.sleep(0)  # the creates queue first
    polls = [asyncio.create_task(call(n)) for n in ("SearchLogs", "GetJobRun", "ListJobRuns")]
    await asyncio.wait_for(asyncio.gather(*creates, *polls), timeout=10)
    assert served[:2] == ["GetJobRun", "ListJobRuns"]
    assert served[-1] == "SearchLogs"


async def test_token_bucket_skips_cancelled_waiters_without_losing_the_token() -> None:
    bucket = TokenBucket(rate=100, burst=1)
    await bucket.acquire()
    gone = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.wait_for(bucket.acquire(), timeout=5)
    assert gone.cancelled()


def test_a_tenancy_budget_has_one_bucket_per_oci_service() -> None:
    budget = TenancyBudget(rate=10)
    assert budget.bucket("SearchLogs") is budget.bucket("GetLog")
    assert budget.bucket("GetJobRun") is budget.bucket("CreateJobRun")
    assert budget.bucket("SearchLogs") is not budget.bucket("GetJobRun")
    assert budget.bucket("GetObject") is not budget.bucket("GetJobRun")
    assert sorted(budget.buckets) == ["datascience", "logging", "objectstorage"]


def test_a_state_read_paging_through_a_list_keeps_a_token_from_lower_priorities() -> None:
    """A queue of creates must not take every token as it accrues while a state read
    pages through a list taking the tokens of its further pages in a worker thread."""
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=2, clock=lambda: now[0])
    assert bucket.try_take() == 0  # one token left
    with bucket.reserving():
        assert bucket.try_take(keep=1) == pytest.approx(0.1)  # a create: not the last one
        assert bucket.try_take() == 0  # the state read's next page: yes
        now[0] = 0.2  # two more accrued
        assert bucket.try_take(keep=1) == 0
        assert bucket.try_take(keep=1) > 0
    assert bucket.try_take(keep=0) == 0


async def test_queued_creates_leave_a_token_to_a_state_read_paging_through_a_list() -> None:
    bucket = TokenBucket(rate=5, burst=2)
    await bucket.acquire()  # one of the two saved-up tokens
    served: list[str] = []

    async def create() -> None:
        await bucket.acquire(priority_of("CreateJobRun"))
        served.append("create")

    with bucket.reserving():
        creates = [asyncio.create_task(create()) for _ in range(3)]
        deadline = asyncio.get_running_loop().time() + 10
        while len(served) < 2:  # the creates are served, slower: a token is kept back
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)  # poll interval, bounded by the deadline
        assert bucket.try_take() == 0  # the read's next page, as its worker thread asks
    await asyncio.wait_for(asyncio.gather(*creates), timeout=10)
    assert served == ["create"] * 3


def test_a_burst_of_one_keeps_nothing_back() -> None:
    bucket = TokenBucket(rate=1, burst=1, clock=lambda: 0.0)
    with bucket.reserving():
        assert bucket._keep(priority_of("CreateJobRun")) == 0


def test_a_listed_run_read_as_json_is_the_record_the_sdk_model_gives() -> None:
    """State reads parse list pages without the SDK's models (run_of_wire): the record
    must be the one the model route (run_of) gives for the same run."""
    import oci

    started = datetime(2026, 12, 4, 19, 30, 1, 250000, tzinfo=UTC)
    wire = {
        "id": "ocid1.datasciencejobrun.oc1..r",
        "jobId": "ocid1.datasciencejob.oc1..j",
        "lifecycleState": "IN_PROGRESS",
        "lifecycleDetails": "Job run in progress",
        "compartmentId": "ocid1.compartment.oc1..c",
        "projectId": "ocid1.datascienceproject.oc1..p",
        "displayName": "train-1",
        "timeAccepted": "2026-12-04T19:30:00.000Z",
        "timeStarted": "2026-12-04T19:30:01.250Z",
        "freeformTags": {"ads-operator/uid": "u-1"},
    }
    model = oci.data_science.models.JobRunSummary(
        id=wire["id"],
        job_id=wire["jobId"],
        lifecycle_state=wire["lifecycleState"],
        lifecycle_details=wire["lifecycleDetails"],
        compartment_id=wire["compartmentId"],
        project_id=wire["projectId"],
        display_name=wire["displayName"],
        time_accepted=datetime(2026, 12, 4, 19, 30, tzinfo=UTC),
        time_started=started,
        freeform_tags={"ads-operator/uid": "u-1"},
    )
    assert run_of_wire(wire) == run_of(model)
    assert run_of_wire(wire).time_started == started
    assert run_of_wire(wire).time_finished is None
