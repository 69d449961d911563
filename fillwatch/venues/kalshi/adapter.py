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

import base64
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias
from urllib.parse import quote, urlsplit

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from fillwatch.core.errors import ConfigError
from fillwatch.core.events import Cancel, Event, Fill, Source
from fillwatch.venues.base import (
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
    shown,
    to_decimal,
    ts_from_clock,
    ts_from_iso,
    ts_from_ms,
    ts_from_s,
)

__all__ = ["ENDPOINTS", "WS_PATH", "Kalshi", "SigningKey", "auth_headers", "parser", "sign"]

WS_PATH = "/trade-api/ws/v2"

ENDPOINTS: dict[str, tuple[str, str]] = {
    # env: (WebSocket URL, REST base) — the recommended hosts of protocols/kalshi.md §1.
    "prod": (
        "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        "https://external-api.kalshi.com/trade-api/v2",
    ),
    "demo": (
        "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        "https://external-api.demo.kalshi.co/trade-api/v2",
    ),
}

CHANNELS = ("fill", "user_orders")
_SUBSCRIBE_ID = 1

SigningKey: TypeAlias = RSAPrivateKey | Ed25519PrivateKey
"""The key types Kalshi issues (OpenAPI ``ApiKeyType``: ``rsa``, ``ed25519``)."""

# In-band error codes (AsyncAPI of kalshi-sdk 22.4.0, protocols/kalshi.md §9):
# 9 means the connection is not authenticated as expected; 10 and 25 are the
# terminal errors of a subscription (it stopped delivering data); 18 is a
# command timeout. 6, 16 and 17 are retired. The others refuse a command.
_AUTH_CODES = frozenset({9})
_TERMINAL_CODES = frozenset({10, 25})
_TIMEOUT_CODE = 18
_HARMLESS_CODES = frozenset({6})  # "already subscribed": retired, idempotent since Oct 2025
_REFUSAL_CODES = frozenset({1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 14, 15, 19, 20, 21, 22, 23, 24, 26, 27, 28})

# ``last_update_reason`` of a cancelled order (AsyncAPI ``lastUpdateReason``) → CONTRACT §3 ``reason``.
# Decrease, Amend and Trade are your own doing (or no reason): null; other ``…Cancel`` values are "other".
_CANCEL_REASONS = {"ExpiryCancel": "expired", "CloseCancel": "market_closed", "SelfTradeCancel": "self_trade"}
_OWN_REASONS = frozenset({"Decrease", "Amend", "Trade"})
_BOOK_SIDES = {"bid": "yes", "ask": "no"}

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
_ONE = Decimal(1)
_CENT = Decimal("0.01")


def sign(key: SigningKey, ts_ms: int, method: str, path: str) -> str:
    """Base64 of the signature of ``ts_ms + METHOD + path`` (query stripped).

    RSA keys sign RSA-PSS/SHA-256 (32-byte salt); Ed25519 keys sign Ed25519 (64 bytes).
    """
    message = f"{ts_ms}{method.upper()}{path.split('?', 1)[0]}".encode()
    if isinstance(key, Ed25519PrivateKey):
        return base64.b64encode(key.sign(message)).decode("ascii")
    return base64.b64encode(key.sign(message, _PSS, hashes.SHA256())).decode("ascii")


def auth_headers(key_id: str, key: SigningKey, now_ms: int, method: str = "GET", path: str = WS_PATH) -> dict[str, str]:
    """The three ``KALSHI-ACCESS-*`` headers for one request signed at `now_ms`."""
    return {
        "KALSHI-ACCESS-KEY": key_id,
        "KALSHI-ACCESS-SIGNATURE": sign(key, now_ms, method, path),
        "KALSHI-ACCESS-TIMESTAMP": str(now_ms),
    }


class Kalshi:
    """The Kalshi adapter for one API key (key id + RSA or Ed25519 private key).

    Without a key (:meth:`for_parsing`) it parses but cannot sign: ``replay``
    needs no credentials.
    """

    name = "kalshi"
    channels = frozenset(CHANNELS)
    history_kinds: tuple[str, ...] = ("fills", "orders")
    warm_up: tuple[str, ...] = ()  # the stream says all there is to say
    page_size = 200
    retry_after_unit = 1.0  # seconds, when there is one at all (§9: a 429 usually carries none)

    def __init__(self, key_id: str, key: SigningKey | None, *, api_url: str = ENDPOINTS["prod"][1]) -> None:
        self.key_id = key_id
        self.api_url = api_url.rstrip("/")
        # Read only to date a cancel that carries no time at all (``created_ts_ms`` may be null).
        self.clock: Callable[[], float] = time.time
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
    def for_parsing(cls) -> Kalshi:
        """An adapter without credentials: it parses frames and history, and cannot sign."""
        return cls("", None)

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
        message = decode(frame)
        if isinstance(message, Malformed):
            return [message]
        kind = message.get("type")
        if not isinstance(kind, str):
            return () if kind is None else [Malformed("type is not a string", excerpt(frame))]
        handler = self._handlers.get(kind)
        if handler is None:
            return ()
        try:
            parsed = handler(message)
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
        rows, cursor = _page(orjson.loads(body), kind)
        events: list[Event] = []
        skipped = 0
        for row in rows:
            try:
                event = _history_fill(row) if kind == "fills" else _history_cancel(row, self.clock)
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
        trade_id = _text(msg["trade_id"])
        side, action = _direction(msg)
        yes_price = (
            to_decimal(msg["yes_price_dollars"]) if "yes_price_dollars" in msg else to_decimal(msg["yes_price"]) * _CENT
        )
        ts = ts_from_ms(msg["ts_ms"]) if "ts_ms" in msg else ts_from_s(msg["ts"])
        position = msg.get("post_position_fp", msg.get("post_position"))
        fee = msg.get("fee_cost")
        taker = msg.get("is_taker")
        return [
            Fill(
                venue="kalshi",
                id=trade_id,
                order_id=_text(msg["order_id"]),
                market=_text(msg["market_ticker"]),
                side=side,
                action=action,
                price=_ONE - yes_price if side == "no" else yes_price,
                qty=to_decimal(msg["count_fp"] if "count_fp" in msg else msg["count"]),
                ts=ts,
                taker=taker if isinstance(taker, bool) else None,
                fee=None if fee is None else to_decimal(fee),
                position=None if position is None else to_decimal(position),
                currency="USD",
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
        return [_cancel(msg, self.clock, source="live")]

    @staticmethod
    def _parse_subscribed(message: dict[str, Any]) -> Sequence[Parsed]:
        """``{"id":1,"type":"subscribed","msg":{"channel":"fill","sid":13}}``."""
        return [Ack(_text(message["msg"]["channel"]))]

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


def _page(document: object, kind: str) -> tuple[list[Any], str | None]:
    """The rows and the next cursor of a history page.

    Raises:
        ValueError: the body is not such a page (``[]``, ``{"fills": 5}``): it is read again later.
    """
    if not isinstance(document, dict):
        raise ValueError(f"not a page of {kind}")
    rows, cursor = document.get(kind, []), document.get("cursor")
    if not isinstance(rows, list) and rows is not None:
        raise ValueError(f"not a page of {kind}")
    if not isinstance(cursor, str) and cursor is not None:
        raise ValueError("the page's cursor is not a string")
    return rows or [], cursor or None


def _history_fill(row: dict[str, Any]) -> Fill:
    """A REST fill (§6.1, OpenAPI ``Fill``): ``trade_id``/``fill_id``, ``ticker``, both side prices, ``created_time``.

    REST fills carry no position; the line says null there.
    """
    side, action = _direction(row)
    if side == "no" and "no_price_dollars" in row:
        price = to_decimal(row["no_price_dollars"])
    else:
        yes_price = to_decimal(row["yes_price_dollars"])
        price = _ONE - yes_price if side == "no" else yes_price
    ts = ts_from_iso(row["created_time"]) if row.get("created_time") else ts_from_s(row["ts"])
    fee, taker = row.get("fee_cost"), row.get("is_taker")
    return Fill(
        venue="kalshi",
        id=_text(row.get("trade_id") or row.get("fill_id")),
        order_id=_text(row["order_id"]),
        market=_text(row.get("ticker") or row.get("market_ticker")),
        side=side,
        action=action,
        price=price,
        qty=to_decimal(row["count_fp"]),
        ts=ts,
        taker=taker if isinstance(taker, bool) else None,
        fee=None if fee is None else to_decimal(fee),
        currency="USD",
        source="history",
    )


def _history_cancel(row: dict[str, Any], clock: Callable[[], float]) -> Cancel | None:
    """A REST order (§6.3, OpenAPI ``Order``); only cancelled ones are events."""
    if row.get("status") != "canceled":
        return None
    return _cancel(row, clock, source="history")


def _cancel(msg: dict[str, Any], clock: Callable[[], float], *, source: Source) -> Cancel:
    """A cancelled order, live (``user_order``) or from REST (``Order``): the same line for both."""
    side, action = _direction(msg)
    yes_price = to_decimal(msg["yes_price_dollars"])
    order_id = _text(msg["order_id"])
    original = msg.get("initial_count_fp")
    return Cancel(
        venue="kalshi",
        id=order_id,
        order_id=order_id,
        market=_text(msg["ticker"]),
        side=side,
        action=action,
        price=_ONE - yes_price if side == "no" else yes_price,
        qty=_cancelled_qty(msg),
        ts=_cancel_time(msg, clock),
        original_qty=None if original is None else to_decimal(original),
        currency="USD",
        source=source,
        reason=_cancel_reason(msg.get("last_update_reason")),
    )


def parser() -> Kalshi:
    """The adapter ``replay`` uses: parsing only, no credentials."""
    return Kalshi.for_parsing()


def _text(value: object) -> str:
    """A required, non-empty string field."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {shown(value)}")
    return value


def _direction(msg: dict[str, Any]) -> tuple[str, str | None]:
    """The line's side and action (CONTRACT §3): from ``outcome_side``, else ``book_side``.

    ``outcome_side`` is the outcome the fill (or order) positions you for:
    buy-yes and sell-no give ``yes``, buy-no and sell-yes give ``no``; so the
    line says side = that outcome, action = buy. The deprecated ``side``,
    ``action`` and ``purchased_side`` do not describe the order on REST fills
    (protocols/kalshi.md §9) and are read only from messages without either.
    """
    outcome = msg.get("outcome_side") or None
    if outcome is not None:
        return _side(outcome), "buy"
    book = msg.get("book_side") or None
    if book is not None:
        if book not in _BOOK_SIDES:
            raise ValueError(f"book_side {book!r}")
        return _BOOK_SIDES[book], "buy"
    return _legacy_direction(msg)


def _legacy_direction(msg: dict[str, Any]) -> tuple[str, str | None]:
    """``side`` and ``action`` as sent, for messages from before ``outcome_side``.

    Without ``action``, ``purchased_side`` (the side effectively bought) tells
    buy from sell; with ``purchased_side`` alone the line says side = it, action = buy.
    """
    side = msg.get("side") or None
    action = msg.get("action") or None
    purchased = msg.get("purchased_side") or None
    if side is None:
        if purchased is None:
            raise ValueError("no side")
        return _side(purchased), "buy"
    side = _side(side)
    if action is not None:
        return side, "sell" if str(action).startswith("sell") else "buy"
    if purchased is None:
        return side, None
    return side, "buy" if _side(purchased) == side else "sell"


def _side(value: object) -> str:
    if value not in ("yes", "no"):
        raise ValueError(f"side {shown(value)}")
    return value


def _cancelled_qty(msg: dict[str, Any]) -> Decimal:
    """What was still resting when the order was cancelled.

    A cancel zeroes the remaining count (protocols/kalshi.md §9), so a zero
    ``remaining_count_fp`` means ``initial_count_fp − fill_count_fp``; a
    non-zero one (older messages) is the answer itself.
    """
    remaining = to_decimal(msg["remaining_count_fp"])
    if remaining != 0:
        return remaining
    left = to_decimal(msg["initial_count_fp"]) - to_decimal(msg["fill_count_fp"])
    if left < 0:
        raise ValueError("fill_count_fp exceeds initial_count_fp")
    return left


def _cancel_reason(value: object) -> str | None:
    """CONTRACT §3's ``reason`` from ``last_update_reason``: null when you asked (or none is given)."""
    if not isinstance(value, str) or not value or value in _OWN_REASONS:
        return None
    return _CANCEL_REASONS.get(value, "other")


def _cancel_time(msg: dict[str, Any], clock: Callable[[], float]) -> datetime:
    """``last_updated_ts_ms``, else ``last_update_time``, else ``created_ts_ms`` (which may be null),
    else the time the message was read (CONTRACT §3)."""
    if msg.get("last_updated_ts_ms") is not None:
        return ts_from_ms(msg["last_updated_ts_ms"])
    if msg.get("last_update_time"):
        return ts_from_iso(msg["last_update_time"])
    if msg.get("created_ts_ms") is not None:
        return ts_from_ms(msg["created_ts_ms"])
    return ts_from_clock(clock)
