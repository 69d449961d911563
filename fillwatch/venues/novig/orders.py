"""Novig's book of your orders: what the parser must remember across frames and runs.

Fills carry no currency, and a lifecycle ``CLOSE`` cancels your resting
orders without a cancel event (protocols/novig.md §4.5). So the adapter keeps
your orders — their currency and market — as ``orders/all`` last showed them,
and reconciles each complete read with what it knew: an order that ended with
quantity left, whose cancel the stream cannot have shown, gives a cancel.
:class:`Orders` is that book; :mod:`fillwatch.venues.novig.frames` reads the
frames and pages it is fed from.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fillwatch.core.events import Cancel, Event, Fill
from fillwatch.venues.base import UNREADABLE, field_error, shown, ts_from_clock, ts_from_iso
from fillwatch.venues.novig import frames

__all__ = ["Orders"]

_CURRENCY_CACHE = 65_536  # order ids whose currency is remembered after they closed
_PENDING = 4096  # cancels made and perhaps not shown yet that a --state file can keep for the next run
_PRECISION = timedelta(seconds=1)  # order times may come in whole seconds (§4.4 examples)


@dataclass(frozen=True, slots=True)
class _Order:
    """One of your orders that ``orders/all`` last showed open."""

    market: str
    currency: str
    placed: datetime | None


class Orders:
    """Your orders as the stream and ``orders/all`` told of them.

    Args:
        clock: wall-clock seconds (read at each use), to date a cancel
            learned from ``orders/all`` that carries no time.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._open: dict[str, _Order] = {}
        self._currency: OrderedDict[str, str] = OrderedDict()
        self._touched: set[str] = set()
        """Markets of live fills of orders not known open, since the last complete orders read."""
        self._closing: dict[str, datetime] = {}
        """Markets whose CLOSE asked for an orders read that has not completed yet, and the close's time."""
        self._closed_markets: OrderedDict[str, None] = OrderedDict()
        """Markets seen closing on the stream: orders on them that REST shows ended were closed."""
        self._reported: OrderedDict[str, None] = OrderedDict()
        """Orders whose cancel came from REST: a later cancel event of theirs is not shown again."""
        self._ending: OrderedDict[str, tuple[_Order | None, Cancel]] = OrderedDict()
        """Cancels made but perhaps not shown yet, with the order as it was known open (see :meth:`memory`)."""
        self._ended: OrderedDict[str, datetime] = OrderedDict()
        """Orders whose cancel was made, with its time, since about the last complete orders read:
        never new to a later read (:meth:`parse_orders`), in this run or the next."""
        self._gaps = 0
        """Full backfills begun: each follows a gap in the stream (a reconnection, a run's start)."""
        self._read_gaps = self._gaps_covered = 0
        """The gaps before the orders read under way, and before the last complete one."""
        self._orders_seen_until: datetime | None = None
        """The newest order time of the last complete ``orders/all`` read: orders after it are new."""
        self._orders_reading: datetime | None = None
        self._before_read: tuple[Any, ...] | None = None
        """What the orders read under way may change, as it was before: a read that fails part-way
        (its events never shown) is undone when the next one begins, so that it finds them again."""

    # The stream ---------------------------------------------------------------

    def currency_of(self, order_id: str) -> str | None:
        order = self._open.get(order_id)
        if order is not None and order.currency is not None:
            return order.currency
        return self._currency.get(order_id)

    def filled(self, fill: Fill) -> None:
        """A live fill: one of an order not known open (placed since the last orders read)
        marks its market, where the order may rest, so that a ``CLOSE`` of it matters."""
        if fill.order_id not in self._open:
            self._touched.add(fill.market)

    def cancelled(self, cancel: Cancel, data: dict[str, Any]) -> bool:
        """A live cancel event: whether to show it (not when REST reported it already)."""
        self._learn_currency(cancel, data)
        order = self._open.pop(cancel.order_id, None)
        if cancel.order_id in self._reported:
            return False  # already reported from REST (its market closed)
        self._made(cancel, order)
        return True

    def closing(self, market_id: str, when: Callable[[], datetime]) -> bool:
        """A market's ``CLOSE``: whether to read ``orders/all`` now (you may have orders resting there).

        `when` dates the close (read only when it matters).
        """
        _remember(self._closed_markets, market_id)
        if market_id in self._closing:
            return False  # a repeated tick: the read is already asked for
        mine = market_id in self._touched or any(o.market == market_id for o in self._open.values())
        if not mine:
            return False
        self._closing[market_id] = when()
        return True

    def gap(self) -> None:
        """The stream may have missed events since the last orders read (a full backfill begins):
        until an orders read begun after it completes, an order known open that REST shows ended
        may have ended unseen, for a reason REST does not give, before any ``CLOSE`` seen since."""
        self._gaps += 1

    @property
    def open_orders(self) -> dict[str, str]:
        """Order id → market of every order ``orders/all`` last showed open."""
        return {order_id: order.market for order_id, order in self._open.items()}

    # REST orders --------------------------------------------------------------

    def begin_read(self) -> None:
        """A read of every currency's orders begins (and the last one, if it did not complete, is undone)."""
        if self._before_read is not None:
            self._open, self._currency, self._reported, self._ended, self._ending = self._before_read
        self._before_read = tuple(
            m.copy() for m in (self._open, self._currency, self._reported, self._ended, self._ending)
        )
        self._orders_reading = None
        self._read_gaps = self._gaps

    def read(self) -> None:
        """A read of every currency's orders completed: it is what the next read compares with."""
        self._before_read = None
        self._gaps_covered = self._read_gaps
        if self._orders_reading is not None:
            seen = self._orders_seen_until
            self._orders_seen_until = max(self._orders_reading, seen or self._orders_reading)
            # An order cancelled before the next read's horizon was placed before it too: never new again.
            new_from = self._orders_seen_until - _PRECISION
            self._ended = OrderedDict((k, ts) for k, ts in self._ended.items() if ts >= new_from)
        self._touched.clear()
        self._closing.clear()

    def parse_orders(
        self, items: list[Any], currency: str, since: datetime
    ) -> tuple[list[Event], list[datetime], datetime]:
        """One page of orders: the cancels it reveals, the orders' times, and how far back to read.

        An order that ended with quantity left — cancelled, closed, or still
        shown resting on a market seen closing — gives a cancel when the stream
        cannot have shown it: the order was known open, or it is new since the
        last complete orders read (placed after its newest order, never seen).
        A market seen closing names the reason, ``market_closed``; otherwise
        REST says neither why nor (unless the order carries ``updatedAt`` or
        ``cancelledAt``) when, and the cancel is dated when fillwatch learned
        of it. Cancels of the ``CLOSE`` that asked for this read are live
        events dated with the tick; the others happened while disconnected.
        """
        new_from = None if self._orders_seen_until is None else self._orders_seen_until - _PRECISION
        floor = min([since, *(o.placed for o in self._open.values() if o.placed is not None)])
        floor = floor if new_from is None else min(floor, new_from)
        events: list[Event] = []
        times: list[datetime] = []
        for item in items:
            try:  # read all of the order first: an unreadable one is skipped, and changes nothing
                order_id, placed = frames.text(item["id"]), ts_from_iso(item["timestamp"])
                market, order_currency, resting = frames.read_order_fields(item, currency)
                order = _Order(market, order_currency, placed)
                known = self._open.get(order_id)
                new = (
                    known is None
                    and order_id not in self._currency
                    and order_id not in self._ended
                    and new_from is not None
                    and placed >= new_from
                )
                ended = (known is not None or new) and frames.ended(item, closed=order.market in self._closed_markets)
                cancel = self._reconciled_cancel(item, currency) if ended else None
            except UNREADABLE:
                continue
            times.append(placed)
            self._orders_reading = max(placed, self._orders_reading or placed)
            if cancel is not None:
                self._made(cancel, known)
                events.append(cancel)
            self._learn_order(order_id, order, resting)
        return events, times, floor

    # Across runs (--state) ----------------------------------------------------

    def memory(self, done: Callable[[Event], bool]) -> dict[str, Any] | None:
        """What the next run needs to report the cancels no run saw, as JSON (None: nothing known yet).

        REST dates no cancel, so only a run that knows which orders were open
        can tell which ended while nobody watched (§7). Kept: the orders known
        open, and those whose cancel is not `done` yet (the ledger has not
        shown it: a run that stops before showing it leaves it to the next);
        the newest order time of the last complete read (later orders are new
        to the next read); and the orders cancelled since, which are not new.
        """
        if self._orders_seen_until is None:
            return None
        for order_id in [k for k, (_, cancel) in self._ending.items() if done(cancel)]:
            del self._ending[order_id]
        orders = {**{k: order for k, (order, _) in self._ending.items() if order is not None}, **self._open}
        new_from = self._orders_seen_until - _PRECISION
        ended = [k for k, ts in self._ended.items() if ts >= new_from and k not in orders and k not in self._ending]
        return {
            "orders_seen_until": self._orders_seen_until.isoformat(),
            "open": [[k, o.market, o.currency, o.placed and o.placed.isoformat()] for k, o in orders.items()],
            "ended": ended,
        }

    def recall(self, memory: Any) -> None:
        """Take up what a previous run's :meth:`memory` kept.

        Raises:
            ValueError: `memory` is not what :meth:`memory` makes.
        """
        try:
            seen_until = ts_from_iso(memory["orders_seen_until"])
            orders: dict[str, _Order] = {}
            for order_id, market, currency, placed in memory["open"]:
                if currency not in frames.CURRENCIES:
                    raise ValueError(f"unknown currency {shown(currency)}")
                orders[frames.text(order_id)] = _Order(frames.text(market), currency, frames.time_or_none(placed))
            ended = [frames.text(k) for k in memory["ended"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Novig order memory ({field_error(exc)})") from None
        self._open = orders
        for order_id, order in orders.items():
            self._remember_currency(order_id, order.currency)
        self._orders_seen_until = seen_until
        self._ended = OrderedDict.fromkeys(ended, seen_until)

    # Book-keeping -------------------------------------------------------------

    def _learn_currency(self, cancel: Cancel, data: dict[str, Any]) -> None:
        """A cancel read whole that names its currency: remember the order's."""
        if data.get("currency") in frames.CURRENCIES and cancel.currency is not None:
            self._remember_currency(cancel.order_id, cancel.currency)

    def _remember_currency(self, order_id: str, currency: str) -> None:
        self._currency[order_id] = currency
        self._currency.move_to_end(order_id)
        if len(self._currency) > _CURRENCY_CACHE:
            self._currency.popitem(last=False)

    def _learn_order(self, order_id: str, order: _Order, resting: bool) -> None:
        """Take one REST order as the truth about that order."""
        self._remember_currency(order_id, order.currency)
        if resting and order.market not in self._closed_markets:
            self._open[order_id] = order
        else:
            self._open.pop(order_id, None)

    def _made(self, cancel: Cancel, order: _Order | None) -> None:
        """A cancel was made for an order (`order`: as it was known open): remember it ended."""
        _remember(self._ended, cancel.order_id, cancel.ts)
        _remember(self._ending, cancel.order_id, (order, cancel), capacity=_PENDING)

    def _reconciled_cancel(self, item: dict[str, Any], currency: str) -> Cancel:
        """The cancel REST shows for an order whose cancel the stream did not (see :meth:`parse_orders`)."""
        data = {"currency": currency, **item}
        market = item.get("marketId")
        unsure = self._gaps_covered < self._gaps  # it may have ended in a gap, before the CLOSE
        reason = "market_closed" if market in self._closed_markets and not unsure else None
        if market in self._closing and not unsure:
            cancel = self._cancel(data, source="live", ts=self._closing[market], reason=reason)
        elif ts_key := next((k for k in ("updatedAt", "cancelledAt") if item.get(k)), None):
            cancel = self._cancel(data, source="history", ts_key=ts_key, reason=reason)
        else:
            cancel = self._cancel(data, source="history", ts=ts_from_clock(self._clock), reason=reason)
        _remember(self._reported, cancel.order_id)
        return cancel

    def _cancel(self, data: dict[str, Any], **how: Any) -> Cancel:
        cancel = frames.cancel_event(data, currency_of=self.currency_of, **how)
        self._learn_currency(cancel, data)
        return cancel


def _remember(cache: OrderedDict[str, Any], key: str, value: Any = None, *, capacity: int = _CURRENCY_CACHE) -> None:
    """Add `key` to a bounded cache of recent ids."""
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > capacity:
        cache.popitem(last=False)
