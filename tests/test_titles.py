"""Market titles fetched in the background from the simulator's REST API, over loopback."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.core.events import Fill
from fillwatch.net.http import RestClient
from fillwatch.net.titles import TitleResolver
from fillwatch.sim.feed import TITLES
from fillwatch.sim.kalshi import KalshiSim
from fillwatch.venues.kalshi.adapter import Kalshi

pytestmark = pytest.mark.timeout(20)


def fill(market: str) -> Fill:
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    return Fill(venue="kalshi", id="t", order_id="o", market=market, side="yes", action="buy",
                price=Decimal("0.5"), qty=Decimal(1), ts=ts)  # fmt: skip


def no_delays():
    while True:
        yield 0.0


async def wait_until(condition) -> None:
    """Poll `condition` (a plain attribute: no event to wait on) for up to 5 s."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # the poll's period, not a wait for time to pass


async def test_titles_arrive_in_the_background(venue_key: rsa.RSAPrivateKey) -> None:
    """event() returns at once; the title lands in the shared mapping later, and on_title fires."""
    market = next(iter(TITLES))
    arrived: list[tuple[str, str]] = []
    async with KalshiSim(key=venue_key) as sim, RestClient() as client:
        venue = Kalshi(sim.key_id, sim.key, api_url=sim.api_url)
        titles: dict[tuple[str, str], str] = {}
        resolver = TitleResolver(venue, client, titles=titles, on_title=lambda *key: arrived.append(key))
        resolver.event(fill(market))
        resolver.event(fill(market))  # asked once only
        assert titles == {}  # nothing waited for the lookup
        await wait_until(lambda: titles)
        await resolver.aclose()
    assert titles == {("kalshi", market): TITLES[market]}
    assert arrived == [("kalshi", market)]


async def test_unknown_market_keeps_its_id(venue_key: rsa.RSAPrivateKey) -> None:
    """A 404 leaves the market without a title (the views show the id), once, without retrying."""
    market = next(iter(TITLES))
    async with KalshiSim(key=venue_key) as sim, RestClient(delays=no_delays) as client:
        resolver = TitleResolver(Kalshi(sim.key_id, sim.key, api_url=sim.api_url), client)
        resolver.event(fill("NOPE-26"))
        await wait_until(lambda: resolver.failed == 1)
        resolver.event(fill("NOPE-26"))
        resolver.event(fill(market))  # asked after it: once its title is in, a second ask would be too
        await wait_until(lambda: resolver.titles)
        await resolver.aclose()
    assert resolver.titles == {("kalshi", market): TITLES[market]}
    assert resolver.failed == 1
    assert len([path for path, _ in sim.stats.rest_requests if path.endswith("/NOPE-26")]) == 1


async def test_unreachable_api_falls_back_to_the_id(venue_key: rsa.RSAPrivateKey) -> None:
    """Connection refused: the lookup fails quietly; nothing is raised into the run."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with RestClient(attempts=2, delays=no_delays) as client:
        venue = Kalshi("k", venue_key, api_url=f"http://127.0.0.1:{port}/trade-api/v2")
        resolver = TitleResolver(venue, client)
        resolver.event(fill("KXFED"))
        await wait_until(lambda: resolver.failed == 1)
        await resolver.aclose()
    assert resolver.titles == {}


async def test_close_abandons_lookups_in_flight(venue_key: rsa.RSAPrivateKey) -> None:
    """aclose() cancels what is still running and returns promptly."""
    async with KalshiSim(key=venue_key) as sim, RestClient() as client:
        resolver = TitleResolver(Kalshi(sim.key_id, sim.key, api_url=sim.api_url), client)
        for market in TITLES:
            resolver.event(fill(market))
        await resolver.aclose()
    assert len(resolver.titles) < len(TITLES)
