"""Records of the same millisecond: SearchLogs answers them in ingestion order, for both
sort orders and across pages; the ``log_tie_order`` setting turns them around (newest
first, both orders), so readers can be shown not to depend on either."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import oci
import pytest

from ads_operator.commands.follow import stream
from ads_operator.oci.factory import PortFactory
from ads_operator.settings import Settings
from oci_emulator.testing import AdminError, ApiKey, EmulatorHandle
from tests.emulator.conftest import search_all
from tests.fixtures.emulator import OciClients
from tests.fixtures.waiting import wait_for

SOURCE = "ocid1.datasciencejobrun.oc1.iad.amaaaaaaties"
#: Ingestion order (milliseconds after a start a minute ago): a burst of three lines in
#: one millisecond, a lone line, two more tied.
INGESTED = [(0, "a1"), (0, "a2"), (0, "a3"), (4, "b"), (9, "c1"), (9, "c2")]


@pytest.fixture
def tied_log(
    emulator: EmulatorHandle, oci_clients: OciClients, compartment: str, make_log_group: Any
) -> str:
    """A log holding ``INGESTED``; the query that reads it back."""
    group = make_log_group()
    response = oci_clients.logging.create_log(
        group, oci.logging.models.CreateLogDetails(display_name="ties", log_type="CUSTOM")
    )
    wr_id = response.headers["opc-work-request-id"]
    done = wait_for(
        lambda: (w := oci_clients.logging.get_work_request(wr_id).data).status == "SUCCEEDED" and w,
        timeout=30,
        what="CreateLog",
    )
    log_id = done.resources[0].identifier
    start = int(time.time() * 1000) - 60_000
    records = [(start + offset, message) for offset, message in INGESTED]
    assert emulator.seed_log_records(log_id, source=SOURCE, records=records) == len(records)
    return f'search "{compartment}/{group}/{log_id}"'


def _read(oci_clients: OciClients, query: str, order: str, limit: int) -> list[str]:
    results = search_all(oci_clients, f"{query} | sort by datetime {order}", limit=limit)
    return [r["logContent"]["data"]["message"] for r in results]


@pytest.mark.parametrize("limit", [1, 2, 1000])
def test_ties_come_in_ingestion_order_in_both_sort_orders(
    oci_clients: OciClients, tied_log: str, limit: int
) -> None:
    assert _read(oci_clients, tied_log, "asc", limit) == ["a1", "a2", "a3", "b", "c1", "c2"]
    assert _read(oci_clients, tied_log, "desc", limit) == ["c1", "c2", "b", "a1", "a2", "a3"]


@pytest.mark.parametrize("limit", [1, 2, 1000])
def test_reversed_tie_order_answers_ties_newest_first(
    emulator: EmulatorHandle, oci_clients: OciClients, tied_log: str, limit: int
) -> None:
    with emulator.overridden(log_tie_order="reversed"):
        ascending = _read(oci_clients, tied_log, "asc", limit)
        descending = _read(oci_clients, tied_log, "desc", limit)
    assert ascending == ["a3", "a2", "a1", "b", "c2", "c1"]
    assert descending == ["c2", "c1", "b", "a3", "a2", "a1"]


def test_tie_order_setting_refuses_other_values(emulator: EmulatorHandle) -> None:
    with pytest.raises(AdminError, match="log_tie_order must be one of"):
        emulator.settings(log_tie_order="random")


#: A burst longer than the operator's search page (1000), so a page ends inside it.
BURST = 1500


@pytest.mark.parametrize("tie_order", ["ingestion", "reversed"])
def test_the_operators_reader_prints_every_tied_line_once(
    emulator: EmulatorHandle,
    emulator_api_key: ApiKey,
    oci_clients: OciClients,
    make_job: Any,
    make_log_group: Any,
    start_run: Any,
    wait_run: Any,
    tie_order: str,
) -> None:
    """``ads-operator logs`` (the operator's own port, cursor and merge) over a run whose
    log has a burst of one millisecond that spans two result pages, and lines around it:
    each line once, the millisecond groups in time order, and inside a group the order the
    service answered (no field of a record says which line came first, so the readers
    keep the service's order and never turn it around themselves). With the emulator's
    default, that is the order the lines were written."""
    run = wait_run(
        start_run(make_job(artifact=("quiet.py", b"pass\n"), log_group=make_log_group())).id
    )
    accepted = int(run.time_accepted.timestamp() * 1000)
    burst = [(accepted + 5, f"burst {i:04d}") for i in range(BURST)]
    records = [
        (accepted + 1, "before"),
        *burst,
        (accepted + 9, "after 1"),
        (accepted + 9, "after 2"),
    ]
    emulator.seed_log_records(run.log_details.log_id, source=run.id, records=records)
    settings = Settings(
        oci_endpoint=emulator.endpoint,
        oci_config_file=str(emulator_api_key.config_file),
        oci_requests_per_second=100,
    )
    out = io.StringIO()
    with emulator.overridden(log_tie_order=tie_order):
        printed = asyncio.run(
            stream(PortFactory(settings).port(), run.id, follow=False, settings=settings, out=out)
        )
    shown = [line.split(" - ", 1)[1] for line in out.getvalue().splitlines()]
    assert printed.printed == len(records) == len(shown)
    written = [message for _, message in records]
    if tie_order == "ingestion":
        assert shown == written
    else:
        assert shown == ["before", *[m for _, m in reversed(burst)], "after 2", "after 1"]
