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
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import NoReturn, TypeAlias, cast

from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from fillwatch.core import backoff
from fillwatch.core.errors import (
    AuthenticationError,
    ConnectionFailed,
)
from fillwatch.core.events import Cancel, Connected, Disconnected, Fill, Item, Skipped
from fillwatch.net.connection import Connection, NoRedirects
from fillwatch.net.failures import Verdict, _Refused, _Resubscribe, _Stalled, classify, close_meaning, describe
from fillwatch.venues.base import Ack, Malformed, Reconcile, Rejected, Reply, Resync, Venue

__all__ = [
    "Authenticate", "Dispatch", "Emit", "Record", "Stream", "StreamOptions", "Streamed", "Verdict", "classify", "watch",
]  # fmt: skip

log = logging.getLogger("fillwatch.stream")
_EVENTS = (Fill, Cancel)  # one tuple, not one built per frame

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


Emit = Callable[[Streamed], None]
"""Takes each item the stream produces, synchronously, as its frame is read."""


class Dispatch:
    """One attempt's frames: recorded, parsed, and each result handed on or acted upon.

    Called by :class:`Connection` for every data message, in the transport's
    callback: nothing here awaits. A refusal or a resync raises, which stops
    the connection (the attempt raises it again, outside the callback).
    """

    connection: Connection | None = None

    def __init__(self, stream: Stream, emit: Emit, read_end: Callable[[], None]) -> None:
        self._stream = stream
        self._venue = stream.venue
        self._emit = emit
        self.read_end = read_end
        self._record = stream.record
        self._clock = stream.clock
        self._raw = stream.options.raw
        self._acked: set[str] = set()
        self.confirmed = False

    def frame(self, frame: str | bytes) -> None:
        """Handle one data message (none once the stream was halted)."""
        if self._stream.halted:
            return
        if self._record is not None:
            self._record(self._clock(), frame)
        emit = self._emit
        for parsed in self._venue.parse(frame):
            if isinstance(parsed, _EVENTS):
                emit(replace(parsed, raw=frame) if self._raw else parsed)
            else:
                self._other(parsed)

    def _other(self, parsed: object) -> None:
        if isinstance(parsed, Ack):
            self._acked.add(parsed.channel)
            if not self.confirmed and self._acked >= self._venue.channels:
                self.confirm()
        elif isinstance(parsed, Malformed):
            self._emit(self._stream.skipped(parsed))
        elif isinstance(parsed, Reply):
            self._send(parsed.frame)
        elif isinstance(parsed, Reconcile):
            self._emit(parsed)
        elif isinstance(parsed, Resync):
            raise _Resubscribe(parsed.reason)
        elif isinstance(parsed, Rejected):
            raise _Refused(parsed)

    def confirm(self) -> None:
        """The venue confirmed every channel: the connection counts as up."""
        self.confirmed = True
        self._emit(self._stream.confirmed())

    def _send(self, frame: bytes) -> None:
        """Answer the venue at once, in order with what was sent before (an ``await send()`` would wait)."""
        ws = self.connection
        if ws is not None and ws.protocol.state is State.OPEN:  # none: a recorded frame, replayed
            ws.protocol.send_text(frame)
            ws.send_data()


class Stream:
    """The connection loop: attempts, each classified when it ends, and the backoff between them.

    Args: `venue` signs, subscribes and parses; `options`: URL, retry budget, timeouts; `delays`
    makes the backoff sequence; `clock`: wall-clock seconds, for signing and recording;
    `authenticate` makes credentials current before every attempt; `record` receives every frame.
    """

    def __init__(
        self,
        venue: Venue,
        options: StreamOptions,
        *,
        delays: backoff.DelayFactory = backoff.delays,
        clock: Callable[[], float] = time.time,
        authenticate: Authenticate | None = None,
        record: Record | None = None,
    ) -> None:
        self.venue = venue
        self.options = options
        self.clock = clock
        self.record = record
        self._delays = delays
        self._authenticate = authenticate
        self._started = False  # a subscription was confirmed once
        self._failures = 0  # attempts in a row that did not reach a confirmed subscription
        self._auth_failures = 0
        self._skipped = 0
        self._pending: Iterator[float] | None = None  # the running backoff sequence; None starts a fresh one
        self._quick = False  # the last reconnect was at once (the venue asked): the next such one backs off
        self.connection: Connection | None = None
        """The connection open now, if any (to pause and resume reading)."""
        self.halted = False

    def skipped(self, malformed: Malformed) -> Skipped:
        self._skipped += 1
        return Skipped(malformed.reason, malformed.excerpt, self._skipped)

    def confirmed(self) -> Connected:
        """The item saying the connection is up; the failure counts start again."""
        item = Connected(self.options.url, self._failures + 1)
        self._started = True
        self._failures = self._auth_failures = 0
        self._pending = None
        return item

    async def run(self, emit: Emit, read_end: Callable[[], None] = lambda: None) -> NoReturn:
        """Connect, and connect again, until cancelled or a fatal error; every item goes to `emit`,
        synchronously, as its frame is read; `read_end` is called when a read has been handled.

        Raises:
            AuthenticationError: two attempts in a row were rejected for their credentials.
            ConnectionFailed: ``max_retries`` attempts after the first failed in a row.
            ConfigError, SubscriptionError: retrying cannot help.
        """
        while True:
            dispatch = Dispatch(self, emit, read_end)
            try:
                async with self.connect(dispatch, push=True) as ws:
                    await asyncio.shield(ws.ended)
                    self.ended(ws)
            except Exception as exc:  # noqa: BLE001 - classified: unknown errors re-raise
                delay = self.failed(exc, confirmed=dispatch.confirmed)
                emit(Disconnected(describe(exc), delay))
                await asyncio.sleep(delay)

    @contextlib.asynccontextmanager
    async def connect(self, dispatch: Dispatch, *, push: bool) -> AsyncIterator[Connection]:
        """One attempt, signed, upgraded and subscribed (`push`: frames go to `dispatch` as they are read)."""
        if self._authenticate is not None:
            await self._authenticate(self._auth_failures > 0)
        options = self.options
        factory = functools.partial(Connection, handler=dispatch if push else None)
        async with NoRedirects(
            options.url,
            additional_headers=self.venue.handshake_headers(int(self.clock() * 1000)),
            create_connection=cast(type[ClientConnection], factory),
            open_timeout=options.open_timeout,
            close_timeout=2,
            compression=options.compression,
            max_size=2**22,
        ) as ws:
            assert isinstance(ws, Connection)
            dispatch.connection = self.connection = ws
            try:
                ws.watch_for_stall(options.stall_timeout)
                for command in self.venue.subscribe_frames():
                    await ws.send(command, text=True)
                if not self.venue.channels:
                    self._failures = 0  # as it always was: a venue without acks counts attempt 1
                    dispatch.confirm()
                yield ws
            finally:
                self.connection = None

    def ended(self, ws: Connection) -> NoReturn:
        """Raise why `ws` ended: what stopped its dispatch, a stall, or the close."""
        if ws.failure is not None:
            raise ws.failure
        if ws.stalled:
            raise _Stalled(self.options.stall_timeout)
        refused = close_meaning(self.venue, ws.close_exc)  # a venue that says what a close means (stop, or at once)
        if refused is not None:
            raise refused from ws.close_exc
        raise ws.close_exc

    def failed(self, exc: Exception, *, confirmed: bool) -> float:
        """The delay before the next attempt, after `exc` ended one (or the error the run stops with)."""
        verdict = classify(exc, started=self._started)
        if verdict.error is exc:
            raise exc
        if verdict.error is not None:
            raise verdict.error from exc
        log.debug("attempt failed", exc_info=exc)
        self._auth_failures = self._auth_failures + 1 if verdict.auth else 0
        if self._auth_failures >= 2:
            message = f"{self.venue.name} rejected the credentials ({describe(exc)}), twice in a row"
            raise AuthenticationError(message) from exc
        if not confirmed:
            self._failures += 1
        if self.options.max_retries is not None and self._failures > self.options.max_retries:
            attempts = f"{self._failures} failed attempt{'' if self._failures == 1 else 's'}"
            raise ConnectionFailed(f"gave up after {attempts} in a row: {describe(exc)}") from exc
        self._quick = verdict.at_once and confirmed and not self._quick
        if self._quick:
            return 0.0
        self._pending = self._pending or self._delays()
        return next(self._pending)

    def halt(self) -> None:
        """Take no further frame: the run stopped (what is read now is neither recorded nor parsed)."""
        self.halted = True

    def pause(self) -> None:
        """Stop reading frames until :meth:`resume` (a reconciliation reads first)."""
        if self.connection is not None:
            self.connection.pause()

    def resume(self) -> None:
        if self.connection is not None:
            self.connection.resume()


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

    The :class:`Stream` (its arguments) as an async iterator: each
    frame is recorded and parsed when the reader asks for the next item, so
    that a ``--record`` lists frames in the order the reader took them.

    Raises:
        AuthenticationError, ConnectionFailed, ConfigError, SubscriptionError: as :meth:`Stream.run`.
    """
    stream = Stream(venue, options, delays=delays, clock=clock, authenticate=authenticate, record=record)
    while True:
        items: deque[Streamed] = deque()
        dispatch = Dispatch(stream, items.append, lambda: None)
        try:
            async with stream.connect(dispatch, push=False) as ws:
                while True:
                    while items:
                        yield items.popleft()
                    message = await ws.next_message()
                    if message is None:
                        stream.ended(ws)
                    dispatch.frame(message)
        except Exception as exc:  # noqa: BLE001 - classified: unknown errors re-raise
            while items:  # what the frame gave before it raised
                yield items.popleft()
            delay = stream.failed(exc, confirmed=dispatch.confirmed)
            yield Disconnected(describe(exc), delay)
            await asyncio.sleep(delay)
