"""Kalshi message shapes for the adapter's unit tests, each from kalshi-sdk 22.4.0's own documents.

``specs/asyncapi.yaml`` (WebSocket ``fill`` and ``user_order`` payloads) and ``specs/openapi.yaml``
(REST ``Fill`` and ``Order``); every required field is present, values are the documents' examples.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from fillwatch.venues.base import HistoryPage
from fillwatch.venues.kalshi.adapter import Kalshi

SINCE = datetime(2020, 1, 1, tzinfo=UTC)

# protocols/kalshi.md §9: a REST fill captured from the live API (pykalshi 2.0.0 FILL_SELL_NO),
# from an order that sold YES at 0.18.
CAPTURED_REST_FILL: dict[str, Any] = {
    "action": "sell",
    "book_side": "ask",
    "outcome_side": "no",
    "side": "no",
    "count_fp": "10.50",
    "created_time": "2026-05-02T18:02:11.101Z",
    "fee_cost": "0.010000",
    "fill_id": "00000000-0000-0000-0000-000000000003",
    "is_taker": False,
    "market_ticker": "KXTEST-26-A",
    "no_price_dollars": "0.8200",
    "order_id": "00000000-0000-0000-0000-000000000001",
    "subaccount_number": 0,
    "ticker": "KXTEST-26-A",
    "trade_id": "00000000-0000-0000-0000-000000000004",
    "ts": 1777827731,
    "yes_price_dollars": "0.1800",
}


def rest_fill(**changes: Any) -> dict[str, Any]:
    """openapi.yaml ``Fill``: a buy of 10.50 YES at 0.18 (``...`` drops a field)."""
    row = {
        "fill_id": "00000000-0000-0000-0000-000000000003",
        "exchange_index": 1,
        "trade_id": "00000000-0000-0000-0000-000000000004",
        "order_id": "00000000-0000-0000-0000-000000000001",
        "ticker": "KXTEST-26-A",
        "market_ticker": "KXTEST-26-A",
        "outcome_side": "yes",
        "book_side": "bid",
        "count_fp": "10.50",
        "yes_price_dollars": "0.1800",
        "no_price_dollars": "0.8200",
        "is_taker": True,
        "fee_cost": "0.010000",
        "created_time": "2026-05-02T18:02:11.101Z",
        "ts": 1777744931,
        **changes,
    }
    return {k: v for k, v in row.items() if v is not ...}


def rest_order(**changes: Any) -> dict[str, Any]:
    """openapi.yaml ``Order``: 10 YES at 0.35, 6 filled, the rest cancelled (``...`` drops a field)."""
    row = {
        "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa",
        "user_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "client_order_id": "my-order-1",
        "ticker": "FED-23DEC-T3.00",
        "side": "yes",
        "action": "buy",
        "outcome_side": "yes",
        "book_side": "bid",
        "type": "limit",
        "status": "canceled",
        "yes_price_dollars": "0.3500",
        "no_price_dollars": "0.6500",
        "fill_count_fp": "6.00",
        "remaining_count_fp": "0.00",
        "initial_count_fp": "10.00",
        "taker_fees_dollars": "0.000000",
        "maker_fees_dollars": "0.020000",
        "taker_fill_cost_dollars": "0.000000",
        "maker_fill_cost_dollars": "2.100000",
        "created_time": "2024-12-01T10:00:00Z",
        "last_update_time": "2024-12-01T10:01:00.500Z",
        **changes,
    }
    return {k: v for k, v in row.items() if v is not ...}


def live_fill(**changes: Any) -> str:
    """asyncapi.yaml ``fill`` frame, every required field of fillPayload (``...`` drops a field)."""
    msg = {
        "trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed",
        "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa",
        "market_ticker": "HIGHNY-22DEC23-B53.5",
        "exchange_index": 1,
        "is_taker": True,
        "side": "yes",
        "yes_price_dollars": "0.7500",
        "count_fp": "278.00",
        "fee_cost": "0.010000",
        "action": "buy",
        "outcome_side": "yes",
        "book_side": "bid",
        "ts": 1671899397,
        "ts_ms": 1671899397000,
        "post_position_fp": "500.00",
        "purchased_side": "yes",
        **changes,
    }
    return orjson.dumps({"type": "fill", "sid": 13, "msg": {k: v for k, v in msg.items() if v is not ...}}).decode()


def user_order_message(**changes: Any) -> dict[str, Any]:
    """asyncapi.yaml ``user_order`` message, every required field of userOrderPayload, cancelled.

    The example ``userOrderCreated`` after 6 of its 10 contracts filled and the rest was
    cancelled: a cancel zeroes ``remaining_count_fp`` (protocols/kalshi.md §9).
    """
    msg = {
        "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa",
        "user_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "ticker": "FED-23DEC-T3.00",
        "exchange_index": 2,
        "status": "canceled",
        "side": "yes",
        "is_yes": True,
        "outcome_side": "yes",
        "book_side": "bid",
        "yes_price_dollars": "0.3500",
        "fill_count_fp": "6.00",
        "remaining_count_fp": "0.00",
        "initial_count_fp": "10.00",
        "taker_fill_cost_dollars": "0.000000",
        "maker_fill_cost_dollars": "2.100000",
        "taker_fees_dollars": "0.000000",
        "maker_fees_dollars": "0.020000",
        "client_order_id": "my-order-1",
        "created_time": "2024-12-01T10:00:00Z",
        "created_ts_ms": 1733047200000,
        "last_update_time": "2024-12-01T10:01:00.500Z",
        "last_updated_ts_ms": 1733047260500,
        **changes,
    }
    return {"type": "user_order", "sid": 22, "msg": {k: v for k, v in msg.items() if v is not ...}}


def user_order(**changes: Any) -> str:
    """The :func:`user_order_message` as the frame's text."""
    return orjson.dumps(user_order_message(**changes)).decode()


def page(kind: str, rows: list[Any], cursor: str | None = "") -> bytes:
    """openapi.yaml ``GetFillsResponse`` / ``GetOrdersResponse``: ``{kind: [...], "cursor": "..."}``."""
    body: dict[str, Any] = {kind: rows}
    if cursor is not None:
        body["cursor"] = cursor
    return orjson.dumps(body)


def parse_page(venue: Kalshi, kind: str, rows: list[Any], since: datetime = SINCE) -> HistoryPage:
    """One page of `rows` through the adapter, as the history reader hands it over."""
    return venue.parse_history(kind, page(kind, rows), since, None)
