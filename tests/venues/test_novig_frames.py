"""The Novig NBX adapter's reading of frames, token answers and market bodies: what each hostile
shape gives, and the words of the diagnostics. Shapes: /work/shared/protocols/novig.md (NBX) §2.2
(token), §4.1 (envelopes), §4.3 (fill), §4.4 (cancel), §4.5 (lifecycle CLOSE), §5 (errors), §6.4."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from fillwatch.core.events import Cancel, Fill
from fillwatch.core.secret import Secret
from fillwatch.venues.base import Ack, Malformed, Reconcile, Rejected, excerpt, ts_from_iso
from fillwatch.venues.novig.adapter import Novig, token_audience
from fillwatch.venues.spec import TokenCell

NOW = 1767225600.1236  # 2026-01-01T00:00:00.1236Z: a clock with a fourth decimal
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
READ_ORDERS = Reconcile("orders")


@pytest.fixture
def venue() -> Novig:
    novig = Novig(api_url="https://api.example/nbx/v2", clock=lambda: NOW, token=TokenCell(Secret("tok-123")))
    return novig


def fill_frame(**changes: Any) -> str:
    """The §4.3 private fill, with `changes`."""
    data = {
        "id": "f-1",
        "orderId": "o-1",
        "price": 0.667,
        "qty": 50,
        "createdAt": "2023-10-05T12:00:00Z",
        "isWash": False,
        "isTaker": True,
        "marketId": "m-1",
        "outcomeId": "x-1",
    }
    return orjson.dumps({"event": "fill", "data": {**data, **changes}}).decode()


def cancel_frame(*, drop: tuple[str, ...] = (), **changes: Any) -> str:
    """The §4.4 private cancel, with `changes` and without the fields in `drop`."""
    data = {
        "id": "o-1",
        "outcomeId": "x-1",
        "marketId": "m-1",
        "price": 0.667,
        "qty": 60,
        "originalQty": 110,
        "currency": "COIN",
        "timestamp": "2023-10-05T12:00:00Z",
        "status": "CANCELLED",
        "flags": "ABC12345",
    }
    data = {k: v for k, v in {**data, **changes}.items() if k not in drop}
    return orjson.dumps({"event": "cancel", "data": data}).decode()


def one(venue: Novig, frame: str) -> Any:
    (item,) = venue.parse(frame)
    return item


def known_open(venue: Novig, order_id: str, currency: str, market: str = "m-1") -> None:
    """One complete orders/all read (§6.2) that shows `order_id` resting."""
    row = {"id": order_id, "outcomeId": "x-1", "marketId": market, "price": 0.5, "qty": 10, "originalQty": 10}
    row |= {"currency": currency, "timestamp": "2023-10-05T11:00:00Z", "status": "OPEN"}
    venue.parse_history("orders", orjson.dumps([row]), EPOCH, None)
    venue.parse_history("orders", b"[]", EPOCH, "COIN:0")


# Fills and cancels ------------------------------------------------------------------------------


def test_non_boolean_flags_are_unknown(venue: Novig) -> None:
    """isTaker/isWash that are not booleans are unknown (None), not taken as given."""
    fill = one(venue, fill_frame(isTaker="true", isWash=1))
    assert isinstance(fill, Fill)
    assert (fill.taker, fill.wash) == (None, None)


def test_a_cancel_without_original_qty_is_still_a_cancel(venue: Novig) -> None:
    """originalQty is optional: a cancel without it keeps its remaining qty and says nothing of the original."""
    cancel = one(venue, cancel_frame(drop=("originalQty",)))
    assert isinstance(cancel, Cancel)
    assert (cancel.qty, cancel.original_qty) == (Decimal(60), None)


@pytest.mark.parametrize("label", [None, "USD"])
def test_a_cancel_without_a_known_currency_takes_the_orders(venue: Novig, label: str | None) -> None:
    """A cancel whose currency is missing or not CASH/COIN is labelled with the currency orders/all gave."""
    known_open(venue, "o-1", "CASH")
    frame = cancel_frame(drop=("currency",)) if label is None else cancel_frame(currency=label)
    assert one(venue, frame).currency == "CASH"


def test_a_fill_after_its_orders_cancel_knows_the_currency_from_the_cancel(venue: Novig) -> None:
    """A cancel names its order's currency: a fill of that order parsed after it (frames out of order)
    is labelled with it."""
    one(venue, cancel_frame(currency="COIN"))
    assert one(venue, fill_frame()).currency == "COIN"
    assert one(venue, fill_frame(id="f-2", orderId="o-other")).currency is None


def test_a_fill_after_a_cancel_without_currency_knows_it_from_a_recalled_order(venue: Novig) -> None:
    """An order remembered open from the last run keeps its currency after a cancel that names none."""
    venue.recall({"orders_seen_until": "2023-10-05T11:00:00Z", "open": [["o-1", "m-1", "COIN", None]], "ended": []})
    assert one(venue, cancel_frame(drop=("currency",))).currency == "COIN"
    assert one(venue, fill_frame()).currency == "COIN"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (fill_frame(id=123), "bad fill event (expected a non-empty string, got 123)"),
        (fill_frame(orderId=""), "bad fill event (expected a non-empty string, got '')"),
        (fill_frame(marketId=None).replace('"marketId":null,', ""), "bad fill event (missing marketId)"),
        (cancel_frame(price="high"), "bad cancel event (not a number: 'high')"),
        ('{"type":5}', "bad tick event (type is not a string)"),
        ('{"event":"lifecycle","data":{"type":5}}', "bad lifecycle event (type is not a string)"),
        ('{"event":"book","data":{"type":["CLOSE"]}}', "bad book event (type is not a string)"),
        ('{"type":"CLOSE","market":{"name":"m"}}', "bad tick event (missing id)"),
        ('{"event":7,"data":{}}', "event is not a string"),
    ],
)
def test_unreadable_frames_say_what_was_wrong(venue: Novig, frame: str, reason: str) -> None:
    """Each unreadable frame is one Malformed item naming the event kind and the fault, with the frame's start."""
    assert venue.parse(frame) == [Malformed(reason, excerpt(frame))]


def test_a_long_fault_is_cut_to_a_hundred_characters(venue: Novig) -> None:
    """The fault in a diagnostic keeps 100 characters: one of exactly 100 is whole, one of 101 is cut with …."""
    for padding, cut in ((1, False), (2, True)):
        created = "a" * padding + "\x01" * 20  # repr() shows each \x01 in 4 characters
        with pytest.raises(ValueError, match="not a timestamp") as fault:
            ts_from_iso(created)
        text = str(fault.value)
        assert len(text) == 99 + padding
        item = one(venue, fill_frame(createdAt=created))
        assert isinstance(item, Malformed)
        assert item.reason == f"bad fill event ({text[:100] + '…' if cut else text})"


def test_a_close_tick_naming_its_market_at_the_top_level_asks_for_orders(venue: Novig) -> None:
    """A CLOSE tick may name its market as a top-level marketId instead of a market object."""
    known_open(venue, "o-1", "CASH", market="m-9")
    assert venue.parse('{"type":"CLOSE","marketId":"m-9"}') == [READ_ORDERS]


@pytest.mark.parametrize(
    ("tick", "when"),
    [
        ({"ts": "2026-02-01T10:00:00Z"}, "2026-02-01T10:00:00+00:00"),
        ({"closedAt": "2026-02-01T10:00:01Z"}, "2026-02-01T10:00:01+00:00"),
        ({"updatedAt": "2026-02-01T10:00:02Z"}, "2026-02-01T10:00:02+00:00"),
        ({"market": {"closedAt": "2026-02-01T10:00:03Z"}}, "2026-02-01T10:00:03+00:00"),
        ({"timestamp": "soon", "updatedAt": "2026-02-01T10:00:04Z"}, "2026-02-01T10:00:04+00:00"),
        ({"timestamp": "soon"}, "2026-01-01T00:00:00.124000+00:00"),
    ],
)
def test_a_close_is_dated_by_its_own_time_else_by_the_clock(venue: Novig, tick: dict[str, Any], when: str) -> None:
    """The CLOSE's time is the first readable of timestamp, ts, closedAt, updatedAt (on the tick, then its
    market); an unreadable one is passed over, and with none the clock's millisecond dates the cancels."""
    known_open(venue, "o-1", "CASH", market="m-9")
    fields = {k: v for k, v in tick.items() if k != "market"}
    market = {"id": "m-9", **tick.get("market", {})}
    assert venue.parse(orjson.dumps({"type": "CLOSE", "market": market, **fields}).decode()) == [READ_ORDERS]
    row = {"id": "o-1", "outcomeId": "x-1", "marketId": "m-9", "price": 0.5, "qty": 10, "originalQty": 10}
    row |= {"currency": "CASH", "timestamp": "2023-10-05T11:00:00Z", "status": "CLOSED"}
    (cancel,) = venue.parse_history("orders", orjson.dumps([row]), EPOCH, None).events
    assert cancel.ts.isoformat() == when


# Control frames ---------------------------------------------------------------------------------


def test_an_ack_may_name_its_channel_bare_and_may_carry_a_type(venue: Novig) -> None:
    """{"event":"subscribed","data":"lifecycle"} and an ack whose data has a type field are both acks."""
    assert venue.parse('{"event":"subscribed","data":"lifecycle"}') == [Ack("lifecycle")]
    assert venue.parse('{"event":"subscribed","data":{"channel":"tape","type":"x"}}') == [Ack("tape")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("boom", "venue error: boom"),
        ({"code": 500}, "venue error: {'code': 500}"),
        ({"type": "INTERNAL", "message": "boom"}, "venue error: boom"),
        ({"message": "e" * 90}, "venue error: " + "e" * 80),
    ],
)
def test_venue_errors_are_reported_with_their_text(venue: Novig, data: object, reason: str) -> None:
    """An error frame (shape undocumented, §5) is reported with up to 80 characters of its message,
    or of the whole payload when it has none; a "type" in it does not make it a tick."""
    frame = orjson.dumps({"event": "error", "data": data}).decode()
    assert venue.parse(frame) == [Malformed(reason, excerpt(frame))]


def test_an_auth_error_as_bare_text_asks_for_a_new_token(venue: Novig) -> None:
    """An error whose payload is bare text speaking of the token is a rejection fresh credentials may fix."""
    assert venue.parse('{"event":"error","data":"invalid token"}') == [Rejected(None, "invalid token", auth=True)]


# Tokens, requests, names ------------------------------------------------------------------------


def test_token_answers_without_a_usable_token_or_lifetime() -> None:
    """No token in a non-object or an empty access_token is an error; a lifetime of 0 is the default 1800 s,
    of 1 s is 1 s."""
    for body in (b"[1]", b'{"access_token":""}'):
        with pytest.raises(ValueError, match=r"^the token endpoint answered without an access_token$"):
            Novig.parse_token(body)
    assert Novig.parse_token(b'{"access_token":"t","expires_in":0}')[1] == 1800.0
    assert Novig.parse_token(b'{"access_token":"t","expires_in":1}')[1] == 1.0


@pytest.mark.parametrize(
    ("url", "audience"),
    [
        ("https://auth.qa.novig.us/oauth/token", "https://api-qa.novig.us"),
        ("https://AUTH-QA.novig.us/oauth/token", "https://api-qa.novig.us"),
        ("https://auth.novig.us/oauth/tokenX", None),
    ],
)
def test_the_legacy_audience_for_qa_labels_and_exact_paths(url: str, audience: str | None) -> None:
    """A host label "qa" or ending in "-qa" (any case) is QA; only a path ending in /oauth/token is legacy."""
    assert token_audience(url) == audience


def test_a_missing_token_is_a_bug_said_in_words() -> None:
    """Asking for headers before the net layer set a token raises, saying so."""
    with pytest.raises(RuntimeError) as error:
        Novig().handshake_headers(0)
    assert str(error.value) == "no Novig token yet: the net layer sets it before connecting"


def test_requests_are_gets_under_the_api_base_with_the_bearer_token() -> None:
    """A trailing slash of the REST base is dropped; history and market requests are GETs with the token."""
    novig = Novig(api_url="http://127.0.0.1:8080/NBX/", token=TokenCell(Secret("tok-9")))
    history = novig.history_request("orders", EPOCH, None, 0)
    market = novig.market_request("m-1", 0)
    assert (history.method, history.url) == ("GET", "http://127.0.0.1:8080/NBX/emm/orders/all")
    assert (market.method, market.url) == ("GET", "http://127.0.0.1:8080/NBX/emm/markets/m-1")
    assert history.headers == market.headers == {"Authorization": "Bearer tok-9"}
    with pytest.raises(ValueError, match=r"^no trades history on Novig$"):
        novig.history_request("trades", EPOCH, None, 0)


def test_market_bodies_of_odd_shapes_give_what_they_can(venue: Novig) -> None:
    """A description that is no string is left out of the title; outcomes without a string id and
    description, or that are no objects, are left out; a body that is no object names nothing."""
    body = orjson.dumps(
        {
            "description": 5,
            "event": {"description": "KC Chiefs vs BUF Bills - Week 14"},
            "outcomes": [
                "junk",
                {"id": "a"},
                {"id": 5, "description": "n"},
                {"description": "d"},
                {"id": "o", "description": "Over"},
            ],
        }
    )
    assert venue.parse_market_title(body) == "KC Chiefs vs BUF Bills - Week 14"
    assert venue.parse_outcome_names(body) == {"o": "Over"}
    assert venue.parse_outcome_names(b"[1]") == {}
