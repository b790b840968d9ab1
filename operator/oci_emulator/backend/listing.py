"""Filtering, sorting and page tokens shared by every List operation.

Page tokens are opaque to the SDK; here they are the decimal offset of the next item, and
``next_page`` is ``None`` on the last page so ``opc-next-page`` is omitted (an empty header
would make the SDK paginator loop forever, oci-api.md §6.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oci_emulator.errors import InvalidParameter

Doc = dict[str, Any]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def parse_limit(raw: str | None, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise InvalidParameter(f"limit must be an integer, got {raw!r}.") from None
    if not 1 <= limit <= maximum:
        raise InvalidParameter(f"limit must be between 1 and {maximum}, got {limit}.")
    return limit


def parse_page(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit():
        raise InvalidParameter(f"page token {raw!r} is not valid.")
    return int(raw)


def sort_docs(
    docs: list[Doc],
    *,
    sort_by: str | None,
    sort_order: str | None,
    allowed: Sequence[str],
    time_field: str,
) -> list[Doc]:
    """Sort like the service: timeCreated defaults to DESC, displayName to ASC."""
    key = sort_by or allowed[0]
    if key not in allowed:
        raise InvalidParameter(f"sortBy must be one of {list(allowed)}, got {key!r}.")
    if sort_order not in (None, "ASC", "DESC"):
        raise InvalidParameter(f"sortOrder must be ASC or DESC, got {sort_order!r}.")
    field = time_field if key == "timeCreated" else key
    descending = (sort_order or ("DESC" if key == "timeCreated" else "ASC")) == "DESC"
    return sorted(docs, key=lambda d: str(d.get(field) or ""), reverse=descending)


def paginate(docs: list[Doc], *, limit: int, page: int) -> tuple[list[Doc], str | None]:
    chunk = docs[page : page + limit]
    following = page + limit
    return chunk, (str(following) if following < len(docs) else None)


def apply_filters(docs: list[Doc], filters: dict[str, str | None]) -> list[Doc]:
    """Keep docs whose wire field equals each given (non-None) filter value."""
    wanted = {k: v for k, v in filters.items() if v is not None}
    return [d for d in docs if all(d.get(k) == v for k, v in wanted.items())]


def public(doc: Doc) -> Doc:
    """The wire form: private ``_`` keys removed."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def project(doc: Doc, fields: Sequence[str]) -> Doc:
    """A summary: only the fields the Summary model has."""
    return {k: doc[k] for k in fields if k in doc}
