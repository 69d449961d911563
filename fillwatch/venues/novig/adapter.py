"""Novig NBX API: Bearer tokens, the private channel, lifecycle ticks, REST history.

Facts from ``protocols/novig.md``: the upgrade to ``/tape`` carries
``Authorization: Bearer <token>`` (§2.2); the ``private`` channel is automatic
and pushes enveloped ``fill`` and ``cancel`` events (§4.3, §4.4); the public
``lifecycle`` channel's ``CLOSE`` tick is the only sign that a market closed and
took your resting orders with it (§4.5); prices are decimal probabilities and
quantities integers in minimum currency units (§4.6); fill events carry no
currency, so it comes from a cache of your orders (``orders/all``, cancels).

The adapter is Sans-I/O but not stateless: it remembers your orders — their
currency and market — to label fills, and to know which ``CLOSE`` ticks concern
you. For those it asks for ``orders/all`` at once (:class:`Reconcile`), which
says exactly which orders the close took and what was left of them: a count
kept from the stream cannot, since a snapshot read while fills arrive leaves
unknowable which of them it already includes. The net layer sets
:attr:`Novig.token`.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from fillwatch.core.events import Cancel, Event, Fill
from fillwatch.core.secret import RedactedDict, Secret
from fillwatch.venues.base import (
    UNREADABLE,
    Ack,
    HistoryPage,
    Malformed,
    Parsed,
    Reconcile,
    Rejected,
    Reply,
    Request,
    checked,
    decode,
    excerpt,
    field_error,
    shown,
    to_decimal,
    ts_from_clock,
    ts_from_iso,
)

__all__ = ["ENDPOINTS", "PONG", "Endpoints", "Novig", "parser", "token_audience"]


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where one Novig environment lives (protocols/novig.md §1)."""

    ws: str
    api: str
    token: str


ENDPOINTS: dict[str, Endpoints] = {
    # The newest docs' production hosts; the current token endpoint is documented on api.novig.us.
    "prod": Endpoints(
        "wss://api.novig.com/tape",
        "https://api.novig.com/nbx/v2",
        "https://api.novig.us/nbx/v1/auth/emm-token",
    ),
    "demo": Endpoints(
        "wss://api-qa.novig.us/tape",
        "https://api-qa.novig.us/nbx/v2",
        "https://api-qa.novig.us/nbx/v1/auth/emm-token",
    ),
}

PONG = b'{"event":"pong","data":{"message":"pong"}}'
"""The answer to the older JSON heartbeat (§3)."""

_SUBSCRIBE_LIFECYCLE = b'{"event":"subscribe","data":"lifecycle"}'
_PAGE_SIZE = 256  # the documented maximum of the user-history endpoints (§6.1)
_CURRENCIES = ("CASH", "COIN")
_OPEN_STATUSES = frozenset({"OPEN", "RESTING", "PARTIALLY_FILLED"})
_CANCELLED_STATUSES = frozenset({"CANCELLED", "CANCELED"})
_MCU_PER_CASH = Decimal(100)
_AUTH_WORDS = ("unauthorized", "unauthenticated", "authentication", "forbidden", "token expired", "invalid token")
_CURRENCY_CACHE = 65_536  # order ids whose currency is remembered after they closed
_PENDING = 4096  # cancels made and perhaps not shown yet that a --state file can keep for the next run
_PRECISION = timedelta(seconds=1)  # order times may come in whole seconds (§4.4 examples)
_READ_ORDERS = Reconcile("orders")


def token_audience(token_url: str) -> str | None:
    """The ``audience`` the legacy Auth0 endpoint wants, None for ``emm-token``.

    The legacy endpoint is ``…/oauth/token``; its audience is the QA API for a
    QA host (``auth-qa.novig.us``) and ``https://api.novig.us`` otherwise (§2.2).
    """
    parts = urlsplit(token_url)
    if not parts.path.rstrip("/").endswith("/oauth/token"):
        return None
    host = (parts.hostname or "").lower()
    is_qa = any(label == "qa" or label.endswith("-qa") for label in host.split("."))
    return "https://api-qa.novig.us" if is_qa else "https://api.novig.us"


@dataclass(frozen=True, slots=True)
class _Order:
    """One of your orders that ``orders/all`` last showed open."""

    market: str
    currency: str
    placed: datetime | None


class Novig:
    """The Novig adapter for one trader (the token is set by the net layer)."""

    name = "novig"
    channels: frozenset[str] = frozenset()  # the private channel needs no subscription
    history_kinds: tuple[str, ...] = ("fills", "orders")
    warm_up: tuple[str, ...] = ("orders",)  # your orders: for fills' currency, and the CLOSE ticks that concern you
    retry_after_unit = 0.001  # NBX counts Retry-After in milliseconds (novig.md §5)

    def __init__(
        self,
        *,
        api_url: str = ENDPOINTS["prod"].api,
        token_url: str = ENDPOINTS["prod"].token,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        api_url: the REST base, ``/nbx/v2`` included.
        token_url: the token endpoint.
        clock: wall-clock seconds, used only to date the cancels whose time
            the venue does not send (a ``CLOSE`` tick's, or a cancel learned
            from ``orders/all``).
        """
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self.token: Secret | None = None
        self.clock = clock
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
        never new to a later read (:meth:`_parse_orders`), in this run or the next."""
        self._orders_seen_until: datetime | None = None
        """The newest order time of the last complete ``orders/all`` read: orders after it are new."""
        self._orders_reading: datetime | None = None
        self._before_read: tuple[Any, ...] | None = None
        """What the orders read under way may change, as it was before: a read that fails part-way
        (its events never shown) is undone when the next one begins, so that it finds them again."""

    def __repr__(self) -> str:
        return f"Novig(api_url={self.api_url!r})"

    # Authentication ----------------------------------------------------------

    def handshake_headers(self, now_ms: int) -> dict[str, str]:
        """``Authorization: Bearer <token>`` for the upgrade (and every REST call)."""
        if self.token is None:
            raise RuntimeError("no Novig token yet: the net layer sets it before connecting")
        return RedactedDict(Authorization=f"Bearer {self.token.reveal()}")

    def token_request(self, client_id: str, client_secret: Secret) -> Request:
        """The client-credentials request (§2.2), with ``audience`` for the legacy endpoint."""
        body = RedactedDict(grant_type="client_credentials", client_id=client_id, client_secret=client_secret.reveal())
        audience = token_audience(self.token_url)
        if audience is not None:
            body["audience"] = audience
        return Request(method="POST", url=self.token_url, json=body)

    @staticmethod
    def parse_token(body: bytes) -> tuple[Secret, float]:
        """The ``access_token`` and its lifetime in seconds (1800 when not given).

        Raises:
            ValueError: when the body has no access token.
        """
        message = orjson.loads(body)
        token = message.get("access_token") if isinstance(message, dict) else None
        if not isinstance(token, str) or not token:
            raise ValueError("the token endpoint answered without an access_token")
        expires_in = message.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 1800.0
        return Secret(token), lifetime

    # The stream ---------------------------------------------------------------

    def subscribe_frames(self) -> Sequence[bytes]:
        """The public ``lifecycle`` subscription: a ``CLOSE`` cancels resting orders silently."""
        return [_SUBSCRIBE_LIFECYCLE]

    def parse(self, frame: str | bytes) -> Sequence[Parsed]:
        """Turn one frame, enveloped or bare, into events and control items."""
        message = decode(frame)
        if isinstance(message, Malformed):
            return [message]
        event = message.get("event")
        if not isinstance(event, str | None):
            return [Malformed("event is not a string", excerpt(frame))]
        try:
            if event is None:
                return self._parse_tick(message) if "type" in message else ()
            data = message.get("data")
            if event == "fill":
                return [self._parse_fill(data)]
            if event == "cancel":
                return self._parse_cancel(data)
            if event == "ping":
                return [Reply(PONG)]
            if event in ("lifecycle", "book") and isinstance(data, dict) and "type" in data:
                return self._parse_tick(data)
            if event == "subscribed":
                channel = data.get("channel") if isinstance(data, dict) else data
                return [Ack(str(channel))]
            if event == "error":
                return [self._parse_error(data, frame)]
        except UNREADABLE as exc:
            return [Malformed(f"bad {event or 'tick'} event ({field_error(exc)})", excerpt(frame))]
        return ()  # unknown events (a future "place", say) are ignored (§8)

    def _parse_fill(self, data: dict[str, Any]) -> Fill:
        """A private ``fill``; the currency comes from the order cache.

        ``{"event":"fill","data":{"id":"…4000","orderId":"…4001","price":0.667,"qty":50,
        "createdAt":"2023-10-05T12:00:00Z","isWash":false,"isTaker":true,
        "marketId":"…4002","outcomeId":"…4003"}}``

        A fill of an order not known open (placed since the last orders read)
        marks its market: the order may rest there, so a ``CLOSE`` of it matters.
        """
        fill = self._fill_event(data, source="live", currency=None)
        if fill.order_id not in self._open:
            self._touched.add(fill.market)
        return fill

    def _fill_event(self, data: dict[str, Any], *, source: str, currency: str | None) -> Fill:
        order_id = _text(data["orderId"])
        ts = ts_from_iso(data["createdAt"])
        taker, wash = data.get("isTaker"), data.get("isWash")
        fee = data.get("fee")
        currency = currency or self._currency_of(order_id)
        fill = Fill(
            venue="novig",
            id=_text(data["id"]),
            order_id=order_id,
            market=_text(data["marketId"]),
            side=_text(data["outcomeId"]),
            action="buy",
            price=to_decimal(data["price"]),
            qty=to_decimal(data["qty"]),
            ts=ts,
            taker=taker if isinstance(taker, bool) else None,
            fee=_fee(fee, currency),
            wash=wash if isinstance(wash, bool) else None,
            currency=currency,
            source=source,  # type: ignore[arg-type]
        )
        return checked(fill)

    def _parse_cancel(self, data: dict[str, Any]) -> Sequence[Parsed]:
        """A private ``cancel`` (explicit cancels, GTT expiries, event go-live).

        ``{"event":"cancel","data":{"id":"…4002","outcomeId":"…4000","marketId":"…4003",
        "price":0.667,"qty":60,"originalQty":110,"currency":"COIN",
        "timestamp":"2023-10-05T12:00:00Z","status":"CANCELLED","flags":"ABC12345"}}``
        """
        cancel = self._cancel_event(data, source="live")
        order = self._open.pop(cancel.order_id, None)
        if cancel.order_id in self._reported:
            return ()  # already reported from REST (its market closed)
        self._made(cancel, order)
        return [cancel]

    def _cancel_event(
        self,
        data: dict[str, Any],
        *,
        source: str,
        ts_key: str = "timestamp",
        ts: datetime | None = None,
        reason: str | None = None,
    ) -> Cancel:
        order_id = _text(data["id"])
        currency = data.get("currency")
        known = currency in _CURRENCIES
        when = ts if ts is not None else ts_from_iso(data[ts_key])
        original = data.get("originalQty")
        cancel = Cancel(
            venue="novig",
            id=order_id,
            order_id=order_id,
            market=_text(data["marketId"]),
            side=_text(data["outcomeId"]),
            action="buy",
            price=to_decimal(data["price"]),
            qty=to_decimal(data["qty"]),
            ts=when,
            original_qty=None if original is None else to_decimal(original),
            currency=currency if known else self._currency_of(order_id),
            source=source,  # type: ignore[arg-type]
            reason=reason,
        )
        checked(cancel)
        if known:  # only once the whole cancel could be read
            self._remember_currency(order_id, currency)
        return cancel

    def _parse_tick(self, tick: dict[str, Any]) -> Sequence[Parsed]:
        """A public tick: only a lifecycle ``CLOSE`` concerns you.

        ``{"type":"CLOSE","market":{"id":"…","description":"KC v BUF Total","status":"CLOSED",…}}``
        — every order of yours still resting on the market is cancelled, with no
        cancel event (§4.5). When you may have one there (an order known open, or
        a fill of an unknown order), ask for ``orders/all``: its answer gives the
        cancels, dated with the tick (see :meth:`_parse_orders`).
        """
        kind = tick.get("type")
        if not isinstance(kind, str):
            raise ValueError("type is not a string")
        if kind != "CLOSE":
            return ()
        market = tick.get("market")
        market_id = _text(market["id"] if isinstance(market, dict) else tick["marketId"])
        _remember(self._closed_markets, market_id)
        if market_id in self._closing:
            return ()  # a repeated tick: the read is already asked for
        mine = market_id in self._touched or any(o.market == market_id for o in self._open.values())
        if not mine:
            return ()
        self._closing[market_id] = _tick_time(tick, self.clock)
        return [_READ_ORDERS]

    @staticmethod
    def _parse_error(data: object, frame: str) -> Parsed:
        """An enveloped error: shapes are undocumented (§5), so read it loosely.

        One that speaks of authentication asks for a fresh token; any other is
        reported and skipped.
        """
        text = str(data.get("message", data) if isinstance(data, dict) else data)
        lowered = text.lower()
        if any(word in lowered for word in _AUTH_WORDS):
            return Rejected(None, text, auth=True)
        return Malformed(f"venue error: {text[:80]}", excerpt(frame))

    # The order cache ----------------------------------------------------------

    def _currency_of(self, order_id: str) -> str | None:
        order = self._open.get(order_id)
        if order is not None and order.currency is not None:
            return order.currency
        return self._currency.get(order_id)

    def _remember_currency(self, order_id: str, currency: str) -> None:
        self._currency[order_id] = currency
        self._currency.move_to_end(order_id)
        if len(self._currency) > _CURRENCY_CACHE:
            self._currency.popitem(last=False)

    @staticmethod
    def _read_order(data: dict[str, Any], currency: str, placed: datetime) -> tuple[_Order, bool]:
        """One REST order object: the order, and whether it rests (it changes nothing yet)."""
        currency = data.get("currency") if data.get("currency") in _CURRENCIES else currency
        resting = data.get("status") in _OPEN_STATUSES and to_decimal(data["qty"]) > 0
        return _Order(_text(data["marketId"]), currency, placed), resting

    def _learn_order(self, order_id: str, order: _Order, resting: bool) -> None:
        """Take one REST order as the truth about that order."""
        self._remember_currency(order_id, order.currency)
        if resting and order.market not in self._closed_markets:
            self._open[order_id] = order
        else:
            self._open.pop(order_id, None)

    @property
    def open_orders(self) -> dict[str, str]:
        """Order id → market of every order ``orders/all`` last showed open."""
        return {order_id: order.market for order_id, order in self._open.items()}

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

        No warm-up is needed then: the first history read compares the orders
        with the remembered ones and reports those that ended in between.

        Raises:
            ValueError: `memory` is not what :meth:`memory` makes.
        """
        try:
            seen_until = ts_from_iso(memory["orders_seen_until"])
            orders: dict[str, _Order] = {}
            for order_id, market, currency, placed in memory["open"]:
                if currency not in _CURRENCIES:
                    raise ValueError(f"unknown currency {shown(currency)}")
                orders[_text(order_id)] = _Order(_text(market), currency, _time_or_none(placed))
            ended = [_text(k) for k in memory["ended"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Novig order memory ({field_error(exc)})") from None
        self._open = orders
        for order_id, order in orders.items():
            self._remember_currency(order_id, order.currency)
        self._orders_seen_until = seen_until
        self._ended = OrderedDict.fromkeys(ended, seen_until)
        self.warm_up = ()

    # REST history -------------------------------------------------------------

    def history_request(self, kind: str, since: datetime, page: str | None, now_ms: int) -> Request:
        """One page of ``emm/{fills,orders}/all``: CASH pages first, then COIN.

        A page token is ``CURRENCY:OFFSET``. Both currencies are read separately
        with ``currency=`` (§8: whether it is required is unconfirmed), which is
        also how history fills learn their currency.
        """
        if kind not in self.history_kinds:
            raise ValueError(f"no {kind} history on Novig")
        currency, offset = _position(page)
        return Request(
            method="GET",
            url=f"{self.api_url}/emm/{kind}/all",
            params={"currency": currency, "limit": _PAGE_SIZE, "offset": offset},
            headers=self.handshake_headers(now_ms),
        )

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        """The events of one page, and the next page's token.

        Fills at or after `since` give fill events (a ``fee`` in MCU becomes
        dollars for CASH). Orders refresh the order cache and reconcile it (§7),
        see :meth:`_parse_orders`. A page is the last of its currency when it is
        short, or when it is newest-first and reaches back past `since` (for
        orders: past the oldest order known open, and past the last read's
        newest order).
        """
        currency, offset = _position(page)
        if kind == "orders" and page is None:
            self._begin_orders_read()
        items = _items(orjson.loads(body), kind)
        if kind == "orders":
            events, times, floor = self._parse_orders(items, currency, since)
        else:
            fills = self._parse_fills(items, currency)
            times, floor = [fill.ts for fill in fills], since
            events = [fill for fill in fills if fill.ts >= since]
        skipped = len(items) - len(times)  # every readable row has its time
        newest_first = all(a >= b for a, b in pairwise(times))
        if len(items) >= _PAGE_SIZE and not (newest_first and times and times[-1] < floor):
            return HistoryPage(events, f"{currency}:{offset + len(items)}", skipped)
        following = _CURRENCIES.index(currency) + 1
        if following < len(_CURRENCIES):
            return HistoryPage(events, f"{_CURRENCIES[following]}:0", skipped)
        if kind == "orders":
            self._orders_read()
        return HistoryPage(events, None, skipped)

    def _parse_fills(self, items: list[Any], currency: str) -> list[Fill]:
        """One page of fills, those unreadable left out (the documented row has no ``orderId``)."""
        fills: list[Fill] = []
        for item in items:
            try:
                fills.append(self._fill_event(item, source="history", currency=currency))
            except UNREADABLE:
                continue
        return fills

    def _parse_orders(
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
                order_id, placed = _text(item["id"]), ts_from_iso(item["timestamp"])
                order, resting = self._read_order(item, currency, placed)
                known = self._open.get(order_id)
                new = (
                    known is None
                    and order_id not in self._currency
                    and order_id not in self._ended
                    and new_from is not None
                    and placed >= new_from
                )
                ended = (known is not None or new) and _ended(item, closed=order.market in self._closed_markets)
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

    def _begin_orders_read(self) -> None:
        """A read of every currency's orders begins (and the last one, if it did not complete, is undone)."""
        if self._before_read is not None:
            self._open, self._currency, self._reported, self._ended, self._ending = self._before_read
        self._before_read = tuple(
            m.copy() for m in (self._open, self._currency, self._reported, self._ended, self._ending)
        )
        self._orders_reading = None

    def _orders_read(self) -> None:
        """A read of every currency's orders completed: it is what the next read compares with."""
        self._before_read = None
        if self._orders_reading is not None:
            seen = self._orders_seen_until
            self._orders_seen_until = max(self._orders_reading, seen or self._orders_reading)
            # An order cancelled before the next read's horizon was placed before it too: never new again.
            new_from = self._orders_seen_until - _PRECISION
            self._ended = OrderedDict((k, ts) for k, ts in self._ended.items() if ts >= new_from)
        self._touched.clear()
        self._closing.clear()

    def _made(self, cancel: Cancel, order: _Order | None) -> None:
        """A cancel was made for an order (`order`: as it was known open): remember it ended."""
        _remember(self._ended, cancel.order_id, cancel.ts)
        _remember(self._ending, cancel.order_id, (order, cancel), capacity=_PENDING)

    def _reconciled_cancel(self, item: dict[str, Any], currency: str) -> Cancel:
        """The cancel REST shows for an order whose cancel the stream did not (see :meth:`_parse_orders`)."""
        data = {"currency": currency, **item}
        market = item.get("marketId")
        reason = "market_closed" if market in self._closed_markets else None
        if market in self._closing:
            cancel = self._cancel_event(data, source="live", ts=self._closing[market], reason=reason)
        elif ts_key := next((k for k in ("updatedAt", "cancelledAt") if item.get(k)), None):
            cancel = self._cancel_event(data, source="history", ts_key=ts_key, reason=reason)
        else:
            learned = ts_from_clock(self.clock)
            cancel = self._cancel_event(data, source="history", ts=learned, reason=reason)
        _remember(self._reported, cancel.order_id)
        return cancel

    # Market names -------------------------------------------------------------

    def market_request(self, market: str, now_ms: int) -> Request:
        """``GET emm/markets/{id}``."""
        return Request(
            method="GET",
            url=f"{self.api_url}/emm/markets/{quote(market, safe='')}",
            headers=self.handshake_headers(now_ms),
        )

    def parse_market_title(self, body: bytes) -> str | None:
        """``KC Chiefs vs BUF Bills - Week 14 — KC v BUF Total`` (event — market); None for a body that is none."""
        market = _json_or_none(body)
        if not isinstance(market, dict):
            return None
        event = market.get("event")
        parts = [event.get("description") if isinstance(event, dict) else None, market.get("description")]
        title = " — ".join(p for p in parts if isinstance(p, str) and p)
        return title or None

    @staticmethod
    def parse_outcome_names(body: bytes) -> dict[str, str]:
        """Outcome id → description (``Over 26.5``), for naming a line's ``side``."""
        market = _json_or_none(body)
        outcomes = market.get("outcomes") if isinstance(market, dict) else None
        if not isinstance(outcomes, list):
            return {}
        return {
            o["id"]: o["description"]
            for o in outcomes
            if isinstance(o, dict) and isinstance(o.get("id"), str) and isinstance(o.get("description"), str)
        }


def parser() -> Novig:
    """The adapter ``replay`` uses: parsing only, no token."""
    return Novig()


def _position(page: str | None) -> tuple[str, int]:
    """The currency and offset of a page token (None: the first page)."""
    if page is None:
        return _CURRENCIES[0], 0
    currency, _, offset = page.partition(":")
    if currency not in _CURRENCIES:
        raise ValueError(f"not a Novig page token: {page!r}")
    return currency, int(offset)


def _ended(order: dict[str, Any], *, closed: bool) -> bool:
    """Cancelled or closed with quantity left (§4.5), or still resting on a market that `closed`.

    An order cancelled with nothing left makes no cancel: a cancel is of a quantity above 0 (CONTRACT §5).
    """
    status = order.get("status")
    left = to_decimal(order.get("qty") or 0) > 0
    return left and (status in _CANCELLED_STATUSES or status == "CLOSED" or (closed and status in _OPEN_STATUSES))


def _remember(cache: OrderedDict[str, Any], key: str, value: Any = None, *, capacity: int = _CURRENCY_CACHE) -> None:
    """Add `key` to a bounded cache of recent ids."""
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > capacity:
        cache.popitem(last=False)


def _items(body: object, kind: str) -> list[Any]:
    """The rows of a history page: a bare array, or one under a usual key (§8: unconfirmed).

    A row that is no object is left for the caller to skip and count, as any row it cannot read.
    """
    if isinstance(body, dict):
        body = next((body[k] for k in (kind, "data", "items", "results") if isinstance(body.get(k), list)), None)
    if not isinstance(body, list):
        raise ValueError(f"unexpected {kind} history page")
    return body


def _fee(fee: object, currency: str | None) -> Decimal | None:
    """A REST ``fee`` (MCU) in whole units: ÷100 for CASH; COIN MCU are whole coins."""
    if fee is None or currency is None:
        return None
    value = to_decimal(fee)
    return value / _MCU_PER_CASH if currency == "CASH" else value


def _tick_time(tick: dict[str, Any], clock: Callable[[], float]) -> datetime:
    """The tick's own time if it has one that can be read, else when fillwatch learned of it.

    An optional time that cannot be read does not cost the close: that would cost its cancels.
    """
    holders = [holder for holder in (tick, tick.get("market")) if isinstance(holder, dict)]
    for value in (holder.get(key) for holder in holders for key in ("timestamp", "ts", "closedAt", "updatedAt")):
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return ts_from_iso(value)
    return ts_from_clock(clock)


def _json_or_none(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _time_or_none(value: object) -> datetime | None:
    return None if value is None else ts_from_iso(value)


def _text(value: object) -> str:
    """A required, non-empty string field."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {shown(value)}")
    return value
