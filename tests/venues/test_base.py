"""The parse helpers every adapter shares: numbers, times, events and frames at the edges of their range.

Values are the venues' own shapes: Kalshi's decimal strings (``"0.6800"``, ``count_fp``) and integer
``ts_ms`` of protocols/kalshi.md §4.3, its RFC 3339 ``created_time`` (``"2026-05-02T18:02:11.101Z"``,
protocols/kalshi.md §9), Novig's float prices (``0.667``) and ISO times (protocols/novig.md §4.3).
The range ends (2**64, 1e-30, 64 characters, a day inside what a datetime holds) are fillwatch's
own (CONTRACT §5, fillwatch/venues/base.py).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fillwatch.venues.base import (
    Malformed,
    checked,
    decode,
    excerpt,
    field_error,
    shown,
    to_decimal,
    ts_from_clock,
    ts_from_iso,
    ts_from_ms,
    ts_from_s,
)
from tests.render.test_jsonl import CANCEL, FILL

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST = datetime(1, 1, 2, tzinfo=UTC)
LAST_S = datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC)


def refusal(read: object, value: object) -> str:
    with pytest.raises(ValueError, match=r".") as raised:
        read(value)  # type: ignore[operator]
    return str(raised.value)


# Numbers


@pytest.mark.parametrize(
    "text",
    [
        "18446744073709551615",  # 2**64 - 1: 20 digits, first digit's power 19
        "-18446744073709551615",
        "10000000000000000000",  # 1e19
        "9999999999999999999",  # power 18
        "1E-30",
        "-1e-30",
        "0",
        "0" * 64,
        "1." + "0" * 62,
    ],
)
def test_numbers_up_to_the_edges_are_read_exactly(text: str) -> None:
    """Below 2**64 in size, down to 1e-30 and up to 64 characters, a decimal string is read exactly."""
    assert to_decimal(text) == Decimal(text)
    assert str(to_decimal(text)) == str(Decimal(text))


@pytest.mark.parametrize(
    "text", ["18446744073709551616", "-18446744073709551616", "99999999999999999999", "1e20", "1E-31", "-9e-31"]
)
def test_numbers_past_the_edges_are_out_of_range(text: str) -> None:
    """2**64 and more in size (either sign), or smaller than 1e-30, is out of range, naming the value."""
    assert refusal(to_decimal, text) == f"number out of range: {text!r}"


def test_a_number_longer_than_64_characters_is_refused_by_its_length() -> None:
    """A 65-character string is refused before it is read, saying how long it was."""
    assert refusal(to_decimal, "0" * 65) == "number of 65 characters"


@pytest.mark.parametrize(("value", "why"), [("abc", "'abc'"), ("", "''"), ("1,5", "'1,5'")])
def test_text_that_is_no_number_is_named(value: str, why: str) -> None:
    """A string that is not a number is refused, quoting it."""
    assert refusal(to_decimal, value) == f"not a number: {why}"


@pytest.mark.parametrize(("value", "why"), [(True, "True"), (False, "False"), (None, "None"), ([1], "[1]")])
def test_values_of_other_types_are_not_numbers(value: object, why: str) -> None:
    """Booleans, null and lists are not numbers, whatever Python thinks of a bool."""
    assert refusal(to_decimal, value) == f"not a number: {why}"


@pytest.mark.parametrize(
    ("value", "exact"), [(0.667, "0.667"), (0.1, "0.1"), (278, "278"), (-5, "-5"), (1e-30, "1E-30")]
)
def test_json_numbers_are_read_through_their_shortest_text(value: float | int, exact: str) -> None:
    """A float is the decimal of its shortest repr (0.667, not its binary expansion); an int is itself."""
    assert str(to_decimal(value)) == exact


@pytest.mark.parametrize("value", [2**64, -(2**64), 1.9e19 * 10, float("inf"), float("nan")])
def test_json_numbers_past_the_edges_are_out_of_range(value: float | int) -> None:
    """Integers and floats get the same bounds as strings."""
    assert refusal(to_decimal, value).startswith("number out of range: ")


# Events


@pytest.mark.parametrize("price", ["0", "1", "0.5", "1.0000"])
def test_prices_from_0_to_1_inclusive_pass(price: str) -> None:
    """A price of exactly 0 or exactly 1 is a price (CONTRACT §5)."""
    event = replace(FILL, price=Decimal(price))
    assert checked(event) is event


@pytest.mark.parametrize("price", ["-0.0001", "1.0001", "2"])
def test_prices_outside_0_to_1_are_refused(price: str) -> None:
    """A price below 0 or above 1 is refused, naming it."""
    assert refusal(checked, replace(CANCEL, price=Decimal(price))) == f"price {price} outside 0–1"


@pytest.mark.parametrize("qty", ["0", "0.00", "-1"])
def test_a_quantity_not_above_0_is_refused(qty: str) -> None:
    """A quantity of 0 or less is refused, naming it."""
    assert refusal(checked, replace(FILL, qty=Decimal(qty))) == f"quantity {qty} not above 0"


def test_the_smallest_quantity_passes() -> None:
    """Any quantity above 0 passes."""
    event = replace(CANCEL, qty=Decimal("1e-30"))
    assert checked(event) is event


# Times


@pytest.mark.parametrize(
    ("ms", "when"),
    [
        (0, EPOCH),
        (1, EPOCH + timedelta(milliseconds=1)),
        (-1, datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        (1671899397123, datetime(2022, 12, 24, 16, 29, 57, 123000, tzinfo=UTC)),
        (-62135510400000, FIRST),
        (253402214399000, LAST_S),
    ],
)
def test_milliseconds_are_read_exactly_to_both_ends(ms: int, when: datetime) -> None:
    """Integer Unix milliseconds, negative ones too, give the exact UTC time up to the range's ends."""
    assert ts_from_ms(ms) == when


@pytest.mark.parametrize("ms", [-62135510400001, 253402214399001])
def test_milliseconds_just_past_the_ends_are_out_of_range(ms: int) -> None:
    """One millisecond past either end is out of range, naming the value."""
    assert refusal(ts_from_ms, ms) == f"time out of range: {ms} ms"


@pytest.mark.parametrize(("value", "why"), [(1.0, "1.0"), ("1000", "'1000'"), (True, "True"), (None, "None")])
def test_milliseconds_must_be_an_integer(value: object, why: str) -> None:
    """A float, a string or a boolean is not integer milliseconds."""
    assert refusal(ts_from_ms, value) == f"not integer milliseconds: {why}"


@pytest.mark.parametrize(
    ("s", "when"),
    [(1777827731, datetime(2026, 5, 3, 17, 2, 11, tzinfo=UTC)), (-62135510400, FIRST), (253402214399, LAST_S)],
)
def test_seconds_are_read_exactly_to_both_ends(s: int, when: datetime) -> None:
    """Integer Unix seconds give the exact UTC time, up to the range's ends."""
    assert ts_from_s(s) == when


@pytest.mark.parametrize("s", [-62135510401, 253402214400])
def test_seconds_just_past_the_ends_are_out_of_range(s: int) -> None:
    """One second past either end is out of range, naming the value."""
    assert refusal(ts_from_s, s) == f"time out of range: {s} s"


@pytest.mark.parametrize(("value", "why"), [(1.5, "1.5"), (True, "True"), ("5", "'5'")])
def test_seconds_must_be_an_integer(value: object, why: str) -> None:
    """A float, a boolean or a string is not integer seconds."""
    assert refusal(ts_from_s, value) == f"not integer seconds: {why}"


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("2026-05-02T18:02:11.101Z", datetime(2026, 5, 2, 18, 2, 11, 101000, tzinfo=UTC)),
        ("2026-05-02T18:02:11Z", datetime(2026, 5, 2, 18, 2, 11, tzinfo=UTC)),
        ("2026-05-02T20:02:11+02:00", datetime(2026, 5, 2, 18, 2, 11, tzinfo=UTC)),
        ("0001-01-02T00:00:00Z", FIRST),
        ("9999-12-30T23:59:59.999999Z", datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2026-05-02T18:02:11." + "1" * 38 + "+00:00", datetime(2026, 5, 2, 18, 2, 11, 111111, tzinfo=UTC)),
    ],
)
def test_iso_times_are_read_in_utc(text: str, when: datetime) -> None:
    """RFC 3339 text up to 64 characters gives its UTC time."""
    parsed = ts_from_iso(text)
    assert parsed == when
    assert parsed.utcoffset() == timedelta(0)


@pytest.fixture
def far_zone(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The process's local time zone set to UTC-10 for the test, and put back afterwards."""
    monkeypatch.setenv("TZ", "HST+10")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_zone")
def test_an_iso_time_without_an_offset_is_utc_whatever_the_local_zone() -> None:
    """A time with no offset is UTC, not the machine's local time."""
    assert ts_from_iso("2026-05-02T18:02:11") == datetime(2026, 5, 2, 18, 2, 11, tzinfo=UTC)


@pytest.mark.usefixtures("far_zone")
@pytest.mark.parametrize("text", ["2026-05-02T18:02:11", "2026-05-02T18:02:11Z", "2026-05-02T20:02:11.5+02:00"])
def test_an_iso_time_comes_out_in_utc_whatever_the_local_zone(text: str) -> None:
    """The time read is expressed in UTC (offset 0), never in the machine's local zone."""
    parsed = ts_from_iso(text)
    assert parsed.tzinfo is UTC
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0001-01-01T23:59:59Z", "time out of range: '0001-01-01T23:59:59Z'"),
        ("9999-12-31T00:00:00Z", "time out of range: '9999-12-31T00:00:00Z'"),
        ("9999-12-31T23:00:00-01:00", "not a timestamp: '9999-12-31T23:00:00-01:00'"),
        ("yesterday", "not a timestamp: 'yesterday'"),
        (1777827731, "not a timestamp: 1777827731"),
        ("2026-05-02T18:02:11." + "1" * 39 + "+00:00", "not a timestamp: '2026-05-02T1...1111111+00:00'"),
    ],
)
def test_iso_times_past_the_ends_or_not_times_are_refused(text: object, why: str) -> None:
    """A day past either end, an overflow once in UTC, a non-time, a non-string or 65 characters is refused."""
    assert refusal(ts_from_iso, text) == why


# Diagnostics


def test_a_shown_value_is_cut_after_40_characters() -> None:
    """A value's text of 40 characters is shown whole; at 41 it is cut to 40 and marked."""
    forty, forty_one = {"kkkk": "v" * 28}, {"kkkkk": "v" * 28}
    assert shown(forty) == repr(forty)
    assert len(repr(forty)) == 40
    assert shown(forty_one) == repr(forty_one)[:40] + "…"


def test_a_text_frame_is_cut_after_its_limit() -> None:
    """A text frame up to the limit is kept whole; a longer one is cut to the limit and marked."""
    assert excerpt("a" * 120) == "a" * 120
    assert excerpt("a" * 121) == "a" * 120 + "…"
    assert excerpt("abcdef", limit=3) == "abc…"
    assert excerpt("abc", limit=3) == "abc"


def test_a_binary_frame_is_decoded_with_replacement_and_cut() -> None:
    """A binary frame is read as UTF-8, bad bytes replaced, and cut to the limit."""
    assert excerpt(b"ok \xff\xfe") == "ok \ufffd\ufffd"
    assert excerpt("é".encode() * 10, limit=4) == "éé"
    assert len(excerpt(b"x" * 500)) <= 121


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b'{"type": "fill"}', "binary frame"),
        ("{not json", "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('"fill"', "not a JSON object"),
    ],
)
def test_a_frame_that_is_not_a_json_object_says_why(frame: str | bytes, reason: str) -> None:
    """Binary frames, non-JSON and JSON that is not an object are malformed, with an excerpt of the frame."""
    assert decode(frame) == Malformed(reason, excerpt(frame))


def test_a_text_frame_with_an_object_is_its_object() -> None:
    """A text frame holding a JSON object gives that object (Kalshi's ``subscribed`` reply, kalshi.md §4.2)."""
    assert decode('{"type": "subscribed", "id": 1, "msg": {"channel": "fill", "sid": 1}}') == {
        "type": "subscribed",
        "id": 1,
        "msg": {"channel": "fill", "sid": 1},
    }


# field_error: the few words a Malformed reason gives for the field at fault.


def test_field_error_names_a_missing_key() -> None:
    """A KeyError says which field is missing, without quotes."""
    assert field_error(KeyError("order_id")) == "missing order_id"


def test_field_error_gives_the_message_or_else_the_exception_type() -> None:
    """Other errors give their message; one without a message gives its type's name."""
    assert field_error(ValueError("price 1.5 outside 0–1")) == "price 1.5 outside 0–1"
    assert field_error(TypeError()) == "TypeError"


def test_field_error_cuts_a_long_message_at_100_characters() -> None:
    """A hostile value in a message is cut at 100 characters and marked with one ellipsis; 100 are kept whole."""
    assert field_error(ValueError("x" * 100)) == "x" * 100
    assert field_error(ValueError("x" * 101)) == "x" * 100 + "…"


# ts_from_clock: when an event the venue does not date was read.


def test_ts_from_clock_is_utc_rounded_to_the_millisecond() -> None:
    """The reading of the clock, in UTC, rounded (not cut) to the millisecond, as every `ts` is written."""
    moment = ts_from_clock(lambda: 1_700_000_000.12351)
    assert moment == datetime(2023, 11, 14, 22, 13, 20, 124000, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)
