"""The simulated Novig v3 websocket: the signed upgrade, the ``orders`` channel, seq, heartbeats, faults.

Sources (``Semionsr/novig-v3-kit``, ``fixtures/docs/``): api_errors.md (check order and 401
messages), api-reference_streaming_open-the-websocket.md (openapi ``get /v3/ws``: 101, 401,
403, 423, 429, 451 with ``ErrorBody``), api_streaming_connection.md (verbs, nonces, snapshot
then deltas, gaps, close codes), api_streaming_private.md (snapshot, events, batches, slow
consumer, heartbeat, recovery), api_streaming_lifecycle.md (``GOLIVE``), api_throttling.md.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from fillwatch.sim.novig_v3 import NovigV3Sim, Script
from fillwatch.venues.novig_v3 import signing as client_signing
from tests.test_sim_novig_v3_signer import Key, Trader, headers, new_key, recv, recv_until, row

KEY_ID = str(uuid.uuid4())


@pytest.fixture(params=["ed25519", "p256"])
def key(request: pytest.FixtureRequest) -> Key:
    return new_key(request.param)


@asynccontextmanager
async def venue(key: Key, **script: Any) -> AsyncIterator[tuple[NovigV3Sim, Trader]]:
    """A simulator driven by the test (``rate=None`` unless given) and a trader holding `key`."""
    async with NovigV3Sim(Script(**{"rate": None, **script}), keys=[row(KEY_ID, key)]) as sim:
        yield sim, Trader(sim, KEY_ID, key)


async def subscribed(trader: Trader, ws: Any, private: tuple[str, ...] = ("orders",)) -> dict[str, Any]:
    await trader.send(ws, "subscribe", {"private": list(private)})
    return await recv(ws)


def batches(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f["orders"] for f in frames if "orders" in f and "deltas" in f["orders"]]


async def refused(trader: Trader, **options: Any) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as caught:
        async with trader.connect(**options):
            pass
    return caught.value


async def test_a_signed_upgrade_is_accepted(key: Key) -> None:
    """An upgrade signed with a registered Ed25519 or P-256 key is accepted (openapi ``get /v3/ws`` 101)."""
    async with venue(key) as (sim, trader), trader.connect() as ws:
        assert (await subscribed(trader, ws))["nonce"] == 1
        assert sim.stats.connections == 1


async def test_an_upgrade_with_one_signature_byte_changed_is_refused(key: Key) -> None:
    """One signature byte changed: 401 ``SIGNATURE_REJECTED`` ``signature verification failed`` (api_errors.md)."""
    async with venue(key) as (sim, _):
        signed = headers(KEY_ID, key, "GET", "/v3/ws")
        raw = bytearray(base64.b64decode(signed["Novig-Signature"]))
        raw[5] ^= 0x01
        signed["Novig-Signature"] = base64.b64encode(bytes(raw)).decode()
        with pytest.raises(InvalidStatus) as caught:
            async with connect(sim.url, additional_headers=signed):
                pass
        response = caught.value.response
        assert response.status_code == 401
        assert orjson.loads(response.body) == {"code": "SIGNATURE_REJECTED", "message": "signature verification failed"}


async def test_an_upgrade_signed_31_seconds_ago_is_refused(key: Key) -> None:
    """A timestamp 31 s old: 401 ``novig-timestamp is too old`` (api_errors.md, ±30 s)."""
    async with venue(key) as (_, trader):
        response = (await refused(trader, ts=int(time.time() * 1000) - 31_000)).response
        assert response.status_code == 401
        assert orjson.loads(response.body) == {"code": "SIGNATURE_REJECTED", "message": "novig-timestamp is too old"}


async def test_an_upgrade_with_a_wrong_key_id_is_refused(key: Key) -> None:
    """A key id the venue does not know: 401 ``api key not found`` (api_errors.md)."""
    async with venue(key) as (sim, _):
        stranger = Trader(sim, str(uuid.uuid4()), key)
        response = (await refused(stranger)).response
        assert response.status_code == 401
        assert orjson.loads(response.body) == {"code": "SIGNATURE_REJECTED", "message": "api key not found"}
        assert sim.stats.upgrade_rejections == [(401, "api key not found")]


async def test_the_clients_own_signer_is_accepted_on_the_upgrade(key: Key) -> None:
    """The client's ``venues.novig_v3.signing`` signs an upgrade the simulator accepts (a cross-check)."""
    async with venue(key) as (sim, trader):
        signed = client_signing.signed_headers(KEY_ID, key, int(time.time() * 1000), "GET", "/v3/ws")
        async with connect(sim.url, additional_headers=dict(signed)) as ws:
            assert "orders" in await subscribed(trader, ws)


@pytest.mark.parametrize(
    ("code", "status"), [("RATE_LIMIT_EXCEEDED", 429), ("ACCOUNT_LOCKED", 423), ("GEOLOCATION_NOT_FOUND", 451)]
)
async def test_a_scripted_upgrade_refusal_has_the_documented_status_and_body(key: Key, code: str, status: int) -> None:
    """``refuse_upgrades`` answers with the documented status and ``ErrorBody``, 429 with ``Retry-After`` in seconds."""
    async with venue(key, refuse_upgrades=1, refuse_code=code, retry_after=3) as (_, trader):
        response = (await refused(trader)).response
        assert response.status_code == status
        assert orjson.loads(response.body)["code"] == code
        assert response.headers.get("Retry-After") == ("3" if status == 429 else None)
        async with trader.connect() as ws:  # the next one is let in
            assert "orders" in await subscribed(trader, ws)


async def test_upgrades_spend_32_stream_tokens_and_the_17th_gets_a_429(key: Key) -> None:
    """An upgrade costs 32 of 512 ``stream`` tokens (api_streaming_connection.md): the 17th in a burst is a 429."""
    async with venue(key) as (_, trader):
        for _ in range(16):
            async with trader.connect():
                pass
        response = (await refused(trader)).response
        assert response.status_code == 429
        assert orjson.loads(response.body)["code"] == "RATE_LIMIT_EXCEEDED"
        assert 1 <= int(response.headers["Retry-After"]) <= 8  # 32 tokens at 4 per second


async def test_subscribe_orders_answers_the_documented_snapshot(key: Key) -> None:
    """The reply: ``ts nonce subscribed snapshot orders{seq, open}`` (api_streaming_private.md "Snapshot")."""
    async with venue(key) as (sim, trader):
        resting = sim.publish(sim.feed.place(qty=110)).events[0]
        async with trader.connect() as ws:
            reply = await subscribed(trader, ws)
    assert list(reply) == ["ts", "nonce", "subscribed", "snapshot", "orders"]
    assert reply["subscribed"] == {"markets": {}, "events": {}, "private": ["orders"]}
    assert reply["snapshot"] == {}
    entry = {k: v for k, v in resting.items() if k != "kind"}
    assert reply["orders"] == {"seq": 1, "open": [entry]}
    assert list(entry) == ["orderId", "clientId", "marketId", "outcomeId", "price", "qty", "tif"]


async def test_fills_come_before_the_open_cancel_or_reject_of_their_order(key: Key) -> None:
    """In a batch an order's fills precede its ``open``/``cancel``/``reject`` (api_streaming_private.md "Events")."""
    async with venue(key) as (sim, trader), trader.connect() as ws:
        await subscribed(trader, ws)
        sim.publish(sim.feed.place(qty=100, fills=(30, 20)))
        sim.publish(sim.feed.place(qty=50, tif="IOC", fills=(10,)))
        sim.publish(sim.feed.place(qty=50, tif="IOC"))
        got = [await recv(ws) for _ in range(3)]
    kinds = [[(e["kind"], e.get("remaining")) for e in b["deltas"]] for b in batches(got)]
    assert kinds == [[("fill", 70), ("fill", 50), ("open", None)], [("fill", 40), ("cancel", None)], [("reject", None)]]
    assert [b["seq"] for b in batches(got)] == [1, 2, 3]
    assert all(list(f)[:3] == ["ts", "delta", "orders"] and f["delta"] == {} for f in got)


async def test_seq_counts_the_subaccount_across_connections_and_reconnects(key: Key) -> None:
    """``orders.seq`` is per subaccount: it survives reconnects, then seq + 1 (api_streaming_connection.md)."""
    async with venue(key) as (sim, trader):
        async with trader.connect() as ws:
            assert (await subscribed(trader, ws))["orders"]["seq"] == 0
            sim.publish(sim.feed.place())
            assert batches([await recv(ws)])[0]["seq"] == 1
        sim.publish(sim.feed.place())
        sim.publish(sim.feed.place())
        trader.nonce = 0  # nonces start at 1 on each connection
        async with trader.connect() as ws, trader.connect() as other:
            assert (await subscribed(trader, ws))["orders"]["seq"] == 3
            trader.nonce = 0
            assert (await subscribed(trader, other))["orders"]["seq"] == 3
            sim.publish(sim.feed.place())
            assert batches([await recv(ws)])[0]["seq"] == batches([await recv(other)])[0]["seq"] == 4


async def test_golive_voids_every_resting_order_with_reason_go_live(key: Key) -> None:
    """``GOLIVE``: each resting order gets a ``GO_LIVE`` cancel, plus a lifecycle delta (api_streaming_lifecycle.md)."""
    async with venue(key) as (sim, trader), trader.connect() as ws:
        market = next(iter(sim.feed.markets.values()))
        placed = [sim.publish(sim.feed.place(market_id=market.market_id)).events[0]["orderId"] for _ in range(3)]
        await trader.send(ws, "subscribe", {"private": ["orders"], "markets": {market.market_id: "lifecycle"}})
        reply = await recv(ws)
        assert reply["snapshot"] == {
            market.market_id: {"eventId": market.event_id, "lifecycle": {"seq": 1, "status": "OPEN"}}
        }
        sim.publish(sim.feed.transition(market.market_id, "GOLIVE"))
        private, public = await recv(ws), await recv(ws)
    assert private["orders"]["deltas"] == [{"kind": "cancel", "orderId": o, "reason": "GO_LIVE"} for o in placed]
    assert public["delta"] == {
        market.market_id: {"eventId": market.event_id, "lifecycle": {"seq": 2, "deltas": ["GOLIVE"]}}
    }
    assert "orders" not in public


async def test_the_heartbeat_carries_the_last_seq_every_interval(key: Key) -> None:
    """A ``heartbeat`` has the last ``orders`` seq and its own ``ts`` (api_streaming_private.md "Recovery")."""
    async with venue(key, heartbeat=0.05) as (sim, trader), trader.connect() as ws:
        await subscribed(trader, ws)
        sim.publish(sim.feed.place())
        await recv_until(ws, lambda f: "orders" in f)
        _, beat = await recv_until(ws, lambda f: "heartbeat" in f)  # made after the batch
    assert list(beat) == ["heartbeat"]
    assert list(beat["heartbeat"]) == ["orders", "ts"]
    assert beat["heartbeat"]["orders"] == 1


async def test_no_heartbeat_without_a_private_channel(key: Key) -> None:
    """Heartbeats come only while a private channel is subscribed (api_streaming_private.md "Recovery")."""
    async with venue(key, heartbeat=0.02) as (sim, trader), trader.connect() as ws:
        market = next(iter(sim.feed.markets))
        await trader.send(ws, "subscribe", {"markets": {market: "lifecycle"}})
        await recv(ws)
        await asyncio.sleep(0.1)  # five heartbeat intervals: a negative needs time to pass
        nonce = await trader.send(ws, "status", None)
        before, status = await recv_until(ws, lambda f: f.get("nonce") == nonce)
        assert before == []
        assert status["status"]["markets"] == {market: "lifecycle"}
        assert sim.stats.heartbeats == 0


async def test_a_dropped_batch_is_a_seq_gap_that_the_heartbeat_and_a_snapshot_reveal(key: Key) -> None:
    """A batch dropped on purpose shows in the heartbeat's seq; ``snapshot`` recovers (api_streaming_private.md)."""
    async with venue(key, drop_seqs={2}, heartbeat=0.05) as (sim, trader), trader.connect() as ws:
        await subscribed(trader, ws)
        for _ in range(2):
            sim.publish(sim.feed.place())
        _, first = await recv_until(ws, lambda f: "orders" in f)
        _, beat = await recv_until(ws, lambda f: "heartbeat" in f)  # made after both batches
        assert (first["orders"]["seq"], beat["heartbeat"]["orders"]) == (1, 2)
        nonce = await trader.send(ws, "snapshot", {"private": ["orders"]})
        _, reply = await recv_until(ws, lambda f: f.get("nonce") == nonce)
        assert reply["orders"]["seq"] == 2
        assert len(reply["orders"]["open"]) == 2
        assert reply["subscribed"]["private"] == ["orders"]
        assert sim.stats.dropped_seqs == [(1, 2)]


async def test_nonces_must_rise_and_bad_frames_get_errors_without_a_nonce(key: Key) -> None:
    """A repeated nonce gets ``STALE_NONCE``; bad JSON an error with no nonce (api_streaming_connection.md "Nonces")."""
    async with venue(key) as (_, trader), trader.connect() as ws:
        await ws.send("{not json")
        assert await recv(ws) == {"code": "INVALID_BODY", "message": "the frame is not valid JSON", "nonce": None}
        await subscribed(trader, ws)  # nonce 1 still works
        await ws.send(orjson.dumps({"nonce": 1, "subscribe": {"private": ["orders"]}}).decode())
        stale = await recv(ws)
        assert (stale["code"], stale["nonce"]) == ("STALE_NONCE", 1)
        await trader.send(ws, "subscribe", {})
        empty = await recv(ws)
        assert (empty["code"], empty["nonce"]) == ("EMPTY_SELECTION", 2)


async def test_a_client_that_answers_no_ping_is_dropped_without_a_close_frame(key: Key) -> None:
    """No Pong between two Pings: TCP dropped without a close frame, 1006 (api_streaming_connection.md)."""
    async with venue(key, ping_interval=0.05) as (sim, trader), trader.connect(ping_interval=None) as ws:
        await subscribed(trader, ws)
        ws.transport.pause_reading()
        await asyncio.wait_for(sim.gone.wait(), 5)
        ws.transport.resume_reading()
        await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.protocol.close_code == 1006
        assert (sim.stats.pings, sim.stats.pong_timeouts) == (1, 1)


@pytest.mark.parametrize("reason", ["SLOW_CONSUMER", "GEOLOCATION_NOT_FOUND"])
async def test_close_after_closes_with_1008_and_the_scripted_reason(key: Key, reason: str) -> None:
    """``close_after``: close ``1008`` with ``SLOW_CONSUMER`` or a 451 code (api_streaming_connection.md)."""
    async with venue(key, close_after=2, close_reason=reason, closes=1) as (sim, trader):
        async with trader.connect() as ws:
            await subscribed(trader, ws)
            for _ in range(3):
                sim.publish(sim.feed.place())
            got = [await recv(ws) for _ in range(2)]
            with pytest.raises(ConnectionClosed) as closed:
                await recv(ws)
        assert [b["seq"] for b in batches(got)] == [1, 2]
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, reason)
        assert sim.stats.closes == [(1008, reason)]
        trader.nonce = 0
        async with trader.connect() as ws:  # `closes=1`: the next connection stays open
            assert (await subscribed(trader, ws))["orders"]["seq"] == 3
