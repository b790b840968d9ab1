"""The SQL push-down of ``where`` (:func:`oci_emulator.logsearch.sql_filter`) selects
exactly the records the Python matcher does, for every form it takes over; and
``summarize count()`` counts the same whether SQLite or Python forms the groups."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oci_emulator import logsearch
from oci_emulator.backend import search as backend_search
from oci_emulator.backend.store import NewLogRecord, Store

LOG = "ocid1.log.oc1..filter"
SOURCES = [
    "ocid1.datasciencejobrun.oc1..aaa",
    "ocid1.datasciencejobrun.oc1..bbb",
    "prefix/ocid1.datasciencejobrun.oc1..aaa",
    "other",
    "",
]
TYPES = ["com.oraclecloud.datascience.jobrun.stdout", "custom"]


def _kinds() -> list[tuple[int, str, str]]:
    return list(itertools.product(range(3), SOURCES, TYPES))


@pytest.fixture(scope="module")
def store() -> Store:
    store = Store(":memory:")
    store.add_log_records(
        NewLogRecord(LOG, "g", "c", "t", source, kind, 1000 + n, 1000 + n, f"id{n}", f"m{n}")
        for n, (_, source, kind) in enumerate(_kinds())
    )
    return store


def _selected(store: Store, text: str, *, push_down: bool) -> list[str]:
    query = logsearch.parse_query(text)
    where = logsearch.sql_filter(query) if push_down else None
    rows = store.scan_log_records(
        [LOG],
        time_start=0,
        time_end=10**6,
        visible_before=10**6,
        descending=False,
        after=None,
        where=where,
    )
    docs = (backend_search.record_document(row) for row in rows)
    return [d["logContent"]["id"] for d in docs if where is not None or logsearch.matches(query, d)]


def _query(groups: list[list[tuple[str, bool, str]]]) -> str:
    """A search of the test log with ``where`` an ``or`` of ``and`` groups (none: all)."""
    where = " or ".join(
        " and ".join(f"{f} {'!=' if negate else '='} '{value}'" for f, negate, value in g)
        for g in groups
    )
    return f'search "c/g/{LOG}"' + (f" | where {where}" if where else "")


PATTERNS = st.sampled_from(
    ["*ocid1.datasciencejobrun.oc1..aaa", "*..bbb", "other", "*", "", "*er", "ocid1.*"]
)
CONDITIONS = st.tuples(st.sampled_from(["source", "type"]), st.booleans(), PATTERNS)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(CONDITIONS, min_size=1, max_size=3), min_size=1, max_size=4))
def test_the_pushed_down_filter_selects_what_python_does(
    store: Store, groups: list[list[tuple[str, bool, str]]]
) -> None:
    text = _query(groups)
    expected = _selected(store, text, push_down=False)
    assert _selected(store, text, push_down=True) == expected, text


def test_the_run_filter_is_pushed_down_as_one_lookup_per_suffix_length() -> None:
    runs = ["ocid1.datasciencejobrun.oc1..aaa", "ocid1.datasciencejobrun.oc1..bbb"]
    query = logsearch.parse_query(
        'search "c/g/l" | where ' + " or ".join(f"source = '*{r}'" for r in runs)
    )
    assert logsearch.sql_filter(query) == (f"substr(source, -{len(runs[0])}) IN (?,?)", runs)


@pytest.mark.parametrize(
    "where",
    ["data.message = '*x'", "source = 'a*b'", "source = '*a?'", "id = 'x'"],
)
def test_other_conditions_stay_with_the_python_matcher(where: str) -> None:
    assert logsearch.sql_filter(logsearch.parse_query(f'search "c/g/l" | where {where}')) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(CONDITIONS, min_size=1, max_size=2), min_size=0, max_size=3))
def test_counts_by_source_are_the_records_a_search_returns(
    store: Store, groups: list[list[tuple[str, bool, str]]]
) -> None:
    text = _query(groups)
    selected = _selected(store, text, push_down=False)
    by_id = {f"id{n}": source for n, (_, source, _) in enumerate(_kinds())}
    expected: dict[str, int] = {}
    for record_id in selected:
        expected[by_id[record_id]] = expected.get(by_id[record_id], 0) + 1
    query = logsearch.parse_query(f"{text} | summarize count() as n by source")
    for python in (False, True):
        rows = backend_search.count_rows(store, query, [LOG], 0, 10**6, 10**6, in_python=python)
        assert {r["source"]: r["n"] for r in rows} == expected, text
