"""A lean loopback Kalshi for the benchmark: it only answers and blasts.

It listens on two ports of 127.0.0.1: one refuses permessage-deflate, one
offers it. Each connection says what it wants in its query string
(``?run=ID&n=N&rate=R&stamp=1``); the blaster accepts any signature, waits
for the ``subscribe`` command, answers with two ``subscribed`` acks, then sends
``n`` current-schema fill frames:

* as fast as the connection takes them (``rate=0``): whole WebSocket frames,
  serialized once and written straight to the transport, so that the sender
  costs next to nothing and the client is what is measured;
* or paced at ``rate`` frames per second, the trade id of each carrying the
  ``CLOCK_MONOTONIC`` nanosecond at which it was written (``stamp=1``), for the
  latency runs.

Every connection reports ``start`` (first data frame written) and ``done`` as
JSON lines on stdout, with monotonic nanoseconds: the orchestrator reads them.
The blaster stops by itself after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import sys
import time
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Frame, Opcode

MARKETS = ("KXHIGHNY-26NOV21-B53.5", "KXFED-26DEC-T4.25", "KXBTCD-26NOV2117-T98499.99", "KXCPIYOY-26NOV-T2.9")
CYCLE = 1024  # distinct frames; 1024 × ~600 bytes spans more than the 32 KiB deflate window
_ID = "@@ID@@"
_BLOCK = "-00000000"  # the block number, patched into every trade id: fillwatch drops repeated ids
ACKS = (
    b'{"id":1,"type":"subscribed","msg":{"channel":"fill","sid":1}}',
    b'{"id":1,"type":"subscribed","msg":{"channel":"user_orders","sid":2}}',
)


def fill_frames(count: int, *, seed: int = 6, trade_id: str | None = None) -> list[bytes]:
    """`count` current-schema Kalshi fill messages (protocols/kalshi.md §4.3), JSON-encoded."""
    rng = random.Random(seed)
    frames = []
    ts_ms = 1_795_000_000_000
    position = 0
    for i in range(count):
        ts_ms += rng.randint(1, 900)
        side, action = rng.choice(("yes", "no")), rng.choice(("buy", "buy", "sell"))
        outcome = side if action == "buy" else ("no" if side == "yes" else "yes")
        cents = rng.randint(3, 97)
        qty = rng.choice((1, 2, 5, 10, 25, 50, 100, 250))
        position += qty if outcome == "yes" else -qty
        msg = {
            "trade_id": trade_id or f"{rng.getrandbits(128):032x}-{i:04d}{_BLOCK}",
            "order_id": f"{rng.getrandbits(128):032x}",
            "market_ticker": rng.choice(MARKETS),
            "is_taker": rng.random() < 0.6,
            "side": side,
            "action": action,
            "client_order_id": "",
            "exchange_index": 1,
            "yes_price_dollars": f"{cents / 100:.4f}",
            "count_fp": f"{qty:.2f}",
            "fee_cost": f"{rng.randint(0, 200) / 100:.6f}",
            "ts": ts_ms // 1000,
            "ts_ms": ts_ms,
            "post_position_fp": f"{position:.2f}",
            "purchased_side": outcome,
            "outcome_side": outcome,
            "book_side": "bid" if outcome == "yes" else "ask",
        }
        frames.append(orjson.dumps({"type": "fill", "sid": 1, "sending_ts_ms": ts_ms, "msg": msg}))
    return frames


def _report(run: str, event: str, **fields: object) -> None:
    sys.stdout.write(orjson.dumps({"run": run, "event": event, "t": time.monotonic_ns(), **fields}).decode() + "\n")
    sys.stdout.flush()


def _wire(ws: ServerConnection, payload: bytes) -> bytes:
    """One whole server frame (unmasked, compressed if the connection negotiated it)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=ws.protocol.extensions)


async def _blast(ws: ServerConnection, run: str, n: int) -> None:
    """Send `n` frames as fast as the client takes them, from pre-serialized blocks.

    Uncompressed, a block of frames is serialized once and replayed with the
    block number patched into each trade id (same length, so the frame headers
    hold), which keeps every id unique. With permessage-deflate the compressor
    keeps its window across frames, so a block can be replayed only where the
    32 KiB before it are the same as when it was compressed: block A is sent
    once, then block B (the same messages, compressed after A) over and over;
    trade ids then repeat every block (the reference clients do not mind).
    """
    payloads = fill_frames(CYCLE)
    transport = ws.transport
    if ws.protocol.extensions:
        first = [_wire(ws, p) for p in payloads]
        again = [_wire(ws, p) for p in payloads]
        _report(run, "start")
        sent = min(n, CYCLE)
        transport.write(b"".join(first[:sent]))
        block = b"".join(again)
        while True:
            await ws.drain()
            if sent >= n:
                break
            count = min(CYCLE, n - sent)
            transport.write(block if count == CYCLE else b"".join(again[:count]))
            sent += count
    else:
        frames = [_wire(ws, p) for p in payloads]
        template = bytearray(b"".join(frames))
        ends = list(itertools.accumulate(len(f) for f in frames))
        marker = f'{_BLOCK}"'.encode()
        offsets, at = [], 0
        for _ in frames:
            at = template.index(marker, at) + 1
            offsets.append(at)
        times = _time_fields(template, ends)
        span = times[-1][1] - times[0][1] + 1000  # ms: each block continues where the last one ended
        _report(run, "start")
        sent = 0
        for number in itertools.count():
            count = min(CYCLE, n - sent)
            if count <= 0:
                break
            digits = b"%08d" % number
            for offset in offsets[:count]:
                template[offset : offset + 8] = digits
            for offset, ms, divisor, width in times:
                template[offset : offset + width] = b"%d" % ((ms + number * span) // divisor)
            transport.write(bytes(template[: ends[count - 1]]))
            sent += count
            await ws.drain()
    _report(run, "done", sent=sent)


def _time_fields(template: bytearray, ends: list[int]) -> list[tuple[int, int, int, int]]:
    """(offset, ts_ms, divisor, width) of every time field, so that blocks can move on in time.

    Venue times only ever move forward; fillwatch's de-duplication window
    follows them, so replayed blocks must not go back in time.
    """
    fields = []
    start = 0
    for end in ends:
        at = template.index(b'"ts_ms":', start) + 8
        ms = int(template[at : template.index(b",", at)])
        for key, divisor in ((b'"sending_ts_ms":', 1), (b'"ts":', 1000), (b'"ts_ms":', 1)):
            at = template.index(key, start) + len(key)
            width = template.index(b",", at) - at
            fields.append((at, ms, divisor, width))
        start = end
    return fields


def _paced_templates() -> list[bytes]:
    """Fill frames as ``bytes %`` templates: the trade id and the venue times are filled at send time."""
    templates = []
    for frame in fill_frames(CYCLE, trade_id=_ID):
        ms = orjson.loads(frame)["msg"]["ts_ms"]
        templates.append(
            frame.replace(_ID.encode(), b"%(id)b")
            .replace(b'"sending_ts_ms":%d' % ms, b'"sending_ts_ms":%(ms)d')
            .replace(b'"ts_ms":%d' % ms, b'"ts_ms":%(ms)d')
            .replace(b'"ts":%d' % (ms // 1000), b'"ts":%(s)d')
        )
    return templates


async def _paced(ws: ServerConnection, run: str, n: int, rate: float, stamp: bool) -> None:
    """Send `n` frames at `rate` per second; stamped frames carry their send time in the trade id.

    Venue times are the wall clock at sending, as from a live venue.
    """
    templates = _paced_templates()
    transport = ws.transport
    loop = asyncio.get_running_loop()
    monotonic_ns, time_ns = time.monotonic_ns, time.time_ns
    _report(run, "start")
    start = loop.time()
    sent = 0
    while sent < n:
        due = min(n, int((loop.time() - start) * rate) + 1)
        chunk = []
        for i in range(sent, due):
            ms = time_ns() // 1_000_000
            trade_id = b"L%d" % monotonic_ns() if stamp else b"P%d" % i
            payload = templates[i % CYCLE] % {b"id": trade_id, b"ms": ms, b"s": ms // 1000}
            chunk.append(_wire(ws, payload))
        transport.write(b"".join(chunk))
        sent = due
        await ws.drain()
        if sent < n:
            await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
    _report(run, "done", sent=sent)


async def _handle(ws: ServerConnection) -> None:
    assert ws.request is not None
    query = {k: v[-1] for k, v in parse_qs(urlsplit(ws.request.path).query).items()}
    run, n, rate = query.get("run", "?"), int(query.get("n", "1000")), float(query.get("rate", "0"))
    try:
        async with asyncio.timeout(10):
            await ws.recv()  # the subscribe command: its content does not matter here
        for ack in ACKS:
            await ws.send(ack, text=True)
        if rate > 0:
            await _paced(ws, run, n, rate, query.get("stamp") == "1")
        else:
            await _blast(ws, run, n)
        # Keep the connection open until the client leaves (it stops at --max-events).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(600):
                await ws.wait_closed()
    except Exception as exc:  # noqa: BLE001 -- a client that leaves early is normal here
        _report(run, "error", error=f"{type(exc).__name__}: {exc}")


async def _main(lifetime: float) -> None:
    common = {"ping_interval": None, "max_size": 2**22, "write_limit": 2**18}
    async with (
        serve(_handle, "127.0.0.1", 0, compression=None, **common) as plain,
        serve(_handle, "127.0.0.1", 0, compression="deflate", **common) as deflate,
    ):
        ports = {"plain": plain.sockets[0].getsockname()[1], "deflate": deflate.sockets[0].getsockname()[1]}
        _report("-", "ready", **ports)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_reader(sys.stdin.fileno(), stop.set)  # the orchestrator closed stdin
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(lifetime):
                await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetime", type=float, default=1800, help="stop after this many seconds")
    asyncio.run(_main(parser.parse_args().lifetime))


if __name__ == "__main__":
    main()
