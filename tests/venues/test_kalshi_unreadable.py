"""What the Kalshi adapter says of a frame or a page it cannot read: the reason, exactly, and no more.

Frames: asyncapi.yaml (kalshi-sdk 22.4.0) ``fill`` (fillPayload; every server message has a string
``type``), through tests/venues/kalshi_shapes.py. Pages: openapi.yaml ``GetFillsResponse`` /
``GetOrdersResponse`` (``{"fills": [...], "cursor": "..."}``; ``cursor`` a string).
"""

from __future__ import annotations

import orjson
import pytest

from fillwatch.venues.base import Malformed, excerpt
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.venues.kalshi_shapes import SINCE, live_fill


@pytest.mark.parametrize("kind", [["fill"], 13, {"fill": 1}, True])
def test_a_type_that_is_not_a_string_is_one_malformed_with_the_frame(kind: object) -> None:
    """A ``type`` that is a list, a number, an object or a boolean is malformed, quoting the frame."""
    frame = orjson.dumps({**orjson.loads(live_fill()), "type": kind}).decode()
    assert Kalshi.for_parsing().parse(frame) == [Malformed("type is not a string", excerpt(frame))]


@pytest.mark.parametrize("frame", ['{"sid": 13, "msg": {}}', '{"type": null, "sid": 13}'])
def test_a_frame_without_a_type_is_nothing(frame: str) -> None:
    """A frame with no ``type`` (or a null one) is no message of ours: nothing, not a malformed line."""
    assert Kalshi.for_parsing().parse(frame) == ()


def test_a_missing_field_is_named_in_the_reason() -> None:
    """A fill without ``market_ticker`` is malformed as ``bad fill message (missing market_ticker)``."""
    frame = live_fill(market_ticker=...)
    assert Kalshi.for_parsing().parse(frame) == [Malformed("bad fill message (missing market_ticker)", excerpt(frame))]


@pytest.mark.parametrize(("length", "cut"), [(88, False), (89, True), (5000, True)])
def test_a_reason_is_cut_after_100_characters(length: int, cut: bool) -> None:
    """A hostile ``book_side`` makes a reason of at most 100 characters, marked with '…' when cut."""
    frame = live_fill(outcome_side=..., book_side="x" * length)
    (malformed,) = Kalshi.for_parsing().parse(frame)
    assert isinstance(malformed, Malformed)
    whole = f"book_side '{'x' * length}'"
    shown = whole[:100] + "…" if cut else whole
    assert malformed.reason == f"bad fill message ({shown})"
    assert malformed.excerpt == excerpt(frame)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[]", "not a page of fills"),
        (b"5", "not a page of fills"),
        (b'{"fills": 5, "cursor": ""}', "not a page of fills"),
        (b'{"fills": "row", "cursor": ""}', "not a page of fills"),
        (b'{"fills": {"a": 1}}', "not a page of fills"),
        (b'{"fills": [], "cursor": 7}', "the page's cursor is not a string"),
        (b'{"fills": [], "cursor": ["c"]}', "the page's cursor is not a string"),
    ],
)
def test_a_body_that_is_not_a_page_is_refused_saying_why(body: bytes, reason: str) -> None:
    """A body that is not an object, whose rows are not a list or whose cursor is not a string is a ValueError."""
    with pytest.raises(ValueError, match=r".") as raised:
        Kalshi.for_parsing().parse_history("fills", body, SINCE, None)
    assert str(raised.value) == reason


@pytest.mark.parametrize("body", [b'{"cursor": ""}', b'{"fills": null, "cursor": null}', b'{"fills": []}'])
def test_a_page_with_no_rows_or_no_cursor_is_an_empty_last_page(body: bytes) -> None:
    """Missing or null rows are no rows; a missing or null cursor is the last page."""
    page = Kalshi.for_parsing().parse_history("fills", body, SINCE, None)
    assert (list(page.events), page.next_page, page.skipped) == ([], None, 0)
