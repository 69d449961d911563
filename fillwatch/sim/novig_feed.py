"""A deterministic stream of realistic Novig activity for the simulator.

A book of *your* orders on a few sports markets, in CASH and COIN: orders
rest, fill (as maker, or at once as taker, sometimes against another order of
yours: a wash), get cancelled, and markets close and take their resting orders
with them (a lifecycle ``CLOSE``, no cancel events). Each step gives the frames
Novig would send, and records the lines a client should print for it.

What a client *can* know is modelled too: the private channel never announces
an order, so a client learns an order from ``orders/all`` (the server marks
every order it serves as ``visible``) or from its cancel. Fills of orders it
never saw have no known currency, and a client must report the ``CLOSE`` of
the visible ones it knows open. The others' cancels are in
:attr:`NovigFeed.unseen_closes`: a client may report them, once, when
``orders/all`` shows it those orders (an order it never saw may rest silently,
so it cannot be required to ask).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

__all__ = ["Emitted", "NovigFeed", "SimMarket", "SimOrder"]

# (league, event description, market description, market type, strike, outcome descriptions)
_TEMPLATES = (
    ("NFL", "KC Chiefs vs BUF Bills - Week 14", "KC v BUF Total", "TOTAL", 46.5, ("Over 46.5", "Under 46.5")),
    ("NFL", "KC Chiefs vs BUF Bills - Week 14", "KC v BUF Moneyline", "MONEY", None, ("KC Chiefs", "BUF Bills")),
    ("NBA", "BOS Celtics vs LAL Lakers", "BOS v LAL Spread", "SPREAD", -4.5, ("BOS -4.5", "LAL +4.5")),
    ("NBA", "BOS Celtics vs LAL Lakers", "BOS v LAL Moneyline", "MONEY", None, ("BOS Celtics", "LAL Lakers")),
    ("MLB", "NY Yankees vs LA Dodgers", "NYY v LAD Total", "TOTAL", 8.5, ("Over 8.5", "Under 8.5")),
    ("NHL", "EDM Oilers vs TOR Maple Leafs", "EDM v TOR Moneyline", "MONEY", None, ("EDM Oilers", "TOR Maple Leafs")),
)


class Emitted(NamedTuple):
    """One line a client should print, in the order it should print it."""

    kind: str
    id: str
    order_id: str
    qty: int
    currency: str | None
    reason: str | None
    unsure: bool = False
    """A fill made while the read that first showed its order may still be on its way to the client
    (no later ``orders/all`` read came yet): the client may print `currency`, or null."""


@dataclass
class SimMarket:
    id: str
    event_id: str
    template: int
    outcomes: tuple[str, str]
    status: str = "OPEN"

    def describe(self) -> dict[str, Any]:
        """The market object of ``GET emm/markets/{id}`` and of lifecycle ticks."""
        league, event, description, kind, strike, names = _TEMPLATES[self.template]
        market: dict[str, Any] = {
            "id": self.id,
            "description": description,
            "status": self.status,
            "type": kind,
            "league": league,
            "isConsensus": False,
            "volume": 1_000_000,
            "eventId": self.event_id,
            "outcomeIds": list(self.outcomes),
            "outcomes": [
                {"id": oid, "description": name, "type": None, "status": "TBD", "index": i, "last": 0.5}
                for i, (oid, name) in enumerate(zip(self.outcomes, names, strict=True))
            ],
            "settledAt": None,
            "event": {"id": self.event_id, "type": "REGULAR_SEASON", "status": "OPEN_PREGAME", "description": event},
        }
        if strike is not None:
            market["strike"] = strike
        return market


@dataclass
class SimOrder:
    id: str
    market: SimMarket
    outcome: str
    price: Decimal
    original: int
    currency: str
    placed: str
    remaining: int = 0
    status: str = "OPEN"
    visible: bool = False
    """Served by ``orders/all``: a client may know it."""
    shown_by: int = 0
    """Which ``orders/all`` read served it first (:attr:`NovigFeed.orders_reads` then)."""
    updated: str = ""

    def __post_init__(self) -> None:
        self.remaining = self.remaining or self.original

    def rest(self) -> dict[str, Any]:
        """The order object of ``orders/all``."""
        return {
            "id": self.id,
            "outcomeId": self.outcome,
            "marketId": self.market.id,
            "price": float(self.price),
            "qty": self.remaining,
            "originalQty": self.original,
            "currency": self.currency,
            "timestamp": self.placed,
            "status": self.status,
            "flags": "",
        }


@dataclass
class NovigFeed:
    """Makes the frames of one step at a time (a fill, a cancel, a market closing…)."""

    seed: int | None = None
    clock: Callable[[], float] = time.time
    markets_open: int = 4
    emitted: list[Emitted] = field(default_factory=list)
    unseen_closes: list[Emitted] = field(default_factory=list)
    """Cancels by a ``CLOSE`` of orders no client was shown: not in :attr:`emitted`."""

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._last_ms = 0
        self.markets: dict[str, SimMarket] = {}
        self.orders: dict[str, SimOrder] = {}
        self.fills: list[dict[str, Any]] = []
        self.orders_reads = 0
        """``orders/all`` reads served so far (the simulator counts them)."""
        """Every fill, in the shape of ``fills/all``, oldest first."""
        for template in self._rng.sample(range(len(_TEMPLATES)), self.markets_open):
            self._open_market(template)
        for _ in range(8):
            self._place()

    # Helpers ------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _now(self) -> str:
        """ISO 8601 UTC, strictly increasing; now and then in whole seconds, as older docs show."""
        self._last_ms = max(self._last_ms + 1, int(self.clock() * 1000))
        ts = datetime.fromtimestamp(self._last_ms / 1000, UTC)
        if self._rng.random() < 0.15:
            return ts.strftime("%Y-%m-%dT%H:%M:%SZ")
        return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"

    def _price(self) -> Decimal:
        """A valid tick: 0.001 steps in the tails, 0.005 in the middle (§4.6)."""
        rng = self._rng
        if rng.random() < 0.2:
            return Decimal(rng.choice((rng.randint(5, 99), rng.randint(901, 995)))) / 1000
        return Decimal(rng.randint(20, 180) * 5) / 1000

    def _size(self, currency: str) -> int:
        if currency == "CASH":
            return self._rng.choice((100, 250, 500, 1000, 2500, 5000, 10000, 15050))
        return self._rng.choice((10, 25, 50, 100, 500, 1000, 2000))

    def _open_market(self, template: int) -> SimMarket:
        market = SimMarket(self._uuid(), self._uuid(), template, (self._uuid(), self._uuid()))
        self.markets[market.id] = market
        return market

    def _open_markets(self) -> list[SimMarket]:
        return [m for m in self.markets.values() if m.status == "OPEN"]

    def _resting(self) -> list[SimOrder]:
        return [o for o in self.orders.values() if o.status == "OPEN"]

    def _place(self, market: SimMarket | None = None, outcome: str | None = None) -> SimOrder:
        rng = self._rng
        market = market or rng.choice(self._open_markets())
        currency = "CASH" if rng.random() < 0.7 else "COIN"
        order = SimOrder(
            id=self._uuid(),
            market=market,
            outcome=outcome or rng.choice(market.outcomes),
            price=self._price(),
            original=self._size(currency),
            currency=currency,
            placed=self._now(),
        )
        self.orders[order.id] = order
        return order

    # Steps --------------------------------------------------------------------

    def next_event(self) -> list[dict[str, Any]]:
        """The messages of the next step (lifecycle ticks included)."""
        rng = self._rng
        extra: list[dict[str, Any]] = []
        if rng.random() < 0.15 and len(self._resting()) < 30:
            self._place()  # the private channel does not announce it
        if rng.random() < 0.05:
            extra.append({"event": "position", "data": {"marketId": rng.choice(list(self.markets)), "qty": 0}})
        resting = self._resting()
        roll = rng.random()
        if resting and roll < 0.06:
            return [*extra, *self._close()]
        if resting and roll < 0.20:
            return [*extra, self._cancel(rng.choice(resting))]
        if resting and roll < 0.28:
            return [*extra, *self._wash(rng.choice(resting))]
        if resting and roll < 0.62:
            return [*extra, self._maker_fill(rng.choice(resting))]
        return [*extra, *self._taker()]

    def _fill(self, order: SimOrder, qty: int, *, taker: bool, wash: bool = False) -> dict[str, Any]:
        order.remaining -= qty
        order.updated = created = self._now()
        if order.remaining == 0:
            order.status = "FILLED"
        fill_id = self._uuid()
        data = {
            "id": fill_id,
            "orderId": order.id,
            "price": float(order.price),
            "qty": qty,
            "createdAt": created,
            "isWash": wash,
            "isTaker": taker,
            "marketId": order.market.id,
            "outcomeId": order.outcome,
        }
        cost = order.price * qty
        transactions = [
            {"kind": f"FILL_STRAIGHT_{'TAKER' if taker else 'MAKER'}_FUNDS", "amount": f"{cost.normalize():f}"}
        ]
        rest: dict[str, object] = {**data, "transactions": transactions}
        if taker and order.currency == "CASH":
            fee = (Decimal("0.07") * qty * order.price * (1 - order.price)).quantize(Decimal("0.0001"))
            rest |= {"fee": f"{fee:f}", "feeCoefficient": "0.07"}
            transactions.append({"kind": "FEE_STRAIGHT_TAKER_LIVE_FUNDS", "amount": f"{fee:f}"})
        self.fills.append(rest)
        unsure = order.visible and order.shown_by == self.orders_reads
        currency = order.currency if order.visible else None
        self.emitted.append(Emitted("fill", fill_id, order.id, qty, currency, None, unsure))
        return {"event": "fill", "data": data}

    def _partial(self, order: SimOrder) -> int:
        if self._rng.random() < 0.5:
            return order.remaining
        return max(1, order.remaining // self._rng.choice((2, 4, 5)))

    def _maker_fill(self, order: SimOrder) -> dict[str, Any]:
        return self._fill(order, self._partial(order), taker=False)

    def _taker(self) -> list[dict[str, Any]]:
        """A new order that takes liquidity at once; part of it may rest."""
        order = self._place()
        return [self._fill(order, self._partial(order), taker=True)]

    def _wash(self, resting: SimOrder) -> list[dict[str, Any]]:
        """A new order of yours on the other outcome matches a resting one of yours."""
        other = next(o for o in resting.market.outcomes if o != resting.outcome)
        taker = self._place(resting.market, other)
        taker.price = Decimal(1) - resting.price
        taker.currency, taker.original = resting.currency, min(taker.original, resting.remaining)
        taker.remaining = taker.original
        qty = taker.original
        return [self._fill(taker, qty, taker=True, wash=True), self._fill(resting, qty, taker=False, wash=True)]

    def _cancel(self, order: SimOrder) -> dict[str, Any]:
        order.status = "CANCELLED"
        order.updated = now = self._now()
        self.emitted.append(Emitted("cancel", order.id, order.id, order.remaining, order.currency, None))
        data = {
            "id": order.id,
            "outcomeId": order.outcome,
            "marketId": order.market.id,
            "price": float(order.price),
            "qty": order.remaining,
            "originalQty": order.original,
            "currency": order.currency,
            "timestamp": now,
            "status": "CANCELLED",
            "flags": "",
        }
        return {"event": "cancel", "data": data}

    def _close(self, market: SimMarket | None = None) -> list[dict[str, Any]]:
        """A market with resting orders (or `market`) closes; a new one opens in its place."""
        market = market or self._rng.choice(self._resting()).market
        market.status = "CLOSED"
        closing = sorted((o for o in self._resting() if o.market is market), key=lambda o: o.id)
        for order in closing:
            order.status = "CANCELLED"
            order.updated = self._now()
            cancel = Emitted("cancel", order.id, order.id, order.remaining, order.currency, "market_closed")
            (self.emitted if order.visible else self.unseen_closes).append(cancel)
        fresh = self._open_market(market.template)
        return [self._tick("END", market), self._tick("CLOSE", market), self._tick("OPEN", fresh)]

    def _tick(self, kind: str, market: SimMarket) -> dict[str, Any]:
        """Bare, as the newest docs show; sometimes enveloped, as older ones did (§4.1)."""
        tick = {"type": kind, "market": market.describe()}
        return tick if self._rng.random() < 0.7 else {"event": "lifecycle", "data": tick}
