"""Position and realized P&L per market, in YES-equivalent terms: a pure model, no I/O.

On a binary market (sides ``yes``/``no``) every fill is a trade in YES: buying
YES at p is +qty at p; buying NO at p is selling YES at 1 − p, so −qty at
1 − p. Legacy lines that say ``sell`` flip the sign (selling NO at p is buying
YES at 1 − p). On any other venue (Novig's outcomes) each outcome is its own
instrument: a buy is +qty and a sell −qty at the price given.

Realized P&L is **FIFO**: a fill that reduces the open position closes the
oldest open lots first, and each closed contract adds (exit − entry) for a long
lot, (entry − exit) for a short one. It is *gross*: fees are summed apart. A
fill larger than the open position closes all of it and opens the rest the
other way (a flip). Everything is exact :class:`~decimal.Decimal` arithmetic;
only the average entry price divides, and only for display.

The position shown is the venue's own when it said one (the last fill's
``position``, Kalshi's ``post_position``), else the starting position read from
the venue plus the session's net, else the session's net alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from fillwatch import venues
from fillwatch.core.events import Cancel, Event, Fill

__all__ = ["Book", "MarketPosition", "contracts", "currency_label", "yes_terms"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_BINARY = ("yes", "no")


def contracts(event: Event) -> Decimal:
    """The event's quantity in contracts: Novig counts CASH in cents of payout (100 units = one $1 contract).

    Novig's COIN has no dollar value: a unit is one coin of payout, shown as is
    (protocols/novig.md §4.6). Kalshi's counts are contracts already.
    """
    units = venues.display(event.venue).units_per_contract.get(event.currency or "")
    return event.qty if units is None else event.qty / units


def currency_label(event: Event) -> str:
    """What a quantity is counted in, for venues with more than one currency (Novig's CASH and COIN), else ""
    (also for a currency counted in plain contracts: Novig v3's ``USD``)."""
    display = venues.display(event.venue)
    if not display.currencies or event.currency in display.plain:
        return ""
    return event.currency or "MCU?"


def yes_terms(fill: Fill) -> tuple[Decimal, Decimal]:
    """(signed quantity in contracts, price) of `fill` in YES terms (or the outcome's own, off binary markets)."""
    sign = -1 if fill.action == "sell" else 1  # "buy" or none: the current Kalshi reading
    side = fill.side.lower()
    qty = contracts(fill)
    if side == "no":
        return -sign * qty, _ONE - fill.price
    return sign * qty, fill.price


def instrument(event: Event) -> tuple[str, str, str | None]:
    """The key a position is kept under: (venue, market, outcome or None for a binary market)."""
    side = event.side.lower()
    return event.venue, event.market, None if side in _BINARY else event.side


@dataclass(slots=True)
class MarketPosition:
    """One instrument's position and P&L over the session."""

    venue: str
    market: str
    outcome: str | None = None
    """None on a binary market (YES-equivalent terms), else the outcome (Novig)."""
    net: Decimal = _ZERO
    """The session's net change, signed (YES-equivalent)."""
    start: Decimal | None = None
    """The position before the session, when the venue told it."""
    venue_position: Decimal | None = None
    """The venue's own position after the last fill, when it says one."""
    realized: Decimal = _ZERO
    fees: Decimal = _ZERO
    fills: int = 0
    cancels: int = 0
    volume: Decimal = _ZERO
    """Contracts traded (unsigned)."""
    currency: str | None = None
    last_seen: int = 0
    lots: deque[list[Decimal]] = field(default_factory=deque)
    """Open lots, oldest first: [signed qty, price]."""

    @property
    def position(self) -> Decimal:
        """The venue's position, else start + session net, else the session net."""
        if self.venue_position is not None:
            return self.venue_position
        return self.net if self.start is None else self.start + self.net

    @property
    def open_qty(self) -> Decimal:
        """The session's open quantity (signed), the one the average entry is of."""
        return sum((lot[0] for lot in self.lots), _ZERO)

    @property
    def average(self) -> Decimal | None:
        """Average entry price of the session's open lots, or None when flat."""
        qty = sum((abs(lot[0]) for lot in self.lots), _ZERO)
        if not qty:
            return None
        return sum((abs(lot[0]) * lot[1] for lot in self.lots), _ZERO) / qty

    def trade(self, qty: Decimal, price: Decimal) -> None:
        """Apply a signed trade: close opposite lots first-in first-out, open the rest."""
        self.net += qty
        self.volume += abs(qty)
        lots = self.lots
        while qty and lots and (lots[0][0] > 0) != (qty > 0):
            lot = lots[0]
            closed = min(abs(qty), abs(lot[0]))
            direction = 1 if lot[0] > 0 else -1
            self.realized += closed * (price - lot[1]) * direction
            lot[0] -= direction * closed
            qty += direction * closed
            if not lot[0]:
                lots.popleft()
        if qty:
            if lots and lots[-1][1] == price:
                lots[-1][0] += qty
            else:
                lots.append([qty, price])


class Book:
    """Every instrument's :class:`MarketPosition`, fed event by event."""

    def __init__(self, starting: Iterable[tuple[str, str, Decimal]] = ()) -> None:
        self.positions: dict[tuple[str, str, str | None], MarketPosition] = {}
        self.events = 0
        for venue, market, qty in starting:
            self._get((venue, market, None)).start = qty

    def _get(self, key: tuple[str, str, str | None]) -> MarketPosition:
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = MarketPosition(*key)
        return position

    def start(self, venue: str, market: str, qty: Decimal) -> None:
        """Set a binary market's position before the session (read from the venue)."""
        self._get((venue, market, None)).start = qty

    def add(self, event: Event) -> MarketPosition:
        """Count one event in."""
        self.events += 1
        position = self._get(instrument(event))
        position.last_seen = self.events
        if position.currency is None:
            position.currency = event.currency
        if isinstance(event, Cancel):
            position.cancels += 1
            return position
        position.fills += 1
        if not (event.qty.is_finite() and event.price.is_finite()):
            return position  # a number no arithmetic can use (the adapters should have refused it)
        if event.fee is not None and event.fee.is_finite():
            position.fees += event.fee
        if event.position is not None and event.position.is_finite():
            position.venue_position = event.position
        if position.outcome is None:
            qty, price = yes_terms(event)
        else:
            qty = -contracts(event) if event.action == "sell" else contracts(event)
            price = event.price
        position.trade(qty, price)
        return position

    def ordered(self) -> list[MarketPosition]:
        """Instruments with activity, most recently active first; those only known from the start last."""
        return sorted(self.positions.values(), key=lambda p: p.last_seen, reverse=True)

    def realized(self) -> Decimal:
        return sum((p.realized for p in self.positions.values()), _ZERO)

    def fees(self) -> Decimal:
        return sum((p.fees for p in self.positions.values()), _ZERO)
