"""Novig v3: the private ``orders`` channel, frames in, fills, cancels and control items out.

Facts from Novig's streaming pages ("Private", "Connection"), summarised in
``protocols/novig-v3.md`` §4–§5 and §8: frames carry no type field; a string ``code`` is an
error, ``heartbeat`` a heartbeat, and an ``orders`` object a snapshot (``open``) or a batch
(``deltas``, one ``seq``). Batch events are ``open``, ``fill``, ``cancel`` and ``reject``; an
order's fills come before its ``open``/``cancel``/``reject`` in one batch. A ``fill`` names
no market, so the market comes from the order's ``open`` (or snapshot entry); an order the
stream never showed resting is asked for (:class:`OrderLookup`) and its events wait.

Units (§9): ``price`` is a 0–1 decimal string, ``qty`` whole contracts (each pays 1 cent),
times Unix milliseconds; every order buys its ``outcomeId``, which is the line's ``side``.
Sans-I/O: the stream sends what :class:`Reply` carries and acts on the other items.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

import orjson

from fillwatch.core.events import Cancel, Fill
from fillwatch.venues.base import (
    UNREADABLE,
    Ack,
    Malformed,
    Parsed,
    Reply,
    Resync,
    decode,
    excerpt,
    field_error,
    ts_from_ms,
)
from fillwatch.venues.novig_v3.control import close_meaning, error_frame, error_meaning
from fillwatch.venues.novig_v3.fields import count as _count
from fillwatch.venues.novig_v3.fields import price as _price
from fillwatch.venues.novig_v3.fields import text as _text
from fillwatch.venues.novig_v3.seq import Gap, Lost, Recovered, SeqTracker, Verdict

__all__ = [
    "CANCEL_REASONS",
    "ENDPOINTS",
    "WS_PATH",
    "Gap",
    "NovigV3Orders",
    "OrderLookup",
    "Recovered",
    "V3Parsed",
    "close_meaning",
    "error_meaning",
    "stream_fill_id",
]

WS_PATH = "/v3/ws"
ENDPOINTS: dict[str, tuple[str, str]] = {
    # env: (WebSocket URL, REST base) — protocols/novig-v3.md §1.
    "prod": ("wss://api.novig.com/v3/ws", "https://api.novig.com"),
    "demo": ("wss://api.qa.novig.com/v3/ws", "https://api.qa.novig.com"),
}

CANCEL_REASONS = {
    "GO_LIVE": "went_live",
    "MARKET_CLOSED": "market_closed",
    "SETTLED": "settled",
    "NEUTRALIZED": "neutralized",
}
"""A ``cancel`` event's ``reason`` → CONTRACT §3 ``reason``; none given → null, any other → ``"other"``."""

_ORDER_CACHE = 100_000
_WAITING_ORDERS = 1_000
_WAITING_EVENTS = 256
_MAX_INT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class OrderLookup:
    """Events of an order the stream never showed resting wait: read ``GET /v3/orders/{order_id}``
    and hand the body to :meth:`NovigV3Orders.learn_order`."""

    order_id: str


V3Parsed: TypeAlias = Parsed | Gap | OrderLookup | Recovered
"""What the adapter makes of a frame: the shared items, and the v3 ones the later wiring acts on."""


@dataclass(slots=True)
class _Order:
    market: str
    outcome: str
    price: Decimal
    resting: int
    original: int | None


@dataclass(frozen=True, slots=True)
class _Batch:
    ts_ms: int
    events: list[Any]
    frame: str


def stream_fill_id(order_id: str, remaining: int) -> str:
    """The id of a stream fill: no fill id is sent, and ``remaining`` falls with every fill of an order."""
    return f"{order_id}:{remaining}"


class NovigV3Orders:
    """Follows one subaccount's ``orders`` channel; the order book it keeps outlives connections."""

    name = "novig"
    channels = frozenset({"orders"})

    def __init__(self) -> None:
        self._orders: OrderedDict[str, _Order] = OrderedDict()
        self._waiting: OrderedDict[str, list[tuple[dict[str, Any], int, bool]]] = OrderedDict()
        self._seq: SeqTracker[_Batch] = SeqTracker("orders")
        self._nonce = 0
        self._pending: set[int] = set()
        """Nonces of our requests not answered yet (the subscribe, a snapshot)."""
        self._baselined = False
        self._last_ts: int | None = None
        self.births: OrderedDict[str, tuple[int, int]] = OrderedDict()
        """Order id → (size, placement ms): from an ``open`` (always in the order's first batch) or a lookup."""

    def subscribe_frames(self) -> Sequence[bytes]:
        """The subscribe for a new connection, which starts afresh: nonces from 1, no ``seq`` yet."""
        self._seq.reset()
        self._nonce = 0
        self._pending.clear()
        return [self._request("subscribe")]

    def parse(self, frame: str | bytes) -> Sequence[V3Parsed]:
        """Interpret one received frame; unknown frames give nothing, broken ones a :class:`Malformed`."""
        message = decode(frame)
        if isinstance(message, Malformed):
            return [message]
        text = frame if isinstance(frame, str) else ""
        try:
            if (error := error_frame(message)) is not None:
                return self._error(error, text)
            if "heartbeat" in message:
                return self._heartbeat(message["heartbeat"])
            if isinstance(message.get("nonce"), int):
                self._pending.discard(message["nonce"])
            orders = message.get("orders")
            if orders is None:
                return []
            if "open" in orders:
                return self._snapshot(orders, text)
            if "deltas" in orders:
                return self._offer(orders, message.get("ts"), text)
        except UNREADABLE as exc:
            return [Malformed(f"bad Novig v3 frame ({field_error(exc)})", excerpt(frame))]
        return []

    def learn_order(self, body: bytes) -> Sequence[V3Parsed]:
        """A REST ``Order`` (``GET /v3/orders/{id}``): the events of that order that waited for it."""
        try:
            row = orjson.loads(body)
            order_id = _text(row["orderId"])
            order = _Order(
                _text(row["marketId"]),
                _text(row["outcomeId"]),
                _price(row["price"]),
                _count(row["remaining"], 0),
                _count(row["qty"], 1),
            )
        except UNREADABLE as exc:
            return [Malformed(f"bad Novig v3 order ({field_error(exc)})", excerpt(body))]
        created = row.get("createdTs")
        if type(created) is int and order.original is not None:
            self.born(order_id, order.original, created)
        items: list[V3Parsed] = []
        for event, ts_ms, taker in self._waiting.pop(order_id, []):
            items.extend(self._event(event, ts_ms, order_id, order, taker=taker))
        return items

    def born(self, order_id: str, size: int, created_ms: int) -> None:
        """Remember an order's original size and placement time (bounded: the oldest go first)."""
        self.births[order_id] = (size, created_ms)
        self.births.move_to_end(order_id)
        while len(self.births) > _ORDER_CACHE:
            self.births.popitem(last=False)

    def book(self) -> list[list[Any]]:
        """The resting orders, as JSON rows, for the next run (:meth:`restore`)."""
        return [[i, o.market, o.outcome, str(o.price), o.resting, o.original] for i, o in self._orders.items()]

    def restore(self, rows: list[Any]) -> None:
        """Take up a previous run's :meth:`book`: its first snapshot is then diffed against it."""
        for order_id, market, outcome, limit, resting, original in rows:
            size = None if original is None else _count(original, 1)
            self._remember(
                _text(order_id), _Order(_text(market), _text(outcome), _price(limit), _count(resting, 0), size)
            )
        self._baselined = bool(self._orders)

    def waiting(self) -> list[str]:
        """The orders whose events wait for a lookup, oldest first."""
        return list(self._waiting)

    # Frames -------------------------------------------------------------------

    def _request(self, verb: str) -> bytes:
        self._nonce += 1
        self._pending.add(self._nonce)
        return orjson.dumps({"nonce": self._nonce, verb: {"private": ["orders"]}})

    def _error(self, message: dict[str, Any], text: str) -> Sequence[V3Parsed]:
        """An error frame; one without a nonce answers what we are waiting for (a throttled frame)."""
        nonce = message.get("nonce")
        ours = nonce in self._pending if isinstance(nonce, int) else bool(self._pending)
        if ours and isinstance(nonce, int):
            self._pending.discard(nonce)
        elif ours:
            self._pending.clear()
        return [error_meaning(message, ours=ours, frame=text)]

    def _heartbeat(self, body: dict[str, Any]) -> Sequence[V3Parsed]:
        """``{"heartbeat": {"orders": 911, "ts": …}}``: the server's last ``seq`` for each private channel."""
        if not isinstance(body, dict):
            raise TypeError("heartbeat is not an object")
        if "orders" not in body:
            return []
        return self._verdict(self._seq.heartbeat(_count(body["orders"], 0)))

    def _snapshot(self, orders: dict[str, Any], text: str) -> Sequence[V3Parsed]:
        """``{"seq": 907, "open": [{orderId, marketId, outcomeId, price, qty, tif, …}]}``: a new baseline."""
        seq = _count(orders["seq"], 0)
        book: dict[str, _Order] = {}
        items: list[V3Parsed] = [Ack("orders")]
        for entry in orders["open"]:
            try:
                order_id, order = self._open_entry(entry)
            except UNREADABLE as exc:
                items.append(Malformed(f"bad Novig v3 open order ({field_error(exc)})", excerpt(text)))
                continue
            known = self._orders.get(order_id)
            order.original = known.original if known else None  # qty is what still rests, not the size
            book[order_id] = order
        if self._baselined:
            items.append(self._diff(seq, book))
        self._baselined = True
        self._orders = OrderedDict(book)
        ready, verdict = self._seq.snapshot(seq)
        for batch in ready:
            items.extend(self._apply(batch))
        items.extend(self._verdict(verdict))
        return items

    def _diff(self, seq: int, book: dict[str, _Order]) -> Recovered:
        ended = tuple(o for o in self._orders if o not in book)
        shrunk = tuple(o for o, new in book.items() if o in self._orders and new.resting < self._orders[o].resting)
        appeared = tuple(o for o in book if o not in self._orders)
        return Recovered(seq, self._last_ts, ended, shrunk, appeared)

    def _offer(self, orders: dict[str, Any], ts: object, text: str) -> Sequence[V3Parsed]:
        """``{"seq": 908, "deltas": [...]}`` in a frame with top-level ``ts``: a batch, in ``seq`` order."""
        seq = _count(orders["seq"], 1)
        ts_from_ms(ts)  # a batch without a usable time is not applied: the next one shows the gap
        if not isinstance(orders["deltas"], list):
            raise TypeError("deltas is not a list")
        ready, verdict = self._seq.batch(seq, _Batch(ts, orders["deltas"], text))  # type: ignore[arg-type]
        items: list[V3Parsed] = []
        for batch in ready:
            items.extend(self._apply(batch))
        items.extend(self._verdict(verdict))
        return items

    def _verdict(self, verdict: Verdict) -> Sequence[V3Parsed]:
        if isinstance(verdict, Gap):
            return [verdict, Reply(self._request("snapshot"))]
        if isinstance(verdict, Lost):
            return [Resync(f"Novig v3 orders stream lost its numbering: {verdict.reason}")]
        return []

    # Events -------------------------------------------------------------------

    def _apply(self, batch: _Batch) -> list[V3Parsed]:
        """One batch as a unit: fills first learn their market from the order's ``open`` in it."""
        self._last_ts = batch.ts_ms
        events = [e for e in batch.events if isinstance(e, dict) and isinstance(e.get("orderId"), str)]
        resting_before = {e["orderId"] for e in events} & self._orders.keys()
        opens = {e["orderId"]: e for e in events if e.get("kind") == "open"}
        items: list[V3Parsed] = []
        for event in batch.events:
            try:
                items.extend(self._batch_event(event, batch.ts_ms, opens, resting_before))
            except UNREADABLE as exc:
                items.append(Malformed(f"bad Novig v3 order event ({field_error(exc)})", excerpt(batch.frame)))
        return items

    def _batch_event(self, event: Any, ts_ms: int, opens: dict[Any, Any], resting_before: set[Any]) -> list[V3Parsed]:
        kind = event["kind"]
        order_id = _text(event["orderId"])
        if kind == "open":
            _, opened = self._open_entry(event)
            known = self._orders.get(order_id)
            if known is not None:  # it filled earlier in this batch, before it rested
                opened.original = known.original
            self._remember(order_id, opened)
            if opened.original is not None:
                self.born(order_id, opened.original, ts_ms)
            return []
        if kind not in ("fill", "cancel", "reject"):
            return []  # unknown kinds are ignored
        order = self._orders.get(order_id)
        if order is None and kind == "fill" and order_id in opens:
            _, order = self._open_entry(opens[order_id])  # it rests after these fills: its size is this fill's
            order.resting = order.original = _count(event["remaining"], 0) + _count(event["qty"], 1)
            self._remember(order_id, order)
        taker = order_id not in resting_before
        if order is None:
            return self._wait(order_id, event, ts_ms, taker) if kind != "reject" else []
        return self._event(event, ts_ms, order_id, order, taker=taker)

    def _event(self, event: dict[str, Any], ts_ms: int, order_id: str, order: _Order, *, taker: bool) -> list[V3Parsed]:
        kind = event["kind"]
        if kind == "fill":
            return [self._fill(event, ts_ms, order_id, order, taker)]
        if kind == "reject":  # accepted, then refused: of a resting order, the venue took it off the book
            items: list[V3Parsed] = [self._cancel(event, ts_ms, order_id, order, "other")] if order.resting else []
        else:
            reason = event.get("reason")
            label = None if reason is None else CANCEL_REASONS.get(_text(reason), "other")
            items = [self._cancel(event, ts_ms, order_id, order, label)]
        self._orders.pop(order_id, None)
        return items

    def _fill(self, event: dict[str, Any], ts_ms: int, order_id: str, order: _Order, taker: bool) -> Fill:
        qty, remaining = _count(event["qty"], 1), _count(event["remaining"], 0)
        fill = Fill(
            venue=self.name,
            id=stream_fill_id(order_id, remaining),
            order_id=order_id,
            market=order.market,
            side=_text(event["outcomeId"]),
            action="buy",
            price=_price(event["price"]),
            qty=Decimal(qty),
            ts=ts_from_ms(ts_ms),
            taker=taker,
            currency="USD",
        )
        order.resting = remaining
        if remaining == 0:
            self._orders.pop(order_id, None)
        return fill

    def _cancel(self, event: dict[str, Any], ts_ms: int, order_id: str, order: _Order, reason: str | None) -> Cancel:
        left = event.get("remaining")  # not in the documented event; read when present
        qty = order.resting if left is None else _count(left, 1)
        return Cancel(
            venue=self.name,
            id=order_id,
            order_id=order_id,
            market=order.market,
            side=order.outcome,
            action="buy",
            price=order.price,
            qty=Decimal(qty),
            ts=ts_from_ms(ts_ms),
            original_qty=None if order.original is None else Decimal(order.original),
            currency="USD",
            reason=reason,
        )

    def _wait(self, order_id: str, event: dict[str, Any], ts_ms: int, taker: bool) -> list[V3Parsed]:
        """Keep an unknown order's event until :meth:`learn_order`; ask once per order."""
        items: list[V3Parsed] = []
        events = self._waiting.get(order_id)
        first = events is None
        if events is None:
            if len(self._waiting) >= _WAITING_ORDERS:  # make room: the oldest waiting order is given up
                dropped, _ = self._waiting.popitem(last=False)
                items.append(Malformed(f"too many Novig v3 orders waiting for a lookup; dropped {dropped}", ""))
            events = self._waiting[order_id] = []
        if len(events) >= _WAITING_EVENTS:
            return [Malformed(f"too many Novig v3 events waiting for order {order_id}", "")]
        events.append((event, ts_ms, taker))
        return [*items, OrderLookup(order_id)] if first else []

    def _open_entry(self, entry: dict[str, Any]) -> tuple[str, _Order]:
        """A snapshot entry or ``open`` event: the order as it rests (``qty`` is what still rests)."""
        order_id = _text(entry["orderId"])
        resting = _count(entry["qty"], 1)
        order = _Order(_text(entry["marketId"]), _text(entry["outcomeId"]), _price(entry["price"]), resting, resting)
        return order_id, order

    def _remember(self, order_id: str, order: _Order) -> None:
        self._orders[order_id] = order
        self._orders.move_to_end(order_id)
        while len(self._orders) > _ORDER_CACHE:
            self._orders.popitem(last=False)
