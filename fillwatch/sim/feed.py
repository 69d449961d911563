"""A deterministic stream of realistic Kalshi activity for the simulator.

A small order book of *your* orders on a few markets: orders rest, fill
(partly or wholly, as maker or taker), and get cancelled. Each step yields the
frames Kalshi would send for it, in the current schema or the legacy one, and
remembers the ids it emitted so that a test can check what came out.
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

__all__ = ["MARKETS", "TITLES", "KalshiFeed", "Schema"]

Schema = Literal["current", "legacy", "mixed"]

TITLES = {
    "KXHIGHNY-26NOV21-B53.5": "Highest temperature in NYC on Nov 21, 2026? 53° to 54°",
    "KXFED-26DEC-T4.25": "Fed funds upper bound above 4.25% after the December 2026 meeting?",
    "KXBTCD-26NOV2117-T98499.99": "Bitcoin above $98,500 on Nov 21, 2026 at 5pm EST?",
    "KXNBAGAME-26NOV21BOSLAL-BOS": "Boston vs Los Angeles L (Nov 21): Boston wins?",
    "KXCPIYOY-26NOV-T2.9": "CPI year-over-year above 2.9% in November 2026?",
}
"""Market tickers and their titles, as ``GET /markets/{ticker}`` gives them."""

MARKETS = tuple(TITLES)

_FOUR = Decimal("0.0001")


@dataclass
class _Order:
    order_id: str
    market: str
    side: str  # "yes" | "no": the contract side
    action: str  # "buy" | "sell"
    yes_price: Decimal
    initial: Decimal
    filled: Decimal = Decimal(0)
    created_ms: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.initial - self.filled

    @property
    def outcome_side(self) -> str:
        # buy yes / sell no leave you long YES (protocols/kalshi.md §4.3).
        return self.side if self.action == "buy" else ("no" if self.side == "yes" else "yes")


@dataclass
class KalshiFeed:
    """Makes the frames of one event at a time: a fill or a cancel."""

    seed: int | None = None
    schema: Schema = "mixed"
    clock: Callable[[], float] = time.time
    emitted: list[tuple[str, str, str]] = field(default_factory=list)
    """(kind, id, order_id) of every event made, in order."""
    rest_fills: list[dict[str, Any]] = field(default_factory=list)
    """Every fill as ``GET /portfolio/fills`` returns it, oldest first."""
    rest_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every order's latest state as ``GET /portfolio/orders`` returns it."""

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
        return _Order(
            order_id=self._uuid(),
            market=rng.choice(MARKETS),
            side=rng.choice(("yes", "no")),
            action=rng.choice(("buy", "buy", "sell")),
            yes_price=price,
            initial=size,
            created_ms=self._now_ms(),
        )

    def next_event(self) -> list[dict[str, Any]]:
        """The messages of the next event (with order updates that make no line)."""
        rng = self._rng
        legacy = self.schema == "legacy" or (self.schema == "mixed" and rng.random() < 0.2)
        resting = [o for o in self._orders if (not legacy or o.yes_price * 100 % 1 == 0)]
        if resting and rng.random() < 0.25:
            return [self._cancel(rng.choice(resting))]
        if resting and rng.random() < 0.55:
            order, taker = rng.choice(resting), False
        else:
            order, taker = self._new_order(legacy=legacy), rng.random() < 0.6
            self._orders.append(order)
        messages: list[dict[str, Any]] = []
        if not taker and order.filled == 0 and rng.random() < 0.5:
            messages.append(self._user_order(order, "resting"))
        whole = order.remaining == order.remaining.to_integral_value()
        if legacy and not whole:
            return [*messages, self._cancel(order)]
        count = order.remaining if rng.random() < 0.5 else max(Decimal(1), (order.remaining / 2).to_integral_value())
        messages.append(self._fill(order, min(count, order.remaining), taker=taker, legacy=legacy))
        if order.remaining == 0:
            self._orders.remove(order)
            messages.append(self._user_order(order, "executed"))
        return messages

    def _fill(self, order: _Order, count: Decimal, *, taker: bool, legacy: bool) -> dict[str, Any]:
        order.filled += count
        ts_ms = self._now_ms()
        delta = count if order.outcome_side == "yes" else -count
        position = self._positions.get(order.market, Decimal(0)) + delta
        self._positions[order.market] = position
        trade_id = self._uuid()
        self.emitted.append(("fill", trade_id, order.order_id))
        price = order.yes_price if order.side == "yes" else 1 - order.yes_price
        rate = Decimal("0.07") if taker else Decimal("0.0175")
        fee = Decimal(math.ceil(rate * count * price * (1 - price) * 100)) / 100
        msg: dict[str, Any] = {
            "trade_id": trade_id,
            "order_id": order.order_id,
            "market_ticker": order.market,
            "is_taker": taker,
            "side": order.side,
            "action": order.action,
        }
        self.rest_fills.append(
            {
                "fill_id": trade_id,
                "trade_id": trade_id,
                "order_id": order.order_id,
                "ticker": order.market,
                "market_ticker": order.market,
                "side": order.side,
                "action": order.action,
                "outcome_side": order.outcome_side,
                "book_side": "bid" if order.outcome_side == "yes" else "ask",
                "count_fp": f"{count:.2f}",
                "yes_price_dollars": str(order.yes_price.quantize(_FOUR)),
                "no_price_dollars": str((1 - order.yes_price).quantize(_FOUR)),
                "is_taker": taker,
                "fee_cost": f"{fee:.6f}",
                "created_time": _iso(ts_ms),
                "ts": ts_ms // 1000,
                "ts_ms": ts_ms,  # not in Kalshi's REST fill; the simulator pages on it
            }
        )
        if legacy:
            msg |= {
                "yes_price": int(order.yes_price * 100),
                "yes_price_dollars": f"{order.yes_price:.3f}",
                "count": int(count),
                "ts": ts_ms // 1000,
                "post_position": int(position),
            }
            return {"type": "fill", "sid": 1, "msg": msg}
        msg |= {
            "client_order_id": "",
            "exchange_index": 1,
            "yes_price_dollars": str(order.yes_price.quantize(_FOUR)),
            "count_fp": f"{count:.2f}",
            "fee_cost": f"{fee:.6f}",
            "ts": ts_ms // 1000,
            "ts_ms": ts_ms,
            "post_position_fp": f"{position:.2f}",
            "purchased_side": order.outcome_side,
            "outcome_side": order.outcome_side,
            "book_side": "bid" if order.outcome_side == "yes" else "ask",
        }
        return {"type": "fill", "sid": 1, "sending_ts_ms": ts_ms, "msg": msg}

    def _cancel(self, order: _Order) -> dict[str, Any]:
        self._orders.remove(order)
        self.emitted.append(("cancel", order.order_id, order.order_id))
        return self._user_order(order, "canceled")

    def _user_order(self, order: _Order, status: str) -> dict[str, Any]:
        ts_ms = self._now_ms()
        self.rest_orders[order.order_id] = {
            "order_id": order.order_id,
            "ticker": order.market,
            "status": status,
            "side": order.side,
            "action": order.action,
            "outcome_side": order.outcome_side,
            "yes_price_dollars": str(order.yes_price.quantize(_FOUR)),
            "no_price_dollars": str((1 - order.yes_price).quantize(_FOUR)),
            "fill_count_fp": f"{order.filled:.2f}",
            "remaining_count_fp": f"{order.remaining:.2f}",
            "initial_count_fp": f"{order.initial:.2f}",
            "client_order_id": "",
            "created_time": _iso(order.created_ms),
            "last_update_time": _iso(ts_ms),
            "last_updated_ts_ms": ts_ms,
        }
        return {
            "type": "user_order",
            "sid": 2,
            "msg": {
                "order_id": order.order_id,
                "user_id": "00000000-0000-4000-8000-00000000d3e0",
                "ticker": order.market,
                "status": status,
                "side": order.side,
                "is_yes": order.side == "yes",
                "outcome_side": order.outcome_side,
                "book_side": "bid" if order.outcome_side == "yes" else "ask",
                "yes_price_dollars": str(order.yes_price.quantize(_FOUR)),
                "fill_count_fp": f"{order.filled:.2f}",
                "remaining_count_fp": f"{order.remaining:.2f}",
                "initial_count_fp": f"{order.initial:.2f}",
                "client_order_id": "",
                "created_ts_ms": order.created_ms,
                "last_updated_ts_ms": ts_ms,
            },
        }


def _iso(ts_ms: int) -> str:
    """RFC 3339 with milliseconds, as Kalshi's REST objects carry times."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ts_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
