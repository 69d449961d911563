"""Hostile input to both adapters: bad numbers and times are skipped and counted, never fatal (CONTRACT §5).

The frames and rows mutated here are the venues' own examples: Kalshi's ``fill``
of protocols/kalshi.md §4.3 (the first case of tests/data/kalshi/events.json),
its REST fill captured live (protocols/kalshi.md §9, pykalshi ``FILL_SELL_NO``),
Novig's ``fill`` and ``cancel`` events (protocols/novig.md §4.3, §4.4) and the
``fills/all`` row of Novig's fees page (protocols/novig.md §6.1).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from fillwatch.venues.base import Malformed, Reconcile, to_decimal, ts_from_iso, ts_from_ms, ts_from_s
from fillwatch.venues.kalshi.adapter import Kalshi
from fillwatch.venues.novig.adapter import Novig
from tests.venues.kalshi_shapes import CAPTURED_REST_FILL

DATA = Path(__file__).parent.parent / "data"
KALSHI_CASES = json.loads((DATA / "kalshi" / "events.json").read_text())
NOVIG_CASES = json.loads((DATA / "novig" / "events.json").read_text())
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

KALSHI_FILL: dict[str, Any] = KALSHI_CASES[0]["frame"]
"""protocols/kalshi.md §4.3: the current ``fill`` schema."""

KALSHI_REST_FILL = CAPTURED_REST_FILL  # protocols/kalshi.md §9: a REST fill captured on the live API

NOVIG_FILL: dict[str, Any] = NOVIG_CASES[0]["frames"][0]
"""protocols/novig.md §4.3: the private ``fill`` event."""

NOVIG_CANCEL: dict[str, Any] = {
    # protocols/novig.md §4.4: the private ``cancel`` event.
    "event": "cancel",
    "data": {
        "id": "123e4567-e89b-12d3-a456-426614174002",
        "outcomeId": "123e4567-e89b-12d3-a456-426614174000",
        "marketId": "123e4567-e89b-12d3-a456-426614174003",
        "price": 0.667,
        "qty": 60,
        "originalQty": 110,
        "currency": "COIN",
        "timestamp": "2023-10-05T12:00:00Z",
        "status": "CANCELLED",
        "flags": "ABC12345",
    },
}

NOVIG_FEES_ROW: dict[str, Any] = {
    # protocols/novig.md §6.1: the fills/all row of Novig's fees page, which has no orderId.
    "id": "01990f91-2d8a-7b6c-8a1e-4f5a6b7c8d90",
    "qty": 200,
    "price": 0.61,
    "isTaker": True,
    "fee": "1.4274",
    "transactions": [
        {"kind": "FILL_STRAIGHT_TAKER_FUNDS", "amount": "122"},
        {"kind": "FEE_STRAIGHT_TAKER_LIVE_FUNDS", "amount": "1.4274"},
    ],
}

# Values a venue must not be trusted with, each in the field it breaks.
BAD_NUMBERS = ["sNaN", "NaN", "-NaN", "Infinity", "-Infinity", "1e999999", "1e100000000", "1e-100000000", "0E-999999"]
BIG = [18446744073709551616, 2.0**64, "18446744073709551616", "1" * 65]
BAD_TIMES_ISO = ["9999-12-31T23:59:59-01:00", "10000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "x" * 100]


def with_field(message: dict[str, Any], path: tuple[str, ...], value: Any) -> str:
    """`message` as JSON text with the field at `path` set to `value` (integers of any size written out)."""
    changed = copy.deepcopy(message)
    holder = changed
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return json.dumps(changed)


def only_malformed(parsed: Any) -> bool:
    return len(parsed) == 1 and isinstance(parsed[0], Malformed)


KALSHI_BAD = [
    *((("msg", "ts_ms"), v) for v in (10**18, -(10**18), 253402300800000)),
    *((("msg", "yes_price_dollars"), v) for v in [*BAD_NUMBERS, "1.5", "-0.01", 1.5]),
    *((("msg", "count_fp"), v) for v in [*BAD_NUMBERS, *BIG, "0", "0.00", "-1.00"]),
    *((("msg", "fee_cost"), v) for v in [*BAD_NUMBERS, *BIG]),
    *((("msg", "post_position_fp"), v) for v in BAD_NUMBERS),
    (("type",), ["fill"]),
    (("type",), {"fill": 1}),
]


@pytest.mark.parametrize(("path", "value"), KALSHI_BAD, ids=[f"{'.'.join(p)}={v!r:.30}" for p, v in KALSHI_BAD])
def test_kalshi_frame_with_a_bad_number_time_or_type_is_one_malformed(path: tuple[str, ...], value: Any) -> None:
    """A Kalshi fill whose number is NaN, infinite, huge, out of range, whose time cannot be held, or whose
    ``type`` is not a string, is skipped as malformed: no exception, no event."""
    assert only_malformed(Kalshi.for_parsing().parse(with_field(KALSHI_FILL, path, value)))


def test_kalshi_legacy_fill_with_seconds_beyond_year_9999_is_malformed() -> None:
    """A legacy fill (``ts`` in seconds, no ``ts_ms``) dated past year 9999 is malformed, not fatal."""
    legacy = copy.deepcopy(KALSHI_FILL)
    del legacy["msg"]["ts_ms"]
    assert only_malformed(Kalshi.for_parsing().parse(with_field(legacy, ("msg", "ts"), 10**18)))


NOVIG_BAD = [
    *((NOVIG_FILL, ("data", "createdAt"), v) for v in BAD_TIMES_ISO),
    *((NOVIG_FILL, ("data", "price"), v) for v in [*BAD_NUMBERS, 1.5, -0.2, 2**64]),
    *((NOVIG_FILL, ("data", "qty"), v) for v in [*BAD_NUMBERS, *BIG, 0, -50]),
    *((NOVIG_CANCEL, ("data", "timestamp"), v) for v in BAD_TIMES_ISO),
    *((NOVIG_CANCEL, ("data", "qty"), v) for v in [*BAD_NUMBERS, 0, -1]),
    *((NOVIG_CANCEL, ("data", "price"), v) for v in ["sNaN", 7]),
]


@pytest.mark.parametrize(
    ("message", "path", "value"), NOVIG_BAD, ids=[f"{m['event']}.{p[-1]}={v!r:.30}" for m, p, v in NOVIG_BAD]
)
def test_novig_event_with_a_bad_number_or_time_is_one_malformed(
    message: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    """A Novig fill or cancel whose number is NaN, infinite, huge or out of range, or whose time cannot be
    held, is skipped as malformed: no exception, no event."""
    assert only_malformed(Novig().parse(with_field(message, path, value)))


@pytest.mark.parametrize(
    "frame",
    [
        {**NOVIG_FILL, "event": ["fill"]},
        {**NOVIG_FILL, "event": {"fill": 1}},
        {"type": ["CLOSE"], "market": {"id": "m"}},  # a bare lifecycle tick (protocols/novig.md §4.5)
        {"event": "lifecycle", "data": {"type": {"CLOSE": 1}, "market": {"id": "m"}}},
    ],
    ids=["event-list", "event-object", "tick-type-list", "enveloped-tick-type-object"],
)
def test_novig_event_or_type_that_is_not_a_string_is_one_malformed(frame: dict[str, Any]) -> None:
    """An ``event`` or a tick's ``type`` that is a list or an object is skipped as malformed, not ignored."""
    assert only_malformed(Novig().parse(json.dumps(frame)))


@pytest.mark.parametrize(
    ("read", "value"),
    [
        (ts_from_ms, 10**18),
        (ts_from_ms, -(10**18)),
        (ts_from_s, 10**18),
        (ts_from_s, 253402300800),  # 10000-01-01
        (ts_from_iso, "9999-12-31T23:59:59-01:00"),  # year 10000 once in UTC
        (ts_from_iso, "0001-01-01T00:00:00+01:00"),  # year 0 once in UTC
        (ts_from_iso, "9999-12-31T12:00:00Z"),  # no room left for a time zone east of UTC
    ],
)
def test_times_that_cannot_be_represented_raise_value_error(read: Any, value: object) -> None:
    """Times past what a datetime holds (with a day to spare) are a ValueError, the malformed kind."""
    with pytest.raises(ValueError, match="time"):
        read(value)


def test_times_within_range_are_read_exactly() -> None:
    """The range check leaves ordinary times alone, to the millisecond."""
    assert ts_from_ms(1671899397123) == datetime(2022, 12, 24, 16, 29, 57, 123000, tzinfo=UTC)
    assert ts_from_s(0) == EPOCH
    assert ts_from_iso("2026-05-02T18:02:11.101Z") == datetime(2026, 5, 2, 18, 2, 11, 101000, tzinfo=UTC)


@pytest.mark.parametrize("value", [*BAD_NUMBERS, *BIG, "", "0x10", True, None, [1]])
def test_to_decimal_refuses_what_a_line_cannot_show(value: object) -> None:
    """NaN, infinities, 2**64 and beyond, huge exponents and non-numbers are a ValueError."""
    with pytest.raises(ValueError, match="number"):
        to_decimal(value)


@pytest.mark.parametrize("value", ["0.7500", "278.00", 278, 0.667, "-500.00", 18446744073709551615, "1e-7"])
def test_to_decimal_keeps_ordinary_numbers_exact(value: object) -> None:
    """Venue numbers, 64-bit integers and small fractions come through exactly."""
    assert to_decimal(value) == Decimal(str(value))


def kalshi_page(rows: list[Any]) -> bytes:
    return orjson.dumps({"fills": rows, "cursor": ""})


def test_kalshi_history_row_that_cannot_be_read_costs_only_itself() -> None:
    """A REST page with poison rows keeps every good row and counts each poison one."""
    good = [dict(KALSHI_REST_FILL, fill_id=f"f{i}", trade_id=f"t{i}") for i in range(3)]
    poison = [
        dict(KALSHI_REST_FILL, created_time="9999-12-31T23:59:59-01:00"),
        {**{k: v for k, v in KALSHI_REST_FILL.items() if k != "created_time"}, "ts": 10**18},
        dict(KALSHI_REST_FILL, count_fp="sNaN"),
        dict(KALSHI_REST_FILL, no_price_dollars="1e999999"),
        dict(KALSHI_REST_FILL, count_fp="-1"),
        5,
        ["a", "list"],
    ]
    page = Kalshi.for_parsing().parse_history("fills", kalshi_page([good[0], *poison, good[1], good[2]]), EPOCH, None)
    assert [e.id for e in page.events] == ["t0", "t1", "t2"]
    assert page.skipped == len(poison)
    assert page.next_page is None


@pytest.mark.parametrize(
    "body", [b"[]", b'{"fills": 5}', b'{"fills": "x"}', b'{"fills": {}}', b"5", b'{"fills": [], "cursor": 7}']
)
def test_kalshi_body_that_is_not_a_page_is_a_value_error(body: bytes) -> None:
    """A body of the wrong shape is a ValueError, which the history reader reports and retries."""
    with pytest.raises(ValueError, match="page"):
        Kalshi.for_parsing().parse_history("fills", body, EPOCH, None)


def test_novig_fills_row_without_order_id_is_skipped_and_counted() -> None:
    """The fees page's ``fills/all`` row (no ``orderId``) is skipped and counted; the rows around it are kept."""
    good = [dict(NOVIG_FILL["data"], id=f"f{i}") for i in range(2)]
    rows = [good[0], NOVIG_FEES_ROW, "not an object", good[1]]
    page = Novig().parse_history("fills", orjson.dumps(rows), EPOCH, None)
    assert [e.id for e in page.events] == ["f0", "f1"]
    assert page.skipped == 2
    assert page.next_page == "COIN:0"


def test_novig_orders_row_that_cannot_be_read_is_skipped_and_changes_nothing() -> None:
    """An unreadable order (a bad time, a bad quantity) is counted, and the good orders are learned."""
    orders = NOVIG_CASES[1]["orders"] + [
        dict(NOVIG_CASES[1]["orders"][0], id="bad-time", timestamp="9999-12-31T23:59:59-01:00"),
        dict(NOVIG_CASES[1]["orders"][0], id="bad-qty", qty="NaN"),
        dict(NOVIG_CASES[1]["orders"][0], id="no-market", marketId=None),
    ]
    venue = Novig()
    first = venue.parse_history("orders", orjson.dumps(orders), EPOCH, None)
    assert first.skipped == 3
    assert venue.parse_history("orders", b"[]", EPOCH, first.next_page).next_page is None
    assert venue.open_orders == {"o-cash-1": "mkt-total"}


def test_novig_close_with_an_unreadable_time_still_asks_for_the_orders() -> None:
    """A ``CLOSE`` whose optional time cannot be read still reconciles your orders on that market."""
    venue = Novig()
    venue.parse_history("orders", orjson.dumps(NOVIG_CASES[1]["orders"]), EPOCH, None)
    venue.parse_history("orders", b"[]", EPOCH, "COIN:0")
    tick = {"type": "CLOSE", "market": {"id": "mkt-total"}, "timestamp": "9999-12-31T23:59:59-01:00"}
    assert venue.parse(orjson.dumps(tick).decode()) == [Reconcile("orders")]


def test_novig_order_cancelled_with_nothing_left_makes_no_cancel() -> None:
    """An order known open that REST shows CANCELLED with quantity 0 ends without a cancel line."""
    venue = Novig(clock=lambda: 1767225600.5)
    order = NOVIG_CASES[1]["orders"][0]
    venue.parse_history("orders", orjson.dumps([order]), EPOCH, None)
    venue.parse_history("orders", b"[]", EPOCH, "COIN:0")
    page = venue.parse_history("orders", orjson.dumps([dict(order, status="CANCELLED", qty=0)]), EPOCH, None)
    assert (page.events, page.skipped) == ([], 0)
    assert venue.open_orders == {}


def test_the_range_of_times_ends_a_day_short_of_what_a_datetime_holds() -> None:
    """From 0001-01-02 to 9999-12-30T23:59:59 UTC: any time zone can show such a time."""
    assert ts_from_s(253402214399) == datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC)
    assert ts_from_ms(-62135510400000) == datetime(1, 1, 2, tzinfo=UTC)
    for read, value in ((ts_from_s, 253402214400), (ts_from_ms, -62135510400001)):
        with pytest.raises(ValueError, match="out of range"):
            read(value)


@pytest.mark.parametrize(
    ("venue", "frame"),
    [
        (Kalshi.for_parsing(), with_field(KALSHI_FILL, ("msg", "trade_id"), {"x": "y" * 10_000})),
        (Kalshi.for_parsing(), with_field(KALSHI_FILL, ("msg", "market_ticker"), ["m" * 10_000])),
        (Novig(), with_field(NOVIG_FILL, ("data", "id"), ["i" * 10_000])),
        (Novig(), with_field(NOVIG_FILL, ("data", "outcomeId"), 10**30)),
    ],
    ids=["kalshi-id", "kalshi-market", "novig-id", "novig-outcome"],
)
def test_the_reason_of_a_malformed_frame_is_short(venue: Kalshi | Novig, frame: str) -> None:
    """A huge hostile value in a frame does not make a huge diagnostic line."""
    (malformed,) = venue.parse(frame)
    assert isinstance(malformed, Malformed)
    assert len(malformed.reason) <= 130


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"", b"[1, 2]", b'{"event": 5, "description": ["x"]}'])
def test_novig_market_body_that_is_not_a_market_gives_no_title(body: bytes) -> None:
    """A market description that is not JSON, or not an object, gives no title and no outcome names."""
    assert Novig().parse_market_title(body) is None
    assert Novig.parse_outcome_names(body) == {}


DEEP = "[" * 1000 + "]" * 1000
"""A value nested a thousand deep: orjson reads it (its limit is 1024), repr() of it overflows the stack."""


def with_deep(message: dict[str, Any], path: tuple[str, ...]) -> str:
    """`message` as JSON text with the field at `path` set to :data:`DEEP`."""
    return with_field(message, path, "@DEEP@").replace('"@DEEP@"', DEEP)


@pytest.mark.parametrize(
    ("venue", "frame"),
    [
        *(
            (Kalshi.for_parsing(), with_deep(KALSHI_FILL, ("msg", key)))
            for key in ("trade_id", "market_ticker", "count_fp")
        ),
        *((Novig(), with_deep(NOVIG_FILL, ("data", key))) for key in ("id", "price", "createdAt")),
        (Novig(), with_deep(NOVIG_CANCEL, ("data", "qty"))),
    ],
    ids=["kalshi-id", "kalshi-market", "kalshi-count", "novig-id", "novig-price", "novig-time", "novig-cancel-qty"],
)
def test_a_value_nested_a_thousand_deep_is_one_malformed(venue: Kalshi | Novig, frame: str) -> None:
    """A field nested a thousand deep is malformed, with a short reason, not a RecursionError."""
    (malformed,) = venue.parse(frame)
    assert isinstance(malformed, Malformed)
    assert len(malformed.reason) <= 130


def test_a_history_row_nested_a_thousand_deep_is_skipped() -> None:
    """A REST row whose field is nested a thousand deep is skipped and counted; its page is kept."""
    rows = [KALSHI_REST_FILL, dict(KALSHI_REST_FILL, trade_id="@DEEP@")]
    body = orjson.dumps({"fills": rows, "cursor": ""}).replace(b'"@DEEP@"', DEEP.encode())
    page = Kalshi.for_parsing().parse_history("fills", body, EPOCH, None)
    assert (len(page.events), page.skipped) == (1, 1)
