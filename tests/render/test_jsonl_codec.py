"""The JSON line codec of CONTRACT §3: timestamps past the formatter's cache, raw messages, reading lines back.

``record``/``encode``/``encode_with_raw`` write an event line; ``parse_record`` reads one (``fillwatch replay``
of an ``--output`` file). The sink is tested in test_jsonl.py.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from fillwatch.core.events import Cancel, Fill
from fillwatch.render.jsonl import encode, encode_with_raw, format_ts, parse_record

FILL = Fill(
    venue="novig",
    id="t1",
    order_id="o1",
    market="M",
    side="yes",
    action="buy",
    price=Decimal("0.68"),
    qty=Decimal("278"),
    ts=datetime(2026, 1, 2, 3, 4, 5, 67000, tzinfo=UTC),
    taker=True,
    fee=Decimal("0.01"),
    position=Decimal("-7.5"),
    wash=True,
    currency="USD",
)
CANCEL = Cancel(
    venue="kalshi",
    id="o2",
    order_id="o2",
    market="M",
    side="no",
    action="buy",
    price=Decimal("0.35"),
    qty=Decimal("4"),
    ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    original_qty=Decimal("10"),
    currency="USD",
    source="history",
    reason="expired",
)


def line(event: Fill | Cancel, **changes: object) -> dict[str, object]:
    """The event's line as a JSON object, with `changes` made to it."""
    return {**orjson.loads(encode(event)), **changes}


# Timestamps.


def test_every_timestamp_is_right_however_many_distinct_seconds_are_written() -> None:
    """CONTRACT §3 ts for 10 000 distinct seconds in a row (more than any cache keeps): each one exact."""
    start = datetime(2031, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    for n in range(0, 10_000 * 61, 61):
        ts = start + timedelta(seconds=n)
        assert format_ts(ts) == ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


# Raw messages (--raw).


@pytest.mark.parametrize(
    "raw",
    ['{"type":\n"fill"}', '{"type":\r"fill"}', b'{"type":\n"fill"}', b'{"type":\r"fill"}'],
    ids=["text-lf", "text-cr", "bytes-lf", "bytes-cr"],
)
def test_a_raw_message_with_any_line_break_is_compacted_to_stay_on_one_line(raw: str | bytes) -> None:
    """A lone LF or a lone CR, in text or bytes, would break the line: the message is re-encoded compactly."""
    written = encode_with_raw(replace(FILL, raw=raw))
    assert written.count(b"\n") == 1
    assert b"\r" not in written
    assert written.endswith(b',"raw":{"type":"fill"}}\n')


# Reading lines back.


@pytest.mark.parametrize("event", [FILL, CANCEL, replace(CANCEL, original_qty=None, reason=None, action=None)])
def test_a_line_reads_back_to_the_event_that_wrote_it(event: Fill | Cancel) -> None:
    """parse_record(record(e)) == e for every key: wash, reason, original_qty (null or not), source, ts."""
    assert parse_record(line(event)) == event


def test_numbers_read_back_as_the_exact_decimals_written() -> None:
    """A JSON number becomes the Decimal of its text: 0.68, not the binary float's 0.68000000000000004884…."""
    event = parse_record(line(FILL, price=0.68, qty=278, fee=0.1, position=-7.5))
    assert (event.price, event.qty, event.fee, event.position) == tuple(map(Decimal, ("0.68", "278", "0.1", "-7.5")))
    assert [str(d) for d in (event.price, event.qty)] == ["0.68", "278"]


def test_a_time_read_back_is_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ts with an offset reads back as the same instant in UTC, also when the machine's zone is not UTC."""
    with monkeypatch.context() as local:
        local.setenv("TZ", "JST-9")
        time.tzset()
        try:
            event = parse_record(line(FILL, ts="2026-01-02T12:04:05.067+09:00"))
        finally:
            local.undo()
            time.tzset()
    assert event.ts.utcoffset() == timedelta(0)
    assert format_ts(event.ts) == "2026-01-02T03:04:05.067Z"


def test_a_line_without_raw_reads_back_with_no_raw_message() -> None:
    """Only a line written with --raw carries the venue's message; another reads back with none."""
    assert parse_record(line(FILL)).raw is None
    assert parse_record(line(FILL, raw={"a": 1})).raw == b'{"a":1}'


@pytest.mark.parametrize(
    ("event", "changes", "message"),
    [
        (FILL, {"ts": "2026-01-02T03:04:05.067"}, "ts has no time zone"),
        (FILL, {"source": "replay"}, "source is neither live nor history"),
        (FILL, {"kind": "trade"}, "kind is neither fill nor cancel"),
        (FILL, {"price": None}, "price is not a number"),
        (FILL, {"qty": "278"}, "qty is not a number"),
        (FILL, {"fee": True}, "fee is not a number"),
        (FILL, {"position": "-7.5"}, "position is not a number"),
        (FILL, {"wash": "yes"}, "wash is not a boolean"),
        (CANCEL, {"original_qty": "10"}, "original_qty is not a number"),
        (CANCEL, {"reason": 3}, "reason is not a string"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_line_that_is_not_an_event_is_refused_naming_what_is_wrong(
    event: Fill | Cancel, changes: dict[str, object], message: str
) -> None:
    """replay skips and counts such a line; the ValueError says which key is wrong and how."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_record(line(event, **changes))


@pytest.mark.parametrize("big", [Decimal(2**64 - 1), Decimal(-(2**64) + 1), Decimal(-(2**63) - 4096)])
def test_a_whole_number_beyond_64_bit_integers_is_written_as_a_float(big: Decimal) -> None:
    """The adapters admit whole numbers below 2**64 in size; those orjson cannot write as a 64-bit
    integer (2**64 − 1 rounds up to 2**64 as a float; −2**63 − 4096 is below i64) go out as floats,
    never an encoding error (found by the hypothesis test of tests/venues/test_hostile_properties.py)."""
    written = orjson.loads(encode(replace(FILL, qty=big, position=big)))
    assert written["qty"] == written["position"] == float(big)
    assert isinstance(written["qty"], float)


def test_whole_numbers_within_64_bits_stay_integers() -> None:
    """Ordinary whole quantities are JSON integers, exactly."""
    written = orjson.loads(encode(replace(FILL, qty=Decimal(2**53), position=Decimal(-(2**53)))))
    assert (written["qty"], written["position"]) == (2**53, -(2**53))
    assert isinstance(written["qty"], int)


def test_the_smallest_64_bit_integer_is_still_an_integer() -> None:
    """−2**63, the end of orjson's signed range, is written as the integer it is (one less is a float)."""
    written = orjson.loads(encode(replace(FILL, position=Decimal(-(2**63)))))
    assert written["position"] == -(2**63)
    assert isinstance(written["position"], int)
