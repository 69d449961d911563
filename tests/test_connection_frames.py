"""The frames a connection cuts out of each read itself give what the library's own parser gives.

A raw loopback server answers the upgrade and nothing else; the test then hands the
connection crafted bytes through ``data_received``, split at chosen points, once with
frames cut directly and once with every frame through websockets (``direct = False``),
and compares the messages, the reads, the close sent and what reached the server.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import itertools
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from websockets.frames import Close
from websockets.protocol import State

from fillwatch.net.connection import Connection, NoRedirects

pytestmark = pytest.mark.timeout(60)

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_SIZE = 2**16


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = False, rsv: int = 0) -> bytes:
    """One server frame, as bytes on the wire."""
    head = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    size = bytes([n | (0x80 if mask else 0)]) if n < 126 else b""
    if n >= 126:
        size = struct.pack("!BH", 126 | (0x80 if mask else 0), n) if n < 2**16 else struct.pack("!BQ", 127, n)
    return bytes([head]) + size + (b"\0\0\0\0" if mask else b"") + payload


def text(body: str) -> bytes:
    return frame(0x1, body.encode())


@dataclass
class Seen:
    """What a connection handed on, and what its server received."""

    connection: Connection | None = None
    messages: list[str | bytes] = field(default_factory=list)
    reads: int = 0

    def frame(self, message: str | bytes) -> None:
        self.messages.append(message)

    def read_end(self) -> None:
        self.reads += 1


class RawServer:
    """A WebSocket server that answers the upgrade, then only records what the client sends."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.url = ""
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.done = asyncio.Event()
        """The client closed its end, and everything it sent was read."""

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        for writer in self._writers:
            writer.close()
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        writer.write(b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        while data := await reader.read(65536):
            self.received += data
        self.done.set()


def unmasked(data: bytes) -> list[tuple[int, bytes]]:
    """The client's frames (masked, as a client's are) as (first byte, payload)."""
    frames, pos = [], 0
    while pos < len(data):
        head, n = data[pos], data[pos + 1] & 0x7F
        pos += 2
        if n == 126:
            (n,) = struct.unpack("!H", data[pos : pos + 2])
            pos += 2
        key, pos = data[pos : pos + 4], pos + 4
        frames.append((head, bytes(b ^ key[i % 4] for i, b in enumerate(data[pos : pos + n]))))
        pos += n
    return frames


@dataclass
class Outcome:
    messages: list[str | bytes]
    reads: int
    close_sent: Close | None
    state: State
    sent: list[tuple[int, bytes]]
    exc: str


async def feed(chunks: Sequence[bytes], *, direct: bool, eof: bool = False, fail_after: int | None = None) -> Outcome:
    """Hand `chunks` to a fresh connection, one ``data_received`` each; then the end of the stream if `eof`.

    `fail_after`: the library fails the connection (as a keepalive timeout does) after that many chunks.
    """
    seen = Seen()
    factory = functools.partial(Connection, handler=seen)
    async with RawServer() as server:
        ws = await NoRedirects(
            server.url, create_connection=factory, max_size=MAX_SIZE, ping_interval=None, close_timeout=0.2
        )  # type: ignore[arg-type]
        assert isinstance(ws, Connection)
        assert ws._direct
        ws.direct = direct
        for index, chunk in enumerate(chunks):
            if index == fail_after:
                ws.protocol.fail(1011, "keepalive ping timeout")
                ws.send_data()
            ws.data_received(chunk)
        if eof:
            ws.eof_received()
        ws.transport.close()  # what was written goes out first
        await asyncio.wait_for(server.done.wait(), 10)
        await ws.wait_closed()
        sent = unmasked(bytes(server.received))
    return Outcome(seen.messages, seen.reads, ws.protocol.close_sent, ws.protocol.state, sent, repr(ws.close_exc))


def splits(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


async def assert_same(chunks: Sequence[bytes], *, eof: bool = False, fail_after: int | None = None) -> Outcome:
    direct = await feed(chunks, direct=True, eof=eof, fail_after=fail_after)
    library = await feed(chunks, direct=False, eof=eof, fail_after=fail_after)
    assert direct == library
    return direct


PLAIN = b"".join(
    [
        text('{"type":"fill","n":1}'),
        text("x" * 200),
        frame(0x9, b"are you there"),
        frame(0x2, b"\x00\x01binary"),
        text("é" * 20_000),
        text("last"),
    ]
)


async def test_frames_split_anywhere_give_the_messages_and_the_pong_the_library_gives() -> None:
    """Frames split at each of the first 260 bytes or at random points give the same messages, reads and pong."""
    rng = random.Random(13)
    cases = [[cut] for cut in range(1, 260)] + [rng.sample(range(1, len(PLAIN)), 5) for _ in range(20)]
    for cuts in cases:
        outcome = await assert_same(splits(PLAIN, cuts))
        assert outcome.messages == ['{"type":"fill","n":1}', "x" * 200, b"\x00\x01binary", "é" * 20_000, "last"]
        assert (0x8A, b"are you there") in outcome.sent


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(frame(0x1, b"frag", fin=False) + frame(0x0, b"ment") + text("after"), id="fragmented"),
        pytest.param(frame(0x1, b"masked", mask=True) + text("after"), id="masked"),
        pytest.param(frame(0x1, b"x" * (MAX_SIZE + 1)) + text("after"), id="too-big"),
        pytest.param(frame(0x1, b"\xff\xfe") + text("after"), id="not-utf8"),
        pytest.param(frame(0x1, b"rsv", rsv=0x40) + text("after"), id="rsv1"),
        pytest.param(frame(0x3, b"reserved") + text("after"), id="unknown-opcode"),
        pytest.param(frame(0x8, struct.pack("!H", 1000) + b"bye") + text("after"), id="close"),
        pytest.param(frame(0x9, b"p" * 126) + text("after"), id="long-ping"),
    ],
)
async def test_what_the_direct_path_does_not_read_goes_to_the_library_with_the_same_outcome(bad: bytes) -> None:
    """Fragments, masks, oversized or invalid frames, and a close give the library's messages, close code and state."""
    data = text("before") + bad
    for cuts in ([], [len(data) - 3], [7, 9, 11]):
        outcome = await assert_same(splits(data, cuts))
        assert outcome.messages[0] == "before"


async def test_a_stream_that_ends_inside_a_frame_ends_as_it_does_in_the_library() -> None:
    """The start of a frame read before the end of the stream reaches the library, which reports the same close."""
    data = text("whole") + text("cut short")[:5]
    outcome = await assert_same(splits(data, [3]), eof=True)
    assert outcome.messages == ["whole"]


async def test_no_message_after_a_text_that_is_not_utf8_is_handed_on_even_from_the_same_read() -> None:
    """A text frame that is not UTF-8 closes the connection with 1007 and the frames read with it are not handed on."""
    data = text("before") + frame(0x1, b"\xff\xfe") + text("after")
    for direct in (True, False):
        outcome = await feed([data], direct=direct)
        assert outcome.messages == ["before"]
        assert outcome.close_sent is not None
        assert outcome.close_sent.code == 1007


async def test_frames_read_after_the_library_failed_the_connection_are_not_handed_on() -> None:
    """Once the library failed the connection (a keepalive timeout), later frames, a half-read one too, are dropped."""
    data = text("one") + text("two") + text("three")
    outcome = await assert_same([data[:9], data[9:]], fail_after=1)
    assert outcome.messages == ["one"]
    assert outcome.close_sent is not None
    assert outcome.close_sent.code == 1011
