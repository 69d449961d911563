"""A deterministic stream of realistic Kalshi activity for the simulator.

A small book of *your* orders on a few markets: orders are placed, rest, fill
(partly or wholly, as maker or taker) and get cancelled, by you or by the
venue (expiry, self-trade prevention, margin). Each step gives the messages
Kalshi sends for it — a ``fill``, and a ``user_order`` on every create, fill
and cancel (AsyncAPI 2.0.0, kalshi-sdk 22.4.0) — and keeps the REST view of
the same activity (OpenAPI 3.34.0 ``Fill`` and ``Order``) in step. It
remembers the ids it emitted so that a test can check what came out.

Messages carry no ``sid``: the server adds the one it gave the subscription.

Schemas (``schema=``):

* ``"current"`` (the default): only shapes the documents allow. A fill's
  deprecated ``side`` is its ``outcome_side`` and its ``action`` the order's
  (``buy``, ``sell``, ``sell_partial``, ``sell_to_close`` or ``""``), as
  fills captured from the live API show (protocols/kalshi.md §9): read
  literally they mis-sign every sell.
* ``"legacy"``: every fill in the older shape (integer cents ``yes_price``,
  ``count``, ``post_position``, ``ts`` in seconds, no ``outcome_side``), whose
  ``side``/``action`` describe the order (CONTRACT §3 keeps that reading).
  Not valid against the current schema, on purpose.
* ``"mixed"``: current, with about one fill in five legacy and one in ten
  carrying only the canonical direction (no ``side``/``action``/``purchased_side``,
  the shape announced for after the deprecation) — for the client's tests.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

# The market catalogue lives in kalshi_markets; it is re-exported here, beside the feed that trades it.
from fillwatch.sim.kalshi_markets import MARKET_INFO, MARKETS, TITLES, Market, market_body

__all__ = ["MARKETS", "MARKET_INFO", "TITLES", "USER_ID", "KalshiFeed", "Market", "Schema", "market_body"]

Schema = Literal["current", "legacy", "mixed"]

USER_ID = "00000000-0000-4000-8000-00000000d3e0"

_FOUR = Decimal("0.0001")
_ACTIONS_OF_A_SELL = ("sell", "sell", "sell", "sell_partial", "sell_to_close")
_VENUE_CANCELS = ("SelfTradeCancel", "MarginCancel")


@dataclass
class _Order:
    order_id: str
    client_order_id: str
    market: str
    side: str  # "yes" | "no": the contract side
    action: str  # "buy" | "sell"
    yes_price: Decimal
    initial: Decimal
    created_ms: int
    expiration_ms: int | None = None
    filled: Decimal = Decimal(0)
    status: str = "resting"
    updated_ms: int = 0
    reason: str | None = None
    taker_cost: Decimal = Decimal(0)
    maker_cost: Decimal = Decimal(0)
    taker_fees: Decimal = Decimal(0)
    maker_fees: Decimal = Decimal(0)

    @property
    def open(self) -> Decimal:
        """Contracts still resting (a cancelled order reports 0: §9)."""
        return self.initial - self.filled if self.status == "resting" else Decimal(0)

    @property
    def outcome_side(self) -> str:
        # buy yes / sell no leave you long YES (AsyncAPI outcome_side).
        return self.side if self.action == "buy" else ("no" if self.side == "yes" else "yes")

    @property
    def book_side(self) -> str:
        return "bid" if self.outcome_side == "yes" else "ask"

    @property
    def side_price(self) -> Decimal:
        return self.yes_price if self.side == "yes" else 1 - self.yes_price


@dataclass
class KalshiFeed:
    """Makes the messages of one event at a time: a fill or a cancel."""

    seed: int | None = None
    schema: Schema = "current"
    clock: Callable[[], float] = time.time
    emitted: list[tuple[str, str, str]] = field(default_factory=list)
    """(kind, id, order_id) of every event made, in order."""
    rest_fills: list[dict[str, Any]] = field(default_factory=list)
    """Every fill as ``GET /portfolio/fills`` returns it, oldest first (plus ``ts_ms``, to page on)."""
    rest_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every order's latest state as ``GET /portfolio/orders`` returns it (plus ``last_updated_ts_ms``)."""

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._orders: list[_Order] = []
        self._positions: dict[str, Decimal] = {}
        self._last_ms = 0

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _now_ms(self) -> int:
        # Strictly increasing, so that event times order the events.
        self._last_ms = max(self._last_ms + 1, int(self.clock() * 1000))
        return self._last_ms

    def _new_order(self, *, legacy: bool) -> _Order:
        rng = self._rng
        cents = rng.randint(3, 97)
        price = Decimal(cents) / 100 if legacy or rng.random() < 0.7 else (Decimal(cents) / 100 + Decimal("0.0050"))
        size = Decimal(rng.choice((1, 2, 5, 10, 25, 50, 100, 250)))
        if not legacy and rng.random() < 0.1:
            size += Decimal("0.50")
        created = self._now_ms()
        return _Order(
            order_id=self._uuid(),
            client_order_id=self._uuid() if rng.random() < 0.5 else "",
            market=rng.choice(MARKETS),
            side=rng.choice(("yes", "no")),
            action=rng.choice(("buy", "buy", "sell")),
            yes_price=price,
            initial=size,
            created_ms=created,
            expiration_ms=created + rng.randint(5, 60) * 1000 if rng.random() < 0.2 else None,
            updated_ms=created,
        )

    def next_event(self) -> list[dict[str, Any]]:
        """The messages of the next event, with the order updates around it that make no line."""
        rng = self._rng
        fill_shape = self._fill_shape()
        legacy = fill_shape == "legacy"
        resting = [o for o in self._orders if (not legacy or o.yes_price * 100 % 1 == 0)]
        if resting and rng.random() < 0.25:
            return [self._cancel(rng.choice(resting))]
        messages: list[dict[str, Any]] = []
        if resting and rng.random() < 0.55:
            order, taker = rng.choice(resting), False
        else:
            order, taker = self._new_order(legacy=legacy), rng.random() < 0.6
            self._orders.append(order)
            if not taker:
                messages.append(self._user_order(order))  # placed: it rests
        left = order.open
        if legacy and left != left.to_integral_value():
            return [*messages, self._cancel(order)]
        count = left if rng.random() < 0.5 else max(Decimal(1), (left / 2).to_integral_value())
        messages.append(self._fill(order, min(count, left), taker=taker, shape=fill_shape))
        if order.open == 0:
            self._orders.remove(order)
        messages.append(self._user_order(order))  # the update the fill made: resting or executed
        return messages

    def _fill_shape(self) -> str:
        if self.schema != "mixed":
            return self.schema
        draw = self._rng.random()
        return "legacy" if draw < 0.2 else "canonical" if draw < 0.3 else "current"

    def _fill(self, order: _Order, count: Decimal, *, taker: bool, shape: str) -> dict[str, Any]:
        rng = self._rng
        order.filled += count
        ts_ms = self._now_ms()
        order.updated_ms, order.reason = ts_ms, "Trade"
        if order.filled == order.initial:
            order.status = "executed"
        delta = count if order.outcome_side == "yes" else -count
        position = self._positions.get(order.market, Decimal(0)) + delta
        self._positions[order.market] = position
        trade_id = self._uuid()
        self.emitted.append(("fill", trade_id, order.order_id))
        price = order.side_price
        rate = Decimal("0.07") if taker else Decimal("0.0175")
        fee = Decimal(math.ceil(rate * count * price * (1 - price) * 100)) / 100
        if taker:
            order.taker_cost, order.taker_fees = order.taker_cost + count * price, order.taker_fees + fee
        else:
            order.maker_cost, order.maker_fees = order.maker_cost + count * price, order.maker_fees + fee
        exchange_index = MARKET_INFO[order.market].exchange_index
        self.rest_fills.append(
            {
                "fill_id": trade_id,
                "trade_id": trade_id,
                "order_id": order.order_id,
                "ticker": order.market,
                "market_ticker": order.market,
                "exchange_index": exchange_index,
                "side": order.outcome_side,  # as captured from the live API (§9): not the order's side
                "action": order.action,
                "outcome_side": order.outcome_side,
                "book_side": order.book_side,
                "count_fp": f"{count:.2f}",
                "yes_price_dollars": str(order.yes_price.quantize(_FOUR)),
                "no_price_dollars": str((1 - order.yes_price).quantize(_FOUR)),
                "is_taker": taker,
                "fee_cost": f"{fee:.6f}",
                "created_time": _iso(ts_ms),
                "subaccount_number": 0,
                "ts": ts_ms // 1000,
                "ts_ms": ts_ms,  # not in Kalshi's REST fill; the simulator pages on it
            }
        )
        if shape == "legacy":
            msg: dict[str, Any] = {
                "trade_id": trade_id,
                "order_id": order.order_id,
                "market_ticker": order.market,
                "is_taker": taker,
                "side": order.side,
                "action": order.action,
                "yes_price": int(order.yes_price * 100),
                "yes_price_dollars": f"{order.yes_price:.3f}",
                "count": int(count),
                "ts": ts_ms // 1000,
                "post_position": int(position),
            }
            return {"type": "fill", "msg": msg}
        msg = {
            "trade_id": trade_id,
            "order_id": order.order_id,
            "market_ticker": order.market,
            "exchange_index": exchange_index,
            "is_taker": taker,
            "side": order.outcome_side,
            "action": self._action_word(order),
            "purchased_side": order.outcome_side,
            "yes_price_dollars": str(order.yes_price.quantize(_FOUR)),
            "count_fp": f"{count:.2f}",
            "fee_cost": f"{fee:.6f}",
            "ts": ts_ms // 1000,
            "ts_ms": ts_ms,
            "post_position_fp": f"{position:.2f}",
            "outcome_side": order.outcome_side,
            "book_side": order.book_side,
        }
        if order.client_order_id:
            msg["client_order_id"] = order.client_order_id
        if rng.random() < 0.3:
            msg["subaccount"] = 0
        if shape == "canonical":
            for deprecated in ("side", "action", "purchased_side"):
                del msg[deprecated]
        return {"type": "fill", "msg": msg, "sending_ts_ms": ts_ms}

    def _action_word(self, order: _Order) -> str:
        """The deprecated ``action`` of a fill: the order's, in one of the spellings the document allows."""
        rng = self._rng
        if rng.random() < 0.05:
            return ""  # "an unknown action is emitted as an empty string"
        return rng.choice(_ACTIONS_OF_A_SELL) if order.action == "sell" else "buy"

    def _cancel(self, order: _Order) -> dict[str, Any]:
        rng = self._rng
        self._orders.remove(order)
        order.status, order.updated_ms = "canceled", self._now_ms()
        if order.expiration_ms is not None and rng.random() < 0.5:
            order.reason = "ExpiryCancel"
        elif rng.random() < 0.1:
            order.reason = rng.choice(_VENUE_CANCELS)
        else:
            order.reason = None  # you asked for it
        self.emitted.append(("cancel", order.order_id, order.order_id))
        return self._user_order(order)

    def _user_order(self, order: _Order) -> dict[str, Any]:
        """The ``user_order`` message of the order's present state, and its REST row."""
        money = {
            "taker_fill_cost_dollars": f"{order.taker_cost:.6f}",
            "maker_fill_cost_dollars": f"{order.maker_cost:.6f}",
            "taker_fees_dollars": f"{order.taker_fees:.6f}",
            "maker_fees_dollars": f"{order.maker_fees:.6f}",
        }
        counts = {
            "fill_count_fp": f"{order.filled:.2f}",
            "remaining_count_fp": f"{order.open:.2f}",
            "initial_count_fp": f"{order.initial:.2f}",
        }
        exchange_index = MARKET_INFO[order.market].exchange_index
        yes_price = str(order.yes_price.quantize(_FOUR))
        expiration = None if order.expiration_ms is None else _iso(order.expiration_ms)
        self.rest_orders[order.order_id] = {
            "order_id": order.order_id,
            "user_id": USER_ID,
            "client_order_id": order.client_order_id,
            "ticker": order.market,
            "side": order.side,
            "action": order.action,
            "outcome_side": order.outcome_side,
            "book_side": order.book_side,
            "type": "limit",
            "status": order.status,
            "yes_price_dollars": yes_price,
            "no_price_dollars": str((1 - order.yes_price).quantize(_FOUR)),
            **counts,
            **money,
            "expiration_time": expiration,
            "created_time": _iso(order.created_ms),
            "last_update_time": _iso(order.updated_ms),
            "self_trade_prevention_type": None,
            "subaccount_number": 0,
            "exchange_index": exchange_index,
            "last_updated_ts_ms": order.updated_ms,  # not in Kalshi's REST order; the simulator filters on it
        }
        msg: dict[str, Any] = {
            "order_id": order.order_id,
            "user_id": USER_ID,
            "ticker": order.market,
            "exchange_index": exchange_index,
            "status": order.status,
            "side": order.side,
            "is_yes": order.side == "yes",
            "outcome_side": order.outcome_side,
            "book_side": order.book_side,
            "yes_price_dollars": yes_price,
            **counts,
            **money,
            "client_order_id": order.client_order_id,
            "created_time": _iso(order.created_ms),
            "created_ts_ms": order.created_ms,
            "last_update_time": _iso(order.updated_ms),
            "last_updated_ts_ms": order.updated_ms,
            "subaccount_number": 0,
        }
        if order.expiration_ms is not None:
            msg |= {"expiration_time": expiration, "expiration_ts_ms": order.expiration_ms}
        if order.reason is not None:
            msg["last_update_reason"] = order.reason
        return {"type": "user_order", "msg": msg}


def _iso(ts_ms: int) -> str:
    """RFC 3339 with milliseconds, as Kalshi's REST objects carry times."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ts_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
