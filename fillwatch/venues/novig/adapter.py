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
unknowable which of them it already includes. The adapter reads its
token from the :class:`~fillwatch.venues.spec.TokenCell` it is built with, which the
net layer fills in. Parsing is :mod:`.frames`; the book of your orders is :mod:`.orders`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import orjson

from fillwatch.core.events import Event, Fill
from fillwatch.core.secret import RedactedDict, Secret
from fillwatch.venues.base import (
    UNREADABLE,
    Ack,
    HistoryPage,
    Malformed,
    Parsed,
    Reconcile,
    Reply,
    Request,
    decode,
    excerpt,
    field_error,
)
from fillwatch.venues.novig import frames
from fillwatch.venues.novig.frames import CURRENCIES, PONG, token_audience
from fillwatch.venues.novig.orders import Orders
from fillwatch.venues.spec import TokenCell

__all__ = ["ENDPOINTS", "PONG", "Endpoints", "Novig", "parser", "token_audience"]


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where one Novig environment lives (protocols/novig.md §1)."""

    ws: str
    api: str
    token: str


def _endpoints() -> dict[str, Endpoints]:
    from fillwatch.venues.novig.spec import ENDPOINTS as urls

    return {env: Endpoints(e["ws"], e["api"], e["token"]) for env, e in urls.items()}


ENDPOINTS: dict[str, Endpoints] = _endpoints()
"""The endpoints of :data:`fillwatch.venues.novig.spec.ENDPOINTS`, by attribute."""

_SUBSCRIBE_LIFECYCLE = b'{"event":"subscribe","data":"lifecycle"}'
_PAGE_SIZE = 256  # the documented maximum of the user-history endpoints (§6.1)
_READ_ORDERS = Reconcile("orders")


class Novig:
    """The Novig adapter for one trader: its token is read from the cell it is given."""

    name: str = "novig"
    channels: frozenset[str] = frozenset()  # the private channel needs no subscription
    history_kinds: tuple[str, ...] = ("fills", "orders")
    warm_up: tuple[str, ...] = ("orders",)  # your orders: for fills' currency, and the CLOSE ticks that concern you
    retry_after_unit: float = 0.001  # NBX counts Retry-After in milliseconds (novig.md §5)

    def __init__(
        self,
        *,
        api_url: str = ENDPOINTS["prod"].api,
        token_url: str = ENDPOINTS["prod"].token,
        clock: Callable[[], float] = time.time,
        token: TokenCell | None = None,
    ) -> None:
        """Args:
        api_url: the REST base, ``/nbx/v2`` included.
        token_url: the token endpoint.
        clock: wall-clock seconds, used only to date the cancels whose time
            the venue does not send (a ``CLOSE`` tick's, or a cancel learned
            from ``orders/all``).
        token: where the current Bearer token is kept (the net layer fills it in).
        """
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self.clock = clock
        self._token = token if token is not None else TokenCell()
        self._orders = Orders(lambda: self.clock())

    def __repr__(self) -> str:
        return f"Novig(api_url={self.api_url!r})"

    @property
    def token(self) -> Secret | None:
        """The current Bearer token (None: none yet)."""
        return self._token.value

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

    parse_token = staticmethod(frames.parse_token)

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
            return self._dispatch(event, message, frame)
        except UNREADABLE as exc:
            return [Malformed(f"bad {event or 'tick'} event ({field_error(exc)})", excerpt(frame))]

    def _dispatch(self, event: str | None, message: dict[str, Any], frame: str | bytes) -> Sequence[Parsed]:
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
            return [frames.parse_error(data, frame)]
        return ()  # unknown events (a future "place", say) are ignored (§8)

    def _parse_fill(self, data: Any) -> Fill:
        """A private ``fill``; the currency comes from the order book.

        ``{"event":"fill","data":{"id":"…4000","orderId":"…4001","price":0.667,"qty":50,
        "createdAt":"2023-10-05T12:00:00Z","isWash":false,"isTaker":true,
        "marketId":"…4002","outcomeId":"…4003"}}``
        """
        fill = frames.fill_event(data, source="live", currency=None, currency_of=self._orders.currency_of)
        self._orders.filled(fill)
        return fill

    def _parse_cancel(self, data: Any) -> Sequence[Parsed]:
        """A private ``cancel`` (explicit cancels, GTT expiries, event go-live).

        ``{"event":"cancel","data":{"id":"…4002","outcomeId":"…4000","marketId":"…4003",
        "price":0.667,"qty":60,"originalQty":110,"currency":"COIN",
        "timestamp":"2023-10-05T12:00:00Z","status":"CANCELLED","flags":"ABC12345"}}``
        """
        cancel = frames.cancel_event(data, source="live", currency_of=self._orders.currency_of)
        return [cancel] if self._orders.cancelled(cancel, data) else ()

    def _parse_tick(self, tick: dict[str, Any]) -> Sequence[Parsed]:
        """A public tick: only a lifecycle ``CLOSE`` concerns you.

        ``{"type":"CLOSE","market":{"id":"…","description":"KC v BUF Total","status":"CLOSED",…}}``
        — every order of yours still resting on the market is cancelled, with no
        cancel event (§4.5). When you may have one there (an order known open, or
        a fill of an unknown order), ask for ``orders/all``: its answer gives the
        cancels, dated with the tick (see :meth:`Orders.parse_orders`).
        """
        kind = tick.get("type")
        if not isinstance(kind, str):
            raise ValueError("type is not a string")
        if kind != "CLOSE":
            return ()
        market = tick.get("market")
        market_id = frames.text(market["id"] if isinstance(market, dict) else tick["marketId"])
        closing = self._orders.closing(market_id, lambda: frames.tick_time(tick, self.clock))
        return [_READ_ORDERS] if closing else ()

    @property
    def open_orders(self) -> dict[str, str]:
        """Order id → market of every order ``orders/all`` last showed open."""
        return self._orders.open_orders

    # Across runs (--state) ----------------------------------------------------

    def memory(self, done: Callable[[Event], bool]) -> dict[str, Any] | None:
        """What the next run needs to report the cancels no run saw (see :meth:`Orders.memory`)."""
        return self._orders.memory(done)

    def recall(self, memory: Any) -> None:
        """Take up what a previous run's :meth:`memory` kept.

        No warm-up is needed then: the first history read compares the orders
        with the remembered ones and reports those that ended in between.

        Raises:
            ValueError: `memory` is not what :meth:`memory` makes.
        """
        self._orders.recall(memory)
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
        currency, offset = frames.position(page)
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
        see :meth:`Orders.parse_orders`. A page is the last of its currency when it is
        short, or when it is newest-first and reaches back past `since` (for
        orders: past the oldest order known open, and past the last read's
        newest order).
        """
        currency, offset = frames.position(page)
        if kind == "fills" and page is None:
            self._orders.gap()  # a full backfill: the stream had a gap (it reads the orders next)
        if kind == "orders" and page is None:
            self._orders.begin_read()
        items = frames.items(orjson.loads(body), kind)
        if kind == "orders":
            events, times, floor = self._orders.parse_orders(items, currency, since)
        else:
            fills = self._parse_fills(items, currency)
            times, floor = [fill.ts for fill in fills], since
            events = [fill for fill in fills if fill.ts >= since]
        skipped = len(items) - len(times)  # every readable row has its time
        newest_first = all(a >= b for a, b in pairwise(times))
        if len(items) >= _PAGE_SIZE and not (newest_first and times and times[-1] < floor):
            return HistoryPage(events, f"{currency}:{offset + len(items)}", skipped)
        following = CURRENCIES.index(currency) + 1
        if following < len(CURRENCIES):
            return HistoryPage(events, f"{CURRENCIES[following]}:0", skipped)
        if kind == "orders":
            self._orders.read()
        return HistoryPage(events, None, skipped)

    def _parse_fills(self, items: list[Any], currency: str) -> list[Fill]:
        """One page of fills, those unreadable left out (the documented row has no ``orderId``)."""
        fills: list[Fill] = []
        for item in items:
            try:
                fills.append(
                    frames.fill_event(item, source="history", currency=currency, currency_of=self._orders.currency_of)
                )
            except UNREADABLE:
                continue
        return fills

    # Market names -------------------------------------------------------------

    def market_request(self, market: str, now_ms: int) -> Request:
        """``GET emm/markets/{id}``."""
        return Request(
            method="GET",
            url=f"{self.api_url}/emm/markets/{quote(market, safe='')}",
            headers=self.handshake_headers(now_ms),
        )

    @staticmethod
    def parse_market_title(body: bytes) -> str | None:
        """``KC Chiefs vs BUF Bills - Week 14 — KC v BUF Total`` (event — market); None for a body that is none."""
        return frames.parse_market_title(body)

    parse_outcome_names = staticmethod(frames.parse_outcome_names)


def parser(*, clock: Callable[[], float] | None = None) -> Novig:
    """The adapter ``replay`` uses: parsing only, no token."""
    return Novig() if clock is None else Novig(clock=clock)
