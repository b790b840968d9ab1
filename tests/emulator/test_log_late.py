"""Late ingestion: with ``log_late_share`` set, that share of records becomes searchable
``log_late_min_seconds``..``log_late_max_seconds`` after its own time, the same records
for the same seed, so readers can be shown to catch (or to lose) them."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import oci
import pytest

from oci_emulator.settings import Settings
from oci_emulator.testing import AdminError, EmulatorHandle
from tests.emulator.conftest import search_all
from tests.fixtures.emulator import OciClients
from tests.fixtures.waiting import wait_for

SOURCE = "ocid1.datasciencejobrun.oc1.iad.amaaaaaalate"
LATE = {"log_late_share": 0.3, "log_late_min_seconds": 30.0, "log_late_max_seconds": 120.0}


def test_the_share_and_the_delays_follow_the_settings() -> None:
    settings = Settings(log_late_share=0.05, log_late_seed=7)
    delays = [settings.late_ms(SOURCE, 1_000 + i, f"line {i}") for i in range(20_000)]
    late = [d for d in delays if d]
    assert 0.04 < len(late) / len(delays) < 0.06
    assert min(late) >= 30_000
    assert max(late) <= 120_000
    assert max(late) - min(late) > 60_000  # spread over the range, not one value
    again = Settings(log_late_share=0.05, log_late_seed=7)
    assert [again.late_ms(SOURCE, 1_000 + i, f"line {i}") for i in range(20_000)] == delays
    other = Settings(log_late_share=0.05, log_late_seed=8)
    assert [other.late_ms(SOURCE, 1_000 + i, f"line {i}") for i in range(20_000)] != delays
    assert Settings().late_ms(SOURCE, 1_000, "line") == 0  # off by default


@pytest.fixture
def log_id(oci_clients: OciClients, make_log_group: Any) -> tuple[str, str]:
    group = make_log_group()
    response = oci_clients.logging.create_log(
        group, oci.logging.models.CreateLogDetails(display_name="late", log_type="CUSTOM")
    )
    wr_id = response.headers["opc-work-request-id"]
    done = wait_for(
        lambda: (w := oci_clients.logging.get_work_request(wr_id).data).status == "SUCCEEDED" and w,
        timeout=30,
        what="CreateLog",
    )
    return group, str(done.resources[0].identifier)


def test_late_records_are_searchable_only_once_their_delay_has_passed(
    emulator: EmulatorHandle, oci_clients: OciClients, compartment: str, log_id: tuple[str, str]
) -> None:
    """Records 75 s old: those drawn late by more than 75 s are not searchable yet, all
    others are (records near the boundary are left out of the comparison)."""
    group, log = log_id
    now_ms = int(time.time() * 1000)
    records = [(now_ms - 75_000 + i, f"line {i}") for i in range(400)]
    with emulator.overridden(**LATE, log_late_seed=3) as current:
        assert emulator.seed_log_records(log, source=SOURCE, records=records) == len(records)
        found = search_all(oci_clients, f'search "{compartment}/{group}/{log}"')
    model = Settings(**{k: current[k] for k in (*LATE, "log_late_seed")})
    delays = {m: model.late_ms(SOURCE, t, m) for t, m in records}
    shown = {r["logContent"]["data"]["message"] for r in found}
    hidden = {m for m, d in delays.items() if d > 80_000}
    visible = {m for m, d in delays.items() if d < 70_000}
    assert hidden
    assert 0 < len(visible & {m for m, d in delays.items() if d}) < len(visible)
    assert visible <= shown
    assert not hidden & shown
    assert len(hidden) + len(visible) > 0.9 * len(records)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"log_late_share": 1.5}, "log_late_share must be within 0..1"),
        ({"log_late_min_seconds": 200.0}, "log_late_min_seconds"),
    ],
)
def test_nonsense_late_settings_are_refused_and_change_nothing(
    emulator: EmulatorHandle, changes: dict[str, float], message: str
) -> None:
    before = emulator.admin("GET", "settings")
    with pytest.raises(AdminError, match=message):
        emulator.settings(**changes)
    assert emulator.admin("GET", "settings") == before


def test_a_record_says_it_was_ingested_when_it_became_searchable(
    emulator: EmulatorHandle, oci_clients: OciClients, compartment: str, log_id: tuple[str, str]
) -> None:
    """``oracle.ingestedtime`` is the record's time plus its lateness and the visibility
    delay: the operator's settle time is learnt from it (ads_operator/oci/settle_time.py)."""
    group, log = log_id
    now_ms = int(time.time() * 1000)
    records = [(now_ms - 200_000 + i, f"line {i}") for i in range(200)]
    with emulator.overridden(**LATE, log_late_seed=3, log_visibility_delay=2.5) as current:
        assert emulator.seed_log_records(log, source=SOURCE, records=records) == len(records)
        query = f'search "{compartment}/{group}/{log}"'
        assert search_all(oci_clients, query) == []  # stored now: searchable in 2.5 s

        def all_found() -> list[dict[str, Any]] | None:
            found = search_all(oci_clients, query)
            return found if len(found) == len(records) else None

        found = wait_for(all_found, timeout=30, what="the records searchable")
    model = Settings(**{k: current[k] for k in (*LATE, "log_late_seed")})
    for result in found:
        content = result["logContent"]
        ingested = datetime.fromisoformat(content["oracle"]["ingestedtime"].replace("Z", "+00:00"))
        delay_ms = ingested.timestamp() * 1000 - result["datetime"]
        lateness = model.late_ms(SOURCE, result["datetime"], content["data"]["message"])
        # Seeded records are stored at once, 200 s after their time: later than any draw.
        assert delay_ms == pytest.approx(max(lateness, 200_000) + 2_500, abs=1_000)
