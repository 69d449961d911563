"""The current-schema fill read by ``kalshi/fast.py`` is the fill the general parse reads, field for field."""

from __future__ import annotations

import dataclasses
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fillwatch.core.events import Fill
from fillwatch.venues.base import EPOCH, MAX_MS, MIN_MS, UNREADABLE, Malformed, excerpt, field_error, ts_from_ms
from fillwatch.venues.kalshi import fast
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.venues.kalshi_shapes import live_fill

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from blaster import fill_frames


def _general(adapter: Kalshi, frame: str) -> object:
    """What the adapter's general route (the handler by type) gives, its errors read as malformed."""
    try:
        return adapter._handlers["fill"](orjson.loads(frame))
    except UNREADABLE as exc:
        return [Malformed(f"bad fill message ({field_error(exc)})", excerpt(frame))]


def _same(adapter: Kalshi, frame: str) -> None:
    """Parsed twice (the second time with every text known), the frame gives the general route's items."""
    for _ in range(2):
        parsed, general = adapter.parse(frame), _general(adapter, frame)
        assert parsed == general
        assert [type(item) for item in parsed] == [type(item) for item in general]  # type: ignore[attr-defined]


def test_the_blasters_fills_read_as_by_the_general_route() -> None:
    """1,024 varied current-schema fills (both sides, prices, counts, fees, positions) read alike."""
    adapter = Kalshi.for_parsing()
    for frame in fill_frames(1024):
        _same(adapter, frame.decode())


def test_the_fast_route_reads_the_common_fill_once_its_texts_are_known() -> None:
    """After one general read, a current-schema fill is read by :func:`fast.fill` (not None)."""
    frame = live_fill(outcome_side="no", yes_price_dollars="0.1234")
    Kalshi.for_parsing().parse(frame)
    made = fast.fill(orjson.loads(frame)["msg"])
    assert isinstance(made, Fill)
    assert made == Kalshi.for_parsing()._handlers["fill"](orjson.loads(frame))[0]


def test_a_no_sides_price_is_one_shared_decimal() -> None:
    """Two NO-side fills at one YES price share the price object (its hash is computed once)."""
    adapter = Kalshi.for_parsing()
    frame = live_fill(outcome_side="no", yes_price_dollars="0.4321")
    adapter.parse(frame)
    first, second = adapter.parse(frame)[0], adapter.parse(frame)[0]
    assert isinstance(first, Fill)
    assert isinstance(second, Fill)
    assert first.price is second.price
    assert str(first.price) == "0.5679"


_VALUES: list[Any] = [
    None, "", "yes", "no", "x", 0, 1, -1, 1.5, True, False, [], {}, [1], "0.5000", "1.0000", "0.0000", "1.5",
    "-0.01", "278.00", "0.00", "-3.00", "nan", "inf", "1e999", "1e-40", "0.010000", 1671899397000, 2**62,
]  # fmt: skip
_FIELDS = [
    "trade_id", "order_id", "market_ticker", "yes_price_dollars", "yes_price", "count_fp", "count", "fee_cost",
    "ts_ms", "ts", "outcome_side", "book_side", "side", "action", "purchased_side", "post_position_fp",
    "post_position", "is_taker",
]  # fmt: skip


@pytest.mark.parametrize("name", _FIELDS)
@pytest.mark.parametrize("value", [*_VALUES, ...])
def test_one_odd_field_reads_as_by_the_general_route(name: str, value: Any) -> None:
    """A fill with one field of any JSON type or value (or dropped) reads alike, refusals included."""
    _same(Kalshi.for_parsing(), live_fill(**{name: value}))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(_FIELDS), st.sampled_from([*_VALUES, ...]), max_size=6))
def test_several_odd_fields_read_as_by_the_general_route(changes: dict[str, Any]) -> None:
    """Any few fields changed or dropped together read alike: the fast route never refuses in another order."""
    _same(Kalshi.for_parsing(), live_fill(**changes))


@pytest.mark.parametrize(
    "ms",
    [MIN_MS, MIN_MS + 1, -3_600_001, -3_600_000, -1, 0, 1, 999, 1000, 3_599_999, 3_600_000, 1671899397123,
     1795000000000, 1795003599999, MAX_MS - 1, MAX_MS],
)  # fmt: skip
def test_the_time_by_hour_and_tables_is_ts_from_ms(ms: int) -> None:
    """The hour kept and the two tables added give ``ts_from_ms`` exactly, across hours and the range's ends."""
    assert fast.ts_of_ms(ms) == ts_from_ms(ms) == EPOCH + timedelta(milliseconds=ms)
    assert fast.ts_of_ms(ms).tzinfo is ts_from_ms(ms).tzinfo


@given(st.integers(MIN_MS, MAX_MS))
def test_any_time_in_range_is_ts_from_ms(ms: int) -> None:
    """Any integer millisecond in range reads as ``ts_from_ms`` reads it."""
    assert fast.ts_of_ms(ms) == ts_from_ms(ms)


def test_the_fast_route_sets_every_field_a_fill_declares() -> None:
    """:data:`fast.FIELDS` is ``Fill``'s fields in order; the fields it does not read keep their defaults."""
    assert tuple(field.name for field in dataclasses.fields(Fill)) == fast.FIELDS
    frame = live_fill()
    Kalshi.for_parsing().parse(frame)
    made = fast.fill(orjson.loads(frame)["msg"])
    assert made is not None
    for field in dataclasses.fields(Fill):
        assert hasattr(made, field.name)
        if field.name in ("wash", "source", "account", "raw"):
            assert getattr(made, field.name) == field.default
