"""The REST client's waits: ``Retry-After`` in the venue's unit, every wait capped (CONTRACT §5)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from fillwatch.net.http import MAX_WAIT, RestClient
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.venues.base import Request
from fillwatch.venues.kalshi.adapter import Kalshi
from fillwatch.venues.novig.adapter import Novig

pytestmark = pytest.mark.timeout(20)


def no_backoff() -> Iterator[float]:
    return itertools.repeat(0.0)


def rate_limited_once(retry_after: str) -> HttpServer:
    """A server whose first answer is ``429`` with `retry_after`, and every later one ``200 {}``."""
    answered: list[HttpRequest] = []

    async def answer(request: HttpRequest) -> HttpResponse:
        answered.append(request)
        if len(answered) == 1:
            return json_response(429, {"error": "too many requests"}, {"Retry-After": retry_after})
        return json_response(200, {})

    return HttpServer(answer)


async def waits_for(retry_after: str, unit: float) -> list[float]:
    """The waits the client asks for to get past one 429 carrying `retry_after`."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = RestClient(delays=no_backoff, retry_after_unit=unit, sleep=sleep)
    async with rate_limited_once(retry_after) as server, client as rest:
        assert await rest.send(lambda: Request(method="GET", url=server.url + "/x")) == b"{}"
    return waits


async def test_novig_retry_after_is_milliseconds() -> None:
    """Novig NBX's ``Retry-After: 250`` (novig.md §5: milliseconds) waits a quarter of a second."""
    assert await waits_for("250", Novig.retry_after_unit) == [0.25]


async def test_kalshi_retry_after_is_seconds() -> None:
    """Kalshi's ``Retry-After: 2`` (the HTTP standard's seconds) waits two seconds."""
    assert await waits_for("2", Kalshi.retry_after_unit) == [2.0]


@pytest.mark.parametrize("value", ["1e9", "3000000", "inf"])
async def test_an_absurd_retry_after_is_capped_at_60_seconds(value: str) -> None:
    """A ``Retry-After`` of a billion seconds (or one that is not finite) waits no longer than 60 s."""
    waits = await waits_for(value, Kalshi.retry_after_unit)
    assert len(waits) == 1
    assert waits[0] <= MAX_WAIT == 60.0
