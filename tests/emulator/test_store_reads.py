"""The emulator's read shortcuts return what a plain read does: shared listings
(:meth:`oci_emulator.backend.store.Store.query_shared`) follow every insert, save and
delete, and whole-second caching of :func:`oci_emulator.ids.format_time` formats every
millisecond as ``strftime`` does."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from oci_emulator import ids
from oci_emulator.backend.store import Store


def test_a_shared_listing_follows_inserts_saves_and_deletes() -> None:
    store = Store(":memory:")
    for n in range(3):
        store.insert("run", {"id": f"r{n}", "state": "A"}, compartment="c", parent=None)
    store.insert("run", {"id": "other", "state": "A"}, compartment="d", parent=None)
    first = store.query_shared("run", compartment="c")
    assert first == store.query("run", compartment="c")
    store.save({"id": "r1", "state": "B"})
    store.delete("r2")
    store.insert("run", {"id": "r3", "state": "A"}, compartment="c", parent=None)
    second = store.query_shared("run", compartment="c")
    assert second == store.query("run", compartment="c")
    assert [d["state"] for d in second] == ["A", "B", "A"]
    # The unchanged document is the same object, not parsed again.
    assert second[0] is first[0]


@given(st.integers(min_value=-(10**12), max_value=10**13))
def test_format_time_matches_strftime(epoch_ms: int) -> None:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    expected = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
    assert ids.format_time(epoch_ms) == expected
