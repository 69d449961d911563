"""The common Kalshi fill, read without the general route's calls: current schema, every field as expected.

:func:`fill` returns the :class:`~fillwatch.core.events.Fill` of a ``fill`` message's ``msg`` whose
fields are all of the current schema and all readable from what was read before (the price, count
and fee texts known to :data:`~fillwatch.venues.base.DECIMALS`), or None: then the adapter's
general parse reads the message, refuses what it must in the order it always did, and keeps the
texts it read for the next time. It never raises, and what it returns is what the general parse
returns for the same message (``tests/venues/test_kalshi_fill_fast_path.py``).

Where the time went (``docs/performance.md``): a new Decimal's hash (~0.8 µs, once per object,
paid by the line encoder's cache look-up) for every NO-side price computed as ``1 - yes``; a
``timedelta`` built for every time (~0.5 µs); a dozen small calls (the direction, the checks,
the Decimal look-ups).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fillwatch.core.events import Fill
from fillwatch.venues.base import DECIMALS, EPOCH, MAX_MS, MIN_MS, UNREADABLE, to_decimal

__all__ = ["count_of", "fill", "price_pair", "ts_of_ms"]

_ZERO, _ONE = Decimal(0), Decimal(1)
_SIDES = ("yes", "no")
_KEPT = 4096

_PRICES: dict[str, tuple[Decimal, Decimal]] = {}
"""``yes_price_dollars`` text → (the price of a YES-side fill, of a NO-side one: ``1 - yes``), both
from 0 to 1. Shared, the NO price's hash is computed once, not once per line."""

_COUNTS: dict[str, Decimal] = {}
"""``count_fp`` texts → their quantities, above 0."""
_HOURS: dict[int, datetime] = {}
"""Whole hours since the epoch, as UTC datetimes."""
_SECONDS = tuple(timedelta(seconds=second) for second in range(3600))
_MILLIS = tuple(timedelta(milliseconds=ms) for ms in range(1000))


def price_pair(dollars: str) -> tuple[Decimal, Decimal] | None:
    """The (YES-side, NO-side) prices of a known ``yes_price_dollars`` text from 0 to 1, else None."""
    pair = _PRICES.get(dollars)
    if pair is None:
        yes = DECIMALS.get(dollars)
        if yes is None or not _ZERO <= yes <= _ONE:
            return None
        if len(_PRICES) >= _KEPT:
            _PRICES.clear()
        pair = _PRICES[dollars] = (yes, _ONE - yes)
    return pair


def ts_of_ms(ms: int) -> datetime:
    """``ts_from_ms(ms)`` for an int within its range: the hour's datetime (kept) and two table
    ``timedelta`` s added, the same microseconds as ``EPOCH + timedelta(0, ms // 1000, ms % 1000 * 1000)``."""
    hour, rest = divmod(ms, 3_600_000)
    return (_HOURS.get(hour) or _hour(hour)) + _SECONDS[rest // 1000] + _MILLIS[rest % 1000]


def _hour(hour: int) -> datetime:
    if len(_HOURS) >= _KEPT:
        _HOURS.clear()
    base = _HOURS[hour] = EPOCH + timedelta(hours=hour)
    return base


def count_of(count: str) -> Decimal | None:
    """The quantity of a known ``count_fp`` text above 0, else None."""
    qty = DECIMALS.get(count)
    if qty is None or qty <= _ZERO:
        return None
    if len(_COUNTS) >= _KEPT:
        _COUNTS.clear()
    _COUNTS[count] = qty
    return qty


def fill(msg: dict[str, Any]) -> Fill | None:
    """The fill of a current-schema ``msg`` whose every field reads as expected, else None."""
    try:  # every field of the current schema there (anything missing: the general parse decides)
        trade_id, order_id, market, side = msg["trade_id"], msg["order_id"], msg["market_ticker"], msg["outcome_side"]
        dollars, count, fee, ms = msg["yes_price_dollars"], msg["count_fp"], msg["fee_cost"], msg["ts_ms"]
        position, taker = msg["post_position_fp"], msg["is_taker"]
    except KeyError:
        return None
    if not (
        type(trade_id) is type(order_id) is type(market) is type(dollars) is type(count) is str
        and "" not in (trade_id, order_id, market)
        and side in _SIDES
        and type(ms) is int
        and MIN_MS <= ms <= MAX_MS
    ):
        return None
    pair = _PRICES.get(dollars) or price_pair(dollars)
    qty = _COUNTS.get(count) or count_of(count)
    if pair is None or qty is None:
        return None
    if fee is not None:
        fee = DECIMALS.get(fee) if type(fee) is str else None
        if fee is None:
            return None
    if position is not None:
        try:
            position = to_decimal(position, keep=False)
        except UNREADABLE:
            return None
    hour, rest = divmod(ms, 3_600_000)  # ts_of_ms, inline
    event: Any = _new(Fill)  # Fill(...) without type.__call__'s dict of keywords: every field, in order
    event.venue = "kalshi"
    event.id = trade_id
    event.order_id = order_id
    event.market = market
    event.side = side
    event.action = "buy"
    event.price = pair[side == "no"]
    event.qty = qty
    event.ts = (_HOURS.get(hour) or _hour(hour)) + _SECONDS[rest // 1000] + _MILLIS[rest % 1000]
    event.taker = taker if type(taker) is bool else None
    event.fee = fee
    event.position = position
    event.wash = None
    event.currency = "USD"
    event.source = "live"
    event.account = None
    event.raw = None
    made: Fill = event
    return made


_ABSENT: Any = object()
_new = object.__new__
FIELDS = ("venue", "id", "order_id", "market", "side", "action", "price", "qty", "ts", "taker", "fee",
          "position", "wash", "currency", "source", "account", "raw")  # fmt: skip
"""The fields :func:`fill` sets, as ``Fill`` declares them (a test pins the two together): a ``Fill(...)``
call costs 0.85 µs, as ``type.__call__`` gathers 13 keywords into a dict for ``__init__``; setting
the slots of a new object costs 0.18 µs."""
