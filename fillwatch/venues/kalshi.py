"""Kalshi Trade API v2: signing, the subscribe command, and message parsing.

Facts from ``protocols/kalshi.md``: the upgrade to ``/trade-api/ws/v2`` carries
three ``KALSHI-ACCESS-*`` headers with an RSA-PSS/SHA-256 signature of
``ts_ms + "GET" + path`` (§2.3); fills arrive on channel ``fill`` (§4.3), cancels
as ``user_order`` messages with status ``canceled`` on channel ``user_orders``
(§4.4); in-band errors carry the codes of §5. Prices are YES prices; a NO-side
price is ``1 - yes``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from fillwatch.errors import ConfigError
from fillwatch.events import Cancel, Event, Fill
from fillwatch.venues.base import (
    Ack,
    HistoryPage,
    Malformed,
    Parsed,
    Rejected,
    Request,
    Resync,
    decode,
    excerpt,
    to_decimal,
    ts_from_iso,
    ts_from_ms,
    ts_from_s,
)

__all__ = ["ENDPOINTS", "WS_PATH", "Kalshi", "auth_headers", "parser", "sign"]

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

# In-band error codes (§5): 9 means the handshake was not authenticated as
# expected; 10, 17, 18 and 25 mean the subscription stopped delivering data.
_AUTH_CODES = frozenset({9})
_RESYNC_CODES = frozenset({10, 17, 18, 25})
_HARMLESS_CODES = frozenset({6})  # "already subscribed": retired, idempotent since Oct 2025

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
_ONE = Decimal(1)
_CENT = Decimal("0.01")


def sign(key: RSAPrivateKey, ts_ms: int, method: str, path: str) -> str:
    """Base64 of the RSA-PSS signature of ``ts_ms + METHOD + path`` (query stripped)."""
    message = f"{ts_ms}{method.upper()}{path.split('?', 1)[0]}".encode()
    return base64.b64encode(key.sign(message, _PSS, hashes.SHA256())).decode("ascii")


def auth_headers(
    key_id: str, key: RSAPrivateKey, now_ms: int, method: str = "GET", path: str = WS_PATH
) -> dict[str, str]:
    """The three ``KALSHI-ACCESS-*`` headers for one request signed at `now_ms`."""
    return {
        "KALSHI-ACCESS-KEY": key_id,
        "KALSHI-ACCESS-SIGNATURE": sign(key, now_ms, method, path),
        "KALSHI-ACCESS-TIMESTAMP": str(now_ms),
    }


class Kalshi:
    """The Kalshi adapter for one API key (key id + RSA private key).

    Without a key (:meth:`for_parsing`) it parses but cannot sign: ``replay``
    needs no credentials.
    """

    name = "kalshi"
    channels = frozenset(CHANNELS)
    history_kinds = ("fills", "orders")
    warm_up: tuple[str, ...] = ()  # the stream says all there is to say
    page_size = 200
    retry_after_unit = 1.0  # seconds, when there is one at all (§9: a 429 usually carries none)

    def __init__(self, key_id: str, key: RSAPrivateKey | None, *, api_url: str = ENDPOINTS["prod"][1]) -> None:
        self.key_id = key_id
        self.api_url = api_url.rstrip("/")
        self.clock: Callable[[], float] = time.time  # never read: Kalshi dates everything it sends
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

    def _signing_key(self) -> RSAPrivateKey:
        if self._key is None:
            raise ConfigError("this Kalshi adapter was built for parsing only; it has no key to sign with")
        return self._key

    def handshake_headers(self, now_ms: int) -> dict[str, str]:
        """Signed headers for the WebSocket upgrade at `now_ms`."""
        return auth_headers(self.key_id, self._signing_key(), now_ms)

    def subscribe_frames(self) -> Sequence[bytes]:
        """One ``subscribe`` command for both private channels, all markets."""
        return [orjson.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": list(CHANNELS)}})]

    def parse(self, frame: str | bytes) -> Sequence[Parsed]:
        """Turn one frame into events and control items; unknown types give nothing."""
        message = decode(frame)
        if isinstance(message, Malformed):
            return [message]
        handler = self._handlers.get(message.get("type"))  # type: ignore[arg-type]
        if handler is None:
            return ()
        try:
            return handler(message)
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
            return [Malformed(f"bad {message['type']} message ({_field_error(exc)})", excerpt(frame))]

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
        document = orjson.loads(body)
        rows = document.get(kind) or []
        make = _history_fill if kind == "fills" else _history_cancel
        events: list[Event] = []
        skipped = 0
        for row in rows:
            try:
                event = make(row)
            except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation):
                skipped += 1
                continue
            if event is not None and event.ts >= since:
                events.append(event)
        return HistoryPage(events, document.get("cursor") or None, skipped)

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
        "outcome_side":"yes"}}`` — legacy: ``yes_price`` 75, ``count`` 278,
        ``post_position`` 500, ``ts`` 1671899397.
        """
        msg = message["msg"]
        trade_id = _text(msg["trade_id"])
        side, action = _direction(msg)
        yes_price = (
            to_decimal(msg["yes_price_dollars"]) if "yes_price_dollars" in msg else to_decimal(msg["yes_price"]) * _CENT
        )
        ts, has_ms = (ts_from_ms(msg["ts_ms"]), True) if "ts_ms" in msg else (ts_from_s(msg["ts"]), False)
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
                ts_has_ms=has_ms,
                taker=taker if isinstance(taker, bool) else None,
                fee=None if fee is None else to_decimal(fee),
                position=None if position is None else to_decimal(position),
                currency="USD",
            )
        ]

    @staticmethod
    def _parse_user_order(message: dict[str, Any]) -> Sequence[Parsed]:
        """A ``user_order``: only status ``canceled`` is an event.

        ``{"type":"user_order","sid":22,"msg":{"order_id":"ee58…","ticker":"FED-23DEC-T3.00",
        "status":"canceled","side":"yes","outcome_side":"yes","yes_price_dollars":"0.3500",
        "remaining_count_fp":"4.00","initial_count_fp":"10.00","last_updated_ts_ms":1733047260000}}``
        """
        msg = message["msg"]
        if msg.get("status") != "canceled":
            return ()
        side, action = _cancel_direction(msg)
        yes_price = to_decimal(msg["yes_price_dollars"])
        ts, has_ms = _cancel_time(msg)
        order_id = _text(msg["order_id"])
        original = msg.get("initial_count_fp")
        return [
            Cancel(
                venue="kalshi",
                id=order_id,
                order_id=order_id,
                market=_text(msg["ticker"]),
                side=side,
                action=action,
                price=_ONE - yes_price if side == "no" else yes_price,
                qty=to_decimal(msg["remaining_count_fp"]),
                ts=ts,
                ts_has_ms=has_ms,
                original_qty=None if original is None else to_decimal(original),
                currency="USD",
            )
        ]

    @staticmethod
    def _parse_subscribed(message: dict[str, Any]) -> Sequence[Parsed]:
        """``{"id":1,"type":"subscribed","msg":{"channel":"fill","sid":13}}``."""
        return [Ack(_text(message["msg"]["channel"]))]

    @staticmethod
    def _parse_error(message: dict[str, Any]) -> Sequence[Parsed]:
        """``{"id":1,"type":"error","msg":{"code":9,"msg":"Authentication required"}}``."""
        body = message.get("msg") or {}
        code = body.get("code")
        text = str(body.get("msg", "no message"))
        if code in _HARMLESS_CODES:
            return ()
        if code in _RESYNC_CODES:
            return [Resync(f"Kalshi error {code}: {text}")]
        return [Rejected(code if isinstance(code, int) else None, text, auth=code in _AUTH_CODES)]


def _history_fill(row: dict[str, Any]) -> Fill:
    """A REST fill (§6.1): ``trade_id``/``fill_id``, ``ticker``, both side prices, ``created_time``.

    REST fills carry no position; the line says null there.
    """
    side, action = _direction(row)
    if side == "no" and "no_price_dollars" in row:
        price = to_decimal(row["no_price_dollars"])
    else:
        yes_price = to_decimal(row["yes_price_dollars"])
        price = _ONE - yes_price if side == "no" else yes_price
    if row.get("created_time"):
        ts, has_ms = ts_from_iso(row["created_time"])
    else:
        ts, has_ms = ts_from_s(row["ts"]), False
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
        ts_has_ms=has_ms,
        taker=taker if isinstance(taker, bool) else None,
        fee=None if fee is None else to_decimal(fee),
        currency="USD",
        source="history",
    )


def _history_cancel(row: dict[str, Any]) -> Cancel | None:
    """A REST order (§6.3); only cancelled ones are events."""
    if row.get("status") != "canceled":
        return None
    side, action = _cancel_direction(row)
    yes_price = to_decimal(row["yes_price_dollars"])
    ts, has_ms = _cancel_time(row)
    order_id = _text(row["order_id"])
    original = row.get("initial_count_fp")
    return Cancel(
        venue="kalshi",
        id=order_id,
        order_id=order_id,
        market=_text(row["ticker"]),
        side=side,
        action=action,
        price=_ONE - yes_price if side == "no" else yes_price,
        qty=to_decimal(row["remaining_count_fp"]),
        ts=ts,
        ts_has_ms=has_ms,
        original_qty=None if original is None else to_decimal(original),
        currency="USD",
        source="history",
    )


def parser() -> Kalshi:
    """The adapter ``replay`` uses: parsing only, no credentials."""
    return Kalshi.for_parsing()


def _text(value: object) -> str:
    """A required, non-empty string field."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _direction(msg: dict[str, Any]) -> tuple[str, str | None]:
    """The contract side of the order and the action, per CONTRACT §3.

    The legacy ``side`` names the contract side and ``action`` the direction;
    ``outcome_side`` (canonical since May 2026) is what the trade leaves you
    long. Buying the side you are long is a buy, so the action follows from
    the two when ``action`` is absent or blank; with ``outcome_side`` alone the
    line says side = outcome_side, action = buy.
    """
    side = msg.get("side") or None
    action = msg.get("action") or None
    if (side == "yes" or side == "no") and (action == "buy" or action == "sell"):
        return side, action  # the usual message: nothing to derive
    outcome = msg.get("outcome_side") or msg.get("purchased_side") or None
    if side is None:
        if outcome is None:
            raise ValueError("no side")
        return _side(outcome), "buy"
    side = _side(side)
    if action is not None:
        return side, "sell" if str(action).startswith("sell") else "buy"
    if outcome is None:
        return side, None
    return side, "buy" if _side(outcome) == side else "sell"


def _cancel_direction(msg: dict[str, Any]) -> tuple[str, str | None]:
    """A cancelled order's side, and ``buy``/``sell`` from ``outcome_side`` (CONTRACT §3).

    "buy" when the order would have left you long its own side, "sell" when
    not, null when either is missing; with ``outcome_side`` alone the line says
    side = outcome_side, action = buy. The legacy ``action`` of REST orders is
    not used, so that live and REST cancels give the same line.
    """
    side = msg.get("side") or None
    outcome = msg.get("outcome_side") or None
    if side is None:
        if outcome is None:
            raise ValueError("no side")
        return _side(outcome), "buy"
    side = _side(side)
    if outcome is None:
        return side, None
    return side, "buy" if _side(outcome) == side else "sell"


def _side(value: object) -> str:
    if value not in ("yes", "no"):
        raise ValueError(f"side {value!r}")
    return value  # type: ignore[return-value]


def _cancel_time(msg: dict[str, Any]) -> tuple[datetime, bool]:
    """``last_updated_ts_ms``, else ``last_update_time``, else ``created_ts_ms`` (CONTRACT §3)."""
    if msg.get("last_updated_ts_ms") is not None:
        return ts_from_ms(msg["last_updated_ts_ms"]), True
    if msg.get("last_update_time"):
        return ts_from_iso(msg["last_update_time"])
    return ts_from_ms(msg["created_ts_ms"]), True


def _field_error(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]}"
    return str(exc) or type(exc).__name__
