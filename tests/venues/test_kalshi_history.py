"""The Kalshi adapter's REST history: page requests, and fills and cancels read from pages.

Requests: protocols/kalshi.md §6.1 (``GET /portfolio/fills``) and §6.3 (``GET /portfolio/orders``), with
openapi.yaml (kalshi-sdk 22.4.0) ``MinTsQuery`` (seconds), ``LimitQuery`` (1..1000), ``CursorQuery``,
``StatusQuery``. Pages: openapi.yaml ``GetFillsResponse`` / ``GetOrdersResponse`` of ``Fill`` / ``Order``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.core.events import Cancel, Fill
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.venues.kalshi_shapes import SINCE, page, parse_page, rest_fill, rest_order

API = "https://external-api.kalshi.com/trade-api/v2"
# 2024-12-01T10:00:00.900Z: min_ts is whole seconds, so the fraction is cut (never rounded up past an event).
SINCE_MS = datetime(2024, 12, 1, 10, 0, 0, 900000, tzinfo=UTC)


@pytest.fixture
def venue(venue_key: rsa.RSAPrivateKey) -> Kalshi:
    return Kalshi("key-id-1", venue_key, api_url=API)


@pytest.fixture
def reader() -> Kalshi:
    return Kalshi.for_parsing()


# Requests.


def test_fills_request_asks_for_a_page_of_fills_from_since_in_whole_seconds(venue: Kalshi) -> None:
    """§6.1: GET {api}/portfolio/fills?min_ts=<since, seconds, truncated>&limit=<page size>, no cursor at first."""
    request = venue.history_request("fills", SINCE_MS, None, 1)
    assert (request.method, request.url) == ("GET", f"{API}/portfolio/fills")
    assert request.params == {"min_ts": 1733047200, "limit": venue.page_size}


def test_orders_request_asks_only_for_cancelled_orders(venue: Kalshi) -> None:
    """§6.3: GET {api}/portfolio/orders with status=canceled, from since in seconds."""
    request = venue.history_request("orders", SINCE_MS, None, 1)
    assert (request.method, request.url) == ("GET", f"{API}/portfolio/orders")
    assert request.params == {"min_ts": 1733047200, "limit": venue.page_size, "status": "canceled"}


@pytest.mark.parametrize("kind", ["fills", "orders"])
def test_the_next_page_is_asked_for_by_its_cursor(venue: Kalshi, kind: str) -> None:
    """CursorQuery: the cursor of the previous page is sent as ``cursor``; an empty one is the first page."""
    assert venue.history_request(kind, SINCE, "CgsI4s2", 1).params["cursor"] == "CgsI4s2"  # type: ignore[index]
    assert "cursor" not in venue.history_request(kind, SINCE, "", 1).params  # type: ignore[operator]


def test_the_page_size_is_one_kalshi_accepts() -> None:
    """openapi.yaml LimitQuery allows 1..1000 rows per page; a larger ask would be refused with HTTP 400."""
    assert 1 <= Kalshi.page_size <= 1000


# Pages.


def test_a_page_gives_its_events_and_the_cursor_of_the_next(reader: Kalshi) -> None:
    """GetFillsResponse: the returned ``cursor`` is the next page's; an empty or absent one ends the reading."""
    more = reader.parse_history("fills", page("fills", [rest_fill()], cursor="CgsI4s2"), SINCE, None)
    assert (len(more.events), more.next_page, more.skipped) == (1, "CgsI4s2", 0)
    assert reader.parse_history("fills", page("fills", [], cursor=""), SINCE, None).next_page is None
    assert reader.parse_history("orders", page("orders", [], cursor=None), SINCE, "x").next_page is None


def test_an_event_exactly_at_since_is_kept_and_one_just_before_is_not(reader: Kalshi) -> None:
    """The window is [since, …): min_ts is only seconds, so rows before `since` are dropped here, the edge kept."""
    since = datetime(2026, 5, 2, 18, 2, 11, 101000, tzinfo=UTC)
    at, before = rest_fill(trade_id="at"), rest_fill(trade_id="before", created_time="2026-05-02T18:02:11.100Z")
    assert [e.id for e in parse_page(reader, "fills", [before, at], since).events] == ["at"]


def test_unreadable_rows_are_counted_and_the_rest_of_the_page_still_read(reader: Kalshi) -> None:
    """Hostile rows (no count, a non-object, a bad price) are skipped and counted, one by one, never fatal."""
    rows = [rest_fill(count_fp=...), rest_fill(trade_id="good"), "not a row", rest_fill(yes_price_dollars="x")]
    result = parse_page(reader, "fills", rows)
    assert ([e.id for e in result.events], result.skipped) == (["good"], 3)


def test_only_cancelled_orders_are_events_and_the_others_are_not_skipped_rows(reader: Kalshi) -> None:
    """StatusQuery asks for canceled, but a resting or executed Order on the page is no event and no error."""
    rows = [rest_order(status="resting"), rest_order(status="executed"), rest_order(order_id="c")]
    result = parse_page(reader, "orders", rows)
    assert ([e.id for e in result.events], result.skipped) == (["c"], 0)


# Fills.


def test_a_rest_fill_is_the_fill_line_with_source_history_and_no_position(reader: Kalshi) -> None:
    """openapi.yaml Fill: trade id, ticker, outcome side, exact decimals, created_time; REST carries no position."""
    [fill] = parse_page(reader, "fills", [rest_fill()]).events
    assert fill == Fill(
        venue="kalshi",
        id="00000000-0000-0000-0000-000000000004",
        order_id="00000000-0000-0000-0000-000000000001",
        market="KXTEST-26-A",
        side="yes",
        action="buy",
        price=Decimal("0.1800"),
        qty=Decimal("10.50"),
        ts=datetime(2026, 5, 2, 18, 2, 11, 101000, tzinfo=UTC),
        taker=True,
        fee=Decimal("0.010000"),
        position=None,
        currency="USD",
        source="history",
    )


def test_a_rest_fill_names_its_id_and_market_by_either_field_name(reader: Kalshi) -> None:
    """openapi.yaml Fill: trade_id is the legacy name of fill_id, market_ticker of ticker; either one will do."""
    rows = [
        rest_fill(trade_id=..., fill_id="F1", ticker=..., market_ticker="M1"),
        rest_fill(trade_id="T2", fill_id=..., ticker="M2", market_ticker=...),
    ]
    assert [(e.id, e.market) for e in parse_page(reader, "fills", rows).events] == [("F1", "M1"), ("T2", "M2")]


def test_a_rest_fill_without_created_time_is_dated_by_its_ts_seconds(reader: Kalshi) -> None:
    """openapi.yaml Fill: created_time is optional; ``ts`` (Unix seconds, legacy) dates the fill then."""
    [fill] = parse_page(reader, "fills", [rest_fill(created_time=..., ts=1777744931)]).events
    assert fill.ts == datetime(2026, 5, 2, 18, 2, 11, tzinfo=UTC)


def test_a_rest_fill_without_fee_or_a_boolean_taker_says_null_there(reader: Kalshi) -> None:
    """A fill without fee_cost has fee null; an is_taker that is not a JSON boolean is unknown (null)."""
    rows = [rest_fill(fee_cost=..., is_taker="true"), rest_fill(is_taker=1)]
    assert [(e.fee, e.taker) for e in parse_page(reader, "fills", rows).events] == [
        (None, None),
        (Decimal("0.010000"), None),
    ]


def test_a_no_fill_takes_the_no_price_as_sent(reader: Kalshi) -> None:
    """openapi.yaml Fill: no_price_dollars is the NO side's price; it is read, not derived from the YES price."""
    row = rest_fill(outcome_side="no", book_side="ask", yes_price_dollars=..., no_price_dollars="0.8150")
    [fill] = parse_page(reader, "fills", [row]).events
    assert (fill.side, fill.action, fill.price) == ("no", "buy", Decimal("0.8150"))


def test_a_no_fill_without_a_no_price_is_one_minus_the_yes_price(reader: Kalshi) -> None:
    """Prices are YES prices (protocols/kalshi.md): a NO fill carrying only yes_price_dollars is at 1 − yes."""
    row = rest_fill(outcome_side="no", book_side="ask", yes_price_dollars="0.1850", no_price_dollars=...)
    [fill] = parse_page(reader, "fills", [row]).events
    assert fill.price == Decimal("0.8150")


# Cancels.


def test_a_rest_cancel_is_the_cancel_line_with_source_history(reader: Kalshi) -> None:
    """openapi.yaml Order, cancelled after 6 of 10 filled: 4 cancelled at 0.35, dated by last_update_time."""
    [cancel] = parse_page(reader, "orders", [rest_order()]).events
    assert cancel == Cancel(
        venue="kalshi",
        id="ee587a1c-8b87-4dcf-b721-9f6f790619fa",
        order_id="ee587a1c-8b87-4dcf-b721-9f6f790619fa",
        market="FED-23DEC-T3.00",
        side="yes",
        action="buy",
        price=Decimal("0.3500"),
        qty=Decimal("4.00"),
        ts=datetime(2024, 12, 1, 10, 1, 0, 500000, tzinfo=UTC),
        original_qty=Decimal("10.00"),
        currency="USD",
        source="history",
        reason=None,
    )


def test_a_rest_cancel_without_any_time_is_dated_by_the_adapters_clock(reader: Kalshi) -> None:
    """openapi.yaml Order: created_time and last_update_time are nullable; then the reading time dates it."""
    reader.clock = lambda: 1733047260.0
    [cancel] = parse_page(reader, "orders", [rest_order(created_time=None, last_update_time=None)]).events
    assert cancel.ts == datetime(2024, 12, 1, 10, 1, 0, tzinfo=UTC)
