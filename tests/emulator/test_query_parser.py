"""The Logging Search query parser on its own (pure functions)."""

from __future__ import annotations

import pytest

from oci_emulator.errors import InvalidParameter
from oci_emulator.logsearch import Condition, Stream, decode_page, encode_page, parse_query


def test_the_query_ads_builds() -> None:
    query = parse_query(
        'SEARCH "ocid1.compartment.oc1..c/ocid1.loggroup.oc1..g/ocid1.log.oc1..l" '
        "| WHERE source = '*ocid1.datasciencejobrun.oc1..r' | SORT BY datetime DESC"
    )
    assert query.streams == (
        Stream("ocid1.compartment.oc1..c", "ocid1.loggroup.oc1..g", "ocid1.log.oc1..l"),
    )
    assert query.where == ((Condition("source", False, "*ocid1.datasciencejobrun.oc1..r"),),)
    assert query.descending is True


def test_several_streams_and_boolean_where() -> None:
    query = parse_query(
        "search \"c1/g\", \"c2\" | where a = 'x' and b != 'y' or c = 'z|w' | sort by datetime"
    )
    assert [s.compartment for s in query.streams] == ["c1", "c2"]
    assert query.where == (
        (Condition("a", False, "x"), Condition("b", True, "y")),
        (Condition("c", False, "z|w"),),
    )
    assert query.descending is False


@pytest.mark.parametrize(
    "text",
    [
        'search "a/b/c/d"',
        'search "c" | sort by time',
        "search 'c'",
        'search "c" | where x = "double"',
        'search "c" | where x = \'unterminated',
    ],
)
def test_rejected_queries(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_query(text)


def test_page_tokens_round_trip() -> None:
    assert decode_page(encode_page((1795683252343, 42))) == (1795683252343, 42)
    with pytest.raises(InvalidParameter):
        decode_page("not-a-token")
