"""The JSON line of CONTRACT §3: keys, order, nulls, numbers, time format, whole writes."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from fillwatch.core.events import Cancel, Fill
from fillwatch.render.jsonl import JsonLinesSink, encode, encode_with_raw, format_ts, parse_record

KEYS = [
    "kind", "venue", "id", "order_id", "market", "side", "action", "price", "qty", "ts",
    "taker", "fee", "position", "wash", "original_qty", "currency", "source", "reason", "account",
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
        b'"wash":null,"original_qty":null,"currency":"USD","source":"live","reason":null,"account":null}\n'
    )


def test_cancel_line_nulls_the_fill_only_keys() -> None:
    """A cancel line has null taker/fee/position/wash and its original size."""
    data = orjson.loads(encode(CANCEL))
    assert list(data) == KEYS
    assert data["kind"] == "cancel"
    assert (data["taker"], data["fee"], data["position"], data["wash"]) == (None, None, None, None)
    assert (data["qty"], data["original_qty"], data["action"], data["ts"]) == (4, 10, None, "2026-01-02T03:04:05.000Z")


def test_money_is_written_as_exact_json_numbers() -> None:
    """Decimals with up to 15 significant digits come out digit for digit, as numbers."""
    for text in ("0.0001", "0.015", "0.999999", "123456.78", "1234567890.12345", "-0.5"):
        line = encode(replace(FILL, price=Decimal(text)))
        assert f'"price":{Decimal(text).normalize():f}'.encode() in line


def test_timestamp_always_has_three_fractional_digits() -> None:
    """`ts` is always YYYY-MM-DDTHH:MM:SS.mmmZ, so whole seconds sort before the fractions of that second."""
    whole = replace(CANCEL, ts=datetime(2026, 1, 2, 3, 4, 20, tzinfo=UTC))
    later = replace(FILL, ts=datetime(2026, 1, 2, 3, 4, 20, 848000, tzinfo=UTC))
    stamps = [orjson.loads(encode(event))["ts"] for event in (later, whole)]
    assert stamps == ["2026-01-02T03:04:20.848Z", "2026-01-02T03:04:20.000Z"]
    assert sorted(stamps) == stamps[::-1]
    assert format_ts(datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC)) == "2026-01-02T03:04:05.999Z"


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


def test_raw_embeds_the_original_message_as_json() -> None:
    """--raw: the frame's own bytes under "raw", as JSON rather than a string, as the last key."""
    frame = '{"type":"fill", "msg":{"trade_id":"t1","price":0.50}}'
    line = encode_with_raw(replace(FILL, raw=frame))
    assert line.endswith(b',"raw":' + frame.encode() + b"}\n")
    assert list(orjson.loads(line)) == [*KEYS, "raw"]
    assert orjson.loads(line)["raw"]["msg"]["price"] == 0.5
    assert orjson.loads(encode_with_raw(FILL))["raw"] is None
    assert encode(replace(FILL, raw=frame)) == encode(FILL)  # without --raw, no trace of it


def test_raw_messages_on_several_lines_are_compacted() -> None:
    """A pretty-printed message must not break the one-line-per-event rule."""
    line = encode_with_raw(replace(CANCEL, raw=b'{\n  "type": "user_order",\r\n  "msg": {}\n}'))
    assert line.count(b"\n") == 1
    assert line.endswith(b',"raw":{"type":"user_order","msg":{}}}\n')


def test_event_lines_read_back_to_the_same_events() -> None:
    """parse_record is the inverse of record: a line read back encodes to itself."""
    for event in (FILL, CANCEL, replace(FILL, taker=None, fee=None, position=None, source="history")):
        line = encode(event)
        assert encode(parse_record(orjson.loads(line))) == line
    with_raw = encode_with_raw(replace(FILL, raw='{"a":[1,2.5]}'))
    assert encode_with_raw(parse_record(orjson.loads(with_raw))) == with_raw


def test_lines_that_are_not_events_are_refused() -> None:
    """A wrong kind, a missing key or a wrong type is a ValueError naming the key."""
    good = orjson.loads(encode(FILL))
    for key, value in [("kind", "trade"), ("price", "0.5"), ("ts", 5), ("taker", "yes"), ("source", "x")]:
        with pytest.raises(ValueError, match=key):
            parse_record({**good, key: value})
