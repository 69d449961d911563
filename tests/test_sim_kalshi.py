"""The simulated Kalshi behaves as Kalshi's documents say: subscriptions, sids, order updates, direction.

Sources: the AsyncAPI document 2.0.0 and the OpenAPI document 3.34.0 shipped in kalshi-sdk 22.4.0
(``specs/``), and the live-API fill quoted in protocols/kalshi.md §9.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection

from fillwatch.sim.feed import MARKET_INFO, MARKETS, TITLES, KalshiFeed, market_body
from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.test_sim_fidelity import exchange, open_ws

pytestmark = pytest.mark.timeout(30)


async def data_frames(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    """The next `count` fill/user_order frames."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len(frames) < count:
            frame = orjson.loads(await ws.recv())
            if frame["type"] in ("fill", "user_order"):
                frames.append(frame)
    return frames


def subscribe(command_id: int, *channels: str, **params: object) -> dict[str, Any]:
    return {"id": command_id, "cmd": "subscribe", "params": {"channels": list(channels), **params}}


async def test_one_channel_streams_alone_with_the_sid_its_ack_gave(venue_key: rsa.RSAPrivateKey) -> None:
    """Subscribing to user_orders alone streams user_order frames at once, with the acked sid."""
    async with KalshiSim(Script(rate=0, seed=51), key=venue_key) as sim, await open_ws(sim, venue_key) as ws:
        [ack] = await exchange(ws, subscribe(1, "user_orders"), 1)
        frames = await data_frames(ws, 20)
    assert {(f["type"], f["sid"]) for f in frames} == {("user_order", ack["msg"]["sid"])}


async def test_data_frames_carry_the_sids_the_acks_gave(venue_key: rsa.RSAPrivateKey) -> None:
    """user_orders subscribed first gets sid 1 and fill sid 2, and the data frames say so."""
    async with KalshiSim(Script(rate=0, seed=52), key=venue_key) as sim, await open_ws(sim, venue_key) as ws:
        acks = await exchange(ws, subscribe(1, "user_orders", "fill"), 2)
        frames = await data_frames(ws, 60)
    sids = {a["msg"]["channel"]: a["msg"]["sid"] for a in acks}
    assert sids == {"user_orders": 1, "fill": 2}
    assert {(f["type"], f["sid"]) for f in frames} == {("user_order", 1), ("fill", 2)}


async def test_commands_are_answered_for_the_whole_session(venue_key: rsa.RSAPrivateKey) -> None:
    """Streaming or not, list_subscriptions answers; a repeated subscribe keeps its sid."""
    async with KalshiSim(Script(rate=0, seed=53), key=venue_key) as sim, await open_ws(sim, venue_key) as ws:
        await exchange(ws, subscribe(1, "fill", "user_orders"), 2)
        await data_frames(ws, 10)
        [again] = await exchange(ws, subscribe(2, "fill"), 1)
        [listing] = await exchange(ws, {"id": 3, "cmd": "list_subscriptions"}, 1)
    assert again == {"id": 2, "type": "subscribed", "msg": {"channel": "fill", "sid": 1}}
    assert listing == {
        "id": 3,
        "type": "ok",
        "msg": [{"channel": "fill", "sid": 1}, {"channel": "user_orders", "sid": 2}],
    }


async def test_unsubscribe_is_answered_and_stops_that_stream(venue_key: rsa.RSAPrivateKey) -> None:
    """After ``unsubscribed`` for the fill sid, only user_order frames come."""
    async with KalshiSim(Script(rate=0, seed=54), key=venue_key) as sim, await open_ws(sim, venue_key) as ws:
        await exchange(ws, subscribe(1, "fill", "user_orders"), 2)
        await data_frames(ws, 10)
        [gone] = await exchange(ws, {"id": 2, "cmd": "unsubscribe", "params": {"sids": [1]}}, 1)
        after = await data_frames(ws, 40)
    assert gone["type"] == "unsubscribed"
    assert (gone["id"], gone["sid"]) == (2, 1)
    assert {f["type"] for f in after} == {"user_order"}


async def test_update_subscription_adds_markets_to_the_filter(venue_key: rsa.RSAPrivateKey) -> None:
    """A fill subscription for one market streams that market; add_markets widens it and says the new list."""
    one, two = MARKETS[0], MARKETS[1]
    async with KalshiSim(Script(rate=0, seed=55), key=venue_key) as sim, await open_ws(sim, venue_key) as ws:
        [ack] = await exchange(ws, subscribe(1, "fill", market_tickers=[one]), 1)
        before = await data_frames(ws, 10)
        params = {"sids": [ack["msg"]["sid"]], "market_tickers": [two], "action": "add_markets"}
        update = {"id": 2, "cmd": "update_subscription", "params": params}
        [ok] = await exchange(ws, update, 1)
        after = await data_frames(ws, 40)
    assert {f["msg"]["market_ticker"] for f in before} == {one}
    assert ok == {"id": 2, "type": "ok", "sid": 1, "seq": 1, "msg": {"market_tickers": sorted([one, two])}}
    assert {f["msg"]["market_ticker"] for f in after} == {one, two}


def test_every_fill_and_cancel_comes_with_the_order_update_it_made() -> None:
    """A user_order follows every fill (partial ones too) with the counts so far; a cancel reports 0 remaining."""
    feed = KalshiFeed(seed=56)
    filled: dict[str, Decimal] = {}
    partial = cancels = 0
    for _ in range(400):
        messages = feed.next_event()
        for message, following in zip(messages, [*messages[1:], None], strict=True):
            msg = message["msg"]
            if message["type"] == "fill":
                filled[msg["order_id"]] = filled.get(msg["order_id"], Decimal(0)) + Decimal(msg["count_fp"])
                assert following is not None
                assert following["type"] == "user_order"
                update = following["msg"]
                assert update["order_id"] == msg["order_id"]
                assert Decimal(update["fill_count_fp"]) == filled[msg["order_id"]]
                assert update["last_update_reason"] == "Trade"
                partial += update["status"] == "resting"
            elif msg["status"] == "canceled":
                cancels += 1
                assert msg["remaining_count_fp"] == "0.00"
                assert Decimal(msg["fill_count_fp"]) == filled.get(msg["order_id"], Decimal(0))
                assert msg["last_update_time"].endswith("Z")
    assert partial > 20
    assert cancels > 20


def test_a_fills_legacy_side_is_its_outcome_side_as_the_live_api_sends() -> None:
    """Fill ``side`` = ``outcome_side`` and ``action`` the order's (§9): a sell read literally is mis-signed."""
    feed = KalshiFeed(seed=57)
    fills = [m["msg"] for _ in range(300) for m in feed.next_event() if m["type"] == "fill"]
    assert all(f["side"] == f["outcome_side"] == f["purchased_side"] for f in fills)
    sells = [f for f in fills if f["action"].startswith("sell")]
    assert len(sells) > 20
    rest = {f["trade_id"]: f for f in feed.rest_fills}
    assert all(rest[f["trade_id"]]["side"] == f["outcome_side"] for f in fills)
    assert {rest[f["trade_id"]]["action"] for f in sells} == {"sell"}  # the REST enum has no sell_partial


def fill_messages(schema: str, events: int = 300) -> list[dict[str, Any]]:
    feed = KalshiFeed(seed=58, schema=schema)  # type: ignore[arg-type]
    return [m["msg"] for _ in range(events) for m in feed.next_event() if m["type"] == "fill"]


def test_the_current_schema_is_the_default_and_the_older_shapes_are_explicit() -> None:
    """Script and feed default to the current schema; legacy and canonical-only fills come only when asked for."""
    assert Script().schema == KalshiFeed().schema == "current"
    assert all("count_fp" in f and "side" in f and "count" not in f for f in fill_messages("current"))
    assert all("count" in f and "outcome_side" not in f for f in fill_messages("legacy"))
    mixed = fill_messages("mixed")
    assert any("count" in f for f in mixed)  # legacy
    assert any("side" not in f and "outcome_side" in f for f in mixed)  # canonical direction only
    assert any("side" in f and "outcome_side" in f for f in mixed)


def test_a_retired_error_code_cannot_be_scripted() -> None:
    """Error codes 6, 16 and 17 are retired (AsyncAPI 2.0.0): the simulator will not send them."""
    for code in (6, 16, 17, 99):
        with pytest.raises(ValueError, match="retired or unknown"):
            Script(error_after=(1, code))
    assert Script(error_after=(1, 18)).error_after == (1, 18)


def test_market_titles_exercise_the_clients_title_join() -> None:
    """Each market's title and yes_sub_title give the trader's name; three need the join, two do not."""
    joined = 0
    for ticker in MARKETS:
        body = orjson.dumps({"market": market_body(ticker)})
        assert Kalshi.parse_market_title(body) == TITLES[ticker]
        joined += TITLES[ticker] != MARKET_INFO[ticker].title
    assert joined == 3


async def test_a_non_terminal_error_mid_stream_leaves_the_subscription_streaming(venue_key: rsa.RSAPrivateKey) -> None:
    """Error 18 (command timeout) mid-stream has neither id nor sid, and the fills go on."""
    async with (
        KalshiSim(Script(rate=0, seed=59, error_after=(3, 18)), key=venue_key) as sim,
        await open_ws(sim, venue_key) as ws,
    ):
        [ack] = await exchange(ws, subscribe(1, "fill"), 1)
        async with asyncio.timeout(10):
            while (frame := orjson.loads(await ws.recv()))["type"] != "error":
                pass
        after = await data_frames(ws, 10)
    assert frame == {"type": "error", "msg": {"code": 18, "msg": "Command timeout"}}
    assert {(f["type"], f["sid"]) for f in after} == {("fill", ack["msg"]["sid"])}
