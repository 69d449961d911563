"""REST over HTTP: the one module that uses httpx.

Venue adapters describe requests (:class:`Request`, made afresh for every
attempt so that signatures and tokens are current); :class:`RestClient` sends
them, retries what is worth retrying, and translates httpx's exceptions at
this seam (STYLE §2, example 5):

* transport errors, timeouts, HTTP 5xx and 429 → retried with jittered
  backoff (a 429's ``Retry-After`` is honoured, in the unit the venue
  declares), then :class:`RestError`; no wait is longer than :data:`MAX_WAIT`;
* HTTP 401/403 → :class:`Unauthorized` at once: the caller decides whether
  fresh credentials are worth one more try;
* a redirect (3xx with a ``Location``) → :class:`Redirected` at once, never
  followed: every venue request carries credentials (signed headers, a
  Bearer token, the client secret), and they must not travel to another host;
* any other status → :class:`RestError` at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import httpx

from fillwatch import __version__
from fillwatch.core import backoff
from fillwatch.core.errors import AuthenticationError, FillwatchError
from fillwatch.venues.base import Request

__all__ = [
    "Redirected",
    "RestClient",
    "RestError",
    "Unauthorized",
    "describe",
    "redirect_target",
    "retry_after",
]

log = logging.getLogger("fillwatch.http")

USER_AGENT = f"fillwatch/{__version__}"

MAX_WAIT = 60.0
"""The longest wait between two attempts, whatever a ``Retry-After`` says (CONTRACT §5)."""


def describe(request: Request) -> str:
    """``GET /trade-api/v2/portfolio/fills``: no host, no query, no secrets."""
    return f"{request.method} {httpx.URL(request.url).path}"


class RestError(FillwatchError):
    """A REST request failed for good (after its retries, or with a 4xx)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Unauthorized(AuthenticationError):
    """The venue answered HTTP 401 or 403."""


class Redirected(RestError):
    """A credentialed request (REST or the WebSocket upgrade) was redirected: not followed."""

    def __init__(self, what: str, status: int, target: str) -> None:
        super().__init__(
            f"{what}: HTTP {status} redirect to {target}, not followed (credentials never follow a redirect)",
            status=status,
        )
        self.target = target


def redirect_target(base: str, location: str) -> str:
    """Where a ``Location`` points, for a message: scheme, host and path only (no query), bounded."""
    parts = urlsplit(urljoin(base, location.strip()))
    target = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    printable = "".join(char if char.isprintable() else "?" for char in target)
    return printable if len(printable) <= 120 else printable[:120] + "…"


def retry_after(headers: Mapping[str, str], unit: float = 1.0) -> float | None:
    """A ``Retry-After`` number in seconds, capped at :data:`MAX_WAIT` (None: absent or unreadable).

    `unit` is the venue's unit in seconds: 1 for the HTTP standard's seconds,
    0.001 for a venue that counts milliseconds (Novig NBX).
    """
    try:
        wait = float(headers["retry-after"]) * unit
    except (KeyError, ValueError):
        return None
    if not math.isfinite(wait) or wait < 0:
        return None
    return min(wait, MAX_WAIT)


class RestClient:
    """Sends venue requests with retries; use as an async context manager."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        attempts: int = 4,
        delays: backoff.DelayFactory = backoff.delays,
        retry_after_unit: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """`retry_after_unit`: the venue's ``Retry-After`` unit in seconds; `sleep`: waits between attempts."""
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,  # signed headers must not travel to another host
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
        )
        self._attempts = attempts
        self._delays = delays
        self._retry_after_unit = retry_after_unit
        self._sleep = sleep

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, make: Callable[[], Request]) -> bytes:
        """Send ``make()`` (called again for every attempt) and return the body.

        Raises:
            Unauthorized: HTTP 401/403.
            Redirected: a redirect (never followed).
            RestError: a 4xx, or retries exhausted on 5xx/429/transport errors.
        """
        pending: Iterator[float] = self._delays()
        for attempt in range(1, self._attempts + 1):
            request = make()
            try:
                response = await self._client.request(
                    request.method,
                    request.url,
                    params=request.params,
                    json=request.json,
                    headers=dict(request.headers),
                )
            except httpx.TransportError as exc:
                problem, wait = f"{type(exc).__name__}", next(pending)
            else:
                status = response.status_code
                if status < 300:
                    return response.content
                if 300 <= status < 400 and "location" in response.headers:
                    target = redirect_target(request.url, response.headers["location"])
                    raise Redirected(describe(request), status, target)
                if status in (401, 403):
                    raise Unauthorized(f"{describe(request)}: HTTP {status}")
                if status != 429 and status < 500:
                    raise RestError(f"{describe(request)}: HTTP {status}", status=status)
                problem = f"HTTP {status}"
                wait = next(pending)
                if status == 429:
                    wait = max(wait, retry_after(response.headers, self._retry_after_unit) or 0.0)
            log.debug("%s failed (%s), attempt %d", describe(request), problem, attempt)
            if attempt < self._attempts:
                await self._sleep(min(wait, MAX_WAIT))
        raise RestError(f"{describe(request)}: {problem}, {self._attempts} attempt{'' if self._attempts == 1 else 's'}")
