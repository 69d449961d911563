"""The Novig NBX adapter's book of your orders: which REST orders rest, which ended, which are new,
what the next run is told (memory/recall), and which entries its bounded caches drop. Rows:
/work/shared/protocols/novig.md (NBX) §6.2 (orders/all: the cancel endpoints' order object), §4.3
(fill), §4.4 (cancel), §4.5 (CLOSE); the reconciliation after a gap is §7 (6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from fillwatch.core.events import Cancel, Event, Fill
from fillwatch.core.secret import Secret
from fillwatch.venues.novig.adapter import Novig
from fillwatch.venues.spec import TokenCell

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CLOCK = 1767225600.1236  # 2026-01-01T00:00:00.1236Z: a clock with a fourth decimal


def adapter(clock: float = CLOCK) -> Novig:
    novig = Novig(api_url="https://api.example/nbx/v2", clock=lambda: clock, token=TokenCell(Secret("tok-123")))
    return novig


@pytest.fixture
def venue() -> Novig:
    return adapter()


def order(order_id: str, placed: datetime, status: str = "OPEN", qty: int = 50, **changes: Any) -> dict[str, Any]:
    """An orders/all row (§6.2)."""
    row = {"id": order_id, "outcomeId": "x", "marketId": "m", "price": 0.4, "qty": qty, "originalQty": 100}
    return row | {"currency": "CASH", "timestamp": placed.isoformat(), "status": status} | changes


def read(venue: Novig, rows: list[dict[str, Any]]) -> list[Event]:
    """A complete orders/all read of `rows` (all on CASH pages), following every page; its events."""
    body, page, events = orjson.dumps(rows), None, []
    while True:
        result = venue.parse_history("orders", body, EPOCH, page)
        events += result.events
        page = result.next_page
        if page is None:
            return events
        body = b"[]"


def live(venue: Novig, event: str, data: dict[str, Any]) -> Any:
    (item,) = venue.parse(orjson.dumps({"event": event, "data": data}).decode())
    return item


def live_fill(venue: Novig, order_id: str) -> Fill:
    """The §4.3 fill of `order_id`."""
    data = {"id": f"f-{order_id}", "orderId": order_id, "price": 0.4, "qty": 1, "createdAt": "2026-01-01T01:00:00Z"}
    item = live(venue, "fill", data | {"marketId": "m", "outcomeId": "x"})
    assert isinstance(item, Fill)
    return item


def live_cancel(venue: Novig, row: dict[str, Any], ts: datetime, **changes: Any) -> Cancel:
    """The §4.4 cancel of the order in `row`."""
    item = live(venue, "cancel", {**row, "status": "CANCELLED", "timestamp": ts.isoformat(), **changes})
    assert isinstance(item, Cancel)
    return item


def next_run(memory: Any) -> Novig:
    """A later run's adapter, taking up `memory` as read back from the JSON state file."""
    later = adapter(CLOCK + 3600)
    later.recall(orjson.loads(orjson.dumps(memory)))
    return later


def nothing_done(event: Event) -> bool:
    return False


# What a REST order says ---------------------------------------------------------------------------


def test_an_order_rests_only_with_quantity_left(venue: Novig) -> None:
    """An OPEN order with 0 left is not resting; one with 1 left is."""
    read(venue, [order("o-0", T0, qty=0), order("o-1", T0, qty=1)])
    assert venue.open_orders == {"o-1": "m"}


def test_an_order_known_open_and_cancelled_with_nothing_left_cancels_nothing(venue: Novig) -> None:
    """Cancelled with 0 left (wholly filled) gives no cancel and is no fault; with 1 left, a cancel of 1."""
    read(venue, [order("o-0", T0), order("o-1", T0)])
    page = venue.parse_history("orders", orjson.dumps([order("o-0", T0, "CANCELLED", 0)]), EPOCH, None)
    assert (page.events, page.skipped) == ([], 0)
    (cancel,) = venue.parse_history("orders", orjson.dumps([order("o-1", T0, "CANCELLED", 1)]), EPOCH, "COIN:0").events
    assert (cancel.id, cancel.qty) == ("o-1", Decimal(1))
    assert venue.open_orders == {}


def test_an_order_placed_exactly_a_second_before_the_last_reads_newest_is_new(venue: Novig) -> None:
    """Times may be whole seconds: an order never seen, placed one second before the last read's newest
    order, is new; cancelled, REST is the only witness of its cancel."""
    read(venue, [order("o-seen", T0 + timedelta(seconds=1), "FILLED", 0)])
    (cancel,) = read(venue, [order("o-new", T0, "CANCELLED", 20)])
    assert (cancel.id, cancel.qty, cancel.source) == ("o-new", Decimal(20), "history")
    assert read(venue, [order("o-older", T0 - timedelta(milliseconds=1), "CANCELLED", 20)]) == []


def test_the_newest_order_seen_never_moves_back(venue: Novig) -> None:
    """A read whose newest order is older than the last read's does not make older orders new again."""
    read(venue, [order("o-newest", T0 + timedelta(seconds=10), "FILLED", 0)])
    read(venue, [order("o-older", T0 + timedelta(seconds=5), "FILLED", 0)])
    assert read(venue, [order("o-between", T0 + timedelta(seconds=7), "CANCELLED", 20)]) == []


def test_a_cancel_without_a_time_from_rest_is_dated_by_the_clocks_millisecond(venue: Novig) -> None:
    """REST gives no cancel time: the cancel is dated when learned, to the millisecond (rounded)."""
    read(venue, [order("o-1", T0)])
    (cancel,) = read(venue, [order("o-1", T0, "CANCELLED")])
    assert cancel.ts == datetime(2026, 1, 1, 0, 0, 0, 124000, tzinfo=UTC)


def test_a_cancel_from_rest_is_dated_by_cancelled_at(venue: Novig) -> None:
    """An order carrying cancelledAt (and no updatedAt) dates its cancel with it."""
    read(venue, [order("o-1", T0)])
    (cancel,) = read(venue, [order("o-1", T0, "CANCELLED", cancelledAt="2026-01-01T00:30:00Z")])
    assert cancel.ts == T0 + timedelta(minutes=30)


def test_a_market_seen_closing_names_the_reason_of_a_dated_rest_cancel(venue: Novig) -> None:
    """A CLOSE of a market none of your known orders was on asks for nothing; an order on it that REST
    later shows cancelled, with updatedAt, is dated with that and closed by the market."""
    read(venue, [order("o-seen", T0, "FILLED", 0)])
    assert venue.parse('{"type":"CLOSE","market":{"id":"m-shut"}}') == ()
    row = order("o-new", T0 + timedelta(seconds=5), "CANCELLED", 30, marketId="m-shut")
    (cancel,) = read(venue, [row | {"updatedAt": "2026-01-01T00:00:09Z"}])
    assert (cancel.reason, cancel.ts, cancel.source) == ("market_closed", T0 + timedelta(seconds=9), "history")


# What the next run is told --------------------------------------------------------------------


def test_the_memory_carries_the_open_orders_with_their_placing_times() -> None:
    """The orders known open go to the state file with market, currency and placing time (or null),
    and come back from it the same."""
    first = adapter()
    read(first, [order("o-1", T0, currency="COIN"), order("o-2", T0 + timedelta(seconds=2))])
    memory = first.memory(nothing_done)
    assert memory == {
        "orders_seen_until": "2026-01-01T00:00:02+00:00",
        "open": [["o-1", "m", "COIN", "2026-01-01T00:00:00+00:00"], ["o-2", "m", "CASH", "2026-01-01T00:00:02+00:00"]],
        "ended": [],
    }
    given = {"orders_seen_until": "2026-01-01T00:00:02+00:00", "open": [["o-3", "m", "COIN", None], *memory["open"]]}
    later = next_run(given | {"ended": []})
    assert later.memory(nothing_done) == given | {"ended": []}
    assert live_fill(later, "o-3").currency == "COIN"


def test_a_bad_memory_says_what_was_wrong(venue: Novig) -> None:
    """A memory that is not what memory() makes is refused naming the missing part or the bad currency."""
    with pytest.raises(ValueError, match=r"^not a Novig order memory \(missing open\)$"):
        venue.recall({"orders_seen_until": "2026-01-01T00:00:00Z", "ended": []})
    bad = {"orders_seen_until": "2026-01-01T00:00:00Z", "open": [["o", "m", "EUR", None]], "ended": []}
    with pytest.raises(ValueError, match=r"^not a Novig order memory \(unknown currency 'EUR'\)$"):
        venue.recall(bad)


def test_no_memory_after_a_read_that_saw_no_order(venue: Novig) -> None:
    """An orders read that found no order at all, from whichever page, leaves nothing to remember."""
    assert venue.parse_history("orders", b"[]", EPOCH, "COIN:0").next_page is None
    assert venue.memory(nothing_done) is None


def test_a_live_cancel_not_yet_shown_is_made_again_by_the_next_run(venue: Novig) -> None:
    """The run stops after parsing a cancel of an order known open and before showing it: the memory
    keeps the order open, so the next run's read makes the cancel again."""
    a = order("o-a", T0)
    read(venue, [a, order("o-z", T0 + timedelta(seconds=10), "FILLED", 0)])
    made = live_cancel(venue, a, T0 + timedelta(seconds=20))
    (again,) = read(next_run(venue.memory(nothing_done)), [{**a, "status": "CANCELLED"}])
    assert (again.id, again.qty) == (made.id, made.qty)


def test_a_rest_cancel_not_yet_shown_is_made_again_by_the_next_run(venue: Novig) -> None:
    """The same for a cancel REST revealed of an order placed long before the last read's newest."""
    a = order("o-a", T0)
    read(venue, [a, order("o-z", T0 + timedelta(seconds=10), "FILLED", 0)])
    (made,) = read(venue, [{**a, "status": "CANCELLED"}])
    (again,) = read(next_run(venue.memory(nothing_done)), [{**a, "status": "CANCELLED"}])
    assert (again.id, again.qty) == (made.id, made.qty)


def test_an_order_cancelled_a_second_before_the_horizon_is_never_new_again(venue: Novig) -> None:
    """A shown cancel of an order nobody knew, dated one second before the newest order seen, is kept as
    ended through later reads and into the memory: the next run does not report it again."""
    read(venue, [order("o-z", T0 + timedelta(seconds=10), "FILLED", 0)])
    row = order("o-x", T0 + timedelta(seconds=9, milliseconds=500), "CANCELLED", 20)
    shown = live_cancel(venue, row, T0 + timedelta(seconds=9), currency="EUR")
    read(venue, [order("o-z", T0 + timedelta(seconds=10), "FILLED", 0)])
    memory = venue.memory(lambda event: event == shown)
    assert memory["ended"] == ["o-x"]
    assert read(next_run(memory), [row]) == []


# Bounded caches drop their oldest entries -------------------------------------------------------


def test_the_pending_cancels_kept_for_the_next_run_are_the_newest() -> None:
    """Cancels made but not shown are kept for the next run up to a bound: past it, the oldest are
    dropped and the newest kept."""
    venue = adapter()
    rows = [order(f"o-{n}", T0) for n in range(5000)]
    read(venue, rows)
    for row in rows:
        live_cancel(venue, row, T0 + timedelta(seconds=1))
    kept = [order_id for order_id, *_ in venue.memory(nothing_done)["open"]]
    ids = [row["id"] for row in rows]
    assert 0 < len(kept) < len(ids)
    assert kept == ids[-len(kept) :]


def test_an_orders_currency_is_remembered_after_it_stopped_resting(venue: Novig) -> None:
    """A fill of an order orders/all showed filled is labelled with the currency of that order."""
    read(venue, [order("o-1", T0, "FILLED", 0, currency="COIN")])
    assert live_fill(venue, "o-1").currency == "COIN"


def test_the_currency_cache_drops_the_oldest_order_and_keeps_what_rests(venue: Novig) -> None:
    """Past the bound of remembered currencies the oldest entry goes, never the newest; an order still
    resting keeps its currency all the same."""
    rows = [order(f"o-{n}", T0) for n in range(65_536)]
    read(venue, [*rows, order("o-last", T0, "FILLED", 0, currency="COIN")])
    assert live_fill(venue, "o-last").currency == "COIN"
    assert live_fill(venue, "o-0").currency == "CASH"


def test_a_close_after_a_gap_gives_no_reason_to_an_order_that_may_have_ended_in_the_gap(venue: Novig) -> None:
    """A full backfill's orders read shows ended an order known open, after a CLOSE of its market: no reason."""
    read(venue, [order("o-1", T0)])
    venue.parse_history("fills", b"[]", EPOCH, None)  # a reconnection's backfill begins: the stream had a gap
    assert venue.parse('{"type":"CLOSE","market":{"id":"m"}}') != ()  # seen live while the backfill reads
    venue.parse_history("fills", b"[]", EPOCH, "COIN:0")
    (cancel,) = read(venue, [order("o-1", T0, "CANCELLED")])  # cancelled in the gap, or by the close
    assert (cancel.reason, cancel.source) == (None, "history")
    read(venue, [order("o-2", T0 + timedelta(seconds=5), marketId="m-2")])  # a read after the gap: sure again
    assert venue.parse('{"type":"CLOSE","market":{"id":"m-2"}}') != ()
    (cancel,) = read(venue, [order("o-2", T0 + timedelta(seconds=5), "CANCELLED", marketId="m-2")])
    assert (cancel.reason, cancel.source) == ("market_closed", "live")
