"""The batching decorator: hinted reads go through the shared reader and batcher, the
rest straight to the port it wraps."""

from __future__ import annotations

import asyncio

from ads_operator.oci.batching import BatchingPort
from ads_operator.oci.logreader import LogSearchBatcher
from ads_operator.oci.poller import RunStateReader
from ads_operator.oci.port import KnownRun, OciPort, RunLog
from ads_operator.reconcile.logs import search_query
from tests.fixtures.fake_oci import COMPARTMENT, FakePort, at


async def _no_wait(_: float) -> None:
    return None


async def _runs(port: FakePort, n: int) -> list[str]:
    for i in range(n):
        details = {"jobId": "j", "compartmentId": COMPARTMENT, "projectId": "p"}
        await port.create_job_run(details=details, retry_token=f"t{i}")
    return list(port.runs)


async def test_state_reads_with_what_is_known_share_a_list_and_others_read_singly() -> None:
    fake = FakePort()
    ids = await _runs(fake, 3)
    reader = RunStateReader(min_batch=3, window=0.0, sleep=_no_wait)
    port: OciPort = BatchingPort(fake, reader=reader)
    known = KnownRun(COMPARTMENT, log_id="ocid1.log.oc1..l", state="ACCEPTED")
    runs = await asyncio.gather(*(port.get_job_run(run_id=i, known=known) for i in ids))
    assert [r.id for r in runs] == ids
    assert all(r.log_id == "ocid1.log.oc1..l" for r in runs)  # summaries filled in
    assert fake.calls["get_job_run"] == 0
    assert fake.calls["list_recent_job_runs"] >= 1
    await port.get_job_run(run_id=ids[0])  # nothing known: one GetJobRun, not the reader's
    assert fake.calls["get_job_run"] == 1
    assert reader.single_reads == 0


async def test_log_searches_for_runs_share_a_query_and_answer_on_one_page() -> None:
    fake = FakePort()
    ids = await _runs(fake, 2)
    for i, run_id in enumerate(ids):
        fake.emit(run_id, (f"line {i}", at(1)))
    batcher = LogSearchBatcher(window=0.0, sleep=_no_wait)
    port: OciPort = BatchingPort(fake, logs=batcher)
    log = RunLog(COMPARTMENT, "g", "l", ids[0])
    query = search_query(COMPARTMENT, "g", "l", ids[0])
    page = await port.search_logs(
        query=query, time_start=at(0), time_end=at(5), limit=1, page=None, run=log
    )
    assert [r.message for r in page.records] == ["line 0"]
    assert page.next_page is None
    assert batcher.calls == 1
    # without the hint: the plain port's page
    page = await port.search_logs(query=query, time_start=at(0), time_end=at(5), limit=1, page=None)
    assert [r.message for r in page.records] == ["line 0"]
    assert batcher.calls == 1
    assert fake.calls["search_logs"] == 2
    # the log compartment is asked once per log group
    for log_id in ("a", "b"):
        assert await port.get_log_compartment(log_group_id="g", log_id=log_id) == COMPARTMENT
    assert fake.calls["get_log_compartment"] == 1
