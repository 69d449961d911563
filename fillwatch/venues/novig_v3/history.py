"""Novig v3 REST history: what the stream missed, read as one chain of pages. Pure.

Facts from ``protocols/novig-v3.md`` §5.6, §6 and §8.3 (Novig's "List fills", "List orders",
"Get an order" pages, ``fixtures/docs/`` of ``Semionsr/novig-v3-kit``):

* ``GET /v3/portfolio/fills`` lists fills newest first, ``{"items", "next"}``, ``after`` = the
  previous ``next``; no time filter, so a read pages back until a fill older than its start.
* A REST ``Fill`` has a ``fillId``; a stream ``fill`` has none. Both are keyed here by the
  stream's ``orderId:remaining`` (:func:`~fillwatch.venues.novig_v3.orders.stream_fill_id`), so
  that the ledger lets each fill through once whichever way it came: a REST fill's
  ``remaining`` is the order's original size less the contracts of its fills up to it, in
  time order (ties: the listing's order reversed, it being newest first). That needs the
  order's size and every earlier fill: the size comes from the stream (the ``open``) or
  ``GET /v3/orders/{id}`` (``qty``), and the listing is read back past the order's
  ``createdTs`` when it started before the read.
* Cancels: an order the snapshot no longer shows is looked up (``status`` ``CANCELED``,
  ``remaining`` = what was left); orders placed and cancelled unseen come from
  ``GET /v3/orders?status=CANCELED``, paged while its orders are newer than the read's start.
  REST gives no cancel time and no ``reason``: such a cancel is dated when it is read.

One read is one history *kind* (:data:`KIND`) whose page tokens say what comes next:
``f:<cursor>`` (the fills listing), ``o:<orderId>`` (one order), ``c`` / ``c:<cursor>`` (the
cancelled orders). :class:`Reader` decides each next page from the bodies alone, so that
``replay`` makes the same decisions from the recorded pages.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from fillwatch.core.events import Cancel, Event, Fill
from fillwatch.venues.base import UNREADABLE, HistoryPage, checked, to_decimal, ts_from_clock, ts_from_ms
from fillwatch.venues.novig_v3.fields import count, price, text

__all__ = ["KIND", "LOOKUP", "Reader", "order_row"]

KIND = "v3"
"""The history kind of a full read (after a reconnect, a gap, ``--since``)."""
LOOKUP = "v3-order"
"""The history kind that looks up the orders the stream never showed resting."""

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class OrderRow:
    """A REST ``Order``."""

    order_id: str
    market: str
    outcome: str
    price: Decimal
    qty: int
    remaining: int
    status: str
    created_ms: int


def order_row(item: Any) -> OrderRow:
    """A REST ``Order`` (ValueError and friends: not one)."""
    return OrderRow(
        text(item["orderId"]),
        text(item["marketId"]),
        text(item["outcomeId"]),
        price(item["price"]),
        count(item["qty"], 1),
        count(item["remaining"], 0),
        text(item["status"]),
        count(item["createdTs"], 0),
    )


@dataclass(slots=True)
class _Read:
    since_ms: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Fill rows read, newest first."""
    oldest_ms: int | None = None
    cursor: str | None = None
    """The listing's next page not read yet (None: the listing ended)."""
    window: set[str] = field(default_factory=set)
    """Orders with fills in the read's window (at or after its start)."""
    lookups: list[str] = field(default_factory=list)
    cancelled: set[str] = field(default_factory=set)
    extending: bool = False
    skipped: int = 0


class Reader:
    """One read of :data:`KIND` at a time; `births` (order id → size, placement ms) is the
    stream's knowledge, and grows with what lookups say; `ended` gives the orders the last
    snapshot no longer showed (taken once per read)."""

    def __init__(
        self,
        births: dict[str, tuple[int, int]],
        ended: Callable[[], Iterable[str]],
        born: Callable[[str, int, int], None],
        clock: Callable[[], float],
        name: str = "novig",
    ) -> None:
        self._births, self._ended, self._born = births, ended, born
        self._clock, self._name = clock, name
        self._read = _Read(0)

    def parse(self, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        """One page of the chain: its events, and the token of the next (None: the read is done)."""
        if page is None:
            self._read = _Read(int(since.timestamp() * 1000))
        read = self._read
        answer = orjson.loads(body)
        if page is None or page.startswith("f:"):
            return self._fills_page(read, answer)
        if page.startswith("o:"):
            return self._order_page(read, answer)
        return self._cancelled_page(read, answer)

    # Fills ------------------------------------------------------------------------------

    def _fills_page(self, read: _Read, answer: Any) -> HistoryPage:
        items, following = _listing(answer)
        for item in items:
            try:
                ts, order_id = count(item["ts"], 0), text(item["orderId"])
            except UNREADABLE:
                read.skipped += 1
                continue
            read.rows.append(item)
            read.oldest_ms = ts if read.oldest_ms is None else min(read.oldest_ms, ts)
            if ts >= read.since_ms and not read.extending:
                read.window.add(order_id)
        read.cursor = following
        if not read.extending and following is not None and (read.oldest_ms or 0) >= read.since_ms:
            return HistoryPage([], f"f:{following}")
        if not read.extending:
            ended = [o for o in dict.fromkeys(self._ended()) if o not in read.window]
            read.lookups = [o for o in read.window if o not in self._births] + ended
            read.extending = True
        return self._onward(read, [])

    def _onward(self, read: _Read, events: list[Event]) -> HistoryPage:
        """After the window: the lookups, then the listing back past the oldest order's placement,
        then the fills themselves, then the cancelled orders."""
        if read.lookups:
            return HistoryPage(events, f"o:{read.lookups.pop(0)}", self._take_skipped(read))
        placed = [self._births[o][1] for o in read.window if o in self._births]
        if read.cursor is not None and placed and read.oldest_ms is not None and min(placed) <= read.oldest_ms:
            return HistoryPage(events, f"f:{read.cursor}", self._take_skipped(read))
        if read.window:
            events = events + self._fills(read)
            read.window = set()
        return HistoryPage(events, "c", self._take_skipped(read))

    def _take_skipped(self, read: _Read) -> int:
        skipped, read.skipped = read.skipped, 0
        return skipped

    def _fills(self, read: _Read) -> list[Event]:
        """The window's fills, each keyed by the ``remaining`` after it."""
        by_order: dict[str, list[dict[str, Any]]] = {}
        for item in reversed(read.rows):  # oldest first; ties keep the listing's order reversed
            by_order.setdefault(item["orderId"], []).append(item)
        events: list[Event] = []
        for order_id in sorted(read.window):
            rows = sorted(by_order.get(order_id, []), key=lambda item: item["ts"])
            size = self._births.get(order_id, (None, 0))[0]
            filled = 0
            for item in rows:
                try:
                    fill = self._fill(item, order_id)
                except UNREADABLE:
                    read.skipped += 1
                    continue
                filled += int(fill.qty)
                if item["ts"] < read.since_ms:
                    continue
                if size is not None and size >= filled:
                    fill = dataclasses.replace(fill, id=f"{order_id}:{size - filled}")
                events.append(fill)
        return events

    def _fill(self, item: dict[str, Any], order_id: str) -> Fill:
        qty = count(item["qty"], 1)
        cost = to_decimal(item["cost"])
        fee = item.get("fee")
        return checked(
            Fill(
                venue=self._name,
                id=text(item["fillId"]),
                order_id=order_id,
                market=text(item["marketId"]),
                side=text(item["outcomeId"]),
                action="buy",
                price=_HUNDRED * cost / qty,
                qty=Decimal(qty),
                ts=ts_from_ms(item["ts"]),
                taker=bool(item["taker"]) if isinstance(item.get("taker"), bool) else None,
                fee=to_decimal(fee) if fee is not None else Decimal(0),
                currency="USD",
                source="history",
            )
        )

    # Orders -----------------------------------------------------------------------------

    def _order_page(self, read: _Read, answer: Any) -> HistoryPage:
        events: list[Event] = []
        try:
            row = order_row(answer)
        except UNREADABLE:
            read.skipped += 1
        else:
            self._born(row.order_id, row.qty, row.created_ms)
            cancel = self._cancel(read, row)
            if cancel is not None:
                events.append(cancel)
        return self._onward(read, events)

    def _cancelled_page(self, read: _Read, answer: Any) -> HistoryPage:
        items, following = _listing(answer)
        events: list[Event] = []
        created: list[int] = []
        for item in items:
            try:
                row = order_row(item)
            except UNREADABLE:
                read.skipped += 1
                continue
            created.append(row.created_ms)
            if row.created_ms >= read.since_ms:
                cancel = self._cancel(read, row)
                if cancel is not None:
                    events.append(cancel)
        newest_first = all(a >= b for a, b in itertools.pairwise(created))
        more = following is not None and not (newest_first and created and created[-1] < read.since_ms)
        return HistoryPage(events, f"c:{following}" if more else None, self._take_skipped(read))

    def _cancel(self, read: _Read, row: OrderRow) -> Cancel | None:
        if row.status != "CANCELED" or row.remaining == 0 or row.order_id in read.cancelled:
            return None
        read.cancelled.add(row.order_id)
        return checked(
            Cancel(
                venue=self._name,
                id=row.order_id,
                order_id=row.order_id,
                market=row.market,
                side=row.outcome,
                action="buy",
                price=row.price,
                qty=Decimal(row.remaining),
                ts=ts_from_clock(self._clock),
                original_qty=Decimal(row.qty),
                currency="USD",
                source="history",
            )
        )


def _listing(answer: Any) -> tuple[list[Any], str | None]:
    """The ``items`` and ``next`` of a page (ValueError: not a page)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
        raise ValueError("not a page of items")
    following = answer.get("next")
    return answer["items"], following if isinstance(following, str) and following else None
