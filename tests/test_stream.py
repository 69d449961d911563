"""The connection loop against the simulated venue on loopback, one fault at a time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Iterator

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.core.errors import AuthenticationError, ConfigError, ConnectionFailed, SubscriptionError
from fillwatch.core.events import Cancel, Connected, Disconnected, Fill, Item, Skipped
from fillwatch.net.stream import StreamOptions, watch
from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.venues.kalshi.adapter import Kalshi

pytestmark = pytest.mark.timeout(20)


def tiny_delays() -> Iterator[float]:
    return itertools.repeat(0.01)


async def collect(
    venue: Kalshi, url: str, events: int | None = None, *, connections: int | None = None, **options: object
) -> list[Item]:
    """Items from watch() until `events` events or `connections` confirmations (or it raises)."""
    items: list[Item] = []
    stream = watch(venue, StreamOptions(url=url, **options), delays=tiny_delays)  # type: ignore[arg-type]
    async with contextlib.aclosing(stream):
        async for item in stream:
            items.append(item)
            if sum(isinstance(i, (Fill, Cancel)) for i in items) == events:
                break
            if sum(isinstance(i, Connected) for i in items) == connections:
                break
    return items


def ids(items: list[Item]) -> list[tuple[str, str, str]]:
    return [(i.kind, i.id, i.order_id) for i in items if isinstance(i, (Fill, Cancel))]


def frame(message: dict[str, object]) -> str:
    return orjson.dumps(message).decode()


FILL = {
    "type": "fill",
    "sid": 1,
    "msg": {
        "trade_id": "t-{n}",
        "order_id": "o-1",
        "market_ticker": "M-1",
        "is_taker": True,
        "side": "yes",
        "action": "buy",
        "yes_price_dollars": "0.5000",
        "count_fp": "1.00",
        "fee_cost": "0.010000",
        "ts_ms": 1767225600000,
        "post_position_fp": "1.00",
    },
}


def fill_frame(n: int) -> str:
    return frame({**FILL, "msg": {**FILL["msg"], "trade_id": f"t-{n}"}})  # type: ignore[dict-item]


async def test_events_flow_once_both_channels_are_acknowledged(venue_key: rsa.RSAPrivateKey) -> None:
    """Connected comes first, then the simulator's events in the order it sent them."""
    async with KalshiSim(Script(rate=200, seed=1), key=venue_key) as sim:
        items = await collect(Kalshi(sim.key_id, venue_key), sim.url, 15)
    assert items[0] == Connected(sim.url, 1)
    assert ids(items) == sim.emitted[:15]
    assert sim.stats.commands == [{"id": 1, "cmd": "subscribe", "params": {"channels": ["fill", "user_orders"]}}]


async def test_wrong_key_is_retried_once_then_fatal(venue_key: rsa.RSAPrivateKey, wrong_key: rsa.RSAPrivateKey) -> None:
    """Two HTTP 401s in a row: one freshly signed retry, then AuthenticationError."""
    async with KalshiSim(Script(), key=venue_key) as sim:
        with pytest.raises(AuthenticationError, match="twice in a row"):
            await collect(Kalshi(sim.key_id, wrong_key), sim.url, 1)
    assert (sim.stats.upgrades, sim.stats.rejected) == (2, 2)


async def test_a_single_401_is_survived(venue_key: rsa.RSAPrivateKey) -> None:
    """One rejected upgrade, then a freshly signed attempt goes through."""
    async with KalshiSim(Script(rate=200, reject=1), key=venue_key) as sim:
        items = await collect(Kalshi(sim.key_id, venue_key), sim.url, 3)
    assert isinstance(items[0], Disconnected)
    assert "HTTP 401" in items[0].reason
    assert items[1] == Connected(sim.url, 2)
    assert sim.stats.upgrades == 2


async def test_server_errors_back_off_until_max_retries(venue_key: rsa.RSAPrivateKey) -> None:
    """HTTP 503s are retried; --max-retries 2 gives up after 3 attempts with ConnectionFailed."""
    async with KalshiSim(Script(reject=-1, reject_status=503), key=venue_key) as sim:
        with pytest.raises(ConnectionFailed, match="3 failed attempts"):
            await collect(Kalshi(sim.key_id, venue_key), sim.url, 1, max_retries=2)
    assert sim.stats.upgrades == 3


async def test_unreachable_venue_gives_up_after_max_retries(venue_key: rsa.RSAPrivateKey) -> None:
    """A refused TCP connection counts as a failed attempt."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailed, match="2 failed attempts"):
        await collect(Kalshi("k", venue_key), f"ws://127.0.0.1:{port}/trade-api/ws/v2", 1, max_retries=1)


async def test_wrong_path_is_a_configuration_error(venue_key: rsa.RSAPrivateKey) -> None:
    """HTTP 404 on the upgrade will not get better by retrying: exit 2."""
    async with KalshiSim(Script(), key=venue_key) as sim:
        with pytest.raises(ConfigError, match="HTTP 404"):
            await collect(Kalshi(sim.key_id, venue_key), sim.url.replace("/ws/v2", "/ws/v9"), 1)


async def test_dropped_connection_is_replaced(venue_key: rsa.RSAPrivateKey) -> None:
    """A TCP drop after 4 events: Disconnected, a new confirmed connection, events go on.

    The stream alone misses what happened during the gap (the backfill layer
    recovers it, see test_follow.py): live events resume contiguously.
    """
    async with KalshiSim(Script(rate=200, seed=2, drop_after=4, drops=1), key=venue_key) as sim:
        items = await collect(Kalshi(sim.key_id, venue_key), sim.url, 10)
    kinds = [type(i).__name__ for i in items if not isinstance(i, (Fill, Cancel))]
    assert kinds == ["Connected", "Disconnected", "Connected"]
    got = ids(items)
    assert got[:4] == sim.emitted[:4]
    resumed = sim.emitted.index(got[4])
    assert resumed > 4
    assert got[4:] == sim.emitted[resumed : resumed + 6]
    assert sim.stats.connections == 2


async def test_silent_connection_is_declared_dead(venue_key: rsa.RSAPrivateKey) -> None:
    """No frame at all (no data, no ping) for the stall timeout: the connection is replaced."""
    async with KalshiSim(Script(rate=200, seed=3, silent_after=2, heartbeat=0.05), key=venue_key) as sim:
        items = await collect(Kalshi(sim.key_id, venue_key), sim.url, 4, stall_timeout=0.3)
    [gone] = [i for i in items if isinstance(i, Disconnected)]
    assert gone.reason == "no frame for 0.3 s"
    assert sim.stats.connections == 2


async def test_heartbeats_keep_a_quiet_connection_alive(venue_key: rsa.RSAPrivateKey) -> None:
    """Pings from the venue count as frames: a quiet but live account is not replaced."""
    script = Script(frames=[fill_frame(1)], heartbeat=0.05)
    async with KalshiSim(script, key=venue_key) as sim:
        stream = watch(Kalshi(sim.key_id, venue_key), StreamOptions(url=sim.url, stall_timeout=0.3))
        items: list[Item] = []
        async with contextlib.aclosing(stream):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    async for item in stream:
                        items.append(item)
    assert [type(i).__name__ for i in items] == ["Connected", "Fill"]
    assert sim.stats.connections == 1


async def test_garbage_is_skipped_and_valid_fills_keep_their_order(venue_key: rsa.RSAPrivateKey) -> None:
    """Malformed frames are counted as Skipped; every valid fill still comes out, in order."""
    script = Script(rate=0, frames=[fill_frame(n) for n in range(1, 9)], garbage_every=1)
    async with KalshiSim(script, key=venue_key) as sim:
        items = await collect(Kalshi(sim.key_id, venue_key), sim.url, 8)
    assert [i.id for i in items if isinstance(i, Fill)] == [f"t-{n}" for n in range(1, 9)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [s.count for s in skipped] == list(range(1, len(skipped) + 1))
    assert len(skipped) == 7


async def test_in_band_auth_error_is_retried_once_then_fatal(venue_key: rsa.RSAPrivateKey) -> None:
    """Kalshi error code 9 in answer to the subscribe, twice in a row, is an authentication failure."""
    async with KalshiSim(Script(subscribe_error=9), key=venue_key) as sim:
        with pytest.raises(AuthenticationError):
            await collect(Kalshi(sim.key_id, venue_key), sim.url, 1)
    assert sim.stats.connections == 2


async def test_subscription_error_reconnects_and_resubscribes(venue_key: rsa.RSAPrivateKey) -> None:
    """Error 17 (internal error) ends the connection; a new one subscribes again."""
    error = frame({"id": 1, "type": "error", "msg": {"code": 17, "msg": "Internal error"}})
    async with KalshiSim(Script(rate=0, frames=[error]), key=venue_key) as sim:
        items = await collect(Kalshi(sim.key_id, venue_key), sim.url, connections=2)
    assert [type(i).__name__ for i in items] == ["Connected", "Disconnected", "Connected"]
    assert "Kalshi error 17" in items[1].reason  # type: ignore[union-attr]
    assert len(sim.stats.commands) == 2


async def test_refused_subscription_is_fatal(venue_key: rsa.RSAPrivateKey) -> None:
    """Any other in-band error cannot be fixed by retrying."""
    error = frame({"id": 1, "type": "error", "msg": {"code": 8, "msg": "Unknown channel name"}})
    async with KalshiSim(Script(rate=0, frames=[error]), key=venue_key) as sim:
        with pytest.raises(SubscriptionError, match="code 8"):
            await collect(Kalshi(sim.key_id, venue_key), sim.url, 1)
