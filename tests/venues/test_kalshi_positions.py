"""The Kalshi adapter's positions page: its signed request and the (ticker, position) pairs it reads.

openapi.yaml (kalshi-sdk 22.4.0): ``GET /portfolio/positions`` (``GetPositions``, ``count_filter``,
``LimitQuery`` 1..1000, ``CursorQuery``), its ``GetPositionsResponse`` (``market_positions`` of
``MarketPosition``: ``ticker``, ``position_fp`` fixed-point, positive YES and negative NO; ``cursor``,
empty on the last page).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.venues.kalshi.adapter import Kalshi
from tests.venues.test_kalshi_signing import HEADERS, NOW_MS, verify

API = "https://external-api.kalshi.com/trade-api/v2"


def position(ticker: Any = "KXFED-26DEC-T4.25", position_fp: Any = "-15.00", **more: Any) -> dict[str, Any]:
    """A ``MarketPosition`` with the schema's required fields."""
    return {
        "ticker": ticker,
        "exchange_index": 0,
        "total_traded_dollars": "8.2000",
        "position_fp": position_fp,
        "market_exposure_dollars": "8.2000",
        "realized_pnl_dollars": "0.0000",
        "fees_paid_dollars": "0.1400",
        "last_updated_ts": "2026-05-02T18:02:11.101Z",
        **more,
    }


def body(rows: Any, cursor: Any = "") -> bytes:
    return orjson.dumps({"market_positions": rows, "event_positions": [], "cursor": cursor})


def test_the_positions_request_asks_for_non_zero_positions_signed(venue_key: rsa.RSAPrivateKey) -> None:
    """GET {api}/portfolio/positions?count_filter=position&limit=1000, signed over ts+GET+path (no query)."""
    request = Kalshi("key-id-3", venue_key, api_url=API).positions_request(None, NOW_MS)
    assert (request.method, request.url) == ("GET", f"{API}/portfolio/positions")
    assert request.params == {"count_filter": "position", "limit": 1000}
    assert set(request.headers) == HEADERS
    assert request.headers["KALSHI-ACCESS-KEY"] == "key-id-3"
    verify(
        venue_key, request.headers["KALSHI-ACCESS-SIGNATURE"], f"{NOW_MS}GET/trade-api/v2/portfolio/positions".encode()
    )


def test_the_next_positions_page_is_asked_for_by_its_cursor(venue_key: rsa.RSAPrivateKey) -> None:
    """A cursor is sent as ``cursor``; an empty one asks for the first page."""
    venue = Kalshi("key-id-3", venue_key, api_url=API)
    assert venue.positions_request("CgsI4s2", NOW_MS).params == {
        "count_filter": "position",
        "limit": 1000,
        "cursor": "CgsI4s2",
    }
    assert venue.positions_request("", NOW_MS).params == {"count_filter": "position", "limit": 1000}


def test_a_page_gives_each_ticker_with_its_exact_position_and_the_cursor() -> None:
    """Rows give (ticker, position_fp) exactly, YES positive and NO negative; a cursor means another page."""
    rows = [position("KXFED-26DEC-T4.25", "-15.00"), position("KXBTC-26DEC31-B100000", "278.50")]
    pairs, cursor = Kalshi.parse_positions(body(rows, "CgsI4s2"))
    assert pairs == [("KXFED-26DEC-T4.25", Decimal("-15.00")), ("KXBTC-26DEC31-B100000", Decimal("278.50"))]
    assert str(pairs[0][1]) == "-15.00"
    assert cursor == "CgsI4s2"


@pytest.mark.parametrize("cursor", ["", None, 7, ["c"]])
def test_an_empty_or_unreadable_cursor_is_the_last_page(cursor: Any) -> None:
    """An empty cursor (the schema's last page), a missing one or one that is not a string ends the reading."""
    document = {"market_positions": [position()], "event_positions": []}
    if cursor is not None:
        document["cursor"] = cursor
    pairs, next_cursor = Kalshi.parse_positions(orjson.dumps(document))
    assert (pairs, next_cursor) == ([("KXFED-26DEC-T4.25", Decimal("-15.00"))], None)


@pytest.mark.parametrize(
    "bad",
    [
        position(ticker=""),
        position(ticker=5),
        position(ticker=None),
        {k: v for k, v in position().items() if k != "ticker"},
        {k: v for k, v in position().items() if k != "position_fp"},
        position(position_fp="NaN"),
        position(position_fp="lots"),
        position(position_fp=True),
        "not a row",
        None,
    ],
    ids=["empty", "int", "null", "no-ticker", "no-position", "nan", "word", "bool", "string", "null-row"],
)
def test_a_row_that_cannot_be_read_costs_only_itself(bad: Any) -> None:
    """A row with no usable ticker or position is left out; the rows around it are kept."""
    rows = [position("A-1", "1.00"), bad, position("B-2", "-2.00")]
    pairs, _ = Kalshi.parse_positions(body(rows))
    assert pairs == [("A-1", Decimal("1.00")), ("B-2", Decimal("-2.00"))]


def test_a_row_without_position_fp_falls_back_to_position() -> None:
    """A row that has only the integer ``position`` is read by it; ``position_fp`` wins when both are there."""
    legacy = {k: v for k, v in position("A-1").items() if k != "position_fp"} | {"position": -3}
    both = position("B-2", "4.00", position=9)
    assert Kalshi.parse_positions(body([legacy, both]))[0] == [("A-1", Decimal(-3)), ("B-2", Decimal("4.00"))]


@pytest.mark.parametrize(
    "document",
    [[], 5, "x", {"market_positions": 5}, {"market_positions": {"A": 1}}, {"event_positions": []}],
)
def test_a_body_that_is_not_a_positions_page_gives_nothing(document: Any) -> None:
    """A body that is not an object, or whose market_positions is not a list, gives no pairs and no page after."""
    pairs, cursor = Kalshi.parse_positions(orjson.dumps(document))
    assert pairs == []
    assert cursor is None
