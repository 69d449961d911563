"""The connection loop: connect, sign, subscribe, receive, classify, back off.

:func:`watch` is an async generator of :data:`~fillwatch.core.events.Item` (and
of the adapter's :class:`~fillwatch.venues.base.Reconcile` requests). It
never prints: what happens to the connection is yielded as status items, and
the sinks decide how to show them. The reconnect policy is ours rather than
the library's, for two reasons (STYLE §3): signed headers must be fresh for
every attempt, and the backoff resets only once the venue *confirmed* the
subscription, not when the handshake succeeded.

Timeline of one connection::

    sign ─► upgrade ─► subscribe ─► acks (confirmed: Connected) ─► events …
      ▲                                                            │
      └──── backoff ◄── Disconnected ◄── drop / stall / close / error

The library answers pings. A watchdog closes a connection that delivered no
frame of any kind (data or ping; our own pongs do not count) for
``stall_timeout`` seconds (CONTRACT §5).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any, TypeAlias

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import Frame, Opcode

from fillwatch.core import backoff
from fillwatch.core.errors import (
    AuthenticationError,
    ConfigError,
    ConnectionFailed,
    FillwatchError,
    SubscriptionError,
)
from fillwatch.core.events import Cancel, Connected, Disconnected, Fill, Item, Skipped
from fillwatch.net.http import Redirected, RestError, redirect_target
from fillwatch.venues.base import Ack, Malformed, Reconcile, Rejected, Reply, Resync, Venue

__all__ = ["Authenticate", "Record", "StreamOptions", "Streamed", "classify", "watch"]

log = logging.getLogger("fillwatch.stream")

Streamed: TypeAlias = Item | Reconcile
"""What :func:`watch` yields: events, status items, and the adapter's requests for history."""

Authenticate = Callable[[bool], Awaitable[None]]
"""Called before every attempt, with True after a rejection: renew the credentials.

It may raise :class:`~fillwatch.core.errors.AuthenticationError` (no renewal
possible: stop) or :class:`~fillwatch.net.http.RestError` (try again later).
"""

Record = Callable[[float, str | bytes], None]
"""Called with the wall-clock receive time and every frame received, as it arrives."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamOptions:
    """How to reach the venue and how hard to try."""

    url: str
    max_retries: int | None = None
    """Give up after this many failed attempts in a row after the first (None: never)."""
    stall_timeout: float = 30.0
    open_timeout: float = 10.0
    compression: str | None = None
    """permessage-deflate ("deflate") or None. Off: fill frames are small and few, and
    compressed ones cost ~40 % more CPU to receive (bench/run.py: bare receive 0.61×)."""
    raw: bool = False
    """Attach each frame to the events it produced (``--raw``)."""


class _Stalled(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no frame for {seconds:g} s")


class _Resubscribe(Exception):
    """The venue reported a subscription that stopped delivering data."""


class _Refused(Exception):
    def __init__(self, rejected: Rejected) -> None:
        super().__init__(rejected.message)
        self.rejected = rejected


class _Connection(ClientConnection):
    """A client connection that remembers when the venue last sent any frame."""

    last_frame_at: float = 0.0
    stalled: bool = False
    _watchdog: asyncio.TimerHandle | None = None

    def process_event(self, event: Any) -> None:
        # Pongs answer our own keepalive pings: they show that the peer's TCP
        # stack is alive, not that the venue is still sending (CONTRACT §5).
        if not (isinstance(event, Frame) and event.opcode is Opcode.PONG):
            self.last_frame_at = self.loop.time()
        super().process_event(event)

    def watch_for_stall(self, timeout: float) -> None:
        """Abort the connection once no frame arrived for `timeout` seconds."""
        self.last_frame_at = self.loop.time()

        def check() -> None:
            idle = self.loop.time() - self.last_frame_at
            if idle >= timeout:
                self.stalled = True
                if self.transport is not None:
                    self.transport.abort()
            else:
                self._watchdog = self.loop.call_later(timeout - idle, check)

        self._watchdog = self.loop.call_later(timeout, check)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        super().connection_lost(exc)


class _NoRedirects(connect):
    """``connect`` that never follows a redirect: the signed headers would go with it.

    websockets strips only ``Authorization`` and ``Cookie`` when it follows one;
    Kalshi's ``KALSHI-ACCESS-*`` headers would reach the other host.
    """

    def process_redirect(self, exc: Exception) -> Exception | str:
        if isinstance(exc, InvalidStatus) and 300 <= exc.response.status_code < 400:
            location = exc.response.headers.get("Location")
            if location is not None:
                target = redirect_target(self.uri, location)
                return Redirected("the WebSocket upgrade", exc.response.status_code, target)
        return exc


def _close_meaning(venue: Venue, closed: ConnectionClosed) -> object:
    """What the venue's ``close_meaning(code, reason)`` makes of a close frame received (None: none)."""
    meaning = getattr(venue, "close_meaning", None)
    if meaning is None or closed.rcvd is None:
        return None
    return meaning(closed.rcvd.code, closed.rcvd.reason)


def _body_message(body: bytes | None) -> str:
    """The ``message`` of a refused upgrade's JSON error body (Novig v3: which check failed), cut short."""
    try:
        message = json.loads(body or b"").get("message")
    except (ValueError, AttributeError):
        return ""
    return message[:200] if isinstance(message, str) else ""


def classify(exc: BaseException) -> FillwatchError | None:
    """What a failure means: ``None`` to retry, or the error to stop with.

    Auth rejections are *not* decided here: they are retried once with fresh
    credentials by :func:`watch`, which counts them (see :func:`is_auth_failure`).
    """
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in (408, 429) or status >= 500 or status in (401, 403):
            return None
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        return ConfigError(f"the server refused the WebSocket upgrade: HTTP {status} {reason}".rstrip())
    if isinstance(exc, InvalidURI):
        return ConfigError(f"invalid WebSocket URL: {exc}")
    if isinstance(exc, _Refused):
        if exc.rejected.auth:
            return None
        code = f" (code {exc.rejected.code})" if exc.rejected.code is not None else ""
        return SubscriptionError(f"the venue refused the subscription{code}: {exc.rejected.message}")
    if isinstance(exc, (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, _Stalled, _Resubscribe, RestError)):
        return None
    if isinstance(exc, FillwatchError):
        return exc
    raise exc


def is_auth_failure(exc: BaseException) -> bool:
    """An HTTP 401/403 on the upgrade, or an in-band authentication error."""
    if isinstance(exc, InvalidStatus):
        return exc.response.status_code in (401, 403)
    return isinstance(exc, _Refused) and exc.rejected.auth


def describe(exc: BaseException) -> str:
    """A short, secret-free account of why a connection attempt ended."""
    if isinstance(exc, InvalidStatus):
        said = _body_message(exc.response.body)
        return f"HTTP {exc.response.status_code} on the upgrade" + (f": {said}" if said else "")
    if isinstance(exc, ConnectionClosed):
        if exc.rcvd is None:
            return "connection lost"
        return f"closed by the venue ({exc.rcvd.code}{' ' + exc.rcvd.reason if exc.rcvd.reason else ''})"
    if isinstance(exc, _Refused):
        return f"rejected: {exc.rejected.message}"
    if isinstance(exc, TimeoutError):
        return "timed out opening the connection"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__


async def watch(
    venue: Venue,
    options: StreamOptions,
    *,
    delays: backoff.DelayFactory = backoff.delays,
    clock: Callable[[], float] = time.time,
    authenticate: Authenticate | None = None,
    record: Record | None = None,
) -> AsyncIterator[Streamed]:
    """Yield events and status items from `venue` until cancelled or a fatal error.

    Args:
        venue: the adapter that signs, subscribes and parses.
        options: URL, retry budget and timeouts.
        delays: makes the backoff sequence (tests pass tiny delays).
        clock: wall-clock seconds, for signing and recording.
        authenticate: makes the venue's credentials current before every attempt.
        record: receives every frame with its receive time (``--record``).

    Raises:
        AuthenticationError: two attempts in a row were rejected for their credentials.
        ConnectionFailed: ``max_retries`` attempts after the first failed in a row.
        ConfigError, SubscriptionError: retrying cannot help (a redirect before the
            first confirmed subscription: the URL is wrong; later it is retried).
    """
    started = False  # a subscription was confirmed once
    failures = 0  # attempts in a row that did not reach a confirmed subscription
    auth_failures = 0
    skipped = 0
    pending: Any = None  # the running backoff sequence; None starts a fresh one
    while True:
        confirmed = False
        try:
            if authenticate is not None:
                await authenticate(auth_failures > 0)
            headers = venue.handshake_headers(int(clock() * 1000))
            async with _NoRedirects(
                options.url,
                additional_headers=headers,
                create_connection=_Connection,
                open_timeout=options.open_timeout,
                close_timeout=2,
                compression=options.compression,
                max_size=2**22,
            ) as ws:
                assert isinstance(ws, _Connection)
                ws.watch_for_stall(options.stall_timeout)
                for command in venue.subscribe_frames():
                    await ws.send(command, text=True)
                acked: set[str] = set()
                if not venue.channels:
                    confirmed = started = True
                    failures = auth_failures = 0
                    pending = None
                    yield Connected(options.url, failures + 1)
                try:
                    while True:
                        frame = await ws.recv()
                        if record is not None:
                            record(clock(), frame)
                        for parsed in venue.parse(frame):
                            if isinstance(parsed, (Fill, Cancel)):
                                yield replace(parsed, raw=frame) if options.raw else parsed
                            elif isinstance(parsed, Ack):
                                acked.add(parsed.channel)
                                if not confirmed and acked >= venue.channels:
                                    confirmed = started = True
                                    yield Connected(options.url, failures + 1)
                                    failures = auth_failures = 0
                                    pending = None
                            elif isinstance(parsed, Malformed):
                                skipped += 1
                                yield Skipped(parsed.reason, parsed.excerpt, skipped)
                            elif isinstance(parsed, Reply):
                                await ws.send(parsed.frame, text=True)
                            elif isinstance(parsed, Reconcile):
                                yield parsed
                            elif isinstance(parsed, Resync):
                                raise _Resubscribe(parsed.reason)
                            elif isinstance(parsed, Rejected):
                                raise _Refused(parsed)
                except ConnectionClosed as closed:
                    if ws.stalled:
                        raise _Stalled(options.stall_timeout) from None
                    meaning = _close_meaning(venue, closed)  # a venue that says what a close means
                    if isinstance(meaning, Rejected):
                        raise _Refused(meaning) from closed
                    raise
        except Exception as exc:  # classified below; unknown errors re-raise
            if isinstance(exc, Redirected) and not started:
                raise ConfigError(str(exc)) from exc
            fatal = classify(exc)
            if fatal is not None:
                raise fatal from exc
            log.debug("attempt failed", exc_info=True)
            if is_auth_failure(exc):
                auth_failures += 1
                if auth_failures >= 2:
                    raise AuthenticationError(
                        f"{venue.name} rejected the credentials ({describe(exc)}), twice in a row"
                    ) from exc
            else:
                auth_failures = 0
            if not confirmed:
                failures += 1
            if options.max_retries is not None and failures > options.max_retries:
                attempts = f"{failures} failed attempt{'' if failures == 1 else 's'}"
                raise ConnectionFailed(f"gave up after {attempts} in a row: {describe(exc)}") from exc
            pending = pending or delays()
            delay = next(pending)
            yield Disconnected(describe(exc), delay)
            await asyncio.sleep(delay)
