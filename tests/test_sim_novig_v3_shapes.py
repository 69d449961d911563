"""The shapes Novig's v3 documents leave open, each switchable in the simulator's ``Script``, and the other faults.

Open per ``protocols/novig-v3.md`` §12 and §14 (each test names the page that leaves it open);
the documented defaults come from api_streaming_private.md and api_streaming_connection.md
(``Semionsr/novig-v3-kit``, ``fixtures/docs/``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, Literal

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from fillwatch.sim.novig_v3 import NovigV3Sim, Script
from fillwatch.sim.novig_v3_script import GARBAGE
from fillwatch.sim.thread import SimThread
from tests.test_sim_novig_v3_signer import Trader, new_key, recv, recv_until, row

KEY_ID = str(uuid.uuid4())
KEY = new_key()


@asynccontextmanager
async def connected(
    private: tuple[str, ...] = ("orders",), **script: Any
) -> AsyncIterator[tuple[NovigV3Sim, Trader, ClientConnection]]:
    """A test-driven simulator with a client subscribed to `private`; the subscribe reply is consumed."""
    async with NovigV3Sim(Script(**{"rate": None, **script}), keys=[row(KEY_ID, KEY)]) as sim:
        trader = Trader(sim, KEY_ID, KEY)
        async with trader.connect() as ws:
            await trader.send(ws, "subscribe", {"private": list(private)})
            await recv(ws)
            yield sim, trader, ws


async def status(trader: Trader, ws: ClientConnection) -> int:
    """Send ``status``: every frame queued before its reply was made before it (the outbox is FIFO)."""
    return await trader.send(ws, "status", None)


@pytest.mark.parametrize("shape", ["top", "nested"])
async def test_the_socket_error_frame_shape_is_switchable(shape: str) -> None:
    """``error_shape``: top-level ``{code, message, nonce}`` or nested (only ``ErrorBody`` is documented, §14.1)."""
    async with connected(error_shape=shape) as (_, trader, ws):
        nonce = await trader.send(ws, "subscribe", {})
        error = await recv(ws)
    if shape == "top":
        assert error == {"code": "EMPTY_SELECTION", "message": "the selection is empty", "nonce": nonce}
    else:
        assert error == {"nonce": nonce, "error": {"code": "EMPTY_SELECTION", "message": "the selection is empty"}}


@pytest.mark.parametrize("shape", ["named", "subscribed"])
async def test_the_unsubscribe_and_status_ack_shapes_are_switchable(shape: str) -> None:
    """``ack_shape``: ``unsubscribed``/``status`` keys or ``subscribed`` (api_streaming_connection.md: "Ack")."""
    async with connected(ack_shape=shape) as (_, trader, ws):
        await trader.send(ws, "unsubscribe", ["PRIVATE"])
        unsubscribed = await recv(ws)
        await trader.send(ws, "status", None)
        status = await recv(ws)
    empty: dict[str, Any] = {"markets": {}, "events": {}, "private": []}
    if shape == "named":
        assert (unsubscribed["unsubscribed"], status["status"]) == (["PRIVATE"], empty)
    else:
        assert unsubscribed["subscribed"] == status["subscribed"] == empty


@pytest.mark.parametrize("repeat", [True, False])
async def test_whether_the_snapshot_reply_repeats_subscribed_is_switchable(repeat: bool) -> None:
    """``snapshot_subscribed``: api_streaming_connection.md shows only the ``subscribe`` reply (§14.7)."""
    async with connected(snapshot_subscribed=repeat) as (_, trader, ws):
        await trader.send(ws, "snapshot", {"private": ["orders"]})
        reply = await recv(ws)
    assert ("subscribed" in reply) is repeat
    assert reply["orders"] == {"seq": 0, "open": []}


@pytest.mark.parametrize("carried", [False, True])
async def test_whether_a_cancel_carries_remaining_is_switchable(carried: bool) -> None:
    """``cancel_remaining``: absent in api_streaming_private.md's example, said present elsewhere (§13.2, §14.2)."""
    async with connected(cancel_remaining=carried) as (sim, _, ws):
        order_id = sim.publish(sim.feed.place(qty=100)).events[0]["orderId"]
        sim.publish(sim.feed.fill(order_id, 40))
        sim.publish(sim.feed.cancel(order_id))
        *_, cancel = [await recv(ws) for _ in range(3)]
    expected = {"kind": "cancel", "orderId": order_id} | ({"remaining": 60} if carried else {})
    assert cancel["orders"]["deltas"] == [expected]


@pytest.mark.parametrize("shared", [False, True])
async def test_whether_market_and_private_batches_share_a_frame_is_switchable(shared: bool) -> None:
    """``share_frames``: ``GOLIVE``'s lifecycle delta and its cancels in one frame or two (§14.6)."""
    async with NovigV3Sim(Script(rate=None, share_frames=shared), keys=[row(KEY_ID, KEY)]) as sim:
        trader = Trader(sim, KEY_ID, KEY)
        market = next(iter(sim.feed.markets))
        async with trader.connect() as ws:
            await trader.send(ws, "subscribe", {"private": ["orders"], "markets": {market: "lifecycle"}})
            await recv(ws)
            sim.publish(sim.feed.place(market_id=market))
            await recv(ws)
            sim.publish(sim.feed.transition(market, "GOLIVE"))
            first = await recv(ws)
            if not shared:
                second = await recv(ws)
                assert "orders" not in second
                assert second["delta"][market]["lifecycle"]["deltas"] == ["GOLIVE"]
    assert first["orders"]["deltas"][0]["reason"] == "GO_LIVE"
    assert (market in first["delta"]) is shared


@pytest.mark.parametrize("source", ["engine", "send"])
async def test_the_frame_ts_source_is_switchable(source: Literal["engine", "send"]) -> None:
    """``frame_ts``: the batch's engine time (= REST ``Fill.ts``) or the send time; no page says which (§14.3)."""
    now = [1_757_894_400.0]
    async with NovigV3Sim(Script(rate=None, frame_ts=source), keys=[row(KEY_ID, KEY)], clock=lambda: now[0]) as sim:
        trader = Trader(sim, KEY_ID, KEY)
        async with trader.connect(ts=sim.clock_ms()) as ws:
            await trader.send(ws, "subscribe", {"private": ["orders"]})
            await recv(ws)
            sim.publish(sim.feed.place(qty=10, fills=(10,)))
            now[0] += 2.5  # before the writer runs: the frame is written "later"
            frame = await recv(ws)
    assert next(iter(frame)) == "ts"
    engine = sim.feed.fills[0]["ts"]
    assert frame["ts"] == (engine if source == "engine" else engine + 2500)


@pytest.mark.parametrize("each", [True, False])
async def test_whether_close_cancels_each_resting_order_is_switchable(each: bool) -> None:
    """``close_cancels``: ``CLOSE`` sends ``MARKET_CLOSED`` cancels, or orders leave silently (§7, §14.5)."""
    async with connected(close_cancels=each, heartbeat=0.05) as (sim, trader, ws):
        market = next(iter(sim.feed.markets))
        sim.publish(sim.feed.place(market_id=market))
        await recv_until(ws, lambda f: "orders" in f)
        sim.publish(sim.feed.transition(market, "CLOSE"))
        nonce = await status(trader, ws)
        frames, _ = await recv_until(ws, lambda f: f.get("nonce") == nonce)
        _, beat = await recv_until(ws, lambda f: "heartbeat" in f)  # made after the status reply
        canceled = (await trader.get("/v3/orders", "status=CANCELED")).json()["items"]
    reasons = [f["orders"]["deltas"][0]["reason"] for f in frames if "orders" in f]
    assert reasons == (["MARKET_CLOSED"] if each else [])
    assert beat["heartbeat"]["orders"] == (2 if each else 1)
    assert len(canceled) == 1


@pytest.mark.parametrize("at_zero", [True, False])
async def test_whether_heartbeats_come_before_the_first_event_is_switchable(at_zero: bool) -> None:
    """``heartbeat_at_zero``: is a heartbeat sent at ``seq`` 0? (§14.8)"""
    async with connected(heartbeat_at_zero=at_zero, heartbeat=0.02) as (sim, trader, ws):
        await asyncio.sleep(0.1)  # five intervals at seq 0
        nonce = await trader.send(ws, "status", None)
        before, _ = await recv_until(ws, lambda f: f.get("nonce") == nonce)
        sim.publish(sim.feed.place())
        await recv_until(ws, lambda f: "orders" in f)  # heartbeats after the batch were made after it
        _, beat = await recv_until(ws, lambda f: "heartbeat" in f)
    assert bool(before) is at_zero
    assert all(f == {"heartbeat": {"orders": 0, "ts": f["heartbeat"]["ts"]}} for f in before)
    assert beat["heartbeat"]["orders"] == 1


@pytest.mark.parametrize(("short", "price"), [(False, "0.670"), (True, "0.67")])
async def test_the_private_stream_price_format_is_switchable(short: bool, price: str) -> None:
    """``short_prices``: three decimals as documented, or unpadded like the book route (§14.14)."""
    async with connected(short_prices=short) as (sim, _, ws):
        sim.publish(sim.feed.place(price=Decimal("0.670")))
        assert (await recv(ws))["orders"]["deltas"][0]["price"] == price


@pytest.mark.parametrize("newest", [True, False])
async def test_the_orders_listing_order_is_switchable(newest: bool) -> None:
    """``orders_newest_first``: openapi ``listOrders`` does not say how items are ordered (§14.10)."""
    async with connected(orders_newest_first=newest) as (sim, trader, _):
        placed = [sim.publish(sim.feed.place()).events[0]["orderId"] for _ in range(5)]
        pages = await trader.pages("/v3/orders", "limit=2")
    listed = [o["orderId"] for page in pages for o in page]
    assert listed == (placed[::-1] if newest else placed)


async def test_positions_have_their_own_seq_and_ride_in_their_own_frame() -> None:
    """``positions``: snapshot, batches with their own ``seq``, heartbeat key (api_streaming_private.md "Positions")."""
    async with connected(("orders", "positions"), heartbeat=0.05) as (sim, trader, ws):
        market = next(iter(sim.feed.markets.values()))
        sim.publish(sim.feed.place(market_id=market.market_id))
        sim.publish(sim.feed.place(market_id=market.market_id, qty=100, price=Decimal("0.5"), fills=(40,)))
        nonce = await status(trader, ws)
        frames, _ = await recv_until(ws, lambda f: f.get("nonce") == nonce)  # the batches came before
        _, beat = await recv_until(ws, lambda f: "heartbeat" in f)
        await trader.send(ws, "snapshot", {"private": ["positions"]})
        _, snapshot = await recv_until(ws, lambda f: "nonce" in f)
    positions = [f["positions"] for f in frames if "positions" in f]
    assert [p["seq"] for p in positions] == [1]
    (held,) = positions[0]["deltas"]
    assert (held["qty"], held["cost"]) == (40, "0.20000")
    assert [f["orders"]["seq"] for f in frames if "orders" in f] == [1, 2]
    assert beat["heartbeat"]["orders"] == 2
    assert beat["heartbeat"]["positions"] == 1
    assert snapshot["positions"] == {"seq": 1, "positions": [held]}


async def test_garbage_drop_and_silence_faults() -> None:
    """``garbage_every`` slips malformed frames in, ``drop_after`` drops TCP, ``silent_after`` stops everything."""
    async with connected(garbage_every=1) as (sim, _, ws):
        sim.publish(sim.feed.place())
        await recv(ws)
        assert await ws.recv() == GARBAGE[1]
    async with connected(drop_after=1, drops=1) as (sim, _, ws):
        sim.publish(sim.feed.place())
        await recv(ws)
        sim.publish(sim.feed.place())
        with pytest.raises(ConnectionClosed):
            await recv(ws)
        assert sim.stats.drops == 1
    async with connected(silent_after=0, heartbeat=0.01, ping_interval=0.01) as (sim, _, ws):
        sim.publish(sim.feed.place())
        pings = sim.stats.pings
        with pytest.raises(TimeoutError):
            await recv(ws, 0.2)  # twenty heartbeat and Ping intervals
        assert sim.stats.pings == pings


def test_the_simulator_runs_on_its_own_thread_with_the_venues_clock() -> None:
    """Under ``SimThread`` (as the CLI's tests and the chaos run use it) the venue makes batches on its own."""
    with SimThread(NovigV3Sim(Script(rate=0, limit=20), keys=[row(KEY_ID, KEY)])) as sim:

        async def watch() -> list[int]:
            trader = Trader(sim, KEY_ID, KEY)
            async with trader.connect() as ws:
                await trader.send(ws, "subscribe", {"private": ["orders"]})
                await recv(ws)
                seqs: list[int] = []
                while not seqs or seqs[-1] < sim.feed.seq or sim.stats.events < 20:
                    frame = await recv(ws)
                    seqs += [frame["orders"]["seq"]] if "orders" in frame else []
                return seqs

        seqs = asyncio.run(watch())
    assert seqs == list(range(1, sim.feed.seq + 1))
    assert sim.stats.events == 20


@pytest.mark.parametrize("keep", [False, True])
async def test_what_a_restart_does_to_open_sockets_is_switchable(keep: bool) -> None:
    """``restart()`` resets ``seq`` to 0 (api_streaming_private.md); sockets dropped or kept is open (§14.13)."""
    async with connected(restart_keeps_sockets=keep, heartbeat=0.05) as (sim, trader, ws):
        sim.publish(sim.feed.place())
        assert (await recv(ws))["orders"]["seq"] == 1
        sim.restart()
        if not keep:
            with pytest.raises(ConnectionClosed):
                await recv(ws)
            trader.nonce = 0
            async with trader.connect() as again:
                await trader.send(again, "subscribe", {"private": ["orders"]})
                assert (await recv(again))["orders"]["seq"] == 0
        else:
            await recv_until(ws, lambda f: f.get("heartbeat", {}).get("orders") == 0)  # one made after the restart
        sim.publish(sim.feed.place())
        assert sim.feed.batches[-1].seq == 1


async def test_drop_chance_drops_orders_batches_at_random_and_stats_name_them() -> None:
    """``drop_chance`` drops ``orders`` batches at random (chaos); ``Stats.dropped_seqs`` lists each one."""
    async with connected(drop_chance=0.3, seed=5) as (sim, trader, ws):
        for _ in range(100):
            sim.publish(sim.feed.place())
        nonce = await status(trader, ws)
        frames, _ = await recv_until(ws, lambda f: f.get("nonce") == nonce)
    seen = {f["orders"]["seq"] for f in frames if "orders" in f}
    dropped = {seq for _, seq in sim.stats.dropped_seqs}
    assert 10 < len(dropped) < 50
    assert seen | dropped == set(range(1, 101))
    assert not seen & dropped
