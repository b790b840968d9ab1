"""Page tokens of the List operations, as properties (pure functions, no HTTP)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from oci_emulator.backend.listing import paginate, parse_page


@given(size=st.integers(min_value=0, max_value=250), limit=st.integers(min_value=1, max_value=60))
def test_pages_cover_every_item_once_and_end_without_a_token(size: int, limit: int) -> None:
    docs = [{"id": str(i)} for i in range(size)]
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        chunk, token = paginate(docs, limit=limit, page=parse_page(token))
        pages += 1
        seen.extend(d["id"] for d in chunk)
        assert len(chunk) <= limit
        if token is None:
            break
        assert token != ""  # an empty opc-next-page would make the SDK loop forever
    assert seen == [d["id"] for d in docs]
    assert pages == max(1, -(-size // limit))
