"""The JSON line of CONTRACT §3: keys, order, nulls, numbers, time format, whole writes."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import orjson

from fillwatch.events import Cancel, Fill
from fillwatch.render.jsonl import JsonLinesSink, encode, format_ts

KEYS = [
    "kind", "venue", "id", "order_id", "market", "side", "action", "price", "qty", "ts",
    "taker", "fee", "position", "wash", "original_qty", "currency", "source", "reason",
]  # fmt: skip

FILL = Fill(
    venue="kalshi",
    id="t1",
    order_id="o1",
    market="M",
    side="no",
    action="sell",
    price=Decimal("0.6800"),
    qty=Decimal("278.00"),
    ts=datetime(2026, 1, 2, 3, 4, 5, 67000, tzinfo=UTC),
    taker=False,
    fee=Decimal("0.010000"),
    position=Decimal("-7.50"),
    currency="USD",
)
CANCEL = Cancel(
    venue="kalshi",
    id="o2",
    order_id="o2",
    market="M",
    side="yes",
    action=None,
    price=Decimal("0.35"),
    qty=Decimal("4"),
    ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    ts_has_ms=False,
    original_qty=Decimal("10.00"),
    currency="USD",
)


def test_fill_line_has_every_key_in_order() -> None:
    """A fill line carries all keys in table order, the cancel-only ones null."""
    line = encode(FILL)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert line == (
        b'{"kind":"fill","venue":"kalshi","id":"t1","order_id":"o1","market":"M","side":"no","action":"sell",'
        b'"price":0.68,"qty":278,"ts":"2026-01-02T03:04:05.067Z","taker":false,"fee":0.01,"position":-7.5,'
        b'"wash":null,"original_qty":null,"currency":"USD","source":"live","reason":null}\n'
    )


def test_cancel_line_nulls_the_fill_only_keys() -> None:
    """A cancel line has null taker/fee/position/wash and its original size."""
    data = orjson.loads(encode(CANCEL))
    assert list(data) == KEYS
    assert data["kind"] == "cancel"
    assert (data["taker"], data["fee"], data["position"], data["wash"]) == (None, None, None, None)
    assert (data["qty"], data["original_qty"], data["action"], data["ts"]) == (4, 10, None, "2026-01-02T03:04:05Z")


def test_money_is_written_as_exact_json_numbers() -> None:
    """Decimals with up to 15 significant digits come out digit for digit, as numbers."""
    for text in ("0.0001", "0.015", "0.999999", "123456.78", "1234567890.12345", "-0.5"):
        line = encode(replace(FILL, price=Decimal(text)))
        assert f'"price":{Decimal(text).normalize():f}'.encode() in line


def test_timestamp_format_follows_the_venue_precision() -> None:
    """Milliseconds when the venue gave them (even .000), none otherwise."""
    ts = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_ts(ts, True) == "2026-01-02T03:04:05.000Z"
    assert format_ts(ts, False) == "2026-01-02T03:04:05Z"


def test_sink_writes_whole_lines_only_on_flush() -> None:
    """Nothing reaches the descriptor before flush; then every buffered line, whole."""
    read_end, write_end = os.pipe()
    sink = JsonLinesSink(write_end, owns_fd=True)
    sink.event(FILL)
    sink.event(CANCEL)
    os.set_blocking(read_end, False)
    assert _read(read_end) == b""
    sink.close()
    assert _read(read_end) == encode(FILL) + encode(CANCEL)
    os.close(read_end)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return b""
