"""The Novig adapter: Bearer headers, the token request, frames, implicit cancels, REST history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from fillwatch.core.events import Cancel, Fill
from fillwatch.core.secret import Secret
from fillwatch.render.jsonl import record
from fillwatch.venues.base import Ack, Malformed, Reconcile, Rejected, Reply
from fillwatch.venues.novig.adapter import ENDPOINTS, Novig, token_audience
from fillwatch.venues.spec import TokenCell

CASES = json.loads((Path(__file__).parent.parent / "data" / "novig" / "events.json").read_text())
CLOSE_TIME = 1767225600.5  # 2026-01-01T00:00:00.500Z: when a CLOSE tick (which has no time) was read
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
READ_ORDERS = Reconcile("orders")


@pytest.fixture
def venue() -> Novig:
    novig = Novig(api_url="https://api.example/nbx/v2", clock=lambda: CLOSE_TIME, token=TokenCell(Secret("tok-123")))
    return novig


def prime(venue: Novig, orders: list[dict[str, Any]]) -> None:
    """Feed `orders` to the adapter as one complete read of orders/all (all on the CASH page)."""
    page = venue.parse_history("orders", orjson.dumps(orders), EPOCH, None)
    assert page.next_page == "COIN:0"
    assert venue.parse_history("orders", b"[]", EPOCH, "COIN:0").next_page is None


def read_orders(venue: Novig, orders: list[dict[str, Any]], since: datetime = EPOCH) -> list[Cancel]:
    """A complete orders/all read of `orders` (CASH page, then COIN page); its cancels, as
    follow orders a backfill's events (by time, then id)."""
    events = []
    page = None
    for currency in ("CASH", "COIN"):
        request = venue.history_request("orders", since, page, 0)
        assert request.params == {"currency": currency, "limit": 256, "offset": 0}
        answer = [order for order in orders if order.get("currency", "CASH") == currency]
        result = venue.parse_history("orders", orjson.dumps(answer), since, page)
        events += result.events
        page = result.next_page
    assert page is None
    return sorted((e for e in events if isinstance(e, Cancel)), key=lambda e: (e.ts, e.id))


def tick(market: str, **fields: Any) -> str:
    return orjson.dumps({"type": "CLOSE", "market": {"id": market}, **fields}).decode()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_frames_give_the_contract_lines(venue: Novig, case: dict[str, Any]) -> None:
    """Each sample session (orders read first, then frames) gives exactly the lines computed by hand.
    An ``orders/all`` entry answers the read that the frame before it, and only that one, asked for."""
    prime(venue, case["orders"])
    events: list[Fill | Cancel] = []
    asked = False
    for frame in case["frames"]:
        if "orders/all" in frame:
            assert asked, "the adapter did not ask for this read"
            events += read_orders(venue, frame["orders/all"])
            asked = False
            continue
        assert not asked, "the adapter asked for orders/all, and the case gives none"
        parsed = venue.parse(orjson.dumps(frame).decode())
        assert not [p for p in parsed if isinstance(p, Malformed)]
        asked = READ_ORDERS in parsed
        events += [p for p in parsed if isinstance(p, (Fill, Cancel))]
    assert not asked
    assert [record(e) for e in events] == case["lines"]


def test_close_tick_time_is_used_when_it_has_one(venue: Novig) -> None:
    """A CLOSE that carries a timestamp dates the implicit cancels with it, not with the clock."""
    prime(venue, CASES[3]["orders"])
    assert venue.parse(tick("mkt-total", timestamp="2026-02-01T10:00:00Z")) == [READ_ORDERS]
    assert venue.parse(tick("mkt-total")) == ()  # repeated before the read: asked for once
    closed = {**CASES[3]["orders"][2], "status": "CANCELLED"}
    (cancel,) = read_orders(venue, [closed])
    assert (cancel.id, cancel.qty, cancel.reason, cancel.source) == ("o-c", Decimal(700), "market_closed", "live")
    assert record(cancel)["ts"] == "2026-02-01T10:00:00.000Z"
    assert venue.parse(tick("mkt-total")) == ()  # nothing of yours is left there
    assert read_orders(venue, [closed]) == []  # reported once


def test_json_ping_is_answered_with_the_json_pong(venue: Novig) -> None:
    """The older heartbeat: {"event":"ping"} asks for {"event":"pong","data":{"message":"pong"}}."""
    (reply,) = venue.parse('{"event":"ping","data":{"message":"ping"}}')
    assert isinstance(reply, Reply)
    assert orjson.loads(reply.frame) == {"event": "pong", "data": {"message": "pong"}}


@pytest.mark.parametrize(
    "frame",
    [
        "{not json",
        b"\x00binary",
        "[1, 2]",
        '{"event":"fill","data":{"orderId":"o","marketId":"m"}}',
        '{"event":"fill","data":null}',
        '{"event":"cancel","data":{"id":"o","marketId":"m","outcomeId":"x","price":"high","qty":1,'
        '"timestamp":"2026-01-01T00:00:00Z"}}',
        '{"event":"fill","data":{"id":"f","orderId":"o","marketId":"m","outcomeId":"x","price":0.5,"qty":1,'
        '"createdAt":"yesterday"}}',
        '{"type":"CLOSE"}',
        '{"event":"error","data":{"message":"rate limited"}}',
    ],
)
def test_malformed_frames_are_reported_not_raised(venue: Novig, frame: str | bytes) -> None:
    """Broken frames (and venue errors of unknown shape) become one Malformed item each."""
    (item,) = venue.parse(frame)
    assert isinstance(item, Malformed)


def test_an_auth_error_frame_asks_for_a_new_token(venue: Novig) -> None:
    """An in-band error about the token is a rejection that fresh credentials may fix."""
    (item,) = venue.parse('{"event":"error","data":{"message":"Unauthorized: token expired"}}')
    assert item == Rejected(None, "Unauthorized: token expired", auth=True)


def test_subscription_ack_and_the_lifecycle_subscription(venue: Novig) -> None:
    """The only command is the lifecycle subscription; no channel needs an ack to be confirmed."""
    assert [orjson.loads(f) for f in venue.subscribe_frames()] == [{"event": "subscribe", "data": "lifecycle"}]
    assert venue.channels == frozenset()
    assert venue.parse('{"event":"subscribed","data":{"channel":"lifecycle"}}') == [Ack("lifecycle")]


def test_handshake_carries_the_bearer_token_and_hides_it(venue: Novig) -> None:
    """Authorization: Bearer <token>, and neither the headers nor the adapter show the token."""
    headers = venue.handshake_headers(0)
    assert headers == {"Authorization": "Bearer tok-123"}
    assert "tok-123" not in repr(headers) + str(headers) + repr(venue) + repr(venue.token) + str(venue.token)


def test_handshake_without_a_token_is_a_bug() -> None:
    """The net layer must set a token before connecting."""
    with pytest.raises(RuntimeError):
        Novig().handshake_headers(0)


def test_token_request_for_the_current_endpoint_has_no_audience() -> None:
    """POST emm-token with JSON grant_type, client_id, client_secret; the secret is not in the repr."""
    request = Novig(token_url=ENDPOINTS["prod"].token).token_request("cid", Secret("s3cret"))
    assert (request.method, request.url) == ("POST", "https://api.novig.us/nbx/v1/auth/emm-token")
    assert request.json == {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "s3cret"}
    assert "s3cret" not in repr(request)


@pytest.mark.parametrize(
    ("url", "audience"),
    [
        ("https://auth.novig.us/oauth/token", "https://api.novig.us"),
        ("https://auth-qa.novig.us/oauth/token", "https://api-qa.novig.us"),
        ("http://127.0.0.1:8080/oauth/token/", "https://api.novig.us"),
        ("https://api-qa.novig.us/nbx/v1/auth/emm-token", None),
        ("https://api.novig.us/nbx/v1/auth/emm-token", None),
    ],
)
def test_legacy_token_endpoint_gets_its_audience(url: str, audience: str | None) -> None:
    """Only /oauth/token wants an audience: the QA API for a QA host, api.novig.us otherwise."""
    assert token_audience(url) == audience
    body = Novig(token_url=url).token_request("cid", Secret("s")).json
    assert body.get("audience") == audience


def test_token_response_gives_the_token_and_its_lifetime() -> None:
    """access_token and expires_in; a missing lifetime is the documented 30 minutes."""
    token, lifetime = Novig.parse_token(b'{"access_token":"eyJ.x","expires_in":86400,"token_type":"Bearer"}')
    assert (token, lifetime) == (Secret("eyJ.x"), 86400.0)
    assert Novig.parse_token(b'{"access_token":"eyJ.y"}')[1] == 1800.0
    with pytest.raises(ValueError, match="access_token"):
        Novig.parse_token(b'{"error":"access_denied"}')


def test_demo_environment_uses_the_qa_hosts() -> None:
    """--env demo: every endpoint is on api-qa.novig.us."""
    qa = ENDPOINTS["demo"]
    assert {u.split("/")[2] for u in (qa.ws, qa.api, qa.token)} == {"api-qa.novig.us"}


def _fill(n: int, ts: str, *, fee: str | None = None) -> dict[str, Any]:
    item = {
        "id": f"f-{n}",
        "orderId": f"o-{n}",
        "price": 0.61,
        "qty": 200,
        "createdAt": ts,
        "isWash": False,
        "isTaker": fee is not None,
        "marketId": "m",
        "outcomeId": "x",
    }
    return item | ({"fee": fee, "feeCoefficient": "0.07"} if fee else {})


def test_history_fills_page_by_offset_then_by_currency(venue: Novig) -> None:
    """A full page asks for the next offset; a short one moves on from CASH to COIN, then stops."""
    first = venue.history_request("fills", EPOCH, None, 0)
    assert first.url == "https://api.example/nbx/v2/emm/fills/all"
    assert first.params == {"currency": "CASH", "limit": 256, "offset": 0}
    assert first.headers == {"Authorization": "Bearer tok-123"}
    full = [_fill(n, "2026-01-02T00:00:00Z") for n in range(256)]
    assert venue.parse_history("fills", orjson.dumps(full), EPOCH, None).next_page == "CASH:256"
    assert venue.history_request("fills", EPOCH, "CASH:256", 0).params["offset"] == 256
    assert venue.parse_history("fills", b"[]", EPOCH, "CASH:256").next_page == "COIN:0"
    coin = venue.history_request("fills", EPOCH, "COIN:0", 0)
    assert coin.params == {"currency": "COIN", "limit": 256, "offset": 0}
    assert venue.parse_history("fills", orjson.dumps({"fills": []}), EPOCH, "COIN:0").next_page is None


def test_history_fills_fee_and_the_since_bound(venue: Novig) -> None:
    """CASH fees in MCU become dollars; paging stops at the first page that reaches past `since`."""
    since = datetime(2026, 1, 1, 12, tzinfo=UTC)
    minutes = [since + timedelta(minutes=11 - n) for n in range(256)]  # newest first; 12 at or after `since`
    page = [_fill(n, t.isoformat(), fee="1.4274" if n == 0 else None) for n, t in enumerate(minutes)]
    result = venue.parse_history("fills", orjson.dumps(page), since, None)
    assert result.next_page == "COIN:0"  # newest first and past `since`: no need for CASH:256
    assert [e.id for e in result.events] == [f"f-{n}" for n in range(12)]
    lines = [record(e) for e in result.events]
    assert (lines[0]["fee"], lines[0]["currency"], lines[0]["source"], lines[0]["taker"]) == (
        0.014274,
        "CASH",
        "history",
        True,
    )
    assert lines[1]["fee"] is None
    coin_page = orjson.dumps([_fill(1, "2026-01-01T13:00:00Z", fee="3")])
    (coin,) = venue.parse_history("fills", coin_page, since, "COIN:0").events
    assert (coin.fee, coin.currency) == (Decimal(3), "COIN")


def test_history_orders_reconcile_the_open_orders(venue: Novig) -> None:
    """An order believed open that REST shows cancelled is a history cancel; others refresh the cache."""
    prime(venue, CASES[3]["orders"])
    assert venue.open_orders == {"o-b": "mkt-ml", "o-a": "mkt-ml", "o-c": "mkt-total"}
    later = [
        {**CASES[3]["orders"][0], "qty": 4000},
        {**CASES[3]["orders"][1], "status": "CANCELLED", "updatedAt": "2026-01-03T00:00:00Z"},
        {**CASES[3]["orders"][4]},  # cancelled before, and never believed open: no event
    ]
    (cancel,) = venue.parse_history("orders", orjson.dumps(later), EPOCH, None).events
    assert record(cancel) | {"ts": None} == {
        **record(cancel),
        "id": "o-a",
        "qty": 100,
        "currency": "COIN",
        "source": "history",
        "reason": None,
        "ts": None,
    }
    assert record(cancel)["ts"] == "2026-01-03T00:00:00.000Z"
    assert venue.open_orders == {"o-b": "mkt-ml", "o-c": "mkt-total"}


def test_market_title_and_outcome_names(venue: Novig) -> None:
    """GET emm/markets/{id} → "event — market", and the outcomes' descriptions by id."""
    request = venue.market_request("mkt/1", 0)
    assert (request.method, request.url) == ("GET", "https://api.example/nbx/v2/emm/markets/mkt%2F1")
    body = orjson.dumps(
        {
            "id": "mkt-1",
            "description": "KC v BUF Total",
            "outcomes": [{"id": "o0", "description": "Over 26.5"}, {"id": "o1", "description": "Under 26.5"}],
            "event": {"description": "KC Chiefs vs BUF Bills - Week 14"},
        }
    )
    assert venue.parse_market_title(body) == "KC Chiefs vs BUF Bills - Week 14 — KC v BUF Total"
    assert venue.parse_outcome_names(body) == {"o0": "Over 26.5", "o1": "Under 26.5"}
    assert venue.parse_market_title(b'{"description":"Only a market"}') == "Only a market"
    assert venue.parse_market_title(b"{}") is None
    assert venue.parse_outcome_names(b'{"outcomeIds":[["o0","o1"]]}') == {}


def _order(order_id: str, remaining: int, status: str = "OPEN") -> dict[str, Any]:
    return {
        "id": order_id,
        "outcomeId": "x",
        "marketId": "mkt-closing",
        "price": 0.4,
        "qty": remaining,
        "originalQty": 100,
        "currency": "CASH",
        "timestamp": "2026-01-01T00:00:00Z",
        "status": status,
    }


def _live_fill(fill_id: str, order_id: str, qty: int) -> str:
    data = {"id": fill_id, "orderId": order_id, "price": 0.4, "qty": qty, "createdAt": "2026-01-01T00:05:00Z"}
    return orjson.dumps({"event": "fill", "data": {**data, "marketId": "mkt-closing", "outcomeId": "x"}}).decode()


def _placed(order: dict[str, Any], ts: str, **changes: Any) -> dict[str, Any]:
    return {**order, "timestamp": ts, **changes}


def test_orders_new_since_the_last_read_and_cancelled_are_history_cancels(venue: Novig) -> None:
    """An order the stream never showed (placed after the last orders read) and cancelled while
    disconnected: REST is the only witness. Dated when learned (REST gives no cancel time), no reason."""
    assert read_orders(venue, [_placed(_order("o-old", 0, "CANCELLED"), "2026-01-01T00:00:00.300Z")]) == []
    later = [
        _placed(_order("o-new", 60, "CANCELLED"), "2026-01-01T00:00:05.000Z"),
        _placed(_order("o-gone", 0, "CANCELLED"), "2025-12-31T23:59:58Z"),  # never seen, but older: not new
        _placed(_order("o-old", 0, "CANCELLED"), "2026-01-01T00:00:00.300Z"),  # seen cancelled before
        _placed(_order("o-rest", 40), "2026-01-01T00:00:06.000Z"),  # new and still open: learned
    ]
    (cancel,) = read_orders(venue, later, since=datetime(2026, 1, 1, tzinfo=UTC))
    assert (cancel.id, cancel.qty, cancel.currency, cancel.source, cancel.reason) == (
        "o-new",
        Decimal(60),
        "CASH",
        "history",
        None,
    )
    assert cancel.ts == datetime.fromtimestamp(CLOSE_TIME, UTC)
    assert venue.open_orders == {"o-rest": "mkt-closing"}
    assert read_orders(venue, later) == []  # read again: nothing new


def test_a_new_order_in_whole_seconds_is_still_new(venue: Novig) -> None:
    """Placed after the last read's newest order, but dated in whole seconds (so seemingly before it)."""
    read_orders(venue, [_placed(_order("o-1", 100), "2026-01-01T00:00:00.900Z")])
    (cancel,) = read_orders(venue, [_placed(_order("o-2", 10, "CANCELLED"), "2026-01-01T00:00:00Z")])
    assert cancel.id == "o-2"


def test_a_closed_market_seen_live_names_the_reason_of_later_cancels(venue: Novig) -> None:
    """A CLOSE takes an order the stream could not know; REST shows it later: reason market_closed.
    An order believed open and cancelled in a gap (reason unknown to REST) stays null; CLOSED with
    quantity left counts as cancelled."""
    read_orders(venue, [_placed(_order("o-open", 100, "OPEN"), "2026-01-01T00:00:00Z") | {"marketId": "m-2"}])
    assert venue.parse(tick("mkt-closing")) == ()  # nothing of yours known there: no read asked for
    later = [
        _placed(_order("o-unseen", 70, "CANCELLED"), "2026-01-01T00:00:03Z"),
        _placed(_order("o-open", 100, "CLOSED"), "2026-01-01T00:00:00Z") | {"marketId": "m-2"},
    ]
    cancels = read_orders(venue, later)
    assert [(c.id, c.source, c.reason) for c in cancels] == [
        ("o-open", "history", None),
        ("o-unseen", "history", "market_closed"),
    ]
    assert venue.open_orders == {}


def test_a_closes_cancels_come_from_rest_however_fills_and_snapshots_interleaved(venue: Novig) -> None:
    """The chaos run's bug: a backfill read fills/all, then a fill (125 of 250) was made, then
    orders/all showed 125 left; the fill's live frame, parsed after the backfill, took a count kept
    from the stream to 0, so the order was believed filled and the CLOSE that took its 125 went
    unreported. No count is kept now: the CLOSE asks for orders/all, which knows."""
    order = _placed(_order("o-1", 250), "2026-01-01T00:00:00Z") | {"originalQty": 250}
    read_orders(venue, [order])
    since = datetime(2026, 1, 1, tzinfo=UTC)
    venue.parse_history("fills", b"[]", since, None)
    read_orders(venue, [{**order, "qty": 125}], since)  # the snapshot already counts f-1
    (fill,) = venue.parse(_live_fill("f-1", "o-1", 125))
    assert isinstance(fill, Fill)
    assert fill.qty == 125
    assert venue.parse(tick("mkt-closing")) == [READ_ORDERS]
    (cancel,) = read_orders(venue, [{**order, "qty": 125, "status": "CANCELLED"}], since)
    assert (cancel.id, cancel.qty, cancel.original_qty, cancel.reason) == ("o-1", 125, 250, "market_closed")


def test_a_close_asks_for_orders_only_where_you_may_have_one(venue: Novig) -> None:
    """Lifecycle ticks come for every market: a CLOSE asks for a read only for a market with an order
    known open, or with a fill of an order placed since the last read. That read shows such an order,
    and one REST still shows resting on the closed market: both closed, live, dated with the tick."""
    read_orders(venue, [_placed(_order("o-old", 100), "2026-01-01T00:00:00Z") | {"marketId": "m-other"}])
    assert venue.parse(tick("mkt-closing")) == ()
    venue.parse(_live_fill("f-1", "o-new", 10))  # o-new: placed since the read, on mkt-closing
    assert venue.parse(tick("mkt-closing")) == [READ_ORDERS]
    after = [
        _placed(_order("o-new", 90, "CANCELLED"), "2026-01-01T00:00:04Z"),
        _placed(_order("o-later", 30, "OPEN"), "2026-01-01T00:00:05Z"),  # REST not caught up yet
        _placed(_order("o-old", 100), "2026-01-01T00:00:00Z") | {"marketId": "m-other"},
    ]
    cancels = read_orders(venue, after)
    assert [(c.id, c.qty, c.source, c.reason) for c in cancels] == [
        ("o-later", 30, "live", "market_closed"),
        ("o-new", 90, "live", "market_closed"),
    ]
    assert {c.ts for c in cancels} == {datetime.fromtimestamp(CLOSE_TIME, UTC)}
    assert venue.open_orders == {"o-old": "m-other"}
    assert venue.parse(tick("mkt-closing")) == ()  # the read cleared the marks: nothing of yours is there


def _live_cancel(order: dict[str, Any], ts: str) -> str:
    data = {**order, "status": "CANCELLED", "timestamp": ts}
    return orjson.dumps({"event": "cancel", "data": data}).decode()


def _next_run(memory: object) -> Novig:
    """A later run's adapter, taking up `memory` from the JSON of the state file."""
    venue = Novig(
        api_url="https://api.example/nbx/v2", clock=lambda: CLOSE_TIME + 3600, token=TokenCell(Secret("tok-456"))
    )
    venue.recall(orjson.loads(orjson.dumps(memory)))
    return venue


def test_the_next_run_reports_what_ended_while_nobody_watched_and_nothing_twice(venue: Novig) -> None:
    """The state file keeps the orders known open: a later run reports those cancelled between the
    runs, and those placed and cancelled between them; not one the stream showed cancelled."""
    a, b, c = (_placed(_order(k, 50), f"2026-01-01T00:00:0{n}.000Z") for n, k in enumerate(("o-a", "o-b", "o-c")))
    read_orders(venue, [a, b, c])
    assert venue.warm_up == ("orders",)
    new = _placed(_order("o-new", 30), "2026-01-01T00:00:09.000Z")  # placed after the read
    (shown,) = venue.parse(_live_cancel(b, "2026-01-01T00:00:10.000Z"))
    (shown_new,) = venue.parse(_live_cancel(new, "2026-01-01T00:00:11.000Z"))
    printed = {(shown.id, shown.order_id), (shown_new.id, shown_new.order_id)}
    memory = venue.memory(lambda event: (event.id, event.order_id) in printed)

    later = _next_run(memory)
    assert later.warm_up == ()  # what the warm-up would learn, the memory says
    assert later.open_orders == {"o-a": "mkt-closing", "o-c": "mkt-closing"}
    between = _placed(_order("o-between", 20, "CANCELLED"), "2026-01-01T00:30:00.000Z")
    rest = [
        {**a, "status": "CANCELLED", "qty": 45},  # cancelled between the runs
        {**b, "status": "CANCELLED"},  # cancelled while the first run watched: shown then
        c,  # still open
        {**new, "status": "CANCELLED"},  # placed and cancelled while the first run watched
        between,  # placed and cancelled between the runs
    ]
    cancels = read_orders(later, rest, since=datetime(2026, 1, 1, tzinfo=UTC))
    assert [(e.id, e.qty, e.currency, e.source) for e in cancels] == [
        ("o-a", Decimal(45), "CASH", "history"),
        ("o-between", Decimal(20), "CASH", "history"),
    ]
    assert later.open_orders == {"o-c": "mkt-closing"}


def test_a_cancel_made_but_not_shown_is_made_again_by_the_next_run(venue: Novig) -> None:
    """A run that stops between making a cancel and showing it (--max-events, a signal mid-read)
    leaves the order as open in its memory: the next run shows the cancel."""
    a = _placed(_order("o-a", 50), "2026-01-01T00:00:01.000Z")
    read_orders(venue, [a])
    (made,) = read_orders(venue, [{**a, "status": "CANCELLED"}])
    assert venue.open_orders == {}
    memory = venue.memory(lambda event: False)  # the run stopped before showing it
    (again,) = read_orders(_next_run(memory), [{**a, "status": "CANCELLED"}])
    assert (again.id, again.qty) == (made.id, made.qty)
    assert venue.memory(lambda event: True)["open"] == []  # shown: forgotten


def test_no_memory_before_the_first_orders_read_and_bad_memory_is_refused() -> None:
    novig = Novig()
    assert novig.memory(lambda event: False) is None
    for bad in (
        {},
        {"orders_seen_until": "x", "open": [], "ended": []},
        {"orders_seen_until": "2026-01-01T00:00:00Z", "open": [["o", "m", "EUR", None]], "ended": []},
    ):
        with pytest.raises(ValueError, match="not a Novig order memory"):
            novig.recall(bad)


def test_a_read_that_fails_part_way_is_undone_so_the_next_finds_its_cancels(venue: Novig) -> None:
    """The CASH page is read, the COIN page fails: the run shows none of that read. The next read
    must find the same cancels, of an order known open and of a new one alike."""
    a = _placed(_order("o-a", 50), "2026-01-01T00:00:01.000Z")
    read_orders(venue, [a])
    gone = [{**a, "status": "CANCELLED"}, _placed(_order("o-new", 20, "CANCELLED"), "2026-01-01T00:00:05.000Z")]
    page = venue.parse_history("orders", orjson.dumps(gone), EPOCH, None)
    assert sorted(e.id for e in page.events) == ["o-a", "o-new"]  # then COIN:0 fails: never shown
    assert sorted(e.id for e in read_orders(venue, gone)) == ["o-a", "o-new"]
    assert read_orders(venue, gone) == []  # that read completed: once only


def test_a_run_stopped_during_a_read_leaves_its_cancels_to_the_next_run(venue: Novig) -> None:
    """Stopped after a page made cancels and before they were shown: the memory keeps the known
    order open and does not call the new one ended, so the next run makes both again."""
    a = _placed(_order("o-a", 50), "2026-01-01T00:00:01.000Z")
    read_orders(venue, [a])
    gone = [{**a, "status": "CANCELLED"}, _placed(_order("o-new", 20, "CANCELLED"), "2026-01-01T00:00:05.000Z")]
    venue.parse_history("orders", orjson.dumps(gone), EPOCH, None)
    memory = venue.memory(lambda event: False)
    assert sorted(e.id for e in read_orders(_next_run(memory), gone)) == ["o-a", "o-new"]
