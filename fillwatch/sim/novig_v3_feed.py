"""The simulated Novig v3 subaccount's order flow: pure state, no I/O.

Each call makes one **batch**: the events that happened together, numbered by the
subaccount-wide ``orders.seq`` (api_streaming_private.md "Events": "one batch with one
``seq``"; api_streaming_connection.md: "on ``orders`` and ``positions`` per subaccount").
Within a batch an order's ``fill`` events come before its ``open``, ``cancel`` or
``reject`` (api_streaming_private.md), and an order's life follows the Order lifecycle
page (api_concepts_order-lifecycle.md): fills that matched on entry precede its
``open``; an ``IOC`` that fills in part cancels the rest; an ``IOC``/``FOK``/``PO`` that
fills nothing is rejected. ``GOLIVE`` voids every resting order of the market, each with
a ``cancel`` of reason ``GO_LIVE`` (api_streaming_lifecycle.md). Every fill is also kept
as the REST ``Fill`` item (openapi ``#/components/schemas/Fill``: ``cost`` = qty × price
× 1¢, ``fee`` on charged fills only, by api_concepts_fees.md's game schedule), every
order as the REST ``Order`` (``#/components/schemas/Order``).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["Batch", "Market", "NovigV3Feed", "Order"]

_TEAMS = ("Lakers", "Celtics", "Knicks", "Bulls", "Heat", "Suns", "Nets", "Bucks", "Jazz", "Kings", "Magic", "Hawks")
_PRICES = [Decimal("0.055") + Decimal("0.005") * i for i in range(179)]  # the grid's middle band
_GAME_COEFFICIENT = Decimal("0.03")  # api_concepts_fees.md: game markets, charged WHEN_LIVE
_CENT = Decimal("0.01")
_MILLICENT = Decimal("0.00001")


@dataclass
class Market:
    """One market of an event, with its two outcomes and its ``lifecycle`` state."""

    market_id: str
    event_id: str
    outcomes: tuple[str, str]
    starts_ts: int
    names: tuple[str, str] = ("Home", "Away")
    status: str = "OPEN"
    live: bool = False
    lifecycle_seq: int = 1

    def catalog(self) -> dict[str, Any]:
        """The ``Market`` schema item of ``GET /v3/catalog/markets/{id}`` (a game moneyline)."""
        return {
            "marketId": self.market_id,
            "eventId": self.event_id,
            "marketType": "MONEY",
            "status": self.status,
            "voids": "PUSH",
            "description": f"{self.names[1]} @ {self.names[0]}",
            "startsTs": self.starts_ts,
            "fee": {"coefficient": "0.03", "makerCredit": "0.5", "charged": "WHEN_LIVE"},
            "outcomes": [
                {"outcomeId": o, "name": n, "status": "TBD"} for o, n in zip(self.outcomes, self.names, strict=True)
            ],
        }


@dataclass
class Order:
    """One of the subaccount's orders, as ``GET /v3/orders`` describes it."""

    order_id: str
    client_id: str | None
    market_id: str
    outcome_id: str
    price: Decimal
    qty: int
    remaining: int
    tif: str
    created_ts: int
    expires_ts: int | None = None
    status: str = "PENDING"

    def rest(self) -> dict[str, Any]:
        """The ``Order`` schema item."""
        item: dict[str, Any] = {"orderId": self.order_id}
        if self.client_id is not None:
            item["clientId"] = self.client_id
        item |= {
            "marketId": self.market_id,
            "outcomeId": self.outcome_id,
            "price": f"{self.price:.3f}",
            "qty": self.qty,
            "remaining": self.remaining,
            "tif": self.tif,
            "status": self.status,
            "createdTs": self.created_ts,
        }
        if self.expires_ts is not None:
            item["expiresTs"] = self.expires_ts
        return item


@dataclass
class Batch:
    """What one step made: an ``orders`` batch (``seq`` None if no order event), a lifecycle change,
    and the positions it moved (their own ``seq``)."""

    ts: int
    events: list[dict[str, Any]] = field(default_factory=list)
    seq: int | None = None
    lifecycle: tuple[str, str, int] | None = None
    """(marketId, transition, lifecycle seq)."""
    positions: list[dict[str, Any]] = field(default_factory=list)
    positions_seq: int | None = None


class NovigV3Feed:
    """The subaccount's orders, fills, positions and markets; each action returns its :class:`Batch`."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        markets: int = 3,
        clock_ms: Callable[[], int],
        short_prices: bool = False,
        close_cancels: bool = True,
        cancel_remaining: bool = False,
    ) -> None:
        self._rng = random.Random(seed)
        self._clock_ms = clock_ms
        self._short = short_prices
        self._close_cancels = close_cancels
        self._cancel_remaining = cancel_remaining
        self.seq = 0
        """The last ``orders.seq`` made (0: no event yet)."""
        self.positions_seq = 0
        self.orders: dict[str, Order] = {}
        self.fills: list[dict[str, Any]] = []
        """Every fill as its REST ``Fill`` item, oldest first."""
        self.cancels: list[tuple[str, str | None]] = []
        """(orderId, reason) of every cancel, in order."""
        self.positions: dict[tuple[str, str], tuple[int, Decimal]] = {}
        self.batches: list[Batch] = []
        now = clock_ms()
        self.markets: dict[str, Market] = {}
        for i in range(markets):
            names = (_TEAMS[2 * i % len(_TEAMS)], _TEAMS[(2 * i + 1) % len(_TEAMS)])
            outcomes = (self._uuid(), self._uuid())
            market = Market(self._uuid(), self._uuid(), outcomes, now + (i + 1) * 3_600_000, names)
            self.markets[market.market_id] = market

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _price(self, price: Decimal) -> str:
        text = f"{price:.3f}"
        return text.rstrip("0").rstrip(".") if self._short and "." in text else text

    def resting(self, market_id: str | None = None) -> list[Order]:
        """The orders resting now (optionally on one market), oldest first."""
        return [o for o in self.orders.values() if o.status == "OPEN" and market_id in (None, o.market_id)]

    def open_entries(self) -> list[dict[str, Any]]:
        """The snapshot's ``open`` list: one entry per resting order, ``qty`` = contracts still resting."""
        return [self._open_event(o, kind=False) for o in self.resting()]

    def position_items(self) -> list[dict[str, Any]]:
        """The nonzero positions (``Position``: marketId, outcomeId, qty, cost)."""
        return [self._position(key) for key, (qty, _) in self.positions.items() if qty]

    # Events ------------------------------------------------------------------------------

    def _open_event(self, order: Order, *, kind: bool = True) -> dict[str, Any]:
        event: dict[str, Any] = {"kind": "open"} if kind else {}
        event["orderId"] = order.order_id
        if order.client_id is not None:
            event["clientId"] = order.client_id
        event |= {
            "marketId": order.market_id,
            "outcomeId": order.outcome_id,
            "price": self._price(order.price),
            "qty": order.remaining,
            "tif": order.tif,
        }
        if order.expires_ts is not None:
            event["expiresAt"] = order.expires_ts
        return event

    def _fill(self, batch: Batch, order: Order, qty: int, *, taker: bool) -> None:
        order.remaining -= qty
        if order.remaining == 0:
            order.status = "FILLED"
        event: dict[str, Any] = {"kind": "fill", "orderId": order.order_id}
        if order.client_id is not None:
            event["clientId"] = order.client_id
        event |= {"outcomeId": order.outcome_id, "price": self._price(order.price), "qty": qty}
        event["remaining"] = order.remaining
        batch.events.append(event)
        cost = (order.price * qty * _CENT).quantize(_MILLICENT)
        item: dict[str, Any] = {"fillId": self._uuid(), "orderId": order.order_id}
        if order.client_id is not None:
            item["clientId"] = order.client_id
        item |= {"marketId": order.market_id, "outcomeId": order.outcome_id, "qty": qty, "cost": f"{cost:.5f}"}
        item["taker"] = taker
        market = self.markets[order.market_id]
        fee = _GAME_COEFFICIENT * order.price * (1 - order.price) * qty * _CENT
        if taker and market.live and fee > 0:
            item["fee"] = f"{fee.quantize(_MILLICENT, rounding=ROUND_HALF_UP):.5f}"
        item["ts"] = batch.ts
        self.fills.append(item)
        key = (order.market_id, order.outcome_id)
        held, paid = self.positions.get(key, (0, Decimal(0)))
        self.positions[key] = (held + qty, paid + cost)
        batch.positions = [p for p in batch.positions if (p["marketId"], p["outcomeId"]) != key]
        batch.positions.append(self._position(key))

    def _position(self, key: tuple[str, str]) -> dict[str, Any]:
        qty, cost = self.positions[key]
        return {"marketId": key[0], "outcomeId": key[1], "qty": qty, "cost": f"{cost:.5f}"}

    def _end(self, batch: Batch, order: Order, kind: str, reason: str | None = None) -> None:
        order.status = {"cancel": "CANCELED", "reject": "REJECTED"}[kind]
        event: dict[str, Any] = {"kind": kind, "orderId": order.order_id}
        if kind == "cancel":
            self.cancels.append((order.order_id, reason))
            if reason is not None:
                event["reason"] = reason
            if self._cancel_remaining:
                event["remaining"] = order.remaining
        batch.events.append(event)

    def _commit(self, batch: Batch) -> Batch:
        if batch.events:
            self.seq += 1
            batch.seq = self.seq
        if batch.positions:
            self.positions_seq += 1
            batch.positions_seq = self.positions_seq
        self.batches.append(batch)
        return batch

    # Actions -----------------------------------------------------------------------------

    def place(
        self,
        *,
        market_id: str | None = None,
        qty: int | None = None,
        price: Decimal | None = None,
        tif: str = "GTC",
        fills: tuple[int, ...] = (),
        client_id: bool = True,
    ) -> Batch:
        """A new order: `fills` matched on entry (taker), then it rests, ends, or is refused, by its `tif`."""
        batch = Batch(self._clock_ms())
        open_markets = [m for m in self.markets.values() if m.status == "OPEN"]
        market = self.markets[market_id] if market_id else self._rng.choice(open_markets)
        size = qty or self._rng.randint(1, 50) * 10
        order = Order(
            self._uuid(),
            self._uuid() if client_id else None,
            market.market_id,
            self._rng.choice(market.outcomes),
            price or self._rng.choice(_PRICES),
            size,
            size,
            tif,
            batch.ts,
            batch.ts + 600_000 if tif == "GTT" else None,
        )
        self.orders[order.order_id] = order
        matched = sum(fills)
        if matched > size:
            raise ValueError("fills exceed the order's size")
        refused = (
            (tif in ("IOC", "FOK") and not matched) or (tif == "FOK" and matched < size) or (tif == "PO" and fills)
        )
        if refused:
            self._end(batch, order, "reject")
            return self._commit(batch)
        for part in fills:
            self._fill(batch, order, part, taker=True)
        if order.remaining and tif == "IOC":
            self._end(batch, order, "cancel")
        elif order.remaining:
            order.status = "OPEN"
            batch.events.append(self._open_event(order))
        return self._commit(batch)

    def fill(self, order_id: str, qty: int | None = None) -> Batch:
        """A maker fill of a resting order (default: a random part of what rests)."""
        order = self.orders[order_id]
        if order.status != "OPEN":
            raise ValueError(f"order {order_id} is not resting")
        batch = Batch(self._clock_ms())
        self._fill(batch, order, qty or self._rng.randint(1, order.remaining), taker=False)
        return self._commit(batch)

    def cancel(self, order_id: str, reason: str | None = None) -> Batch:
        """A resting order leaves the book (no `reason`: by the user, by expiry or by an admin)."""
        batch = Batch(self._clock_ms())
        self._end(batch, self.orders[order_id], "cancel", reason)
        return self._commit(batch)

    def transition(self, market_id: str, transition: str) -> Batch:
        """A lifecycle transition: ``GOLIVE`` voids the resting orders (``GO_LIVE``), ``UNLIVE`` drains
        them (no reason: none is documented), ``CLOSE`` cancels them with ``MARKET_CLOSED`` (or, when
        `close_cancels` is off, lets them leave with no event)."""
        market = self.markets[market_id]
        market.lifecycle_seq += 1
        batch = Batch(self._clock_ms(), lifecycle=(market_id, transition, market.lifecycle_seq))
        reason = {"GOLIVE": "GO_LIVE", "UNLIVE": None, "CLOSE": "MARKET_CLOSED"}.get(transition, "")
        if reason != "":
            for order in self.resting(market_id):
                if transition == "CLOSE" and not self._close_cancels:
                    order.status = "CANCELED"
                    self.cancels.append((order.order_id, None))
                else:
                    self._end(batch, order, "cancel", reason)
        market.live = {"GOLIVE": True, "UNLIVE": False}.get(transition, market.live)
        market.status = "CLOSED" if transition == "CLOSE" else market.status
        return self._commit(batch)

    def step(self, golive_every: int | None = None) -> Batch:
        """One random step of a plausible trading session."""
        rng = self._rng
        resting = self.resting()
        if golive_every and rng.randrange(golive_every) == 0:
            live = [m for m in self.markets.values() if m.status == "OPEN" and any(self.resting(m.market_id))]
            if live:
                return self.transition(rng.choice(live).market_id, "GOLIVE")
        roll = rng.random() if len(resting) > 2 else 0.0
        if roll < 0.35:
            return self.place(tif=rng.choice(("GTC", "GTC", "GTT")), client_id=rng.random() < 0.8)
        if roll < 0.50:
            return self._taker(rng.choice(("GTC", "IOC", "FOK")))
        if roll < 0.58:
            return self.place(tif=rng.choice(("IOC", "PO")), fills=())
        if roll < 0.88:
            return self.fill(rng.choice(resting).order_id)
        return self.cancel(rng.choice(resting).order_id)

    def _taker(self, tif: str) -> Batch:
        size = self._rng.randint(2, 40) * 10
        parts = self._rng.randint(1, 3)
        take = size if tif == "FOK" else self._rng.randint(parts, size)
        cuts = sorted(self._rng.sample(range(1, take), parts - 1)) if parts > 1 and take > parts else []
        fills = tuple(b - a for a, b in zip([0, *cuts], [*cuts, take], strict=True))
        return self.place(qty=size, tif=tif, fills=fills)
