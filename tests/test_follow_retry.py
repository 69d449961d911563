"""An owed backfill is retried by its timer, also on a stream that stays quiet."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.core.events import Backfilled, BackfillFailed, Connected, Item
from fillwatch.core.ledger import Ledger
from fillwatch.net.http import RestClient
from fillwatch.session.follow import follow
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.venues.base import Reconcile
from fillwatch.venues.kalshi.adapter import Kalshi

pytestmark = pytest.mark.timeout(30)


def tiny_delays() -> Iterator[float]:
    return itertools.repeat(0.01)


async def test_a_failed_backfill_is_retried_while_the_stream_stays_quiet(venue_key: rsa.RSAPrivateKey) -> None:
    """A backfill that failed is read again after the retry interval though no live event ever comes."""
    asked: list[str] = []

    async def history(request: HttpRequest) -> HttpResponse:
        asked.append(request.path)
        if len(asked) == 3:  # the backfill after the subscription (the read before it took two)
            return json_response(400, {"error": "not now"})  # a 4xx fails the read at once
        kind = "fills" if request.path.endswith("/fills") else "orders"
        return json_response(200, {kind: [], "cursor": ""})

    quiet = asyncio.Event()

    async def live() -> AsyncIterator[Item | Reconcile]:
        yield Connected("wss://venue/", 1)
        await quiet.wait()  # connected, and nothing more: no event will come to prompt the retry
        yield Connected("wss://venue/", 2)

    async with HttpServer(history) as server:
        venue = Kalshi("key-1", venue_key, api_url=server.url + "/trade-api/v2")
        async with RestClient(delays=tiny_delays) as rest:
            ledger = Ledger()
            flow = follow(venue, live(), rest, ledger, since=datetime.now(UTC) - timedelta(minutes=1),
                          retry_interval=0.05)  # fmt: skip
            reports: list[Item] = []
            async with asyncio.timeout(10), contextlib.aclosing(flow):
                async for item in flow:
                    if isinstance(item, (Backfilled, BackfillFailed)):
                        reports.append(item)
                    if len(reports) == 3:
                        break
    assert [type(report) for report in reports] == [Backfilled, BackfillFailed, Backfilled]
    assert len(asked) == 5  # the retry read both kinds again, with no live event to prompt it
    assert not quiet.is_set()
