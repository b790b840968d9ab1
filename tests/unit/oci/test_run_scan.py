"""Where in a state list a scan looks: runs' acceptance times place them in the list."""

from __future__ import annotations

from datetime import datetime

from ads_operator.models.oci_records import OciJobRun
from ads_operator.oci.run_scan import NEWEST_FIRST, OLDEST_FIRST, RunScan
from tests.fixtures.fake_oci import COMPARTMENT, at


def run(name: str, accepted: datetime | None) -> OciJobRun:
    return OciJobRun(name, "j", "IN_PROGRESS", COMPARTMENT, time_accepted=accepted)


#: Ten live runs accepted a second apart, r0 the oldest.
LIVE = [run(f"r{i}", at(i)) for i in range(10)]
TOP = list(reversed(LIVE))


def scan(*wanted: str, accepted: dict[str, datetime], oldest: datetime | None = None) -> RunScan:
    return RunScan(
        wanted, "IN_PROGRESS", max_pages=20, both_ends=True, accepted=accepted, oldest=oldest
    )


def test_a_run_newer_than_the_oldest_read_from_the_top_has_left_the_list() -> None:
    s = scan("r8", "gone", accepted={"r8": at(8), "gone": at(7.5)})
    assert s.add(NEWEST_FIRST, TOP[:3], "3") == [LIVE[8]]
    assert s.done()  # "gone" would have been on that page: no need to read on
    assert s.pages == 1
    assert "gone" not in s.found


def test_a_run_accepted_in_the_same_instant_as_the_page_s_last_is_still_looked_for() -> None:
    s = scan("gone", accepted={"gone": at(7)})  # r7 is the last run of the top page
    s.add(NEWEST_FIRST, TOP[:3], "3")
    assert not s.done()  # other runs of that instant may be on the next page


def test_a_run_older_than_the_newest_read_from_the_bottom_has_left_the_list() -> None:
    s = scan("gone", "unknown", accepted={"gone": at(0.5)})
    s.add(OLDEST_FIRST, LIVE[:3], "3")
    assert not s.done()  # "unknown" has no known time: only reading it all tells
    s.add(NEWEST_FIRST, TOP[:7], None)
    assert s.done()


def test_the_list_is_read_on_from_the_end_that_reaches_every_run_soonest() -> None:
    def ends(accepted: dict[str, datetime], oldest: datetime | None = None) -> tuple[bool, ...]:
        s = scan(*accepted, accepted=accepted, oldest=oldest)
        s.add(NEWEST_FIRST, TOP[:1], "1")  # the newest run, r9 (at 9 s)
        return s.ends()

    # pages to read from the top, the bottom or both, as shares of the list: 4/9 vs 8/9
    assert ends({"a": at(7), "b": at(5)}, at(0)) == (NEWEST_FIRST,)
    assert ends({"a": at(7), "b": at(4)}, at(0)) == (NEWEST_FIRST,)  # 5/9 vs 10/9
    assert ends({"a": at(1), "b": at(4)}, at(0)) == (OLDEST_FIRST,)
    assert ends({"a": at(8), "b": at(1)}, at(0)) == (NEWEST_FIRST, OLDEST_FIRST)  # 2/9 vs 8/9
    assert ends({"a": at(7), "b": at(2)}, at(0)) == (NEWEST_FIRST, OLDEST_FIRST)  # 4/9 vs 7/9
    # the list's bottom never read, or a run of unknown time: both ends
    assert ends({"a": at(7)}) == (NEWEST_FIRST, OLDEST_FIRST)
    s = scan("a", "b", accepted={"a": at(7)}, oldest=at(0))
    s.add(NEWEST_FIRST, TOP[:1], "1")
    assert s.ends() == (NEWEST_FIRST, OLDEST_FIRST)
    # lists of ended runs are read from the top only
    top_only = RunScan(["a"], "SUCCEEDED", 1, both_ends=False, accepted={"a": at(1)}, oldest=at(0))
    assert top_only.ends() == (NEWEST_FIRST,)


def test_the_list_s_oldest_run_is_known_from_its_bottom_page() -> None:
    s = scan("r5", accepted={})
    s.add(NEWEST_FIRST, TOP[:5], "5")
    assert s.list_oldest is None
    s.add(OLDEST_FIRST, [run("undated", None), *LIVE[:3]], "3")
    assert s.list_oldest == at(0)
    top_down = scan("r5", accepted={})
    top_down.add(NEWEST_FIRST, TOP[:5], "5")
    top_down.add(NEWEST_FIRST, TOP[5:], None)  # the last page
    assert top_down.list_oldest == at(0)
