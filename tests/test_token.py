"""Token sources and the Bearer hook, against the simulated Novig's real HTTP server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fillwatch.errors import AuthenticationError
from fillwatch.net.http import RestClient
from fillwatch.net.token import ClientCredentials, FixedToken
from fillwatch.secret import Secret
from fillwatch.sim.novig import NovigSim, Script
from fillwatch.venues.novig import Novig

pytestmark = pytest.mark.timeout(20)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tiny_delays() -> Iterator[float]:
    return itertools.repeat(0.01)


def tokens_for(sim: NovigSim, venue: Novig, rest: RestClient, secret: str | None = None) -> ClientCredentials:
    def on_token(token: Secret) -> None:
        venue.token = token

    request = lambda: venue.token_request(sim.client_id, Secret(secret or sim.client_secret))  # noqa: E731
    return ClientCredentials(rest, request, venue.parse_token, venue="novig", on_token=on_token)


async def test_token_is_renewed_in_the_background_at_80_percent_of_its_life() -> None:
    """A 1 s token: the same token until 0.8 s, a new one (pushed to the venue) right after."""
    async with NovigSim(Script(token_lifetime=1)) as sim, RestClient(delays=tiny_delays) as rest:
        venue = Novig(api_url=sim.api_url, token_url=sim.token_url)
        tokens = tokens_for(sim, venue, rest)
        try:
            first = await tokens.get()
            assert venue.token == first
            await asyncio.sleep(0.5)
            assert await tokens.get() == first
            assert sim.stats.tokens_issued == 1
            await asyncio.sleep(0.5)  # 1.0 s: renewed at 0.8 s, before the old one expired
            assert sim.stats.tokens_issued == 2
            assert venue.token != first
            assert await tokens.get() == venue.token
            second = venue.token
            renewed = await tokens.get(renew=True)  # after a rejection: always a new one
            assert sim.stats.tokens_issued == 3
            assert renewed == venue.token
            assert renewed not in (first, second)
        finally:
            await tokens.aclose()


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
