"""One WebSocket connection whose data messages are handled where websockets delivers them.

:class:`Connection` skips the library's message queue and ``recv()``: each
data message is reassembled (fragments), decoded (text is UTF-8, or the
connection fails with 1007 as ``recv()`` would fail it) and handed to its
:class:`Handler` synchronously, inside the transport's read callback, and the
handler is told when that read is done, so that a burst of frames read at once
is written at once. Keepalive pings, pongs and the closing handshake stay the
library's. :class:`NoRedirects` is ``connect`` that never follows a redirect.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol

from websockets import protocol as _protocol
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader

from fillwatch.net.http import Redirected, redirect_target

__all__ = ["Connection", "Handler", "NoRedirects"]

_DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
_MAX_FRAGMENTS = 4096
_HIGH, _LOW = 16, 4
"""Messages queued for :meth:`Connection.next_message` before reading stops, and resumes."""
"""Fragments of one message, at most (the size is capped too, by ``max_size``)."""
_TEXT, _BINARY = 0x81, 0x82  # the first byte of an unfragmented text / binary frame, no extension bits
_CONTROL = frozenset((0x88, 0x89, 0x8A))  # close, ping, pong
_KNOWN = _CONTROL | {_TEXT, _BINARY}
_AT_EOF, _PARSE = StreamReader.at_eof.__code__, _protocol.Protocol.parse.__code__


def _at_frame_start(protocol: ClientProtocol) -> bool:
    """Whether the library's parser waits for the first byte of a frame, with nothing buffered."""
    outer, gen = None, protocol.parser
    while (inner := getattr(gen, "gi_yieldfrom", None)) is not None:
        outer, gen = gen, inner
    return (
        not protocol.reader.buffer
        and getattr(gen, "gi_code", None) is _AT_EOF
        and getattr(outer, "gi_code", None) is _PARSE
    )


class Handler(Protocol):
    """Takes a connection's data messages, in its read callback."""

    connection: Connection | None

    def frame(self, frame: str | bytes) -> None:
        """Handle one message; what it raises stops the connection (see :meth:`Connection.stop`)."""
        ...

    def read_end(self) -> None:
        """The messages of one read from the socket were handled."""
        ...


class Connection(ClientConnection):
    """A client connection that hands each data message to its :class:`_Dispatch` as it is read.

    Messages are not queued for ``recv()``: they are handled synchronously
    where websockets delivers them (``process_event``), and the dispatch is
    told when each read from the socket has been handled (``read_end``: the
    moment to flush). It also remembers when the venue last sent any frame,
    for the stall watchdog, and can hold messages back while reading is paused.
    """

    last_frame_at: float = 0.0
    stalled: bool = False
    direct: bool = True
    """Cut whole data frames out of each read here (False: every frame through websockets' parser)."""
    _watchdog: asyncio.TimerHandle | None = None

    def __init__(self, protocol: ClientProtocol, *, handler: Handler | None = None, **kwargs: Any) -> None:
        """`handler`: take each message in the read callback (None: queue them for :meth:`next_message`)."""
        super().__init__(protocol, **kwargs)
        self.handler = handler
        if handler is not None:
            handler.connection = self
        self.failure: BaseException | None = None
        """What stopped the handler (a refusal, a resync, a write that failed): the attempt raises it."""
        self.ended: asyncio.Future[None] = self.loop.create_future()
        self._parts: list[bytes] = []
        self._text = False
        self._held: deque[str | bytes] = deque()
        self._holding = handler is None
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._lost = False
        self._failed = False  # closed for a protocol violation found here (1007, 1009)
        self._direct = False  # frames are cut from the bytes here (see _receive), not by the library
        self._rest = b""  # the start of a frame not yet read whole (direct only)

    def process_event(self, event: Any) -> None:
        if not isinstance(event, Frame):  # the handshake's response
            super().process_event(event)
            return
        # Pongs answer our own keepalive pings: they show that the peer's TCP
        # stack is alive, not that the venue is still sending (CONTRACT §5).
        if event.opcode is not Opcode.PONG:
            self.last_frame_at = self.loop.time()
        if event.opcode not in _DATA:
            super().process_event(event)  # pongs: the keepalive's
            return
        message = self._assemble(event)
        if message is not None:
            self._deliver(message)

    def _deliver(self, message: str | bytes) -> None:
        """Hand one whole data message on: held while the stream waits for a read it asked for, dropped
        once the attempt failed (the library's frames and those cut here alike)."""
        if self.failure is not None or self._failed:
            return
        if self._holding:
            self._hold(message)
            return
        assert self.handler is not None
        try:
            self.handler.frame(message)
        except Exception as exc:  # noqa: BLE001 - raised by the attempt, not in the transport's callback
            self.stop(exc)

    def _hold(self, message: str | bytes) -> None:
        self._held.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if len(self._held) >= _HIGH and not self._reading_paused:  # as the library's queue: max_queue
            self._reading_paused = True
            self.transport.pause_reading()

    def _assemble(self, frame: Frame) -> str | bytes | None:
        """The message `frame` completes (None: a fragment, or a text that is not UTF-8: failed)."""
        if frame.opcode is not Opcode.CONT:
            self._text, self._parts = frame.opcode is Opcode.TEXT, []
        if not frame.fin:
            self._parts.append(bytes(frame.data))
            if len(self._parts) > _MAX_FRAGMENTS:
                self._fail(CloseCode.MESSAGE_TOO_BIG, "too many fragments")
            return None
        data = bytes(frame.data) if not self._parts else b"".join([*self._parts, frame.data])
        self._parts = []
        if not self._text:
            return data
        try:
            return data.decode()
        except UnicodeDecodeError as exc:
            self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            return None

    def _fail(self, code: CloseCode, reason: str) -> None:
        """Close the connection for a protocol violation, as ``recv()`` would."""
        self._parts, self._failed = [], True  # what else this read gave is not handed on either
        if self.failure is None and self.protocol.state is State.OPEN:
            self.protocol.fail(code, reason)
            self.send_data()

    def data_received(self, data: bytes) -> None:
        if self._rest:
            data, self._rest = self._rest + data, b""
        if self._direct and self.direct and self.protocol.state is State.OPEN:
            self._receive(data)
        else:
            super().data_received(data)
            self._direct = (
                self.protocol.state is State.OPEN and not self.protocol.extensions and _at_frame_start(self.protocol)
            )
        if self.failure is None and not self._holding and self.handler is not None:
            try:
                self.handler.read_end()
            except Exception as exc:  # noqa: BLE001 - as in process_event
                self.stop(exc)

    def _receive(self, data: bytes) -> None:
        """Cut the frames out of `data` and hand on their messages, as the library would, but cheaper.

        Only unmasked, unfragmented text and binary frames within ``max_size`` are read here;
        control frames go to the library whole (pongs, the closing handshake); anything else
        (a fragment, extension bits, a mask, an oversized or unknown frame) goes to the library
        with all that follows, for good, so that it fails or reassembles as it always did.
        """
        pos, delivered = self._cut(data)
        if delivered:
            self.last_frame_at = self.loop.time()
        if self._direct and self.protocol.state is State.OPEN:
            self._rest = data[pos:]
            return
        self._rest, self._direct = b"", False  # the library reads from here on
        if pos < len(data):
            super().data_received(data[pos:])

    def _cut(self, data: bytes) -> tuple[int, bool]:
        """Hand on the whole frames `data` starts with: where the first one not read starts, and
        whether a data message was among them (a frame for the library clears ``_direct``)."""
        end, pos, limit, delivered = len(data), 0, self.protocol.max_message_size, False
        message = self._message
        while end - pos >= 2:
            head, length = data[pos], data[pos + 1]
            if length & 0x80 or head not in _KNOWN:  # masked, fragmented, extension bits, unknown
                self._direct = False
                break
            start = pos + 2
            if length == 126:
                start, length = pos + 4, (data[pos + 2] << 8 | data[pos + 3]) if end - pos >= 4 else -1
            elif length == 127:
                start, length = pos + 10, int.from_bytes(data[pos + 2 : pos + 10]) if end - pos >= 10 else -1
            if length < 0:
                break  # the length is not read whole yet
            if limit is not None and length > limit:
                self._direct = False  # the library refuses it (1009)
                break
            begin, pos = pos, start + length
            if pos > end:
                pos = begin  # the payload is not read whole yet
                break
            if head in _CONTROL:
                super().data_received(data[begin:pos])
                if self.protocol.state is not State.OPEN:
                    break
                continue
            delivered = True
            payload = data[start:pos]
            if head == _TEXT and not self._holding and self.failure is None and payload.isascii():
                try:  # _deliver's common case inline, for speed: ASCII text (always UTF-8), handed on at once
                    self.handler.frame(payload.decode())  # type: ignore[union-attr]  # not holding: a handler
                except Exception as exc:  # noqa: BLE001 - as in process_event
                    self.stop(exc)
            else:
                message(payload, head == _TEXT)
            if self._failed:
                break
        return pos, delivered

    def _message(self, data: bytes, text: bool) -> None:
        """One whole data message, read by :meth:`_receive`."""
        message: str | bytes = data
        if text:
            try:
                message = data.decode()
            except UnicodeDecodeError as exc:
                self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                return
        self._deliver(message)

    def _to_library(self) -> None:
        """Give the library the start of a frame read here, before the end of the stream."""
        if self._rest:
            rest, self._rest, self._direct = self._rest, b"", False
            super().data_received(rest)

    def eof_received(self) -> None:
        self._to_library()
        super().eof_received()

    async def next_message(self) -> str | bytes | None:
        """The next message, in order (without a handler); None once the connection ended and all were taken."""
        while not self._held:
            if self.ended.done():
                return None
            self._waiter = self.loop.create_future()
            await asyncio.wait((self._waiter, self.ended), return_when=asyncio.FIRST_COMPLETED)
            self._waiter = None
        if self._reading_paused and len(self._held) <= _LOW:
            self._reading_paused = False
            self.transport.resume_reading()
        return self._held.popleft()

    def stop(self, exc: BaseException) -> None:
        """Stop handing messages on: the attempt raises `exc`."""
        if self.failure is None:
            self.failure = exc
        if not self.ended.done():
            self.ended.set_result(None)

    def pause(self) -> None:
        """Hold messages back until :meth:`resume`. The socket is still read (pings, the stall
        watchdog) until 16 messages wait, as the library's own queue would."""
        if self.handler is not None:
            self._holding = True

    def resume(self) -> None:
        """Hand on the messages held back, then read again."""
        if self.handler is None or not self._holding:
            return
        self._holding = False
        try:
            while self._held and self.failure is None and not self._holding:  # a message may pause again
                self.handler.frame(self._held.popleft())
            self.handler.read_end()
        except Exception as exc:  # noqa: BLE001 - as in process_event
            self.stop(exc)
        if self._holding:
            return
        if self._lost and not self.ended.done():  # the messages read before the end were all handed on
            self.ended.set_result(None)
        if self._reading_paused and not self.transport.is_closing():
            self.transport.resume_reading()
        self._reading_paused = False

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
        if self.protocol.state is not State.CLOSED:
            self._to_library()
        super().connection_lost(exc)
        self._lost = True
        if not (self.handler is not None and self._holding) and not self.ended.done():
            self.ended.set_result(None)  # held messages are handed on first (resume)


class NoRedirects(connect):
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
