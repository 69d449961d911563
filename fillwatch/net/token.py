"""Bearer tokens: fetched with OAuth client credentials, renewed before they expire.

Two sources of tokens, one interface (``await tokens.get(renew=...)``):

* :class:`ClientCredentials` POSTs the client id and secret to the token
  endpoint (the request is described by the venue adapter), keeps the token,
  and renews it when 80 % of its ``expires_in`` has passed: a timer fetches
  the next token in the background at that moment, so that a connection the
  venue closes at expiry reconnects at once with a fresh one, and REST calls
  never present a stale token. ``get(renew=True)`` (after a rejection) always
  fetches a new one. Token requests are never less than :data:`MIN_INTERVAL`
  apart (CONTRACT §5), and a lifetime shorter than that, or not finite, is the
  venue's error (a :class:`RestError`, reported and retried).
* :class:`FixedToken` is a ready token (``--token``): used as is; asked to
  renew, it stops the run with :class:`AuthenticationError` (exit 3).

Why not reconnect "make-before-break" when a renewed token is ready: the
stream holds one connection at a time, and an overlap of two would need
de-duplication in the stream (the gap backfill's job, issue 5); whether Novig
closes a socket at all when its token expires is unconfirmed (§8). So the
connection lives until the venue ends it; the next attempt then starts with
the token renewed in the background, and costs one handshake.

:func:`token_source` makes a venue spec's :class:`~fillwatch.venues.spec.TokenAuth`
live on the run's one REST client, and :func:`authenticator` plugs it into the
stream as its ``authenticate`` hook: it fills the adapter's token cell (given to
the adapter at construction) before every attempt. Secrets stay in
:class:`~fillwatch.core.secret.Secret` and are never echoed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from fillwatch.core.errors import AuthenticationError
from fillwatch.core.secret import Secret
from fillwatch.net.http import RestClient, RestError, Unauthorized
from fillwatch.net.stream import Authenticate
from fillwatch.venues.base import Request
from fillwatch.venues.spec import TokenAuth

__all__ = [
    "MIN_INTERVAL",
    "RENEW_AT",
    "ClientCredentials",
    "FixedToken",
    "TokenSource",
    "authenticator",
    "token_source",
]

log = logging.getLogger("fillwatch.token")

RENEW_AT = 0.8
"""The fraction of a token's lifetime after which it is renewed."""

MIN_INTERVAL = 5.0
"""The least time between two token requests, renewals after a rejection included (CONTRACT §5).

A token that lives less than this cannot be renewed before it expires: such an
``expires_in`` is absurd, and treated as the venue's error."""


class TokenSource(Protocol):
    """Hands out a current Bearer token."""

    async def get(self, *, renew: bool = False) -> Secret:
        """The current token; a new one when `renew` (the last one was rejected)."""
        ...

    async def aclose(self) -> None:
        """Stop any background renewal."""
        ...


class FixedToken:
    """A ready token from the user: no renewal is possible."""

    def __init__(self, token: Secret, *, venue: str, origin: str) -> None:
        self._token = token
        self._venue = venue
        self._origin = origin

    def __repr__(self) -> str:
        return f"FixedToken(origin={self._origin!r})"

    async def get(self, *, renew: bool = False) -> Secret:
        if renew:
            raise AuthenticationError(
                f"{self._venue} rejected the token given with {self._origin}; a ready token cannot be renewed "
                "(give the client id and secret instead)"
            )
        return self._token

    async def aclose(self) -> None:
        pass


class ClientCredentials:
    """Tokens from the OAuth client-credentials grant, renewed at 80 % of their life.

    Args:
        rest: sends the token request.
        request: makes the token request (called afresh for every attempt).
        parse: the token and its lifetime in seconds, from the response body.
        venue: the venue's name, for messages.
        on_token: told about every new token (a background renewal included).
        clock: monotonic seconds.
        sleep: waits out :data:`MIN_INTERVAL` between two requests.
    """

    def __init__(
        self,
        rest: RestClient,
        request: Callable[[], Request],
        parse: Callable[[bytes], tuple[Secret, float]],
        *,
        venue: str,
        on_token: Callable[[Secret], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._rest = rest
        self._request = request
        self._parse = parse
        self._venue = venue
        self._on_token = on_token
        self._clock = clock
        self._sleep = sleep
        self._requested_at: float | None = None
        self._token: Secret | None = None
        self._renew_after = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._prefetch: asyncio.Task[Secret] | None = None
        self.fetched = 0
        """How many tokens were issued to this source."""

    def __repr__(self) -> str:
        return f"ClientCredentials(venue={self._venue!r}, fetched={self.fetched})"

    async def get(self, *, renew: bool = False) -> Secret:
        if not renew:
            if self._token is not None and self._clock() < self._renew_after:
                return self._token
            if self._prefetch is not None and not self._prefetch.done():
                with contextlib.suppress(RestError, AuthenticationError):
                    return await asyncio.shield(self._prefetch)
        return await self._fetch()

    async def _fetch(self) -> Secret:
        if self._requested_at is not None:
            wait = self._requested_at + MIN_INTERVAL - self._clock()
            if wait > 0:
                log.debug("next %s token request in %.1f s", self._venue, wait)
                await self._sleep(wait)
        self._requested_at = self._clock()
        try:
            body = await self._rest.send(self._request)
        except Unauthorized as exc:
            raise AuthenticationError(f"{self._venue} rejected the client id and secret ({exc})") from exc
        try:
            token, lifetime = self._parse(body)
        except ValueError as exc:
            raise RestError(f"{self._venue} token endpoint: {exc}") from exc
        if not (math.isfinite(lifetime) and lifetime >= MIN_INTERVAL):
            raise RestError(
                f"{self._venue} token endpoint: absurd expires_in {lifetime:g} s "
                f"(a token must live at least {MIN_INTERVAL:g} s to be renewed in time)"
            )
        self.fetched += 1
        self._token = token
        renew_in = max(RENEW_AT * lifetime, MIN_INTERVAL)
        self._renew_after = self._clock() + renew_in
        log.debug("new %s token, valid for %g s", self._venue, lifetime)
        if self._on_token is not None:
            self._on_token(token)
        self._schedule(renew_in)
        return token

    def _schedule(self, delay: float) -> None:
        """Fetch the next token in the background after `delay` seconds."""
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, self._start_prefetch)

    def _start_prefetch(self) -> None:
        if self._prefetch is None or self._prefetch.done():
            self._prefetch = asyncio.get_running_loop().create_task(self._fetch())
            self._prefetch.add_done_callback(_log_failure)

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._prefetch is not None and not self._prefetch.done():
            self._prefetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, RestError, AuthenticationError):
                await self._prefetch


def _log_failure(task: asyncio.Task[Secret]) -> None:
    """A background renewal that failed is retried by the next ``get``."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("background token renewal failed: %s", task.exception())


def token_source(auth: TokenAuth, rest: RestClient, *, venue: str) -> TokenSource:
    """A ready token as is, or tokens fetched with `rest` (the run's one client) and renewed; each new one
    goes into the cell."""
    if auth.ready is not None:
        return FixedToken(auth.ready, venue=venue, origin=auth.origin)
    if auth.request is None or auth.parse is None:
        raise TypeError(f"{venue}'s token auth names neither a ready token nor a token request")
    cell = auth.cell

    def on_token(token: Secret) -> None:
        cell.value = token

    return ClientCredentials(rest, auth.request, auth.parse, venue=venue, on_token=on_token)


def authenticator(auth: TokenAuth, tokens: TokenSource) -> Authenticate:
    """The stream's ``authenticate`` hook: a current token in the adapter's cell before every attempt.

    After a rejection (`renew`), a new one.

    Raises (from the hook):
        AuthenticationError: the credentials or a renewed token were rejected.
        RestError: the token endpoint could not be reached (the stream retries).
    """

    async def authenticate(renew: bool) -> None:
        auth.cell.value = await tokens.get(renew=renew)

    return authenticate
