"""Logging Search (20190909): the query language subset ADS uses, and its evaluation.

Supported (keywords case-insensitive, as in the service)::

    search "<compartment>[/<logGroup>[/<log>]]" [, "<...>"]
      [| where <field> (=|!=) '<value>' [(and|or) ...]]
      [| sort by <field> [asc|desc]]
      [| summarize count() [as <name>] [by <field>[, <field> ...]]]

``*`` in a value is a wildcard. ``summarize`` answers one row per group with the count
(named ``count`` unless named with ``as``) and the grouping fields, as the service's
aggregating operator does; it is the last operator of a query. Fields are resolved
inside ``logContent`` first (``source``, ``type``, ``data.message``, ``id``,
``subject``), then at the top of the record
(``datetime``). Anything else is rejected with 400 InvalidParameter naming the part that
was not understood, rather than being silently ignored.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from oci_emulator.errors import InvalidParameter

Doc = dict[str, Any]

MAX_WINDOW_MS = 14 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Stream:
    compartment: str
    log_group: str | None
    log: str | None


@dataclass(frozen=True)
class Condition:
    field: str
    negate: bool
    pattern: str


@dataclass(frozen=True)
class Query:
    streams: tuple[Stream, ...]
    #: Disjunction of conjunctions: ``a and b or c`` is ``((a, b), (c,))``.
    where: tuple[tuple[Condition, ...], ...]
    descending: bool
    #: ``summarize count()``: the name of the count field (None: records, not counts).
    count_as: str | None = None
    group_by: tuple[str, ...] = ()


_SEARCH = re.compile(r"^\s*search\s+(.*)$", re.IGNORECASE | re.DOTALL)
_STREAM = re.compile(r'\s*"([^"]*)"\s*(,)?')
_COND = re.compile(r"\s*([A-Za-z_][\w.]*)\s*(!=|=)\s*'((?:[^'\\]|\\.)*)'\s*", re.DOTALL)
_SORT = re.compile(r"^sort\s+by\s+([\w.]+)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)
_SUMMARIZE = re.compile(
    r"^summarize\s+count\(\s*\)(?:\s+as\s+([A-Za-z_]\w*))?"
    r"(?:\s+by\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*))?\s*$",
    re.IGNORECASE,
)


def parse_query(text: str) -> Query:
    """Parse a search query; raises InvalidParameter with the reason."""
    head, *pipes = _split_pipes(text)
    match = _SEARCH.match(head)
    if not match:
        raise InvalidParameter('The query must start with search "<compartment>/...".')
    streams = _parse_streams(match.group(1))
    where: tuple[tuple[Condition, ...], ...] = ()
    descending = False
    count_as: str | None = None
    group_by: tuple[str, ...] = ()
    for pipe in pipes:
        keyword = pipe.split(None, 1)[0].lower() if pipe.strip() else ""
        if count_as is not None:
            raise InvalidParameter("The emulator takes summarize only as the last operator.")
        if keyword == "summarize":
            summarize = _SUMMARIZE.match(pipe.strip())
            if not summarize:
                raise InvalidParameter(
                    f"Cannot parse {pipe.strip()!r}: the emulator summarizes only"
                    " count() [as <name>] [by <field>, ...]."
                )
            count_as = summarize.group(1) or "count"
            by = summarize.group(2) or ""
            group_by = tuple(f.strip() for f in by.split(",") if f.strip())
        elif keyword == "where":
            where = _parse_where(pipe.strip()[5:])
        elif keyword == "sort":
            sort = _SORT.match(pipe.strip())
            if not sort:
                raise InvalidParameter(f"Cannot parse the sort clause {pipe.strip()!r}.")
            if sort.group(1) != "datetime":
                raise InvalidParameter("The emulator only sorts by datetime.")
            descending = (sort.group(2) or "asc").lower() == "desc"
        else:
            raise InvalidParameter(f"Unsupported query operator {pipe.strip()!r}.")
    return Query(
        streams=streams,
        where=where,
        descending=descending,
        count_as=count_as,
        group_by=group_by,
    )


def _split_pipes(text: str) -> list[str]:
    parts, current, quote = [], [], ""
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quote:
        raise InvalidParameter("The query has an unterminated string.")
    parts.append("".join(current))
    return parts


def _parse_streams(text: str) -> tuple[Stream, ...]:
    streams = []
    pos = 0
    while True:
        match = _STREAM.match(text, pos)
        if not match:
            raise InvalidParameter(f"Cannot parse the search streams {text.strip()!r}.")
        parts = match.group(1).split("/")
        if not parts[0] or len(parts) > 3:
            raise InvalidParameter(f'Invalid stream "{match.group(1)}".')
        streams.append(
            Stream(
                compartment=parts[0],
                log_group=parts[1] if len(parts) > 1 else None,
                log=parts[2] if len(parts) > 2 else None,
            )
        )
        pos = match.end()
        if not match.group(2):
            break
    if text[pos:].strip():
        raise InvalidParameter(f"Unexpected text after the search streams: {text[pos:]!r}.")
    return tuple(streams)


def _parse_where(text: str) -> tuple[tuple[Condition, ...], ...]:
    groups: list[list[Condition]] = [[]]
    pos = 0
    while True:
        match = _COND.match(text, pos)
        if not match:
            raise InvalidParameter(f"Cannot parse the where clause near {text[pos:].strip()!r}.")
        value = re.sub(r"\\(.)", r"\1", match.group(3))
        groups[-1].append(Condition(match.group(1), match.group(2) == "!=", value))
        pos = match.end()
        rest = text[pos:]
        if not rest.strip():
            break
        joiner = re.match(r"(and|or)\s+", rest, re.IGNORECASE)
        if not joiner:
            raise InvalidParameter(f"Expected AND or OR in the where clause near {rest.strip()!r}.")
        if joiner.group(1).lower() == "or":
            groups.append([])
        pos += joiner.end()
    return tuple(tuple(g) for g in groups)


def _field_value(doc: Doc, field: str) -> Any:
    for root in (doc["logContent"], doc):
        value: Any = root
        for part in field.split("."):
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if value is not None:
            return value
    return None


def field_value(doc: Doc, field: str) -> Any:
    """A field of a record document as queries name it (None when it has none)."""
    return _field_value(doc, field)


def group_columns(query: Query) -> list[str] | None:
    """The record table's columns of the ``summarize ... by`` fields, or None when some
    field is not one (then the groups are formed in Python)."""
    columns = [_COLUMNS.get(f) for f in query.group_by]
    return None if None in columns else [c for c in columns if c is not None]


def matches(query: Query, doc: Doc) -> bool:
    if not query.where:
        return True
    return any(all(_holds(cond, doc) for cond in group) for group in query.where)


def _holds(cond: Condition, doc: Doc) -> bool:
    value = _field_value(doc, cond.field)
    if value is None:
        return cond.negate
    pattern = cond.pattern
    if pattern.startswith("*") and not any(c in pattern[1:] for c in "*?["):
        hit = str(value).endswith(pattern[1:])  # '*<ocid>', the usual source filter: fast
    else:
        hit = fnmatch.fnmatchcase(str(value), pattern)
    return hit != cond.negate


#: Fields that are columns of the emulator's record table, with the same value as in the
#: record document: conditions on them can be evaluated by SQLite.
_COLUMNS = {"source": "source", "type": "type"}


def sql_filter(query: Query) -> tuple[str, list[str]] | None:
    """The ``where`` clause as an SQL condition on the record table, or None when some
    part of it is only evaluated in Python (:func:`matches`).

    Why: a search of a few runs in a log a thousand runs write scanned every record of
    the window in Python, building each one's document to test its ``source`` (1.5 s a
    page at 1,000 runs, the emulator's core saturated long before the Logging budget).
    ``source = '*<ocid>'`` (the form ADS and the operator send) becomes a comparison of
    the column's suffix, and an ``or`` of many of them one ``IN`` per suffix length.
    Only ``?`` placeholders, column names from :data:`_COLUMNS` and integers are put into
    the text."""
    if not query.where:
        return None
    suffixes: dict[tuple[str, int], list[str]] = {}
    groups: list[str] = []
    args: list[str] = []
    for group in query.where:
        terms: list[str] = []
        for cond in group:
            column = _COLUMNS.get(cond.field)
            if column is None:
                return None
            literal = cond.pattern[1:] if cond.pattern.startswith("*") else cond.pattern
            if any(c in literal for c in "*?["):
                return None
            if len(group) == 1 and not cond.negate and literal != cond.pattern and literal:
                suffixes.setdefault((column, len(literal)), []).append(literal)
                continue
            if literal == cond.pattern:
                term, value = f"{column} = ?", [literal]
            elif literal:
                term, value = f"substr({column}, -{len(literal)}) = ?", [literal]
            else:
                term, value = "1", []
            terms.append(f"NOT ({term})" if cond.negate else term)
            args += value
        if terms:
            groups.append("(" + " AND ".join(terms) + ")")
    for (column, size), values in suffixes.items():
        groups.append(f"substr({column}, -{size}) IN ({','.join('?' * len(values))})")
        args += values
    return " OR ".join(groups), args


def encode_page(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}:{key[1]}".encode()).decode()


def decode_page(token: str) -> tuple[int, int]:
    try:
        time_ms, seq = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        return int(time_ms), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter(f"The page token {token!r} is not valid.") from None


def check_window(time_start: int, time_end: int) -> None:
    if time_end - time_start < 1:
        raise InvalidParameter("timeEnd must be at least 1 ms after timeStart.")
    if time_end - time_start > MAX_WINDOW_MS:
        raise InvalidParameter("The search window may not exceed 14 days.")
