"""Token sources and the Bearer hook, against the simulated Novig's real HTTP server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fillwatch.core.errors import AuthenticationError, ExitCode
from fillwatch.core.secret import Secret
from fillwatch.net.http import RestClient, RestError
from fillwatch.net.token import MIN_INTERVAL, ClientCredentials, FixedToken
from fillwatch.sim.novig import NovigSim, Script
from fillwatch.sim.thread import SimThread
from fillwatch.venues.novig.adapter import Novig
from tests.conftest import fillwatch
from tests.warp import run_warped

pytestmark = pytest.mark.timeout(30)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tiny_delays() -> Iterator[float]:
    return itertools.repeat(0.01)


def tokens_for(sim: NovigSim, venue: Novig, rest: RestClient, secret: str | None = None) -> ClientCredentials:
    def on_token(token: Secret) -> None:
        venue.token = token

    request = lambda: venue.token_request(sim.client_id, Secret(secret or sim.client_secret))  # noqa: E731
    return ClientCredentials(rest, request, venue.parse_token, venue="novig", on_token=on_token)


def test_token_is_renewed_in_the_background_at_80_percent_of_its_life() -> None:
    """A 7 s token: the same token until 5.6 s, a new one (pushed to the venue) right after."""
    run_warped(renewal())  # the loop's clock moves only as far as its timers need: no second is spent


async def renewal() -> None:
    loop = asyncio.get_running_loop()
    issued: list[float] = []
    renewed = asyncio.Event()
    async with NovigSim(Script(token_lifetime=7)) as sim, RestClient(delays=tiny_delays) as rest:
        venue = Novig(api_url=sim.api_url, token_url=sim.token_url)

        def on_token(token: Secret) -> None:
            venue.token = token
            issued.append(loop.time())
            renewed.set()

        request = lambda: venue.token_request(sim.client_id, Secret(sim.client_secret))  # noqa: E731
        tokens = ClientCredentials(rest, request, venue.parse_token, venue="novig", on_token=on_token, clock=loop.time)
        try:
            first = await tokens.get()
            assert venue.token == first
            await asyncio.sleep(5.0)
            assert await tokens.get() == first
            assert sim.stats.tokens_issued == 1
            renewed.clear()
            await renewed.wait()  # the background renewal
            assert 5.6 <= issued[1] - issued[0] < 6.0  # at 80 % of its life, before the old one expired
            assert sim.stats.tokens_issued == 2
            assert venue.token != first
            assert await tokens.get() == venue.token
            second = venue.token
            fresh = await tokens.get(renew=True)  # after a rejection: always a new one (5 s later at the earliest)
            assert issued[2] - issued[1] == pytest.approx(MIN_INTERVAL, abs=0.01)
            assert sim.stats.tokens_issued == 3
            assert fresh == venue.token
            assert fresh not in (first, second)
        finally:
            await tokens.aclose()


class FakeTime:
    """A monotonic clock that only ``sleep`` moves on: waits are counted, never spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_token_requests_are_at_least_5_s_apart() -> None:
    """Renewals after rejections, asked for back to back, wait out 5 s since the last token request."""
    time = FakeTime()
    async with NovigSim(Script(token_lifetime=60)) as sim, RestClient(delays=tiny_delays) as rest:
        venue = Novig(api_url=sim.api_url, token_url=sim.token_url)
        request = lambda: venue.token_request(sim.client_id, Secret(sim.client_secret))  # noqa: E731
        tokens = ClientCredentials(rest, request, venue.parse_token, venue="novig", clock=time.clock, sleep=time.sleep)
        try:
            await tokens.get()
            time.now += 2.0
            await tokens.get(renew=True)
            await tokens.get(renew=True)
        finally:
            await tokens.aclose()
    assert time.slept == [MIN_INTERVAL - 2.0, MIN_INTERVAL] == [3.0, 5.0]
    assert sim.stats.tokens_issued == 3


async def test_an_absurd_expires_in_is_the_venues_error() -> None:
    """``expires_in: 0.001`` (shorter than the 5 s renewal floor) is a RestError naming it, not a token."""
    async with NovigSim(Script(token_lifetime=0.001)) as sim, RestClient(delays=tiny_delays) as rest:
        venue = Novig(api_url=sim.api_url, token_url=sim.token_url)
        tokens = tokens_for(sim, venue, rest)
        try:
            with pytest.raises(RestError, match=r"absurd expires_in 0\.001 s"):
                await tokens.get()
        finally:
            await tokens.aclose()
    assert venue.token is None


def test_a_venue_handing_out_millisecond_tokens_gets_few_token_requests() -> None:
    """The CLI against ``expires_in: 0.001`` for 3 s: at most one token request, and the reason on stderr."""
    with SimThread(NovigSim(Script(rate=20, seed=5, token_lifetime=0.001))) as sim:
        urls = ["--ws-url", sim.url, "--api-url", sim.api_url, "--token-url", sim.token_url]
        env = {"NOVIG_CLIENT_ID": sim.client_id, "NOVIG_CLIENT_SECRET": sim.client_secret}
        result = fillwatch(["novig", *urls, "-f", "jsonl", "--duration", "3s"], env=env)
    assert result.returncode == ExitCode.OK, result.stderr
    assert sim.stats.tokens_issued <= 1
    assert "absurd expires_in 0.001 s" in result.stderr


async def test_rejected_secret_is_an_authentication_error() -> None:
    """HTTP 401 from the token endpoint stops with a message naming the endpoint, not the secret."""
    async with NovigSim() as sim, RestClient(delays=tiny_delays) as rest:
        venue = Novig(api_url=sim.api_url, token_url=sim.token_url)
        tokens = tokens_for(sim, venue, rest, secret="nope-secret")
        with pytest.raises(AuthenticationError) as caught:
            await tokens.get()
        assert "nope-secret" not in str(caught.value)
        assert "HTTP 401" in str(caught.value)


async def test_fixed_token_cannot_be_renewed() -> None:
    """A ready token is handed out as is; asked to renew, it stops the run."""
    tokens = FixedToken(Secret("ready"), venue="novig", origin="--token")
    assert await tokens.get() == Secret("ready")
    with pytest.raises(AuthenticationError, match="--token; a ready token cannot be renewed"):
        await tokens.get(renew=True)
    assert "ready" not in repr(tokens)


async def test_fill_history_from_the_simulator_with_fees_in_dollars() -> None:
    """All fills/all pages give one history fill per fill the venue made, CASH fees ÷ 100."""
    async with NovigSim(Script(seed=10)) as sim, RestClient(delays=tiny_delays) as rest:
        for _ in range(500):
            sim.feed.next_event()
        venue = Novig(api_url=sim.api_url, token_url=sim.token_url)
        venue.token = await tokens_for(sim, venue, rest).get()
        events, page = [], None
        while True:
            body = await rest.send(lambda: venue.history_request("fills", EPOCH, page, 0))  # noqa: B023
            result = venue.parse_history("fills", body, EPOCH, page)
            events += result.events
            page = result.next_page
            if page is None:
                break
        made = {f["id"]: f for f in sim.feed.fills}
        assert len(made) > 256
        assert sorted(e.id for e in events) == sorted(made)
        for event in events:
            order = sim.feed.orders[event.order_id]
            fee = made[event.id].get("fee")
            assert event.currency == order.currency
            assert event.source == "history"
            assert event.fee == (None if fee is None else Decimal(fee) / 100)
        assert any(e.fee for e in events)
