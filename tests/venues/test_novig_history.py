"""The Novig NBX adapter's REST history pages: where paging stops, what rows are skipped and counted,
which page shapes are read. Rows: /work/shared/protocols/novig.md (NBX) §6.1 (fills/all: the fees
page's row, and the WebSocket fill's fields §4.3), §6.2 (orders/all: the cancel endpoints' order
object); paging (`limit` 256, `offset`, `currency`) and the page shapes are §6.1/§8 (unconfirmed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from fillwatch.core.secret import Secret
from fillwatch.venues.novig.adapter import Novig
from fillwatch.venues.spec import TokenCell

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SINCE = datetime(2026, 1, 2, tzinfo=UTC)
FULL = 256  # the documented maximum page (§6.1): a page this long may have a next one


@pytest.fixture
def venue() -> Novig:
    novig = Novig(api_url="https://api.example/nbx/v2", clock=lambda: 1767225600.5, token=TokenCell(Secret("tok-123")))
    return novig


def fill(n: int, ts: datetime) -> dict[str, Any]:
    """A fills/all row (§6.1, with the fill event's fields of §4.3)."""
    return {
        "id": f"f-{n}",
        "orderId": f"o-{n}",
        "price": 0.61,
        "qty": 200,
        "createdAt": ts.isoformat(),
        "isWash": False,
        "isTaker": True,
        "marketId": "m",
        "outcomeId": "x",
    }


def order(order_id: str, ts: datetime, status: str = "FILLED", qty: int = 0, **changes: Any) -> dict[str, Any]:
    """An orders/all row (§6.2)."""
    row = {"id": order_id, "outcomeId": "x", "marketId": "m", "price": 0.4, "qty": qty, "originalQty": 100}
    return row | {"currency": "CASH", "timestamp": ts.isoformat(), "status": status} | changes


def newest_first(last: datetime, count: int = FULL) -> list[datetime]:
    """`count` times a minute apart, newest first, the oldest being `last`."""
    return [last + timedelta(minutes=count - 1 - n) for n in range(count)]


def fills_page(venue: Novig, rows: list[Any], page: str | None = None) -> Any:
    return venue.parse_history("fills", orjson.dumps(rows), SINCE, page)


def read_orders(venue: Novig, rows: list[dict[str, Any]], since: datetime = EPOCH) -> None:
    """A complete orders/all read: `rows` on the CASH page, none on COIN."""
    assert venue.parse_history("orders", orjson.dumps(rows), since, None).next_page == "COIN:0"
    assert venue.parse_history("orders", b"[]", since, "COIN:0").next_page is None


# Where paging stops ---------------------------------------------------------------------------


def test_a_full_newest_first_page_ending_exactly_at_since_asks_for_more(venue: Novig) -> None:
    """The oldest fill of a full page is at `since`: older ones at `since` may follow, so the next offset is read."""
    rows = [fill(n, t) for n, t in enumerate(newest_first(SINCE))]
    page = fills_page(venue, rows)
    assert (page.next_page, len(page.events)) == ("CASH:256", FULL)


def test_a_full_page_stops_as_soon_as_its_last_row_is_before_since(venue: Novig) -> None:
    """Only the oldest fill of a full newest-first page is before `since`: that is the last CASH page."""
    times = newest_first(SINCE - timedelta(minutes=1))
    page = fills_page(venue, [fill(n, t) for n, t in enumerate(times)])
    assert page.next_page == "COIN:0"
    assert len(page.events) == FULL - 1


def test_a_full_page_of_equal_times_before_since_is_newest_first_and_stops(venue: Novig) -> None:
    """Rows of the same time are in newest-first order: a full page of them, all before `since`, stops."""
    page = fills_page(venue, [fill(n, SINCE - timedelta(hours=1)) for n in range(FULL)])
    assert (page.next_page, page.events) == ("COIN:0", [])


def test_a_full_oldest_first_page_is_read_on_whatever_its_times(venue: Novig) -> None:
    """A page not newest first says nothing of the next one: a full one is followed even past `since`."""
    times = newest_first(SINCE - timedelta(days=3))[::-1]
    page = fills_page(venue, [fill(n, t) for n, t in enumerate(times)], "COIN:512")
    assert page.next_page == "COIN:768"


def test_orders_are_read_back_to_the_oldest_order_known_open(venue: Novig) -> None:
    """An order known open placed long before `since` must be found again: a full orders page before
    `since` but not before that order asks for the next offset; one past it is the last."""
    old = datetime(2025, 12, 1, tzinfo=UTC)
    read_orders(venue, [order("o-newest", datetime(2026, 1, 1, tzinfo=UTC)), order("o-old", old, "OPEN", 10)])
    rows = [order(f"r-{n}", t) for n, t in enumerate(newest_first(datetime(2025, 12, 15, tzinfo=UTC)))]
    assert venue.parse_history("orders", orjson.dumps(rows), SINCE, None).next_page == "CASH:256"
    rows = [order(f"s-{n}", t) for n, t in enumerate(newest_first(old - timedelta(minutes=1)))]
    assert venue.parse_history("orders", orjson.dumps(rows), SINCE, "CASH:256").next_page == "COIN:0"


def test_orders_are_read_back_to_the_last_reads_newest_order(venue: Novig) -> None:
    """Orders placed since the last read are new to it, whatever `since`: a full page before `since` but
    after the last read's newest order asks for more; the answer without a full page completes the read."""
    read_orders(venue, [order("o-newest", datetime(2026, 1, 1, tzinfo=UTC))])
    rows = [order(f"r-{n}", t) for n, t in enumerate(newest_first(datetime(2026, 1, 1, 12, tzinfo=UTC)))]
    assert venue.parse_history("orders", orjson.dumps(rows), SINCE, None).next_page == "CASH:256"
    assert venue.parse_history("orders", b"[]", SINCE, "CASH:256").next_page == "COIN:0"
    assert venue.parse_history("orders", b"[]", SINCE, "COIN:0").next_page is None


# Rows skipped and counted ---------------------------------------------------------------------


def test_unreadable_rows_are_counted_on_every_kind_of_page(venue: Novig) -> None:
    """The documented fills row without orderId, and rows that are no objects, are skipped and counted,
    and the rows after them still read: on a full page, on the last CASH page and on the last page."""
    documented = {"id": "f-doc", "qty": 200, "price": 0.61, "isTaker": True, "fee": "1.4274"}  # §6.1 fragment
    times = newest_first(SINCE + timedelta(hours=1), FULL - 2)
    full = [documented, "junk", *(fill(n, t) for n, t in enumerate(times))]
    page = fills_page(venue, full)
    assert (page.next_page, page.skipped, len(page.events)) == ("CASH:256", 2, FULL - 2)
    short = fills_page(venue, [documented, fill(1, SINCE)], "CASH:256")
    assert (short.next_page, short.skipped, [e.id for e in short.events]) == ("COIN:0", 1, ["f-1"])
    last = fills_page(venue, [None, 7, fill(2, SINCE)], "COIN:0")
    assert (last.next_page, last.skipped, [e.id for e in last.events]) == (None, 2, ["f-2"])


def test_unreadable_orders_are_counted_and_the_rest_still_read(venue: Novig) -> None:
    """An order row that cannot be read is skipped and counted; the rows after it still update the orders."""
    rows = [{"id": "o-bad"}, order("o-1", SINCE, "OPEN", 10)]
    page = venue.parse_history("orders", orjson.dumps(rows), EPOCH, None)
    assert (page.next_page, page.skipped) == ("COIN:0", 1)
    assert venue.open_orders == {"o-1": "m"}


@pytest.mark.parametrize("key", ["fills", "data", "items", "results"])
def test_a_page_may_hold_its_rows_under_a_usual_key(venue: Novig, key: str) -> None:
    """A page is a bare array or an object with the rows under fills/orders, data, items or results (§8)."""
    body = orjson.dumps({key: [fill(1, SINCE)]})
    assert [e.id for e in venue.parse_history("fills", body, SINCE, None).events] == ["f-1"]


def test_a_page_of_no_known_shape_and_a_foreign_page_token_are_errors(venue: Novig) -> None:
    """A page with no rows under a usual key, or a page token of no Novig currency, raises ValueError."""
    with pytest.raises(ValueError, match=r"^unexpected fills history page$"):
        venue.parse_history("fills", b'{"fills":"none","rows":[]}', SINCE, None)
    with pytest.raises(ValueError, match=r"^not a Novig page token: 'EUR:0'$"):
        venue.history_request("fills", SINCE, "EUR:0", 0)


# Currencies of orders -------------------------------------------------------------------------


def test_orders_without_a_known_currency_take_the_pages(venue: Novig) -> None:
    """orders/all is read per currency: a row whose currency is missing or unknown is of the page's
    currency, for its cancel and for later fills of it."""
    read_orders(venue, [order("o-seen", datetime(2026, 1, 1, tzinfo=UTC))])
    assert venue.parse_history("orders", b"[]", EPOCH, None).next_page == "COIN:0"
    rows = [
        {k: v for k, v in order("o-none", SINCE, "OPEN", 10).items() if k != "currency"},
        order("o-usd", SINCE, "OPEN", 10, currency="USD"),
        {k: v for k, v in order("o-gone", SINCE, "CANCELLED", 10).items() if k != "currency"},
    ]
    (cancel,) = venue.parse_history("orders", orjson.dumps(rows), EPOCH, "COIN:0").events
    assert (cancel.id, cancel.currency) == ("o-gone", "COIN")
    for order_id in ("o-none", "o-usd"):
        frame = {
            "id": f"f-{order_id}",
            "orderId": order_id,
            "price": 0.4,
            "qty": 1,
            "createdAt": "2026-01-02T00:00:01Z",
        }
        frame |= {"marketId": "m", "outcomeId": "x"}
        (live,) = venue.parse(orjson.dumps({"event": "fill", "data": frame}).decode())
        assert live.currency == "COIN"
