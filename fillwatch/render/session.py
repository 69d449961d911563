"""The session's running totals and connection state: a pure model for the views.

:class:`Session` takes every event and status item (and, when the stream
reports it, the time of every frame) and keeps what the table's header and
footer and the exit summary show: per-market totals in exact
:class:`~decimal.Decimal` arithmetic, the connection state, reconnects and
skipped frames. It does no I/O and reads no clock it was not given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

from fillwatch.events import Backfilled, BackfillFailed, Cancel, Connected, Disconnected, Event, Skipped, Status

__all__ = ["ConnectionState", "MarketTotals", "Session"]

ConnectionState: TypeAlias = Literal["connecting", "connected", "disconnected"]
"""Where the connection stands: before the first confirmation, confirmed, or between attempts."""

_ZERO = Decimal(0)


@dataclass(slots=True)
class MarketTotals:
    """What happened on one contract side of one market in this session.

    Totals are kept per side (``yes``/``no`` on Kalshi, the outcome on Novig):
    a VWAP that mixed YES and NO prices would mean nothing.
    """

    venue: str
    market: str
    side: str
    bought: Decimal = _ZERO
    """Contracts (or units) bought."""
    sold: Decimal = _ZERO
    bought_value: Decimal = _ZERO
    """Σ price × qty over the buys."""
    sold_value: Decimal = _ZERO
    fees: Decimal = _ZERO
    fills: int = 0
    cancels: int = 0
    last_seen: int = 0
    """The session's event number of the last event here (orders the footer)."""

    @property
    def net(self) -> Decimal:
        """Net position change on this side: bought − sold."""
        return self.bought - self.sold

    @property
    def buy_vwap(self) -> Decimal | None:
        """Volume-weighted average buy price, or None without buys."""
        return self.bought_value / self.bought if self.bought else None

    @property
    def sell_vwap(self) -> Decimal | None:
        """Volume-weighted average sell price, or None without sells."""
        return self.sold_value / self.sold if self.sold else None


class Session:
    """Running totals and connection state of one run."""

    def __init__(self, *, venue: str, env: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.venue = venue
        self.env = env
        self._clock = clock
        self.started = clock()
        self.events = 0
        self.fills = 0
        self.cancels = 0
        self.totals: dict[tuple[str, str, str], MarketTotals] = {}
        self.state: ConnectionState = "connecting"
        self.retry_in: float | None = None
        self.last_problem: str | None = None
        self.connects = 0
        self.drops = 0
        self.skipped = 0
        self.backfills = 0
        self.backfills_failed = 0
        self.recovered = 0
        """Events the backfills found that the stream had not delivered."""
        self.last_frame: float | None = None
        """Wall-clock time of the last frame received (set through :meth:`frame`)."""
        self.version = 0
        """Bumped on every change, so that views can cache what they drew."""

    @property
    def reconnects(self) -> int:
        """Connections confirmed after the first one."""
        return max(0, self.connects - 1)

    def duration(self) -> float:
        """Seconds since the session started."""
        return self._clock() - self.started

    def add(self, event: Event) -> None:
        """Count one event into the totals of its market and side."""
        self.events += 1
        self.version += 1
        key = (event.venue, event.market, event.side)
        totals = self.totals.get(key)
        if totals is None:
            totals = self.totals[key] = MarketTotals(event.venue, event.market, event.side)
        totals.last_seen = self.events
        if isinstance(event, Cancel):
            self.cancels += 1
            totals.cancels += 1
            return
        self.fills += 1
        totals.fills += 1
        if event.fee is not None:
            totals.fees += event.fee
        if event.action == "buy":
            totals.bought += event.qty
            totals.bought_value += event.price * event.qty
        elif event.action == "sell":
            totals.sold += event.qty
            totals.sold_value += event.price * event.qty

    def status(self, status: Status) -> None:
        """Follow the connection: confirmed, lost (and retrying), frames skipped, history read."""
        self.version += 1
        if isinstance(status, Connected):
            self.connects += 1
            self.state, self.retry_in = "connected", None
        elif isinstance(status, Disconnected):
            if self.state == "connected":
                self.drops += 1
            self.state, self.retry_in, self.last_problem = "disconnected", status.retry_in, status.reason
        elif isinstance(status, Skipped):
            self.skipped = status.count
        elif isinstance(status, Backfilled):
            self.backfills += 1
            self.recovered += status.fills + status.cancels
        elif isinstance(status, BackfillFailed):
            self.backfills_failed += 1

    def frame(self, received_at: float, frame: object = None) -> None:
        """Note that a frame arrived at wall-clock `received_at` (the stream's record hook)."""
        self.last_frame = received_at

    def markets(self, limit: int | None = None) -> list[MarketTotals]:
        """Totals, most recently active first (at most `limit`)."""
        ordered = sorted(self.totals.values(), key=lambda t: t.last_seen, reverse=True)
        return ordered if limit is None else ordered[:limit]
