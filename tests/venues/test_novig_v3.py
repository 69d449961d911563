"""The Novig v3 ``orders``-channel adapter: frames in, fills, cancels and control items out.

Message shapes are Novig's documented examples: the "Private" streaming page
(``api/streaming/private``: snapshot, the ``open``/``fill``/``cancel``/``reject`` events, the
heartbeat, the snapshot request) and the "Connection" page (``api/streaming/connection``:
subscribe, gaps, close codes), as summarised in ``protocols/novig-v3.md`` §4–§5 and §8.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from fillwatch.core.events import Cancel, Fill
from fillwatch.venues.base import Ack, Malformed, Rejected, Reply, Resync
from fillwatch.venues.novig_v3.orders import Gap, NovigV3Orders, OrderLookup, Recovered, close_meaning

ORDER, MARKET, OUTCOME, CLIENT = "7c9e6679-…", "6f9619ff-…", "3f2504e0-…", "0b3f5f20-…"
OPEN_ENTRY = {
    "orderId": ORDER,
    "clientId": CLIENT,
    "marketId": MARKET,
    "outcomeId": OUTCOME,
    "price": "0.665",
    "qty": 110,
    "tif": "GTC",
}
SNAPSHOT = {
    "ts": 1757894400123,
    "nonce": 1,
    "subscribed": {"markets": {}, "events": {}, "private": ["orders"]},
    "snapshot": {},
    "orders": {"seq": 907, "open": [OPEN_ENTRY]},
}
FILL = {"kind": "fill", "orderId": ORDER, "clientId": CLIENT, "outcomeId": OUTCOME, "price": "0.670", "qty": 40,
        "remaining": 70}  # fmt: skip
TS = 1757894400456


def _frame(message: dict) -> str:
    return orjson.dumps(message).decode()


def _batch(seq: int, *events: dict, ts: int = TS) -> str:
    return _frame({"ts": ts, "delta": {}, "orders": {"seq": seq, "deltas": list(events)}})


def _snapshot(seq: int = 907, *entries: dict, nonce: int = 1) -> str:
    return _frame({**SNAPSHOT, "nonce": nonce, "orders": {"seq": seq, "open": list(entries)}})


@pytest.fixture
def venue() -> NovigV3Orders:
    """An adapter on a fresh connection, baselined by the documented snapshot (seq 907, one order)."""
    adapter = NovigV3Orders()
    adapter.subscribe_frames()
    assert adapter.parse(_snapshot(907, OPEN_ENTRY)) == [Ack("orders")]
    return adapter


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_subscribe_frame_is_the_documented_one() -> None:
    """The subscribe names the private ``orders`` channel with nonce 1 (Private page example)."""
    assert orjson.loads(NovigV3Orders().subscribe_frames()[0]) == {"nonce": 1, "subscribe": {"private": ["orders"]}}


def test_documented_fill_of_a_resting_order(venue: NovigV3Orders) -> None:
    """The documented ``fill`` gives a Fill: market from the snapshot, outcome as side, contracts, maker."""
    assert venue.parse(_batch(908, FILL)) == [
        Fill(venue="novig", id=f"{ORDER}:70", order_id=ORDER, market=MARKET, side=OUTCOME, action="buy",
             price=Decimal("0.670"), qty=Decimal(40), ts=_at(TS), taker=False, currency="USD")
    ]  # fmt: skip


def test_documented_cancel_after_a_fill_cancels_what_remained(venue: NovigV3Orders) -> None:
    """The documented ``cancel`` (no reason) cancels the last fill's ``remaining`` at the order's limit price."""
    venue.parse(_batch(908, FILL))
    (cancel,) = venue.parse(_batch(909, {"kind": "cancel", "orderId": ORDER}, ts=TS + 1))
    assert cancel == Cancel(
        venue="novig", id=ORDER, order_id=ORDER, market=MARKET, side=OUTCOME, action="buy",
        price=Decimal("0.665"), qty=Decimal(70), ts=_at(TS + 1), currency="USD", reason=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("reason", "label"),
    [("GO_LIVE", "went_live"), ("MARKET_CLOSED", "market_closed"), ("SETTLED", "settled"),
     ("NEUTRALIZED", "neutralized"), (None, None), ("SOMETHING_NEW", "other")],
)  # fmt: skip
def test_cancel_reasons_map_to_the_contract_codes(venue: NovigV3Orders, reason: str | None, label: str | None) -> None:
    """A ``cancel`` event's ``reason`` maps to CONTRACT §3's code; none is null, an unknown one "other"."""
    event = {"kind": "cancel", "orderId": ORDER} | ({} if reason is None else {"reason": reason})
    (cancel,) = venue.parse(_batch(908, event))
    assert (cancel.reason, cancel.qty, cancel.original_qty) == (label, Decimal(110), None)


def test_cancel_remaining_is_read_when_present(venue: NovigV3Orders) -> None:
    """A ``cancel`` that carries ``remaining`` (one page says it may) is sized from it."""
    (cancel,) = venue.parse(_batch(908, {"kind": "cancel", "orderId": ORDER, "remaining": 25}))
    assert cancel.qty == Decimal(25)


def test_order_placed_on_the_stream_knows_its_size(venue: NovigV3Orders) -> None:
    """An order whose ``open`` arrives on the stream has its size as the cancel's original quantity."""
    other = {**OPEN_ENTRY, "kind": "open", "orderId": "a-2", "qty": 50, "price": "0.45"}
    assert venue.parse(_batch(908, other)) == []
    fill = {**FILL, "orderId": "a-2", "qty": 20, "remaining": 30}
    assert venue.parse(_batch(909, fill))[0].taker is False
    (cancel,) = venue.parse(_batch(910, {"kind": "cancel", "orderId": "a-2", "reason": "GO_LIVE"}))
    assert (cancel.qty, cancel.original_qty, cancel.price, cancel.reason) == (30, 50, Decimal("0.45"), "went_live")


def test_fills_before_the_open_in_one_batch_are_taker_fills(venue: NovigV3Orders) -> None:
    """Fills that precede their order's ``open`` in one batch take the market from it and are taker fills."""
    fill = {**FILL, "orderId": "b-3", "qty": 40, "remaining": 70}
    rest = {**OPEN_ENTRY, "kind": "open", "orderId": "b-3", "qty": 70}
    (made,) = venue.parse(_batch(908, fill, rest))
    assert (made.market, made.taker, made.id) == (MARKET, True, "b-3:70")
    (cancel,) = venue.parse(_batch(909, {"kind": "cancel", "orderId": "b-3"}))
    assert (cancel.qty, cancel.original_qty) == (70, 110)


def test_fill_of_an_order_never_resting_waits_for_its_lookup(venue: NovigV3Orders) -> None:
    """An IOC fill (no ``open`` ever) asks for the order once, then gives the fill with the REST order's market."""
    fills = [{**FILL, "orderId": "c-4", "qty": 5, "remaining": 5}, {**FILL, "orderId": "c-4", "qty": 5, "remaining": 0}]
    assert venue.parse(_batch(908, *fills)) == [OrderLookup("c-4")]
    order = {"orderId": "c-4", "marketId": "m-9", "outcomeId": OUTCOME, "price": "0.700", "qty": 10, "remaining": 0,
             "tif": "IOC", "status": "FILLED", "createdTs": TS}  # fmt: skip
    made = venue.learn_order(orjson.dumps(order))
    assert [(f.market, f.qty, f.taker, f.id) for f in made] == [("m-9", 5, True, "c-4:5"), ("m-9", 5, True, "c-4:0")]
    assert venue.learn_order(orjson.dumps(order)) == []  # nothing waits any more


def test_reject_of_an_order_that_never_rested_is_no_event(venue: NovigV3Orders) -> None:
    """A documented ``reject`` of an order never seen resting (an unfilled IOC/FOK/PO) shows nothing."""
    assert venue.parse(_batch(908, {"kind": "reject", "orderId": "d-5"})) == []


def test_reject_of_a_resting_order_is_a_venue_cancel(venue: NovigV3Orders) -> None:
    """A ``reject`` of an order known resting took it off the book: a cancel with reason "other"."""
    (cancel,) = venue.parse(_batch(908, {"kind": "reject", "orderId": ORDER}))
    assert (cancel.qty, cancel.reason) == (110, "other")


def test_a_jump_in_seq_asks_for_a_snapshot_and_replays_what_it_held(venue: NovigV3Orders) -> None:
    """Batch 909 after 907 reports the gap and requests a snapshot; after it, held batches above it apply."""
    items = venue.parse(_batch(909, FILL))
    assert items[0] == Gap("orders", 908, 909, "batch")
    assert isinstance(items[1], Reply)
    assert orjson.loads(items[1].frame) == {"nonce": 2, "snapshot": {"private": ["orders"]}}
    cancel = {"kind": "cancel", "orderId": ORDER}
    assert venue.parse(_batch(910, cancel)) == []  # held until the snapshot
    reply = venue.parse(_snapshot(909, {**OPEN_ENTRY, "qty": 70}, nonce=2))
    assert reply[:2] == [Ack("orders"), Recovered(909, None, (), (ORDER,), ())]
    assert [(c.kind, c.qty) for c in reply[2:]] == [("cancel", 70)]


def test_a_heartbeat_ahead_of_the_last_seq_is_a_gap(venue: NovigV3Orders) -> None:
    """The documented heartbeat (orders 911) after seq 907 reports a gap; one at 907 says nothing."""
    assert venue.parse(_frame({"heartbeat": {"orders": 907, "ts": 1757894415123}})) == []
    items = venue.parse(_frame({"heartbeat": {"orders": 911, "ts": 1757894415123}}))
    assert items[0] == Gap("orders", 908, 911, "heartbeat")
    assert isinstance(items[1], Reply)
    assert venue.parse(_frame({"heartbeat": {"orders": 912, "ts": 1757894430123}})) == []  # already asked


def test_a_heartbeat_behind_the_last_seq_restarts_the_connection(venue: NovigV3Orders) -> None:
    """A heartbeat below the applied seq (a server restart) asks for a new connection."""
    (item,) = venue.parse(_frame({"heartbeat": {"orders": 3, "ts": 1757894415123}}))
    assert isinstance(item, Resync)


def test_a_heartbeat_without_orders_says_nothing(venue: NovigV3Orders) -> None:
    """A heartbeat for the positions channel only is not about orders."""
    assert venue.parse(_frame({"heartbeat": {"positions": 12, "ts": 1757894415123}})) == []


def test_a_replayed_batch_is_applied_once(venue: NovigV3Orders) -> None:
    """A batch whose seq was already applied gives nothing the second time."""
    assert len(venue.parse(_batch(908, FILL))) == 1
    assert venue.parse(_batch(908, FILL)) == []


def test_batches_before_the_first_snapshot_wait_for_it() -> None:
    """A batch that beats the snapshot is held; the snapshot drops what it covers and applies the rest."""
    adapter = NovigV3Orders()
    adapter.subscribe_frames()
    assert adapter.parse(_batch(907, {"kind": "cancel", "orderId": "gone"})) == []
    assert adapter.parse(_batch(908, FILL)) == []
    items = adapter.parse(_snapshot(907, OPEN_ENTRY))
    assert [type(i) for i in items] == [Ack, Fill]


def test_reconnect_starts_a_new_seq_and_reports_what_changed(venue: NovigV3Orders) -> None:
    """After a reconnect a lower seq (server restart) is a new baseline; the diff names ended and new orders."""
    venue.parse(_batch(908, FILL))
    venue.subscribe_frames()
    new = {**OPEN_ENTRY, "orderId": "e-6"}
    assert venue.parse(_snapshot(5, new)) == [Ack("orders"), Recovered(5, TS, (ORDER,), (), ("e-6",))]
    assert venue.parse(_batch(6, {"kind": "cancel", "orderId": "e-6"}))[0].order_id == "e-6"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": "RATE_LIMIT_EXCEEDED", "message": "slow down", "nonce": 1}, Resync),
        ({"code": "RATE_LIMIT_EXCEEDED", "message": "slow down"}, Resync),  # a throttled frame: no nonce
        ({"code": "STALE_NONCE", "message": "stale", "nonce": 1}, Resync),
        ({"code": "EMPTY_SELECTION", "message": "empty", "nonce": 1}, Rejected),
        ({"code": "SUBSCRIPTION_LIMIT_EXCEEDED", "message": "too many", "nonce": 1}, Rejected),
        ({"code": "SIGNATURE_REJECTED", "message": "no", "nonce": 1}, Rejected),
        ({"code": "STALE_NONCE", "message": "stale", "nonce": 77}, Malformed),
    ],
)
def test_errors_answering_the_subscribe(error: dict, expected: type) -> None:
    """An error answering our subscribe retries, stops or (answering nothing of ours) is skipped."""
    adapter = NovigV3Orders()
    adapter.subscribe_frames()
    (item,) = adapter.parse(_frame(error))
    assert type(item) is expected
    if isinstance(item, Rejected):
        assert item.auth == (error["code"] == "SIGNATURE_REJECTED")


def test_an_error_after_the_subscribe_was_answered_is_skipped(venue: NovigV3Orders) -> None:
    """Once the snapshot answered the subscribe, an unattributed error is counted, not acted on."""
    assert [type(i) for i in venue.parse(_frame({"code": "INVALID_REQUEST", "message": "bad"}))] == [Malformed]


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [(1008, "SLOW_CONSUMER", Resync), (1008, "GEOLOCATION_NOT_FOUND", Rejected),
     (1008, "ANONYMIZED_NETWORK", Rejected), (1006, "", type(None)), (1000, "", type(None))],
)  # fmt: skip
def test_close_codes(code: int, reason: str, expected: type) -> None:
    """``1008 SLOW_CONSUMER`` resyncs, ``1008`` with a location code stops, other closes are ordinary drops."""
    assert type(close_meaning(code, reason)) is expected


def _fill_text(**changes: str) -> str:
    """The documented fill as JSON text, with fields replaced by raw JSON (out-of-range numbers included)."""
    fields = {k: orjson.dumps(v).decode() for k, v in FILL.items()} | changes
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items() if v != "") + "}"


@pytest.mark.parametrize(
    "event",
    [
        _fill_text(price='"NaN"'),
        _fill_text(price='"Infinity"'),
        _fill_text(price='"1.5"'),
        _fill_text(price="-0.1"),
        _fill_text(price='"0,67"'),
        _fill_text(qty="0"),
        _fill_text(qty="40.0"),
        _fill_text(qty="true"),
        _fill_text(qty="18446744073709551615"),
        _fill_text(qty="100000000000000000000"),
        _fill_text(remaining="-1"),
        _fill_text(orderId="5"),
        _fill_text(outcomeId=""),
        _fill_text(outcomeId='""'),
        '{"kind": "cancel", "orderId": "7c9e6679-…", "reason": 5}',
        '{"kind": "cancel", "orderId": "7c9e6679-…", "remaining": "7"}',
        '{"kind": "cancel", "orderId": "7c9e6679-…", "remaining": 0}',
        '"not an event"',
        "[1, 2]",
    ],
)
def test_hostile_events_are_skipped_and_counted(venue: NovigV3Orders, event: str) -> None:
    """A bad event is one Malformed item; the good event beside it in the batch still comes through."""
    good = {"kind": "fill", "orderId": ORDER, "outcomeId": OUTCOME, "price": "0.7", "qty": 1, "remaining": 109}
    frame = f'{{"ts": {TS}, "delta": {{}}, "orders": {{"seq": 908, "deltas": [{event}, {_frame(good)}]}}}}'
    assert [type(i) for i in venue.parse(frame)] == [Malformed, Fill]


def test_unknown_event_kinds_are_ignored(venue: NovigV3Orders) -> None:
    """An event of a kind Novig may add later is ignored, not counted."""
    assert venue.parse(_batch(908, {"kind": "amend", "orderId": ORDER})) == []


@pytest.mark.parametrize(
    "frame",
    [
        b'{"orders": {}}',
        "not json",
        "[1, 2]",
        _frame({"ts": TS, "delta": {}, "orders": {"seq": "908", "deltas": []}}),
        _frame({"ts": TS, "delta": {}, "orders": {"seq": True, "deltas": []}}),
        _frame({"delta": {}, "orders": {"seq": 908, "deltas": [FILL]}}),
        _frame({"ts": 1.5e12, "delta": {}, "orders": {"seq": 908, "deltas": [FILL]}}),
        '{"ts": 100000000000000000000, "delta": {}, "orders": {"seq": 908, "deltas": []}}',
        '{"ts": 18446744073709551615, "delta": {}, "orders": {"seq": 908, "deltas": []}}',
        '{"ts": 1757894400456, "delta": {}, "orders": {"seq": 18446744073709551615, "deltas": []}}',
        _frame({"ts": TS, "delta": {}, "orders": {"seq": 908, "deltas": {"kind": "fill"}}}),
        _frame({"ts": TS, "orders": {"seq": -1, "open": []}}),
        _frame({"ts": TS, "orders": {"seq": 1, "open": 5}}),
        _frame({"heartbeat": {"orders": "911"}}),
        _frame({"heartbeat": "x"}),
        _frame({"ts": TS, "orders": "open"}),
    ],
)
def test_hostile_frames_are_skipped_and_the_next_batch_shows_the_loss(venue: NovigV3Orders, frame: str | bytes) -> None:
    """A broken frame is one Malformed item, never an exception; a batch it spoiled is not applied."""
    assert [type(i) for i in venue.parse(frame)] == [Malformed]
    assert [type(i) for i in venue.parse(_batch(908, FILL))] == [Fill]


def test_a_spoiled_batch_leaves_a_gap(venue: NovigV3Orders) -> None:
    """A batch without a usable time is not applied, so the batch after it reports the gap."""
    venue.parse(_frame({"delta": {}, "orders": {"seq": 908, "deltas": [FILL]}}))
    assert venue.parse(_batch(909, {"kind": "cancel", "orderId": ORDER}))[0] == Gap("orders", 908, 909, "batch")


def test_market_deltas_without_orders_say_nothing(venue: NovigV3Orders) -> None:
    """The Connection page's market ``delta`` (book channel) carries nothing for the orders channel."""
    frame = {"ts": TS, "delta": {MARKET: {"eventId": "110e8400-…", "book": {"seq": 48121, "deltas": []}}}}
    assert venue.parse(_frame(frame)) == []


def test_bad_rest_order_is_skipped(venue: NovigV3Orders) -> None:
    """An order body that cannot be read is one Malformed item, and the waiting events stay waiting."""
    venue.parse(_batch(908, {**FILL, "orderId": "c-4"}))
    assert [type(i) for i in venue.learn_order(b'{"orderId": "c-4"}')] == [Malformed]
    assert [type(i) for i in venue.learn_order(b"[]")] == [Malformed]
