"""Kalshi venue truth: key types, direction, cancelled quantity, cancel reasons and times, error codes.

Every message shape here comes from Kalshi's own documents in kalshi-sdk 22.4.0
(``specs/asyncapi.yaml``, ``specs/openapi.yaml``) or from the live capture quoted in
protocols/kalshi.md §9; each test names its source.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from fillwatch.core.events import Cancel, Fill
from fillwatch.render.jsonl import record
from fillwatch.venues.base import Malformed, Rejected, Resync
from fillwatch.venues.kalshi.adapter import Kalshi, sign
from tests.venues.kalshi_shapes import CAPTURED_REST_FILL, SINCE, rest_order
from tests.venues.kalshi_shapes import user_order_message as user_order

# asyncapi.yaml (kalshi-sdk 22.4.0) fillPayload, every required field: the live frame of the same
# fill (sell YES at 0.18: legacy side yes / action sell; outcome_side no, book_side ask).
LIVE_FILL: dict[str, Any] = {
    "type": "fill",
    "sid": 13,
    "msg": {
        "trade_id": "00000000-0000-0000-0000-000000000004",
        "order_id": "00000000-0000-0000-0000-000000000001",
        "market_ticker": "KXTEST-26-A",
        "exchange_index": 1,
        "is_taker": False,
        "side": "yes",
        "yes_price_dollars": "0.1800",
        "count_fp": "10.50",
        "fee_cost": "0.010000",
        "action": "sell",
        "outcome_side": "no",
        "book_side": "ask",
        "ts": 1777744931,
        "ts_ms": 1777744931101,
        "post_position_fp": "-10.50",
        "purchased_side": "no",
    },
}


@pytest.fixture
def venue() -> Kalshi:
    return Kalshi.for_parsing()


def live(venue: Kalshi, message: dict[str, Any]) -> dict[str, object]:
    [event] = venue.parse(orjson.dumps(message).decode())
    assert isinstance(event, (Fill, Cancel)), event
    return record(event)


def history(venue: Kalshi, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, object]]:
    page = venue.parse_history(kind, orjson.dumps({kind: rows, "cursor": ""}), SINCE, None)
    assert page.skipped == 0
    return [record(e) for e in page.events]


def without(line: dict[str, object], *keys: str) -> dict[str, object]:
    return {k: v for k, v in line.items() if k not in keys}


# 1. Ed25519 keys.


def test_ed25519_key_signs_the_same_message_with_ed25519() -> None:
    """An Ed25519 key signs ts_ms + METHOD + path (query stripped) with Ed25519 (protocols/kalshi.md §9)."""
    key = ed25519.Ed25519PrivateKey.generate()
    signature = base64.b64decode(sign(key, 1703123456789, "get", "/trade-api/v2/portfolio/fills?min_ts=5"))
    assert len(signature) == 64
    key.public_key().verify(signature, b"1703123456789GET/trade-api/v2/portfolio/fills")
    headers = Kalshi("key-id-1", key).handshake_headers(1703123456789)
    key.public_key().verify(base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"]), b"1703123456789GET/trade-api/ws/v2")


# 3. One direction rule, live and history.


def test_captured_rest_fill_reads_as_the_order_it_came_from(venue: Kalshi) -> None:
    """The §9 live capture (protocols/kalshi.md §9, sold YES at 0.18) is "buy no @ 0.82", not "sell no"."""
    [line] = history(venue, "fills", [CAPTURED_REST_FILL])
    assert (line["side"], line["action"], line["price"], line["qty"]) == ("no", "buy", 0.82, 10.5)
    assert (line["ts"], line["id"], line["source"], line["position"]) == (
        "2026-05-02T18:02:11.101Z",
        "00000000-0000-0000-0000-000000000004",
        "history",
        None,
    )


def test_live_and_history_lines_of_one_fill_differ_only_in_source_and_position(venue: Kalshi) -> None:
    """The asyncapi.yaml fill frame and the §9 REST capture of the same fill give the same line but source/position."""
    live_line = live(venue, LIVE_FILL)
    [history_line] = history(venue, "fills", [CAPTURED_REST_FILL])
    assert without(live_line, "source", "position") == without(history_line, "source", "position")
    assert (live_line["source"], live_line["position"]) == ("live", -10.5)


@pytest.mark.parametrize(
    ("legacy", "outcome", "book", "side", "price"),
    [
        ({"side": "yes", "action": "buy"}, "yes", "bid", "yes", 0.35),
        ({"side": "no", "action": "sell"}, "yes", "bid", "yes", 0.35),
        ({"side": "no", "action": "buy"}, "no", "ask", "no", 0.65),
        ({"side": "yes", "action": "sell"}, "no", "ask", "no", 0.65),
    ],
    ids=["buy-yes", "sell-no", "buy-no", "sell-yes"],
)
def test_every_line_takes_its_direction_from_outcome_side(
    venue: Kalshi, legacy: dict[str, str], outcome: str, book: str, side: str, price: float
) -> None:
    """openapi.yaml/asyncapi.yaml direction table: fills and cancels, live and REST, say buy <outcome> at its price."""
    fill = {**LIVE_FILL["msg"], **legacy, "outcome_side": outcome, "book_side": book, "yes_price_dollars": "0.3500"}
    rest_fill = {**CAPTURED_REST_FILL, **legacy, "outcome_side": outcome, "book_side": book}
    rest_fill |= {"yes_price_dollars": "0.3500", "no_price_dollars": "0.6500"}
    lines = [
        live(venue, {**LIVE_FILL, "msg": fill}),
        *history(venue, "fills", [rest_fill]),
        live(venue, user_order(side=legacy["side"], outcome_side=outcome, book_side=book)),
        *history(venue, "orders", [rest_order(**legacy, outcome_side=outcome, book_side=book)]),
    ]
    assert [(line["side"], line["action"], line["price"]) for line in lines] == [(side, "buy", price)] * 4


def test_book_side_alone_gives_the_direction(venue: Kalshi) -> None:
    """asyncapi.yaml bookSide: 'ask' is outcome_side 'no', so a fill with book_side only is buy no at 1 - yes."""
    msg = {k: v for k, v in LIVE_FILL["msg"].items() if k not in ("outcome_side", "side", "action", "purchased_side")}
    line = live(venue, {**LIVE_FILL, "msg": msg})
    assert (line["side"], line["action"], line["price"]) == ("no", "buy", 0.82)


def test_messages_without_outcome_side_keep_the_legacy_reading(venue: Kalshi) -> None:
    """An old capture (protocols/kalshi.md §4.3 legacy example) with no outcome_side: side and action as sent."""
    legacy = {
        "type": "fill",
        "sid": 13,
        "msg": {
            "trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed",
            "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa",
            "market_ticker": "HIGHNY-22DEC23-B53.5",
            "is_taker": True,
            "side": "no",
            "yes_price": 75,
            "count": 278,
            "action": "sell",
            "ts": 1671899397,
            "post_position": 500,
        },
    }
    line = live(venue, legacy)
    assert (line["side"], line["action"], line["price"], line["ts"]) == ("no", "sell", 0.25, "2022-12-24T16:29:57.000Z")


def test_live_and_history_cancels_of_one_order_differ_only_in_source(venue: Kalshi) -> None:
    """The asyncapi.yaml user_order and openapi.yaml Order of one cancelled sell-YES order give the same line."""
    frame = user_order(side="yes", is_yes=True, outcome_side="no", book_side="ask")
    row = rest_order(side="yes", action="sell", outcome_side="no", book_side="ask")
    live_line = live(venue, frame)
    [history_line] = history(venue, "orders", [row])
    assert without(live_line, "source") == without(history_line, "source")
    assert (live_line["side"], live_line["action"], live_line["price"], live_line["qty"]) == ("no", "buy", 0.65, 4)


# 2. Cancelled quantity.


def test_cancel_quantity_is_what_was_still_resting(venue: Kalshi) -> None:
    """A cancel zeroes remaining_count_fp (asyncapi.yaml user_order, openapi.yaml Order): qty = initial - filled."""
    assert live(venue, user_order())["qty"] == 4
    assert [line["qty"] for line in history(venue, "orders", [rest_order()])] == [4]
    never_filled = user_order(fill_count_fp="0.00", initial_count_fp="2.50")
    assert (live(venue, never_filled)["qty"], live(venue, never_filled)["original_qty"]) == (2.5, 2.5)


def test_a_non_zero_remaining_count_is_the_cancelled_quantity(venue: Kalshi) -> None:
    """An older cancel that still carries its remaining count (protocols/kalshi.md §4.4) keeps it."""
    assert live(venue, user_order(remaining_count_fp="3.00", fill_count_fp="6.00"))["qty"] == 3


def test_a_cancel_that_filled_more_than_its_size_is_skipped(venue: Kalshi) -> None:
    """fill_count_fp above initial_count_fp on a zeroed cancel is malformed, counted and skipped, not a negative qty."""
    [parsed] = venue.parse(orjson.dumps(user_order(fill_count_fp="12.00")).decode())
    assert isinstance(parsed, Malformed)


# 4. Why a cancel happened.


@pytest.mark.parametrize(
    ("venue_reason", "reason"),
    [
        (..., None),
        ("ExpiryCancel", "expired"),
        ("CloseCancel", "market_closed"),
        ("SelfTradeCancel", "self_trade"),
        ("MarginCancel", "other"),
        ("HaltCancel", "other"),
        ("PostOnlyCrossCancel", "other"),
        ("ReduceOnlyCancel", "other"),
        ("SettlementBoundsCancel", "other"),
        ("SomeFutureCancel", "other"),
        ("Decrease", None),
        ("Amend", None),
        ("Trade", None),
    ],
)
def test_cancel_reason_comes_from_last_update_reason(venue: Kalshi, venue_reason: object, reason: str | None) -> None:
    """asyncapi.yaml lastUpdateReason becomes CONTRACT §3's reason code: null when the cancel was yours."""
    assert live(venue, user_order(last_update_reason=venue_reason))["reason"] == reason


# 5. Nullable times.


def test_a_cancel_with_no_time_at_all_is_dated_when_it_was_read(venue: Kalshi) -> None:
    """created_ts_ms may be null (asyncapi.yaml): with no update time either, the cancel is dated by the clock."""
    venue.clock = lambda: 1733047260.25
    frame = user_order(created_ts_ms=None, created_time=None, last_update_time=..., last_updated_ts_ms=...)
    assert live(venue, frame)["ts"] == "2024-12-01T10:01:00.250Z"
    row = rest_order(created_time=None, last_update_time=None)  # openapi.yaml Order: both nullable
    assert [line["ts"] for line in history(venue, "orders", [row])] == ["2024-12-01T10:01:00.250Z"]


def test_a_null_created_ts_ms_does_not_hide_the_update_time(venue: Kalshi) -> None:
    """A null created_ts_ms (asyncapi.yaml) beside last_updated_ts_ms: the cancel is dated by the update."""
    venue.clock = lambda: 0.0
    assert live(venue, user_order(created_ts_ms=None))["ts"] == "2024-12-01T10:01:00.500Z"


# 9. The timestamp format.


def test_whole_second_and_millisecond_fills_of_one_second_sort_in_time_order(venue: Kalshi) -> None:
    """A legacy fill in whole seconds (ts) sorts before a current one 848 ms later (asyncapi.yaml fill ts_ms)."""
    whole = {k: v for k, v in LIVE_FILL["msg"].items() if k != "ts_ms"} | {"ts": 1767225620}
    later = LIVE_FILL["msg"] | {"ts_ms": 1767225620848}
    stamps = [live(venue, {**LIVE_FILL, "msg": msg})["ts"] for msg in (later, whole)]
    assert stamps == ["2026-01-01T00:00:20.848Z", "2026-01-01T00:00:20.000Z"]
    assert sorted(stamps) == stamps[::-1]


# 6, and issue 11 item 9, issue 18 item 4: error codes.


def error(code: object, **envelope: Any) -> str:
    """asyncapi.yaml errorResponsePayload: {"id", "type": "error", "sid"?, "msg": {"code", "msg"}}."""
    return orjson.dumps({"type": "error", **envelope, "msg": {"code": code, "msg": "some text"}}).decode()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (9, Rejected(9, "some text", auth=True)),
        (8, Rejected(8, "some text", auth=False)),
        (2, Rejected(2, "some text", auth=False)),
        (10, Resync("Kalshi error 10: some text")),
        (25, Resync("Kalshi error 25: some text")),
        (18, Resync("Kalshi error 18 (command timeout) answering the subscribe: some text")),
        (16, Resync("Kalshi error 16 (unknown code) answering the subscribe: some text")),
        (17, Resync("Kalshi error 17 (unknown code) answering the subscribe: some text")),
        (99, Resync("Kalshi error 99 (unknown code) answering the subscribe: some text")),
    ],
)
def test_errors_answering_our_subscribe(venue: Kalshi, code: int, expected: object) -> None:
    """asyncapi.yaml error codes answering subscribe id 1: 9 auth, 10/25 terminal, 18 a timeout, 16/17 retired."""
    assert venue.parse(error(code, id=1)) == [expected]


@pytest.mark.parametrize("code", [10, 25])
def test_terminal_subscription_errors_resubscribe_without_an_id(venue: Kalshi, code: int) -> None:
    """The AsyncAPI's terminal errors {10, 25}, scoped to a subscription by sid alone, still resubscribe."""
    assert venue.parse(error(code, sid=13)) == [Resync(f"Kalshi error {code}: some text")]


@pytest.mark.parametrize(
    ("code", "envelope"),
    [(7, {"id": 123}), (8, {}), (18, {"id": None}), (18, {"id": 2}), ("8", {"id": 1}), (5, {"id": True})],
    ids=["unknown-id", "no-id", "null-id", "timeout-other-id", "string-code", "boolean-id"],
)
def test_errors_answering_no_command_of_ours_are_reported_and_counted(
    venue: Kalshi, code: object, envelope: dict[str, Any]
) -> None:
    """An asyncapi.yaml error frame that answers no command of ours is a skipped frame, never a refusal."""
    [parsed] = venue.parse(error(code, **envelope))
    assert isinstance(parsed, Malformed)
    assert parsed.reason.endswith("answering no command of ours")
    assert "some text" in parsed.excerpt


def test_code_9_is_an_authentication_failure_whatever_it_answers(venue: Kalshi) -> None:
    """asyncapi.yaml code 9 (Authentication required) without an id is still an authentication failure."""
    assert venue.parse(error(9)) == [Rejected(9, "some text", auth=True)]
