"""Logging Management and Logging Search through the real SDK clients."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import oci
import pytest

from oci_emulator.testing import EmulatorHandle
from tests.chaos.workload import OciView
from tests.emulator.conftest import JobFactory, search_all
from tests.fixtures.emulator import OciClients, request_count
from tests.fixtures.waiting import wait_for

lm = oci.logging.models
sm = oci.loggingsearch.models


def _wait_work_request(oci_clients: OciClients, wr_id: str) -> Any:
    return wait_for(
        lambda: (
            (w := oci_clients.logging.get_work_request(wr_id).data).status
            in ("SUCCEEDED", "FAILED")
            and w
        ),
        timeout=30,
        what=f"logging work request {wr_id}",
    )


def test_log_group_and_log_lifecycle(
    oci_clients: OciClients, compartment: str, make_log_group: Any
) -> None:
    group_id = make_log_group("group-a")
    group = oci_clients.logging.get_log_group(group_id).data
    assert (group.display_name, group.lifecycle_state) == ("group-a", "ACTIVE")
    listed = oci_clients.logging.list_log_groups(compartment_id=compartment).data
    assert [g.id for g in listed] == [group_id]
    assert isinstance(listed[0], lm.LogGroupSummary)
    response = oci_clients.logging.create_log(
        group_id, lm.CreateLogDetails(display_name="app", log_type="CUSTOM")
    )
    wr = _wait_work_request(oci_clients, response.headers["opc-work-request-id"])
    assert wr.status == "SUCCEEDED"
    assert wr.operation_type == "CREATE_LOG"
    log_id = wr.resources[0].identifier
    log = oci_clients.logging.get_log(group_id, log_id).data
    assert (log.display_name, log.log_type, log.lifecycle_state) == ("app", "CUSTOM", "ACTIVE")
    assert log.compartment_id == compartment
    logs = oci_clients.logging.list_logs(group_id).data
    assert [entry.id for entry in logs] == [log_id]
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.logging.create_log(
            group_id, lm.CreateLogDetails(display_name="app", log_type="CUSTOM")
        )
    assert (caught.value.status, caught.value.code) == (409, "Conflict")
    deleted = oci_clients.logging.delete_log(group_id, log_id)
    _wait_work_request(oci_clients, deleted.headers["opc-work-request-id"])
    with pytest.raises(oci.exceptions.ServiceError) as missing:
        oci_clients.logging.get_log(group_id, log_id)
    assert (missing.value.status, missing.value.code) == (404, "NotAuthorizedOrNotFound")


def test_service_log_needs_configuration(oci_clients: OciClients, make_log_group: Any) -> None:
    group_id = make_log_group()
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.logging.create_log(
            group_id, lm.CreateLogDetails(display_name="svc", log_type="SERVICE")
        )
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter")


def _lines_job(make_job: JobFactory, group: str, count: int) -> Any:
    script = f"import sys\nfor i in range({count}):\n    print(f'line {{i:05d}}')\n".encode()
    return make_job(artifact=("lines.py", script), log_group=group)


def test_ten_thousand_lines_come_back_in_order_through_paging(
    oci_clients: OciClients,
    compartment: str,
    make_job: JobFactory,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> None:
    job = _lines_job(make_job, make_log_group(), 10_000)
    run = wait_run(start_run(job).id)
    assert run.lifecycle_state == "SUCCEEDED", run.lifecycle_details
    details = run.log_details
    assert details.log_id
    base = f'search "{compartment}/{details.log_group_id}/{details.log_id}"'
    query = f"{base} | where source = '*{run.id}' | sort by datetime desc"
    records = search_all(oci_clients, query, limit=1000)
    # Re-sorted by time as ADS does (a stable sort): ties keep ingestion order.
    in_time = sorted(records, key=lambda r: r["datetime"])
    messages = [r["logContent"]["data"]["message"] for r in in_time]
    assert messages == [f"line {i:05d}" for i in range(10_000)]
    assert len({r["logContent"]["id"] for r in records}) == 10_000
    assert all(r["logContent"]["source"] == run.id for r in records)
    ascending = search_all(oci_clients, f"{base} | sort by datetime asc", limit=777)
    assert [r["logContent"]["data"]["message"] for r in ascending] == messages


def test_the_chaos_observer_reads_every_page_and_waits_out_throttling(
    emulator_faults: EmulatorHandle,
    oci_clients: OciClients,
    compartment: str,
    make_job: JobFactory,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> None:
    """``tests/chaos``' truth about a run's lines: all pages, through SearchLogs' 429s."""
    run = wait_run(start_run(_lines_job(make_job, make_log_group(), 25)).id)
    expected = [f"line {i:05d}" for i in range(25)]
    view = OciView(oci_clients, compartment)
    wait_for(lambda: view.log_lines(run.id) == expected, timeout=30, what="the 25 lines")
    emulator_faults.faults({"operations": {"SearchLogs": {"failNext": 2, "failStatus": 429}}})
    emulator_faults.reset_requests()
    assert view.log_lines(run.id, page_size=10) == expected
    assert request_count(emulator_faults, "SearchLogs", status="429") == 2
    assert request_count(emulator_faults, "SearchLogs", status="200") == 3


def test_search_record_shape_filters_and_windows(
    oci_clients: OciClients,
    compartment: str,
    make_job: JobFactory,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> None:
    group = make_log_group()
    script = b"import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\n"
    job = make_job(artifact=("two.py", script), log_group=group)
    first = wait_run(start_run(job).id)
    second = wait_run(start_run(job).id)
    log_id = first.log_details.log_id
    assert second.log_details.log_id != log_id  # auto log creation: one log per run
    query = f"search \"{compartment}/{group}\" | where source = '*{first.id}'"
    records = search_all(oci_clients, query)
    assert sorted(r["logContent"]["data"]["message"] for r in records) == [
        "to stderr",
        "to stdout",
    ]
    record = records[0]
    content = record["logContent"]
    assert isinstance(record["datetime"], int)
    assert content["oracle"]["logid"] == log_id
    assert content["oracle"]["compartmentid"] == compartment
    assert content["time"].endswith("Z")
    assert content["specversion"] == "1.0"
    both = search_all(oci_clients, f'search "{compartment}"')
    assert len(both) == 4
    either = search_all(
        oci_clients,
        f"search \"{compartment}\" | where source = '{first.id}' or source = '{second.id}' "
        "and data.message = 'to std*'",
    )
    assert len(either) == 4
    stdout_only = search_all(
        oci_clients, f"search \"{compartment}\" | where data.message != '*stderr'"
    )
    assert {r["logContent"]["data"]["message"] for r in stdout_only} == {"to stdout"}
    other_log = second.log_details.log_id
    by_log = f'search "{compartment}/{group}/{log_id}", "{compartment}/{group}/{other_log}"'
    assert len(search_all(oci_clients, by_log)) == 4
    counted = search_all(oci_clients, f"{by_log} | summarize count() as n by source")
    assert sorted((r["source"], r["n"]) for r in counted) == sorted([(first.id, 2), (second.id, 2)])
    one = f"{query} | summarize count()"
    assert search_all(oci_clients, one) == [{"count": 2}]
    foreign = f'search "ocid1.compartment.oc1..other/{group}/{log_id}"'
    assert search_all(oci_clients, foreign) == []  # a log by OCID, but not in that compartment
    past = datetime.now(UTC) - timedelta(days=2)
    old = oci_clients.log_search.search_logs(
        sm.SearchLogsDetails(
            time_start=past, time_end=past + timedelta(hours=1), search_query=query
        )
    )
    assert old.data.results == []
    assert old.data.summary.result_count == 0
    assert old.next_page is None


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("select everything", "must start with search"),
        ('search "c" | where source ~ nope', "where clause"),
        ('search "c" | stats count', "Unsupported query operator"),
        ('search "c" | summarize avg(x)', "summarizes only count()"),
        ('search "c" | summarize count() | sort by datetime', "summarize only as the last"),
    ],
)
def test_bad_queries_are_invalid_parameter(
    oci_clients: OciClients, query: str, fragment: str
) -> None:
    now = datetime.now(UTC)
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        oci_clients.log_search.search_logs(
            sm.SearchLogsDetails(
                time_start=now - timedelta(minutes=5), time_end=now, search_query=query
            )
        )
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter")
    assert fragment in caught.value.message


def test_search_limits(oci_clients: OciClients) -> None:
    now = datetime.now(UTC)
    details = sm.SearchLogsDetails(
        time_start=now - timedelta(minutes=5), time_end=now, search_query='search "c"'
    )
    with pytest.raises(oci.exceptions.ServiceError) as too_many:
        oci_clients.log_search.search_logs(details, limit=1001)
    assert too_many.value.status == 400
    wide = sm.SearchLogsDetails(
        time_start=now - timedelta(days=15), time_end=now, search_query='search "c"'
    )
    with pytest.raises(oci.exceptions.ServiceError) as too_wide:
        oci_clients.log_search.search_logs(wide)
    assert "14 days" in too_wide.value.message


def test_records_become_visible_after_the_delay(
    emulator: EmulatorHandle,
    oci_clients: OciClients,
    compartment: str,
    make_job: JobFactory,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> None:
    with emulator.overridden(log_visibility_delay=3.0):
        job = _lines_job(make_job, make_log_group(), 3)
        run = wait_run(start_run(job).id)
        query = f"search \"{compartment}\" | where source = '*{run.id}'"
        finished = time.monotonic()
        early = search_all(oci_clients, query)
        became_visible = wait_for(
            lambda: len(search_all(oci_clients, query)) == 3, timeout=30, what="3 records"
        )
    assert became_visible
    # Lines were written < 3 s before ``finished``; the first search can see none of them
    # unless that search itself ran 3 s later (a very slow machine), which we then accept.
    assert early == [] or time.monotonic() - finished >= 3.0


def test_run_with_explicit_log_id_uses_it(
    oci_clients: OciClients,
    compartment: str,
    make_job: JobFactory,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
) -> None:
    group = make_log_group()
    response = oci_clients.logging.create_log(
        group, lm.CreateLogDetails(display_name="shared", log_type="CUSTOM")
    )
    log_id = (
        _wait_work_request(oci_clients, response.headers["opc-work-request-id"])
        .resources[0]
        .identifier
    )
    job = make_job(artifact=("x.py", b"print('into shared')\n"), log_group=group, log_id=log_id)
    run = wait_run(start_run(job).id)
    assert run.log_details.log_id == log_id
    records = search_all(oci_clients, f'search "{compartment}/{group}/shared"')
    assert [r["logContent"]["data"]["message"] for r in records] == ["into shared"]
