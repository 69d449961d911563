"""The Novig v3 ``orders``-channel adapter at its edges: bounds, boundaries, eviction and what each item says.

Message shapes are Novig's documented examples: the "Private" streaming page (``api/streaming/private``:
the snapshot ``{"orders": {"seq", "open": [...]}}``, the batch ``{"ts", "orders": {"seq", "deltas": [...]}}``
with ``open``/``fill``/``cancel``/``reject`` events, the heartbeat, the snapshot request), the
"Connection" page (``api/streaming/connection``: subscribe, errors with a nonce, gaps) and the REST
``Order`` of ``GET /v3/orders/{id}``, as summarised in ``protocols/novig-v3.md`` §1, §4–§5 and §8.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from fillwatch.core.events import Cancel, Fill
from fillwatch.venues.base import Ack, Malformed, Rejected, Reply, Resync
from fillwatch.venues.novig_v3.orders import (
    ENDPOINTS,
    WS_PATH,
    Gap,
    NovigV3Orders,
    OrderLookup,
    Recovered,
    stream_fill_id,
)

ORDER, MARKET, OUTCOME = "7c9e6679-7425-40de-944b-e07fc1f90ae7", "6f9619ff-8b86-d011-b42d", "3f2504e0-4f89-11d3"
TS = 1757894400456


def _entry(order_id: str = ORDER, qty: int = 110, price: str = "0.665", **more: object) -> dict:
    """A snapshot ``open`` entry (Private page), for one order."""
    return {"orderId": order_id, "clientId": "c", "marketId": MARKET, "outcomeId": OUTCOME, "price": price,
            "qty": qty, "tif": "GTC", **more}  # fmt: skip


def _fill(order_id: str = ORDER, qty: int = 40, remaining: int = 70, price: str = "0.670") -> dict:
    """A batch ``fill`` event (Private page)."""
    return {"kind": "fill", "orderId": order_id, "clientId": "c", "outcomeId": OUTCOME, "price": price, "qty": qty,
            "remaining": remaining}  # fmt: skip


def _open(order_id: str, qty: int, price: str = "0.45") -> dict:
    return {**_entry(order_id, qty, price), "kind": "open"}


def _cancel(order_id: str = ORDER, **more: object) -> dict:
    return {"kind": "cancel", "orderId": order_id, **more}


def _frame(message: object) -> str:
    return orjson.dumps(message).decode()


def _batch(seq: int, *events: object, ts: int = TS) -> str:
    return _frame({"ts": ts, "delta": {}, "orders": {"seq": seq, "deltas": list(events)}})


def _snapshot(seq: int, *entries: dict, nonce: int | None = 1) -> str:
    head = {"ts": TS - 100} if nonce is None else {"ts": TS - 100, "nonce": nonce}
    return _frame({**head, "subscribed": {"private": ["orders"]}, "orders": {"seq": seq, "open": list(entries)}})


def _start(text: str | bytes) -> str:
    """The start of a frame as a diagnostic shows it: 120 characters, then an ellipsis for a longer text frame."""
    if isinstance(text, bytes):
        return text[:120].decode()
    return text if len(text) <= 120 else text[:120] + "…"


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@pytest.fixture
def venue() -> NovigV3Orders:
    """An adapter on a fresh connection, baselined by a snapshot at seq 907 holding one order of 110 at 0.665."""
    adapter = NovigV3Orders()
    adapter.subscribe_frames()
    assert adapter.parse(_snapshot(907, _entry())) == [Ack("orders")]
    return adapter


def _cancel_of(order_id: str, qty: int, original: int | None, price: str = "0.665", ts: int = TS,
               reason: str | None = None, side: str = OUTCOME, market: str = MARKET) -> Cancel:  # fmt: skip
    return Cancel(venue="novig", id=order_id, order_id=order_id, market=market, side=side, action="buy",
                  price=Decimal(price), qty=Decimal(qty), ts=_at(ts), original_qty=None if original is None
                  else Decimal(original), currency="USD", reason=reason)  # fmt: skip


# The venue's identity -----------------------------------------------------------------------------


def test_the_adapter_names_the_venue_its_channel_and_the_documented_endpoints() -> None:
    """The adapter is venue "novig" on channel "orders"; prod and QA URLs are the documented ones (§1)."""
    assert (NovigV3Orders.name, NovigV3Orders.channels, WS_PATH) == ("novig", frozenset({"orders"}), "/v3/ws")
    assert ENDPOINTS == {
        "prod": ("wss://api.novig.com/v3/ws", "https://api.novig.com"),
        "demo": ("wss://api.qa.novig.com/v3/ws", "https://api.qa.novig.com"),
    }
    assert stream_fill_id("o-1", 0) == "o-1:0"


def test_requests_count_nonces_from_one_even_without_a_subscribe() -> None:
    """The adapter's first request has nonce 1: a snapshot request after a gap on a never-subscribed adapter."""
    adapter = NovigV3Orders()
    adapter.parse(_snapshot(1, nonce=None))
    gap, reply = adapter.parse(_batch(3, _cancel()))
    assert gap == Gap("orders", 2, 3, "batch")
    assert reply == Reply(b'{"nonce":1,"snapshot":{"private":["orders"]}}')


def test_each_reconnect_subscribes_with_nonce_one_and_counts_on() -> None:
    """Every new connection subscribes with nonce 1, and its next request (a snapshot after a gap) is nonce 2."""
    adapter = NovigV3Orders()
    for _ in range(2):
        assert adapter.subscribe_frames() == [b'{"nonce":1,"subscribe":{"private":["orders"]}}']
        adapter.parse(_snapshot(10))
        assert adapter.parse(_batch(12, _cancel()))[1] == Reply(b'{"nonce":2,"snapshot":{"private":["orders"]}}')


# Fills and cancels --------------------------------------------------------------------------------


def test_a_fill_that_empties_the_order_forgets_it(venue: NovigV3Orders) -> None:
    """After a fill with ``remaining`` 0 the order is gone: a later cancel of it waits for a REST lookup."""
    (fill,) = venue.parse(_batch(908, _fill(qty=110, remaining=0)))
    assert (fill.id, fill.qty, fill.taker) == (f"{ORDER}:0", 110, False)
    assert venue.parse(_batch(909, _cancel())) == [OrderLookup(ORDER)]


def test_a_fill_leaving_one_contract_keeps_the_order(venue: NovigV3Orders) -> None:
    """A fill leaving one contract keeps the order resting: its cancel is for that one contract."""
    venue.parse(_batch(908, _fill(qty=109, remaining=1)))
    assert venue.parse(_batch(909, _cancel(), ts=TS + 5)) == [_cancel_of(ORDER, 1, None, ts=TS + 5)]


def test_a_cancelled_order_is_forgotten(venue: NovigV3Orders) -> None:
    """Once cancelled, an order is no longer known: a second cancel of it waits for a REST lookup."""
    assert venue.parse(_batch(908, _cancel(reason="MARKET_CLOSED"))) == [
        _cancel_of(ORDER, 110, None, reason="market_closed")
    ]
    assert venue.parse(_batch(909, _cancel())) == [OrderLookup(ORDER)]


def test_a_rejected_resting_order_is_forgotten(venue: NovigV3Orders) -> None:
    """A reject takes a resting order off the book as a venue cancel; a later fill of it waits for a lookup."""
    assert venue.parse(_batch(908, {"kind": "reject", "orderId": ORDER})) == [
        _cancel_of(ORDER, 110, None, reason="other")
    ]
    assert venue.parse(_batch(909, _fill())) == [OrderLookup(ORDER)]


@pytest.mark.parametrize(("remaining", "qty"), [(1, 1), (110, 110)])
def test_a_cancel_carrying_remaining_is_sized_from_it_down_to_one(
    venue: NovigV3Orders, remaining: int, qty: int
) -> None:
    """A ``cancel`` with ``remaining`` is sized from it, one contract included."""
    assert venue.parse(_batch(908, _cancel(remaining=remaining))) == [_cancel_of(ORDER, qty, None)]


@pytest.mark.parametrize(
    ("price", "exact"), [("0", "0"), ("1", "1"), ("1.000", "1.000"), ("0.5", "0.5"), (0.25, "0.25")]
)
def test_prices_at_the_ends_of_the_range_are_exact(venue: NovigV3Orders, price: object, exact: str) -> None:
    """Prices 0 and 1 (the range's ends) and padded forms are kept as the exact decimals sent."""
    event = {**_fill(qty=1, remaining=109), "price": price}
    (fill,) = venue.parse(_batch(908, event))
    assert (fill.price, str(fill.price)) == (Decimal(exact), exact)


def test_the_largest_64_bit_quantity_is_read_and_one_more_is_not(venue: NovigV3Orders) -> None:
    """A quantity of 2**63 − 1 contracts is read exactly; 2**63 is a skipped event."""
    big = 2**63 - 1
    (fill,) = venue.parse(_batch(908, _open("q-1", big), _fill(order_id="q-1", qty=big, remaining=0)))
    assert fill.qty == Decimal(big)
    bad = _fill(qty=2**63, remaining=0)
    (item,) = venue.parse(_batch(909, bad))
    assert item == Malformed(
        f"bad Novig v3 order event (expected an integer >= 1, got {2**63})", _start(_batch(909, bad))
    )


def test_an_order_placed_on_the_stream_keeps_its_size_across_a_reconnect(venue: NovigV3Orders) -> None:
    """An order whose ``open`` was seen keeps its original size after a reconnect's snapshot lists it again."""
    venue.parse(_batch(908, _open("a-2", 50)))
    venue.subscribe_frames()
    venue.parse(_snapshot(3, _entry("a-2", 30, "0.45")))
    assert venue.parse(_batch(4, _cancel("a-2"))) == [_cancel_of("a-2", 30, 50, price="0.45")]


def test_an_open_after_its_fill_in_one_batch_keeps_the_size_from_the_fill(venue: NovigV3Orders) -> None:
    """Fills before their ``open`` size the order (filled + remaining); the ``open`` does not reset that size."""
    made = venue.parse(_batch(908, _fill("b-3", qty=10, remaining=60), _fill("b-3", qty=20, remaining=40),
                              _open("b-3", 40)))  # fmt: skip
    assert [(f.qty, f.taker, f.market) for f in made] == [(10, True, MARKET), (20, True, MARKET)]
    assert venue.parse(_batch(909, _cancel("b-3"))) == [_cancel_of("b-3", 40, 70, price="0.45")]


def test_a_fill_of_an_order_opened_in_an_earlier_batch_is_a_maker_fill(venue: NovigV3Orders) -> None:
    """An order that rested before the batch fills as maker, and its cancel carries its original size."""
    venue.parse(_batch(908, _open("a-2", 50)))
    (fill,) = venue.parse(_batch(909, _fill("a-2", qty=20, remaining=30, price="0.45"), ts=TS + 9))
    assert fill == Fill(venue="novig", id="a-2:30", order_id="a-2", market=MARKET, side=OUTCOME, action="buy",
                        price=Decimal("0.45"), qty=Decimal(20), ts=_at(TS + 9), taker=False,
                        currency="USD")  # fmt: skip


def test_an_open_then_a_fill_in_one_batch_is_a_taker_fill_of_a_known_order(venue: NovigV3Orders) -> None:
    """An order that starts resting within the batch was not resting before it: its fill is a taker fill."""
    (fill,) = venue.parse(_batch(908, _open("a-2", 50), _fill("a-2", qty=5, remaining=45)))
    assert (fill.taker, fill.market, fill.id) == (True, MARKET, "a-2:45")


def test_a_one_contract_fill_before_its_open_is_read(venue: NovigV3Orders) -> None:
    """A taker fill of a single contract that precedes its order's ``open`` is a fill, and sizes the order."""
    (fill,) = venue.parse(_batch(908, _fill("b-4", qty=1, remaining=4), _open("b-4", 4)))
    assert (fill.qty, fill.taker, fill.id) == (1, True, "b-4:4")
    assert venue.parse(_batch(909, _cancel("b-4"))) == [_cancel_of("b-4", 4, 5, price="0.45")]


def test_a_fill_that_empties_an_order_before_its_open_is_still_a_fill(venue: NovigV3Orders) -> None:
    """Even when a fill leaves nothing and the ``open`` still follows in the batch, the fill is reported."""
    (fill,) = venue.parse(_batch(908, _fill("b-5", qty=3, remaining=0), _open("b-5", 2)))
    assert (fill.qty, fill.taker, fill.id, fill.market) == (3, True, "b-5:0", MARKET)


# Orders known only from REST ----------------------------------------------------------------------


def _rest(
    order_id: str, qty: int, remaining: int, price: str = "0.700", market: str = "m-9", outcome: str = "o-9"
) -> bytes:
    """A REST ``Order`` body (``GET /v3/orders/{id}``)."""
    return orjson.dumps({"orderId": order_id, "marketId": market, "outcomeId": outcome, "price": price, "qty": qty,
                         "remaining": remaining, "tif": "GTC", "status": "OPEN", "createdTs": TS})  # fmt: skip


def test_a_waiting_cancel_is_sized_and_priced_from_the_rest_order(venue: NovigV3Orders) -> None:
    """A cancel of an unknown order waits; the REST order gives its market, outcome, limit price and sizes."""
    assert venue.parse(_batch(908, _cancel("r-1", reason="SETTLED"), ts=TS + 3)) == [OrderLookup("r-1")]
    assert venue.learn_order(_rest("r-1", 10, 1)) == [
        _cancel_of("r-1", 1, 10, price="0.700", ts=TS + 3, reason="settled", side="o-9", market="m-9")
    ]


def test_a_rest_order_sized_one_with_nothing_left_is_read(venue: NovigV3Orders) -> None:
    """The smallest REST order (qty 1, remaining 0) releases its waiting fill as a taker fill."""
    venue.parse(_batch(908, _fill("r-2", qty=1, remaining=0)))
    (fill,) = venue.learn_order(_rest("r-2", 1, 0))
    assert (fill.market, fill.qty, fill.taker, fill.id) == ("m-9", 1, True, "r-2:0")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_rest("r-3", 0, 0), "bad Novig v3 order (expected an integer >= 1, got 0)"),
        (_rest("r-3", 5, -1), "bad Novig v3 order (expected an integer >= 0, got -1)"),
        (_rest("r-3", 5, 0, price="1.01"), "bad Novig v3 order (price out of range: '1.01')"),
        (_rest("r-3", 5, 0, market=""), "bad Novig v3 order (expected a non-empty string, got '')"),
        (b'{"orderId": "r-3"}', "bad Novig v3 order (missing marketId)"),
    ],
)
def test_a_bad_rest_order_says_why_and_keeps_the_events_waiting(venue: NovigV3Orders, body: bytes, reason: str) -> None:
    """A REST order that cannot be read is one Malformed naming the problem; a good one later still releases."""
    venue.parse(_batch(908, _fill("r-3", qty=5, remaining=0)))
    assert venue.learn_order(body) == [Malformed(reason, _start(body))]
    assert [f.id for f in venue.learn_order(_rest("r-3", 5, 0))] == ["r-3:0"]


def test_an_order_is_looked_up_once_however_many_events_wait(venue: NovigV3Orders) -> None:
    """Events of one unknown order across batches ask for it once, and all come out in order."""
    assert venue.parse(_batch(908, _fill("r-4", 1, 2))) == [OrderLookup("r-4")]
    assert venue.parse(_batch(909, _fill("r-4", 1, 1), _fill("r-4", 1, 0))) == []
    assert [f.id for f in venue.learn_order(_rest("r-4", 3, 0))] == ["r-4:2", "r-4:1", "r-4:0"]


def test_at_most_256_events_wait_for_one_order(venue: NovigV3Orders) -> None:
    """256 events of one unknown order wait for its lookup; the 257th is skipped and counted."""
    fills = [_fill("r-5", 1, 300 - n) for n in range(257)]
    assert venue.parse(_batch(908, *fills)) == [
        OrderLookup("r-5"), Malformed("too many Novig v3 events waiting for order r-5", "")
    ]  # fmt: skip
    assert len(venue.learn_order(_rest("r-5", 300, 43))) == 256


def test_at_most_1000_orders_wait_and_the_oldest_is_dropped_first(venue: NovigV3Orders) -> None:
    """1000 unknown orders can wait; one more drops the oldest waiting order (counted) and waits in its place."""
    lookups = venue.parse(_batch(908, *[_cancel(f"w-{n}") for n in range(1000)]))
    assert lookups == [OrderLookup(f"w-{n}") for n in range(1000)]
    assert venue.parse(_batch(909, _cancel("w-new"))) == [
        Malformed("too many Novig v3 orders waiting for a lookup; dropped w-0", ""),
        OrderLookup("w-new"),
    ]
    assert venue.learn_order(_rest("w-0", 5, 5)) == []
    for order_id in ("w-1", "w-999", "w-new"):
        assert [c.order_id for c in venue.learn_order(_rest(order_id, 5, 5))] == [order_id]


def test_the_book_keeps_the_100000_most_recently_opened_orders(venue: NovigV3Orders) -> None:
    """The order cache holds 100 000 orders; opening one more evicts the least recently opened, not others."""
    venue.subscribe_frames()
    venue.parse(_snapshot(1, *[_entry(f"k-{n}", 1) for n in range(100_000)]))
    venue.parse(_batch(2, _open("k-0", 1)))  # reopened: now the most recent
    venue.parse(_batch(3, _open("k-new", 1)))
    assert venue.parse(_batch(4, _cancel("k-1"))) == [OrderLookup("k-1")]
    cancels = venue.parse(_batch(5, _cancel("k-0"), _cancel("k-2"), _cancel("k-new")))
    assert [(type(c), c.order_id) for c in cancels] == [(Cancel, "k-0"), (Cancel, "k-2"), (Cancel, "k-new")]


# Sequence, recovery and errors --------------------------------------------------------------------


def test_a_snapshot_leaving_a_further_jump_asks_again(venue: NovigV3Orders) -> None:
    """A snapshot that leaves a held batch beyond a second jump applies what it can and asks for another snapshot."""
    venue.parse(_batch(909, _fill(qty=1, remaining=109)))  # gap: 908 missing, snapshot request nonce 2
    venue.parse(_batch(911, _cancel()))
    items = venue.parse(_snapshot(908, _entry(), nonce=2))
    assert [type(i) for i in items] == [Ack, Recovered, Fill, Gap, Reply]
    assert items[3:] == [Gap("orders", 910, 911, "batch"), Reply(b'{"nonce":3,"snapshot":{"private":["orders"]}}')]


def test_a_snapshot_and_batches_at_seq_zero_and_one_are_read(venue: NovigV3Orders) -> None:
    """A snapshot at seq 0 is a baseline, heartbeat 0 then matches it, and batch 1 follows it."""
    venue.subscribe_frames()
    assert venue.parse(_snapshot(0, _entry())) == [Ack("orders"), Recovered(0, None, (), (), ())]
    assert venue.parse(_frame({"heartbeat": {"orders": 0, "ts": TS}})) == []
    assert [type(i) for i in venue.parse(_batch(1, _fill()))] == [Fill]


def test_a_batch_at_seq_zero_is_skipped(venue: NovigV3Orders) -> None:
    """Batches are numbered from 1: a batch claiming seq 0 is one Malformed item."""
    frame = _batch(0, _fill())
    assert venue.parse(frame) == [Malformed("bad Novig v3 frame (expected an integer >= 1, got 0)", _start(frame))]


def test_recovery_reports_the_time_of_the_last_batch_and_each_kind_of_change(venue: NovigV3Orders) -> None:
    """After a reconnect the snapshot's diff names ended, shrunk and new orders (not unchanged or grown ones),
    with the time of the last batch applied before the loss."""
    venue.parse(_batch(908, _open("same", 5), _open("grew", 5), _open("shrank", 5), _open("ended", 5), ts=TS + 1))
    venue.parse(_batch(909, _fill("same", 1, 4), ts=TS + 2))
    venue.subscribe_frames()
    book = [_entry(ORDER), _entry("same", 4), _entry("grew", 6), _entry("shrank", 4), _entry("new", 1)]
    assert venue.parse(_snapshot(50, *book)) == [
        Ack("orders"),
        Recovered(50, TS + 2, ("ended",), ("shrank",), ("new",)),
    ]


def test_a_bad_snapshot_entry_is_skipped_and_the_rest_of_the_book_is_kept(venue: NovigV3Orders) -> None:
    """One unreadable snapshot entry is a Malformed naming it; the entries after it are still the book."""
    venue.subscribe_frames()
    frame = _snapshot(5, _entry("bad", 0), _entry("good", 7))
    assert venue.parse(frame) == [
        Ack("orders"),
        Malformed("bad Novig v3 open order (expected an integer >= 1, got 0)", _start(frame)),
        Recovered(5, None, (ORDER,), (), ("good",)),
    ]
    assert venue.parse(_batch(6, _cancel("good"))) == [_cancel_of("good", 7, None)]


def test_the_snapshot_request_after_a_gap_is_answered_by_the_snapshot(venue: NovigV3Orders) -> None:
    """A snapshot answering our snapshot request settles it: a later unattributed error is only counted."""
    venue.parse(_batch(910, _cancel()))
    venue.parse(_snapshot(909, _entry(), nonce=2))
    error = _frame({"code": "RATE_LIMIT_EXCEEDED", "message": "slow"})
    assert venue.parse(error) == [Malformed("Novig error RATE_LIMIT_EXCEEDED, answering no request of ours", error)]


def test_an_error_answering_one_request_leaves_the_other_pending() -> None:
    """With the subscribe and a snapshot request unanswered, an error for nonce 2 leaves nonce 1 pending."""
    adapter = NovigV3Orders()
    adapter.subscribe_frames()
    adapter.parse(_snapshot(10, nonce=None))  # a snapshot that does not say it answers nonce 1
    adapter.parse(_batch(12, _cancel()))  # gap: snapshot request nonce 2
    assert adapter.parse(_frame({"code": "STALE_NONCE", "message": "s", "nonce": 2})) == [
        Resync("Novig error STALE_NONCE: s")
    ]
    again = _frame({"code": "STALE_NONCE", "message": "s", "nonce": 2})
    assert adapter.parse(again) == [Malformed("Novig error STALE_NONCE, answering no request of ours", again)]
    assert adapter.parse(_frame({"code": "EMPTY_SELECTION", "message": "e", "nonce": 1})) == [
        Rejected(None, "Novig error EMPTY_SELECTION: e", auth=False)
    ]


def test_an_error_without_a_nonce_answers_every_pending_request() -> None:
    """A throttled error (no nonce) answers what is pending; a second one answers nothing of ours."""
    adapter = NovigV3Orders()
    adapter.subscribe_frames()
    throttled = _frame({"code": "RATE_LIMIT_EXCEEDED", "message": "slow", "nonce": "1"})
    assert adapter.parse(throttled) == [Resync("Novig error RATE_LIMIT_EXCEEDED: slow")]
    assert [type(i) for i in adapter.parse(throttled)] == [Malformed]


def test_a_reconnect_forgets_requests_of_the_old_connection(venue: NovigV3Orders) -> None:
    """A snapshot request left unanswered on the old connection is not pending on the new one."""
    venue.parse(_batch(909, _cancel()))  # snapshot request, nonce 2
    venue.subscribe_frames()
    venue.parse(_snapshot(1))  # answers the new subscribe (nonce 1)
    assert [type(i) for i in venue.parse(_frame({"code": "STALE_NONCE", "nonce": 2}))] == [Malformed]


def test_a_frame_with_a_numeric_code_is_not_an_error(venue: NovigV3Orders) -> None:
    """Only a string ``code`` marks an error frame; a number there is some other frame, with nothing for us."""
    assert venue.parse(_frame({"code": 500, "message": "x", "nonce": 1})) == []


def test_a_lost_numbering_says_why(venue: NovigV3Orders) -> None:
    """A heartbeat behind the applied seq restarts the connection, saying which seqs disagreed."""
    assert venue.parse(_frame({"heartbeat": {"orders": 906, "ts": TS}})) == [
        Resync("Novig v3 orders stream lost its numbering: heartbeat seq 906 is behind the last applied 907")
    ]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (_frame({"heartbeat": [1]}), "bad Novig v3 frame (heartbeat is not an object)"),
        (_frame({"ts": TS, "orders": {"seq": 908, "deltas": "x"}}), "bad Novig v3 frame (deltas is not a list)"),
        (_frame({"ts": TS, "orders": {"open": []}}), "bad Novig v3 frame (missing seq)"),
        (
            _frame({"ts": "1", "orders": {"seq": 908, "deltas": []}}),
            "bad Novig v3 frame (not integer milliseconds: '1')",
        ),
    ],
)
def test_a_broken_frame_says_what_is_wrong(venue: NovigV3Orders, frame: str, reason: str) -> None:
    """A broken frame is one Malformed whose reason names the problem, with the frame's start."""
    assert venue.parse(frame) == [Malformed(reason, _start(frame))]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"kind": "fill", "orderId": ORDER, "qty": 1, "remaining": 0}, "missing outcomeId"),
        ({**_fill(), "outcomeId": 7}, "expected a non-empty string, got 7"),
        ({**_fill(), "price": "2"}, "price out of range: '2'"),
        ({**_fill(), "remaining": True}, "expected an integer >= 0, got True"),
        ({"kind": "cancel", "orderId": ORDER, "reason": ""}, "expected a non-empty string, got ''"),
        ({"orderId": ORDER}, "missing kind"),
    ],
)
def test_a_bad_event_says_what_is_wrong(venue: NovigV3Orders, event: dict, reason: str) -> None:
    """A bad event is one Malformed whose reason names the field's problem, with the batch's start."""
    frame = _batch(908, event)
    assert venue.parse(frame) == [Malformed(f"bad Novig v3 order event ({reason})", _start(frame))]


_HUGE = (list(range(100_000)), {"k": "v" * 100_000})


@pytest.mark.parametrize(
    ("field", "bad"),
    [(field, bad) for field in ("outcomeId", "price", "remaining") for bad in _HUGE] + [("remaining", "x" * 100_000)],
)
def test_a_huge_bad_value_is_named_in_a_few_words(venue: NovigV3Orders, field: str, bad: object) -> None:
    """A hostile value in a bad field is cut short in the reason, as in every other adapter (base.shown)."""
    (item,) = venue.parse(_batch(908, {**_fill(), field: bad}))
    assert isinstance(item, Malformed)
    assert len(item.reason) < 120, item.reason[:200]
