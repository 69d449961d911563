"""Reading Kalshi's messages and REST rows into events: the live stream and REST history share these.

Facts from ``protocols/kalshi.md`` (see :mod:`fillwatch.venues.kalshi.adapter`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from fillwatch.core.events import Cancel, Fill, Source
from fillwatch.venues.base import shown, to_decimal, ts_from_clock, ts_from_iso, ts_from_ms, ts_from_s

__all__ = ["cancel", "direction", "history_cancel", "history_fill", "page", "text"]

# ``last_update_reason`` of a cancelled order (AsyncAPI ``lastUpdateReason``) → CONTRACT §3 ``reason``.
# Decrease, Amend and Trade are your own doing (or no reason): null; other ``…Cancel`` values are "other".
_CANCEL_REASONS = {"ExpiryCancel": "expired", "CloseCancel": "market_closed", "SelfTradeCancel": "self_trade"}
_OWN_REASONS = frozenset({"Decrease", "Amend", "Trade"})
_BOOK_SIDES = {"bid": "yes", "ask": "no"}

_ONE = Decimal(1)


def page(document: object, kind: str) -> tuple[list[Any], str | None]:
    """The rows and the next cursor of a history page.

    Raises:
        ValueError: the body is not such a page (``[]``, ``{"fills": 5}``): it is read again later.
    """
    if not isinstance(document, dict):
        raise ValueError(f"not a page of {kind}")
    rows, cursor = document.get(kind, []), document.get("cursor")
    if not isinstance(rows, list) and rows is not None:
        raise ValueError(f"not a page of {kind}")
    if not isinstance(cursor, str) and cursor is not None:
        raise ValueError("the page's cursor is not a string")
    return rows or [], cursor or None


def history_fill(row: dict[str, Any]) -> Fill:
    """A REST fill (§6.1, OpenAPI ``Fill``): ``trade_id``/``fill_id``, ``ticker``, both side prices, ``created_time``.

    REST fills carry no position; the line says null there.
    """
    side, action = direction(row)
    if side == "no" and "no_price_dollars" in row:
        price = to_decimal(row["no_price_dollars"])
    else:
        yes_price = to_decimal(row["yes_price_dollars"])
        price = _ONE - yes_price if side == "no" else yes_price
    ts = ts_from_iso(row["created_time"]) if row.get("created_time") else ts_from_s(row["ts"])
    fee, taker = row.get("fee_cost"), row.get("is_taker")
    return Fill(
        venue="kalshi",
        id=text(row.get("trade_id") or row.get("fill_id")),
        order_id=text(row["order_id"]),
        market=text(row.get("ticker") or row.get("market_ticker")),
        side=side,
        action=action,
        price=price,
        qty=to_decimal(row["count_fp"]),
        ts=ts,
        taker=taker if isinstance(taker, bool) else None,
        fee=None if fee is None else to_decimal(fee),
        currency="USD",
        source="history",
    )


def history_cancel(row: dict[str, Any], clock: Callable[[], float]) -> Cancel | None:
    """A REST order (§6.3, OpenAPI ``Order``); only cancelled ones are events."""
    if row.get("status") != "canceled":
        return None
    return cancel(row, clock, source="history")


def cancel(msg: dict[str, Any], clock: Callable[[], float], *, source: Source) -> Cancel:
    """A cancelled order, live (``user_order``) or from REST (``Order``): the same line for both."""
    side, action = direction(msg)
    yes_price = to_decimal(msg["yes_price_dollars"])
    order_id = text(msg["order_id"])
    original = msg.get("initial_count_fp")
    return Cancel(
        venue="kalshi",
        id=order_id,
        order_id=order_id,
        market=text(msg["ticker"]),
        side=side,
        action=action,
        price=_ONE - yes_price if side == "no" else yes_price,
        qty=_cancelled_qty(msg),
        ts=_cancel_time(msg, clock),
        original_qty=None if original is None else to_decimal(original),
        currency="USD",
        source=source,
        reason=_cancel_reason(msg.get("last_update_reason")),
    )


def text(value: object) -> str:
    """A required, non-empty string field."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {shown(value)}")
    return value


def direction(msg: dict[str, Any]) -> tuple[str, str | None]:
    """The line's side and action (CONTRACT §3): from ``outcome_side``, else ``book_side``.

    ``outcome_side`` is the outcome the fill (or order) positions you for:
    buy-yes and sell-no give ``yes``, buy-no and sell-yes give ``no``; so the
    line says side = that outcome, action = buy. The deprecated ``side``,
    ``action`` and ``purchased_side`` do not describe the order on REST fills
    (protocols/kalshi.md §9) and are read only from messages without either.
    """
    outcome = msg.get("outcome_side") or None
    if outcome is not None:
        return _side(outcome), "buy"
    book = msg.get("book_side") or None
    if book is not None:
        if book not in _BOOK_SIDES:
            raise ValueError(f"book_side {book!r}")
        return _BOOK_SIDES[book], "buy"
    return _legacy_direction(msg)


def _legacy_direction(msg: dict[str, Any]) -> tuple[str, str | None]:
    """``side`` and ``action`` as sent, for messages from before ``outcome_side``.

    Without ``action``, ``purchased_side`` (the side effectively bought) tells
    buy from sell; with ``purchased_side`` alone the line says side = it, action = buy.
    """
    side = msg.get("side") or None
    action = msg.get("action") or None
    purchased = msg.get("purchased_side") or None
    if side is None:
        if purchased is None:
            raise ValueError("no side")
        return _side(purchased), "buy"
    side = _side(side)
    if action is not None:
        return side, "sell" if str(action).startswith("sell") else "buy"
    if purchased is None:
        return side, None
    return side, "buy" if _side(purchased) == side else "sell"


def _side(value: object) -> str:
    if value not in ("yes", "no"):
        raise ValueError(f"side {shown(value)}")
    return value


def _cancelled_qty(msg: dict[str, Any]) -> Decimal:
    """What was still resting when the order was cancelled.

    A cancel zeroes the remaining count (protocols/kalshi.md §9), so a zero
    ``remaining_count_fp`` means ``initial_count_fp − fill_count_fp``; a
    non-zero one (older messages) is the answer itself.
    """
    remaining = to_decimal(msg["remaining_count_fp"])
    if remaining != 0:
        return remaining
    left = to_decimal(msg["initial_count_fp"]) - to_decimal(msg["fill_count_fp"])
    if left < 0:
        raise ValueError("fill_count_fp exceeds initial_count_fp")
    return left


def _cancel_reason(value: object) -> str | None:
    """CONTRACT §3's ``reason`` from ``last_update_reason``: null when you asked (or none is given)."""
    if not isinstance(value, str) or not value or value in _OWN_REASONS:
        return None
    return _CANCEL_REASONS.get(value, "other")


def _cancel_time(msg: dict[str, Any], clock: Callable[[], float]) -> datetime:
    """``last_updated_ts_ms``, else ``last_update_time``, else ``created_ts_ms`` (which may be null),
    else the time the message was read (CONTRACT §3)."""
    if msg.get("last_updated_ts_ms") is not None:
        return ts_from_ms(msg["last_updated_ts_ms"])
    if msg.get("last_update_time"):
        return ts_from_iso(msg["last_update_time"])
    if msg.get("created_ts_ms") is not None:
        return ts_from_ms(msg["created_ts_ms"])
    return ts_from_clock(clock)
