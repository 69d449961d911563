"""The reference clients of CONTRACT §6, each run as its own process.

``bare URL N``: a ``websockets`` client that only receives N data frames, then
prints the ``CLOCK_MONOTONIC`` nanosecond of the last one.

``minimal URL N``: the hand-written loop a user would write, receive →
``orjson.loads`` → normalized dict → ``orjson.dumps`` → one ``write`` per line
to stdout, for N fills. It writes the same line as ``fillwatch -f jsonl`` for
the blaster's current-schema fills (the benchmark checks that).

``--deflate`` offers permessage-deflate (the blaster's deflate port accepts it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime

import orjson
from websockets.asyncio.client import connect

SUBSCRIBE = b'{"id":1,"cmd":"subscribe","params":{"channels":["fill","user_orders"]}}'


def _number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number


def normalize(m: dict) -> dict:
    """The CONTRACT §3 line of a current-schema Kalshi fill, written by hand."""
    yes = float(m["yes_price_dollars"])
    ts = datetime.fromtimestamp(m["ts_ms"] / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    fee = m.get("fee_cost")
    position = m.get("post_position_fp")
    side = m["outcome_side"]  # the side the fill positions you for; the line's action is then "buy"
    price = round(1.0 - yes, 10) if side == "no" else yes
    return {
        "kind": "fill",
        "venue": "kalshi",
        "id": m["trade_id"],
        "order_id": m["order_id"],
        "market": m["market_ticker"],
        "side": side,
        "action": "buy",
        "price": int(price) if price.is_integer() else price,
        "qty": _number(m["count_fp"]),
        "ts": ts,
        "taker": m.get("is_taker"),
        "fee": None if fee is None else _number(fee),
        "position": None if position is None else _number(position),
        "wash": None,
        "original_qty": None,
        "currency": "USD",
        "source": "live",
        "reason": None,
        "account": "kalshi",
    }


async def bare(url: str, n: int, compression: str | None) -> None:
    async with connect(url, compression=compression, max_size=2**22, ping_interval=None) as ws:
        await ws.send(SUBSCRIBE, text=True)
        await ws.recv()
        await ws.recv()  # the two acks
        for _ in range(n):
            await ws.recv()
        last = time.monotonic_ns()
    print(last, flush=True)


async def minimal(url: str, n: int, compression: str | None) -> None:
    loads, dumps, write, newline = orjson.loads, orjson.dumps, os.write, orjson.OPT_APPEND_NEWLINE
    async with connect(url, compression=compression, max_size=2**22, ping_interval=None) as ws:
        await ws.send(SUBSCRIBE, text=True)
        count = 0
        while count < n:
            message = loads(await ws.recv())
            if message.get("type") == "fill":
                write(1, dumps(normalize(message["msg"]), option=newline))
                count += 1


def main() -> None:
    parser = argparse.ArgumentParser(description="bench reference clients")
    parser.add_argument("client", choices=("bare", "minimal"))
    parser.add_argument("url")
    parser.add_argument("n", type=int)
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args()
    work = bare if args.client == "bare" else minimal
    asyncio.run(asyncio.wait_for(work(args.url, args.n, "deflate" if args.deflate else None), 600))


if __name__ == "__main__":
    main()
