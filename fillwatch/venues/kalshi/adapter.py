"""Kalshi Trade API v2: signing, the subscribe command, and message parsing.

Facts from ``protocols/kalshi.md``: the upgrade to ``/trade-api/ws/v2`` carries
three ``KALSHI-ACCESS-*`` headers with a signature of ``ts_ms + "GET" + path``
(§2.3): RSA-PSS/SHA-256 for an RSA key, Ed25519 for an Ed25519 key (§9); fills
arrive on channel ``fill`` (§4.3), cancels as ``user_order`` messages with status
``canceled`` on channel ``user_orders`` (§4.4); in-band errors carry the codes of
§5 as §9 corrects them. Direction comes from ``outcome_side`` (§9). Prices are
YES prices; a NO-side price is ``1 - yes``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from fillwatch.core.errors import ConfigError
from fillwatch.core.events import Cancel, Event, Fill
from fillwatch.venues.base import (
    DECIMALS,
    EPOCH,
    MAX_MS,
    MIN_MS,
    UNREADABLE,
    Ack,
    HistoryPage,
    Malformed,
    Parsed,
    Rejected,
    Request,
    Resync,
    checked,
    decode,
    excerpt,
    field_error,
    to_decimal,
    ts_from_ms,
    ts_from_s,
)
from fillwatch.venues.kalshi import fast
from fillwatch.venues.kalshi.rows import cancel, direction, history_cancel, history_fill, text
from fillwatch.venues.kalshi.rows import page as read_page
from fillwatch.venues.kalshi.signing import WS_PATH, SigningKey, auth_headers, sign
from fillwatch.venues.kalshi.spec import ENDPOINTS

__all__ = ["ENDPOINTS", "WS_PATH", "Kalshi", "SigningKey", "auth_headers", "parser", "sign"]

CHANNELS = ("fill", "user_orders")
_SUBSCRIBE_ID = 1


# In-band error codes (AsyncAPI of kalshi-sdk 22.4.0, protocols/kalshi.md §9):
# 9 means the connection is not authenticated as expected; 10 and 25 are the
# terminal errors of a subscription (it stopped delivering data); 18 is a
# command timeout. 6, 16 and 17 are retired. The others refuse a command.
_AUTH_CODES = frozenset({9})
_TERMINAL_CODES = frozenset({10, 25})
_TIMEOUT_CODE = 18
_HARMLESS_CODES = frozenset({6})  # "already subscribed": retired, idempotent since Oct 2025
_REFUSAL_CODES = frozenset({1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 14, 15, 19, 20, 21, 22, 23, 24, 26, 27, 28})


_ONE = Decimal(1)
_CENT = Decimal("0.01")


class Kalshi:
    """The Kalshi adapter for one API key (key id + RSA or Ed25519 private key).

    Without a key (:meth:`for_parsing`) it parses but cannot sign: ``replay``
    needs no credentials.
    """

    name: str = "kalshi"
    channels: frozenset[str] = frozenset(CHANNELS)
    history_kinds: tuple[str, ...] = ("fills", "orders")
    warm_up: tuple[str, ...] = ()  # the stream says all there is to say
    page_size = 200
    retry_after_unit: float = 1.0  # seconds, when there is one at all (§9: a 429 usually carries none)

    def __init__(
        self,
        key_id: str,
        key: SigningKey | None,
        *,
        api_url: str = ENDPOINTS["prod"]["api"],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        key_id: the API key's id.
        key: its private key (None: parsing only).
        api_url: the REST base, version prefix included.
        clock: wall-clock seconds, read only to date a cancel that carries no
            time at all (``created_ts_ms`` may be null).
        """
        self.key_id = key_id
        self.api_url = api_url.rstrip("/")
        self.clock = clock
        self._key = key
        self._handlers: dict[str, Callable[[dict[str, Any]], Sequence[Parsed]]] = {
            "fill": self._parse_fill,
            "user_order": self._parse_user_order,
            "subscribed": self._parse_subscribed,
            "error": self._parse_error,
        }

    def __repr__(self) -> str:
        return f"Kalshi(key_id={self.key_id!r})"

    @classmethod
    def for_parsing(cls, *, clock: Callable[[], float] = time.time) -> Kalshi:
        """An adapter without credentials: it parses frames and history, and cannot sign."""
        return cls("", None, clock=clock)

    def _signing_key(self) -> SigningKey:
        if self._key is None:
            raise ConfigError("this Kalshi adapter was built for parsing only; it has no key to sign with")
        return self._key

    def handshake_headers(self, now_ms: int) -> dict[str, str]:
        """Signed headers for the WebSocket upgrade at `now_ms`."""
        return auth_headers(self.key_id, self._signing_key(), now_ms)

    def subscribe_frames(self) -> Sequence[bytes]:
        """One ``subscribe`` command for both private channels, all markets."""
        return [orjson.dumps({"id": _SUBSCRIBE_ID, "cmd": "subscribe", "params": {"channels": list(CHANNELS)}})]

    def parse(self, frame: str | bytes) -> Sequence[Parsed]:
        """Turn one frame into events and control items; unknown types give nothing."""
        try:  # the common case first, inline: a text frame holding a JSON object
            message = orjson.loads(frame) if type(frame) is str else None
        except orjson.JSONDecodeError:
            return [Malformed("not JSON", excerpt(frame))]
        if type(message) is not dict:
            message = decode(frame)  # binary, or not an object: says which
            if isinstance(message, Malformed):
                return [message]
        kind = message.get("type")
        if kind == "fill":  # the common case, without the handlers' look-up (a fill is checked as it is built)
            msg = message.get("msg")
            fill = fast.fill(msg) if type(msg) is dict else None  # the current schema, read as before
            if fill is not None:
                return [fill]
            try:
                return self._parse_fill(message)
            except UNREADABLE as exc:
                return [Malformed(f"bad fill message ({field_error(exc)})", excerpt(frame))]
        if not isinstance(kind, str):
            return () if kind is None else [Malformed("type is not a string", excerpt(frame))]
        handler = self._handlers.get(kind)
        if handler is None:
            return ()
        try:
            parsed = handler(message)
            if kind != "fill":  # a fill is checked as it is built
                for item in parsed:
                    if isinstance(item, (Fill, Cancel)):
                        checked(item)
            return parsed
        except UNREADABLE as exc:
            return [Malformed(f"bad {kind} message ({field_error(exc)})", excerpt(frame))]

    def history_request(self, kind: str, since: datetime, page: str | None, now_ms: int) -> Request:
        """One signed page request: fills, or cancelled orders, from `since` (§6.1, §6.3).

        ``min_ts`` is in seconds; the signature covers the path without the query.
        """
        url = f"{self.api_url}/portfolio/{'fills' if kind == 'fills' else 'orders'}"
        params: dict[str, str | int] = {"min_ts": int(since.timestamp()), "limit": self.page_size}
        if kind == "orders":
            params["status"] = "canceled"
        if page:
            params["cursor"] = page
        return Request(method="GET", url=url, params=params, headers=self._signed(now_ms, url))

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        """A page of ``{"fills"|"orders": [...], "cursor": "..."}``: events from `since` on.

        The next page's cursor is in the body, so `page` is not needed here.
        """
        rows, cursor = read_page(orjson.loads(body), kind)
        events: list[Event] = []
        skipped = 0
        for row in rows:
            try:
                event = history_fill(row) if kind == "fills" else history_cancel(row, self.clock)
                if event is not None and checked(event).ts >= since:
                    events.append(event)
            except UNREADABLE:
                skipped += 1
        return HistoryPage(events, cursor, skipped)

    # Across runs: REST dates every cancel, so a checkpoint's time is all the next run needs.

    @staticmethod
    def memory(done: Callable[[Event], bool]) -> None:
        return None

    def recall(self, memory: Any) -> None:
        if memory is not None:
            raise ValueError("Kalshi keeps no memory across runs")

    # Market names (protocols/kalshi.md §6.4).

    def market_request(self, market: str, now_ms: int) -> Request:
        """``GET {api_url}/markets/{ticker}``, signed (the endpoint is public; signing is harmless).

        The ticker comes from the venue and is quoted whole into the path, so a
        hostile one cannot reach another endpoint.
        """
        url = f"{self.api_url}/markets/{quote(market, safe='')}"
        return Request(method="GET", url=url, headers=self._signed(now_ms, url))

    def positions_request(self, cursor: str | None, now_ms: int) -> Request:
        """``GET {api_url}/portfolio/positions``, signed: one page of your open market positions.

        OpenAPI (kalshi-sdk 22.4.0) ``GetPositions``: ``count_filter=position`` keeps non-zero ones.
        """
        url = f"{self.api_url}/portfolio/positions"
        params: dict[str, str | int] = {"count_filter": "position", "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        return Request(method="GET", url=url, params=params, headers=self._signed(now_ms, url))

    @staticmethod
    def parse_positions(body: bytes) -> tuple[list[tuple[str, Decimal]], str | None]:
        """(ticker, position) pairs of one page and the next cursor; rows that cannot be read are left out.

        ``{"market_positions": [{"ticker": "…", "position_fp": "-15.00", …}], "cursor": "…"}``:
        ``position_fp`` is positive for YES contracts and negative for NO (OpenAPI ``MarketPosition``).
        """
        document = orjson.loads(body)
        rows = document.get("market_positions") if isinstance(document, dict) else None
        found: list[tuple[str, Decimal]] = []
        for row in rows if isinstance(rows, list) else ():
            try:
                ticker, position = row["ticker"], to_decimal(row.get("position_fp", row.get("position")))
            except UNREADABLE:
                continue
            if isinstance(ticker, str) and ticker and position.is_finite():
                found.append((ticker, position))
        cursor = document.get("cursor") if isinstance(document, dict) else None
        return found, cursor if isinstance(cursor, str) and cursor else None

    @staticmethod
    def parse_market_title(body: bytes) -> str | None:
        """The market's ``title``, with its ``yes_sub_title`` when the title does not already say it.

        ``{"market": {"ticker": "KXHIGHNY-…", "title": "Highest temperature in NYC on Nov 21?",
        "yes_sub_title": "53° to 54°", …}}``
        """
        try:
            market = orjson.loads(body)["market"]
            title = market.get("title")
            extra = market.get("yes_sub_title")
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return None
        if not isinstance(title, str) or not title.strip():
            return None
        title = title.strip()
        if isinstance(extra, str) and extra.strip() and extra.strip() not in title:
            title = f"{title} {extra.strip()}"
        return title

    def _signed(self, now_ms: int, url: str) -> dict[str, str]:
        return auth_headers(self.key_id, self._signing_key(), now_ms, "GET", urlsplit(url).path)

    @staticmethod
    def _parse_fill(message: dict[str, Any]) -> Sequence[Parsed]:
        """A ``fill``; current and legacy schemas give the same event.

        ``{"type":"fill","sid":13,"msg":{"trade_id":"d91b…","order_id":"ee58…",
        "market_ticker":"HIGHNY-22DEC23-B53.5","is_taker":true,"side":"yes",
        "action":"buy","yes_price_dollars":"0.7500","count_fp":"278.00",
        "fee_cost":"0.010000","ts_ms":1671899397000,"post_position_fp":"500.00",
        "outcome_side":"yes","book_side":"bid"}}`` — legacy: ``yes_price`` 75, ``count`` 278,
        ``post_position`` 500, ``ts`` 1671899397.
        """
        msg = message["msg"]
        get = msg.get
        trade_id = msg["trade_id"]  # the fields are read, and refused, in the order they always were
        if type(trade_id) is not str or not trade_id:
            text(trade_id)
        side, action = direction(msg)
        dollars = get("yes_price_dollars", _ABSENT)
        yes_price = to_decimal(msg["yes_price"]) * _CENT if dollars is _ABSENT else _known(dollars)
        ms = get("ts_ms", _ABSENT)
        if type(ms) is int and MIN_MS <= ms <= MAX_MS:  # ts_from_ms inline, for the common case
            ts = EPOCH + timedelta(0, ms // 1000, ms % 1000 * 1000)
        else:
            ts = ts_from_s(msg["ts"]) if ms is _ABSENT else ts_from_ms(ms)
        position = get("post_position_fp", _ABSENT)
        if position is _ABSENT:
            position = get("post_position")
        fee, taker, order_id, market = get("fee_cost"), get("is_taker"), msg["order_id"], msg["market_ticker"]
        if type(order_id) is not str or not order_id:
            text(order_id)
        if type(market) is not str or not market:
            text(market)
        count = get("count_fp", _ABSENT)
        return [
            checked(
                Fill(
                    venue="kalshi",
                    id=trade_id,
                    order_id=order_id,
                    market=market,
                    side=side,
                    action=action,
                    price=_ONE - yes_price if side == "no" else yes_price,
                    qty=_known(msg["count"] if count is _ABSENT else count),
                    ts=ts,
                    taker=taker if taker is True or taker is False else None,
                    fee=None if fee is None else _known(fee),
                    position=None if position is None else to_decimal(position, keep=False),
                    currency="USD",
                )
            )
        ]

    def _parse_user_order(self, message: dict[str, Any]) -> Sequence[Parsed]:
        """A ``user_order``: only status ``canceled`` is an event.

        ``{"type":"user_order","sid":22,"msg":{"order_id":"ee58…","ticker":"FED-23DEC-T3.00",
        "status":"canceled","side":"yes","outcome_side":"yes","book_side":"bid",
        "yes_price_dollars":"0.3500","fill_count_fp":"6.00","remaining_count_fp":"0.00",
        "initial_count_fp":"10.00","created_ts_ms":1733047200000,"last_updated_ts_ms":1733047260000,
        "last_update_reason":"ExpiryCancel"}}``
        """
        msg = message["msg"]
        if msg.get("status") != "canceled":
            return ()
        return [cancel(msg, self.clock, source="live")]

    @staticmethod
    def _parse_subscribed(message: dict[str, Any]) -> Sequence[Parsed]:
        """``{"id":1,"type":"subscribed","msg":{"channel":"fill","sid":13}}``."""
        return [Ack(text(message["msg"]["channel"]))]

    @staticmethod
    def _parse_error(message: dict[str, Any]) -> Sequence[Parsed]:
        """``{"id":1,"type":"error","msg":{"code":9,"msg":"Authentication required"}}``.

        Code 9 is an authentication failure and 10 or 25 a subscription that
        stopped (resubscribe), whatever command they name. Only an error that
        answers our subscribe (``id`` 1) can refuse it; there a command timeout
        (18) or an unknown code is retried. Any other error answers no command
        of ours: it is reported and counted, never fatal.
        """
        body = message.get("msg")
        body = body if isinstance(body, dict) else {}
        code = body.get("code")
        text = str(body.get("msg", "no message"))
        numeric = type(code) is int  # not a bool, a float or a string
        if numeric and code in _HARMLESS_CODES:
            return ()
        if numeric and code in _AUTH_CODES:
            return [Rejected(code, text, auth=True)]
        if numeric and code in _TERMINAL_CODES:
            return [Resync(f"Kalshi error {code}: {text}")]
        answered = message.get("id")
        if not numeric or type(answered) is not int or answered != _SUBSCRIBE_ID:
            what = f"Kalshi error {code}" if numeric else "Kalshi error without a numeric code"
            return [Malformed(f"{what}, answering no command of ours", excerpt(orjson.dumps(message).decode()))]
        if code in _REFUSAL_CODES:
            return [Rejected(code, text, auth=False)]
        meaning = "command timeout" if code == _TIMEOUT_CODE else "unknown code"
        return [Resync(f"Kalshi error {code} ({meaning}) answering the subscribe: {text}")]


_ABSENT: Any = object()


def _known(value: object) -> Decimal:
    """:func:`to_decimal`, with the look-up of a text read before done here (the common case)."""
    if type(value) is str:
        number = DECIMALS.get(value)
        if number is not None:
            return number
    return to_decimal(value)


def parser() -> Kalshi:
    """The adapter ``replay`` uses: parsing only, no credentials."""
    return Kalshi.for_parsing()
