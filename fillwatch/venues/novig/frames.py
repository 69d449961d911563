"""Reading Novig's frames, REST pages and token answers into events and values: pure, stateless.

Facts from ``protocols/novig.md`` (see :mod:`fillwatch.venues.novig.adapter`).
What needs remembering across frames (your orders, their currency, the
markets closing) is :mod:`fillwatch.venues.novig.orders`' business.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson

from fillwatch.core.events import Cancel, Fill, Source
from fillwatch.core.secret import Secret
from fillwatch.venues.base import (
    Malformed,
    Parsed,
    Rejected,
    checked,
    excerpt,
    shown,
    to_decimal,
    ts_from_clock,
    ts_from_iso,
)

__all__ = [
    "CURRENCIES",
    "PONG",
    "cancel_event",
    "ended",
    "fee",
    "fill_event",
    "items",
    "json_or_none",
    "parse_error",
    "parse_market_title",
    "parse_outcome_names",
    "parse_token",
    "position",
    "read_order_fields",
    "text",
    "tick_time",
    "time_or_none",
    "token_audience",
]

PONG = b'{"event":"pong","data":{"message":"pong"}}'
"""The answer to the older JSON heartbeat (§3)."""

CURRENCIES = ("CASH", "COIN")
OPEN_STATUSES = frozenset({"OPEN", "RESTING", "PARTIALLY_FILLED"})
_CANCELLED_STATUSES = frozenset({"CANCELLED", "CANCELED"})
_MCU_PER_CASH = Decimal(100)
_AUTH_WORDS = ("unauthorized", "unauthenticated", "authentication", "forbidden", "token expired", "invalid token")


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


def fill_event(
    data: dict[str, Any], *, source: Source, currency: str | None, currency_of: Callable[[str], str | None]
) -> Fill:
    """A fill, live (``event: fill``) or from ``fills/all``: in `currency` (a page's), else `currency_of` its order."""
    order_id = text(data["orderId"])
    ts = ts_from_iso(data["createdAt"])
    taker, wash = data.get("isTaker"), data.get("isWash")
    currency = currency or currency_of(order_id)
    fill = Fill(
        venue="novig",
        id=text(data["id"]),
        order_id=order_id,
        market=text(data["marketId"]),
        side=text(data["outcomeId"]),
        action="buy",
        price=to_decimal(data["price"]),
        qty=to_decimal(data["qty"]),
        ts=ts,
        taker=taker if isinstance(taker, bool) else None,
        fee=fee(data.get("fee"), currency),
        wash=wash if isinstance(wash, bool) else None,
        currency=currency,
        source=source,
    )
    return checked(fill)


def cancel_event(
    data: dict[str, Any],
    *,
    source: Source,
    currency_of: Callable[[str], str | None],
    ts_key: str = "timestamp",
    ts: datetime | None = None,
    reason: str | None = None,
) -> Cancel:
    """A cancel, live (``event: cancel``) or reconciled from ``orders/all``; its currency from
    the data when it names one, else `currency_of` the order."""
    order_id = text(data["id"])
    currency = data.get("currency")
    when = ts if ts is not None else ts_from_iso(data[ts_key])
    original = data.get("originalQty")
    cancel = Cancel(
        venue="novig",
        id=order_id,
        order_id=order_id,
        market=text(data["marketId"]),
        side=text(data["outcomeId"]),
        action="buy",
        price=to_decimal(data["price"]),
        qty=to_decimal(data["qty"]),
        ts=when,
        original_qty=None if original is None else to_decimal(original),
        currency=currency if currency in CURRENCIES else currency_of(order_id),
        source=source,
        reason=reason,
    )
    return checked(cancel)


def parse_error(data: object, frame: str | bytes) -> Parsed:
    """An enveloped error: shapes are undocumented (§5), so read it loosely.

    One that speaks of authentication asks for a fresh token; any other is
    reported and skipped.
    """
    message = str(data.get("message", data) if isinstance(data, dict) else data)
    lowered = message.lower()
    if any(word in lowered for word in _AUTH_WORDS):
        return Rejected(None, message, auth=True)
    return Malformed(f"venue error: {message[:80]}", excerpt(frame))


def read_order_fields(data: dict[str, Any], currency: str) -> tuple[str, str, bool]:
    """One REST order object's market, currency and whether it rests."""
    currency = data["currency"] if data.get("currency") in CURRENCIES else currency
    resting = data.get("status") in OPEN_STATUSES and to_decimal(data["qty"]) > 0
    return text(data["marketId"]), currency, resting


def parse_market_title(body: bytes) -> str | None:
    """``KC Chiefs vs BUF Bills - Week 14 — KC v BUF Total`` (event — market); None for a body that is none."""
    market = json_or_none(body)
    if not isinstance(market, dict):
        return None
    event = market.get("event")
    parts = [event.get("description") if isinstance(event, dict) else None, market.get("description")]
    title = " — ".join(p for p in parts if isinstance(p, str) and p)
    return title or None


def parse_outcome_names(body: bytes) -> dict[str, str]:
    """Outcome id → description (``Over 26.5``), for naming a line's ``side``."""
    market = json_or_none(body)
    outcomes = market.get("outcomes") if isinstance(market, dict) else None
    if not isinstance(outcomes, list):
        return {}
    return {
        o["id"]: o["description"]
        for o in outcomes
        if isinstance(o, dict) and isinstance(o.get("id"), str) and isinstance(o.get("description"), str)
    }


def position(page: str | None) -> tuple[str, int]:
    """The currency and offset of a page token (None: the first page)."""
    if page is None:
        return CURRENCIES[0], 0
    currency, _, offset = page.partition(":")
    if currency not in CURRENCIES:
        raise ValueError(f"not a Novig page token: {page!r}")
    return currency, int(offset)


def ended(order: dict[str, Any], *, closed: bool) -> bool:
    """Cancelled or closed with quantity left (§4.5), or still resting on a market that `closed`.

    An order cancelled with nothing left makes no cancel: a cancel is of a quantity above 0 (CONTRACT §5).
    """
    status = order.get("status")
    left = to_decimal(order.get("qty") or 0) > 0
    return left and (status in _CANCELLED_STATUSES or status == "CLOSED" or (closed and status in OPEN_STATUSES))


def items(body: object, kind: str) -> list[Any]:
    """The rows of a history page: a bare array, or one under a usual key (§8: unconfirmed).

    A row that is no object is left for the caller to skip and count, as any row it cannot read.
    """
    if isinstance(body, dict):
        body = next((body[k] for k in (kind, "data", "items", "results") if isinstance(body.get(k), list)), None)
    if not isinstance(body, list):
        raise ValueError(f"unexpected {kind} history page")
    return body


def fee(fee: object, currency: str | None) -> Decimal | None:
    """A REST ``fee`` (MCU) in whole units: ÷100 for CASH; COIN MCU are whole coins."""
    if fee is None or currency is None:
        return None
    value = to_decimal(fee)
    return value / _MCU_PER_CASH if currency == "CASH" else value


def tick_time(tick: dict[str, Any], clock: Callable[[], float]) -> datetime:
    """The tick's own time if it has one that can be read, else when fillwatch learned of it.

    An optional time that cannot be read does not cost the close: that would cost its cancels.
    """
    holders = [holder for holder in (tick, tick.get("market")) if isinstance(holder, dict)]
    for value in (holder.get(key) for holder in holders for key in ("timestamp", "ts", "closedAt", "updatedAt")):
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return ts_from_iso(value)
    return ts_from_clock(clock)


def json_or_none(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def time_or_none(value: object) -> datetime | None:
    return None if value is None else ts_from_iso(value)


def text(value: object) -> str:
    """A required, non-empty string field."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {shown(value)}")
    return value
