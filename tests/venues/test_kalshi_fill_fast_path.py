"""The Kalshi fill fast path (no handler look-up, ``ts_from_ms`` inline) gives what the generic route gives."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from fillwatch.venues.base import MAX_MS, MIN_MS, UNREADABLE, Malformed, excerpt, field_error, ts_from_ms
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.venues.kalshi_shapes import live_fill

_MS: list[Any] = [
    MIN_MS - 1, MIN_MS, MIN_MS + 1, 1671899397000, 1671899397999, 1795000000001, MAX_MS - 1, MAX_MS, MAX_MS + 1,
    -1, 0, 1671899397000.0, 1671899397000.5, True, False, "1671899397000", None, [1], {"ms": 1}, 2**62,
]  # fmt: skip


def _generic(adapter: Kalshi, frame: str) -> object:
    """The route every other message type takes: the handler by type, its errors read as malformed."""
    message = orjson.loads(frame)
    try:
        return adapter._handlers["fill"](message)
    except UNREADABLE as exc:
        return [Malformed(f"bad fill message ({field_error(exc)})", excerpt(frame))]


def _frames() -> list[str]:
    frames = [live_fill(ts_ms=ms) for ms in _MS] + [live_fill(), live_fill(ts_ms=..., ts=...)]
    frames += [live_fill(ts_ms=1671899397123, **{name: value}) for name, value in _BAD]
    return frames


_BAD: list[tuple[str, Any]] = [
    ("trade_id", ""), ("trade_id", 5), ("order_id", None), ("market_ticker", ""), ("side", "up"),
    ("yes_price_dollars", "1.5"), ("yes_price_dollars", "x"), ("count_fp", "0.00"), ("count_fp", ...),
    ("fee_cost", "nan?"), ("post_position_fp", "x"), ("action", ...),
]  # fmt: skip


@pytest.mark.parametrize("frame", _frames())
def test_a_fill_frame_parses_as_by_the_generic_route(frame: str) -> None:
    """Each fill frame, good or bad in its time or another field, gives the generic route's items exactly."""
    adapter = Kalshi.for_parsing()
    assert adapter.parse(frame) == _generic(adapter, frame)


@pytest.mark.parametrize("ms", _MS)
def test_the_inline_time_is_ts_from_ms(ms: Any) -> None:
    """The time read inline is that of ``ts_from_ms``, and a time it refuses is refused with its reason."""
    frame = live_fill(ts_ms=ms)
    first = Kalshi.for_parsing().parse(frame)[0]
    assert getattr(first, "ts", first) == _by_ts_from_ms(ms, frame)


def _by_ts_from_ms(ms: Any, frame: str) -> object:
    try:
        return ts_from_ms(ms)
    except ValueError as exc:
        return Malformed(f"bad fill message ({field_error(exc)})", excerpt(frame))
