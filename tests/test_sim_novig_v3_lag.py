"""The simulated Novig v3 when a client lags, and what a client can recover: every fill exactly once.

Sources (``Semionsr/novig-v3-kit``, ``fixtures/docs/``): api_streaming_private.md "Slow
consumer" (replies and heartbeats wait for room, ``orders`` frames are dropped, a write stalled
15 s closes with ``1008 SLOW_CONSUMER``) and "Recovery" (a heartbeat seq above the last one
means a lost message); api-reference_execution_list-fills.md (``GET /v3/portfolio/fills``,
newest first, ``FillPage`` with ``next``) and api-reference_execution_list-orders.md.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from fillwatch.sim.novig_v3 import NovigV3Sim, Script
from fillwatch.sim.novig_v3_feed import Batch
from tests.test_sim_novig_v3_signer import Trader, new_key, recv, row

KEY_ID = str(uuid.uuid4())
KEY = new_key()
LAGGY = {"queue_limit": 8, "send_buffer": 4096, "ping_interval": 60.0}


@asynccontextmanager
async def lagging(**script: Any) -> AsyncIterator[tuple[NovigV3Sim, Trader, ClientConnection]]:
    """A simulator and a subscribed client with a 4 KiB receive buffer, ready to stop reading."""
    async with NovigV3Sim(Script(**{"rate": None, **script}), keys=[row(KEY_ID, KEY)]) as sim:
        trader = Trader(sim, KEY_ID, KEY)
        url = urlsplit(sim.url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((url.hostname, url.port))
        async with trader.connect(sock=sock, ping_interval=None, close_timeout=1) as ws:
            await trader.send(ws, "subscribe", {"private": ["orders"]})
            assert (await recv(ws))["orders"]["seq"] == 0
            yield sim, trader, ws


async def test_a_lagging_client_loses_orders_frames_but_never_heartbeats() -> None:
    """A full outbox drops ``orders`` batches, not heartbeats; the heartbeat's seq shows the loss ("Slow consumer")."""
    async with lagging(**LAGGY, heartbeat=0.05, stall_timeout=60.0) as (sim, _, ws):
        ws.transport.pause_reading()
        while sim.stats.lagged < 20:
            sim.publish(sim.feed.step())
            await asyncio.sleep(0)  # the writer runs until the socket stops taking frames
        await asyncio.sleep(0.15)  # heartbeats fall due while the client reads nothing
        ws.transport.resume_reading()
        seqs, beat = [], None
        while beat is None or beat["orders"] < sim.feed.seq:
            frame = await recv(ws)
            seqs += [frame["orders"]["seq"]] if "orders" in frame else []
            beat = frame.get("heartbeat", beat)
    lost = sorted(set(range(1, sim.feed.seq + 1)) - set(seqs))
    assert seqs == sorted(seqs)
    assert lost == [seq for _, seq in sim.stats.dropped_seqs]
    assert len(lost) >= 20
    assert sim.stats.heartbeats >= 2  # queued while the client lagged, all delivered


async def test_a_write_stalled_past_the_timeout_closes_with_1008_slow_consumer() -> None:
    """A write that stalls `stall_timeout` closes the socket with ``1008`` ``SLOW_CONSUMER`` ("Slow consumer")."""
    async with lagging(**LAGGY, stall_timeout=0.2) as (sim, _, ws):
        ws.transport.pause_reading()
        sim.gone.clear()
        while not sim.stats.closes:
            sim.publish(sim.feed.step())
            await asyncio.sleep(0.005)
        ws.transport.resume_reading()
        with pytest.raises(ConnectionClosed) as closed:
            await _read_to_the_end(ws)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "SLOW_CONSUMER")
        assert sim.stats.closes == [(1008, "SLOW_CONSUMER")]


async def _read_to_the_end(ws: ClientConnection) -> None:
    while True:
        await recv(ws)


def _rest_keys(fills: list[dict[str, Any]], sizes: dict[str, int]) -> dict[tuple[str, int], str]:
    """(orderId, remaining) → fillId, rebuilt from REST fills (protocols/novig-v3.md §8.3)."""
    by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fill in reversed(fills):  # pages are newest first: reversed, oldest first (ties keep that order)
        by_order[fill["orderId"]].append(fill)
    keys = {}
    for order_id, own in by_order.items():
        left = sizes[order_id]
        for fill in sorted(own, key=lambda f: f["ts"]):
            left -= fill["qty"]
            keys[order_id, left] = fill["fillId"]
    return keys


async def _watch(sim: NovigV3Sim, ws: ClientConnection) -> tuple[list[int], list[tuple[str, int]]]:
    """The seqs and fill keys (orderId, remaining) the client saw, up to a heartbeat made after the last batch."""
    seqs: list[int] = []
    stream: list[tuple[str, int]] = []
    frame = await recv(ws)
    while not (sim.stats.events == sim.script.limit and frame.get("heartbeat", {}).get("orders") == sim.feed.seq):
        frame = await recv(ws)
        if "orders" in frame:
            seqs.append(frame["orders"]["seq"])
            stream += [(e["orderId"], e["remaining"]) for e in frame["orders"]["deltas"] if e["kind"] == "fill"]
    return seqs, stream


def _fill_keys(dropped: Iterable[Batch]) -> set[tuple[str, int]]:
    """(orderId, remaining) of the fills in `dropped` batches: what only REST can give back."""
    return {(e["orderId"], e["remaining"]) for batch in dropped for e in batch.events if e["kind"] == "fill"}


async def _sizes(trader: Trader) -> dict[str, int]:
    """Every order's original ``qty``, from ``GET /v3/orders`` by each status."""
    sizes: dict[str, int] = {}
    for status in ("OPEN", "FILLED", "CANCELED", "REJECTED"):
        for page in await trader.pages("/v3/orders", f"status={status}&limit=50"):
            sizes |= {o["orderId"]: o["qty"] for o in page}
    return sizes


async def test_the_stream_and_rest_history_give_every_fill_exactly_once() -> None:
    """Dropped batches plus REST fills and orders recover every fill once; ``Stats`` lists what was sent."""
    script = Script(rate=0, limit=300, drop_every=9, heartbeat=0.05, seed=7, golive_every=20)
    async with NovigV3Sim(script, keys=[row(KEY_ID, KEY)]) as sim:
        trader = Trader(sim, KEY_ID, KEY)
        async with trader.connect() as ws:
            await trader.send(ws, "subscribe", {"private": ["orders"]})
            seqs, stream = await _watch(sim, ws)
        fills = [f for page in await trader.pages("/v3/portfolio/fills", "limit=100") for f in page]
        rest = _rest_keys(fills, await _sizes(trader))
    assert len(stream) == len(set(stream))
    assert stream == sim.stats.sent_keys("fill")
    assert len(rest) == len(fills) == len(sim.feed.fills)
    dropped = {seq for _, seq in sim.stats.dropped_seqs}
    assert dropped
    assert dropped == set(range(1, sim.feed.seq + 1)) - set(seqs)
    missed = set(rest) - set(stream)
    assert missed == _fill_keys(b for b in sim.feed.batches if b.seq in dropped)
    assert set(stream) | missed == set(rest)
