"""The simulated Novig v3's REST side: signed history routes with cursors, throttles, refusals.

Every call is verified by :func:`fillwatch.sim.novig_v3_auth.check` (api_errors.md "How we
check a signed request") on the raw path and query as sent, before anything else.

Routes (openapi-v3-target.json; the page that quotes each path):

* ``GET /v3/portfolio/fills`` (api-reference_execution_list-fills.md, ``listFills``): ``FillPage``
  newest first; filters ``event``, ``market``, ``outcome``, ``order``, ``startsAfter``,
  ``startsBefore``; ``limit`` 1–5000 default 500; ``after`` = the previous page's opaque ``next``,
  absent on the last page. ``history`` throttle, 8 + 1 per 50 rows.
* ``GET /v3/orders`` (api-reference_execution_list-orders.md, ``listOrders``): ``OrderPage`` by
  ``status`` (default ``OPEN``); open orders cost 1 ``read`` token, settled ones ``history`` 4 + 1
  per 100 rows. ``GET /v3/orders/{id}``: one ``Order`` or 404 ``ORDER_NOT_FOUND``.
* ``GET /v3/account/orders`` (api_streaming_private.md "Recovery"): ``{seq, open}`` with an
  ``ETag``; a matching ``If-None-Match`` gets 304. ``GET /v3/portfolio/positions``: a bare array.
* ``GET /v3/catalog/markets/{id}`` (api-reference_catalog_get-a-market.md, ``getMarket``): a
  ``Market`` (the description and outcome names a client shows instead of UUIDs), or 404
  ``MARKET_NOT_FOUND``.
* ``POST /v3/echo`` (api-reference_authentication_echo.md): the body back.

A throttle that is empty answers 429 ``RATE_LIMIT_EXCEEDED`` with ``Retry-After`` in whole
seconds (api_throttling.md "Error response").
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote

from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.sim.novig_v3_auth import ApiKey, Rejection, SignedRequest, check
from fillwatch.sim.novig_v3_feed import NovigV3Feed
from fillwatch.sim.novig_v3_script import ERRORS, Bucket, Script, Stats, error_body

__all__ = ["BUCKETS", "NovigV3Rest", "RawHttpServer", "RawRequest", "Throttles", "parse_query"]

BUCKETS: dict[str, tuple[int, float]] = {
    # api_throttling.md: capacity (burst), refill per second.
    "stream": (512, 4.0),
    "history": (512, 4.0),
    "read": (64, 16.0),
    "account": (64, 8.0),
}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_STATUSES = frozenset({"PENDING", "OPEN", "FILLED", "CANCELED", "REJECTED"})


@dataclass(frozen=True, slots=True)
class RawRequest(HttpRequest):
    """An :class:`HttpRequest` that keeps the query as received: the signature covers those bytes."""

    raw_query: str = ""


class RawHttpServer(HttpServer):
    """:class:`HttpServer` whose requests keep the raw query (``parse_qsl`` would turn ``+`` into a space)."""

    @staticmethod
    def _request(method: str, parts: SplitResult, headers: dict[str, str], body: bytes) -> HttpRequest:
        return RawRequest(method, parts.path, dict(parse_query(parts.query)), headers, body, parts.query)


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Novig's reading of a query: split on ``&`` and at the first ``=``; only ``%XX`` decodes (not ``+``)."""
    return [(unquote(n), unquote(v)) for n, _, v in (t.partition("=") for t in raw.split("&") if t)]


class Throttles:
    """Every key's buckets (api_throttling.md: "Our servers throttle each API key")."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, enabled: bool = True) -> None:
        self._clock = clock
        self.enabled = enabled
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def take(self, key_id: str, bucket: str, cost: int) -> int:
        """Spend `cost` from `key_id`'s `bucket`: 0 if it passed, else the seconds to wait."""
        if not self.enabled:
            return 0
        found = self._buckets.get((key_id, bucket))
        if found is None:
            found = self._buckets[key_id, bucket] = Bucket(*BUCKETS[bucket], clock=self._clock)
        return found.take(cost)


def _error(status: int, code: str, message: str | None = None, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, error_body(code, message), {"Content-Type": "application/json", **(headers or {})})


def _throttled(seconds: int) -> HttpResponse:
    return _error(429, "RATE_LIMIT_EXCEEDED", headers={"Retry-After": str(seconds)})


def refusal(code: str, retry_after: int) -> HttpResponse:
    """The scripted refusal `code` (:data:`ERRORS`), with ``Retry-After`` on a 429."""
    status = ERRORS.get(code, (400, code))[0]
    return _error(status, code, headers={"Retry-After": str(retry_after)} if status == 429 else None)


class _Cursors:
    """Opaque ``next`` cursors: standard padded base64 of (listing, position, salt), so that a client
    must percent-encode and sign them like any value (protocols/novig-v3.md §6.1)."""

    def __init__(self) -> None:
        self._salt = secrets.token_bytes(4)

    def make(self, listing: str, position: int) -> str:
        return base64.b64encode(listing[:1].encode() + position.to_bytes(8, "big") + self._salt).decode()

    def read(self, listing: str, cursor: str) -> int | None:
        try:
            raw = base64.b64decode(cursor, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 13 or raw[:1] != listing[:1].encode() or raw[9:] != self._salt:
            return None
        return int.from_bytes(raw[1:9], "big")


class NovigV3Rest:
    """The REST handler; serve it with :class:`RawHttpServer`."""

    def __init__(
        self,
        feed: NovigV3Feed,
        keys: Mapping[str, ApiKey],
        script: Script,
        stats: Stats,
        throttles: Throttles,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.feed, self.keys, self.script, self.stats = feed, keys, script, stats
        self.throttles = throttles
        self._clock = clock
        self._cursors = _Cursors()

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        raw_query = request.raw_query if isinstance(request, RawRequest) else ""
        self.stats.rest.append((request.method, request.path, raw_query))
        self.stats.rest_times.append(time.monotonic())
        signed = SignedRequest(request.method, request.path, raw_query, request.body, request.headers)
        principal = check(signed, self.keys, int(self._clock() * 1000))
        if isinstance(principal, Rejection):
            self.stats.rest_rejections.append((principal.status, principal.message))
            return HttpResponse(principal.status, principal.body(), {"Content-Type": "application/json"})
        if self.script.rest_failures:
            self.script.rest_failures -= 1
            return refusal(self.script.rest_failure_code, self.script.retry_after)
        return self._route(request, principal.key_id)

    def _route(self, request: HttpRequest, key_id: str) -> HttpResponse:
        path, query = request.path, request.query
        if request.method == "POST" and path == "/v3/echo":
            return HttpResponse(200, request.body, {"Content-Type": "application/json"})
        if request.method != "GET":
            return _error(404, "NOT_FOUND", "no such route")
        if path == "/v3/portfolio/fills":
            return self._fills(query, key_id)
        if path == "/v3/orders":
            return self._orders(query, key_id)
        if path.startswith("/v3/orders/"):
            return self._order(path.removeprefix("/v3/orders/"), key_id)
        if path == "/v3/account/orders":
            return self._account_orders(request.headers.get("if-none-match"), key_id)
        if path.startswith("/v3/catalog/markets/"):
            return self._market(path.removeprefix("/v3/catalog/markets/"), key_id)
        if path == "/v3/portfolio/positions":
            return self._wait_or(self.throttles.take(key_id, "read", 1), lambda: self.feed.position_items())
        return _error(404, "NOT_FOUND", "no such route")

    def _wait_or(self, wait: int, body: Callable[[], object]) -> HttpResponse:
        return _throttled(wait) if wait else json_response(200, body())

    # Listings ----------------------------------------------------------------------------

    def _page_args(self, query: Mapping[str, str], listing: str) -> tuple[int, int | None] | HttpResponse:
        """(limit, cursor position) from `query`, or the documented 400."""
        if "offset" in query:
            return _error(400, "OFFSET_NOT_SUPPORTED", "use the after cursor")
        try:
            limit = int(query.get("limit", "500"))
        except ValueError:
            return _error(400, "INVALID_QUERY", "limit: invalid integer")
        if not 1 <= limit <= 5000:
            return _error(400, "PAGE_LIMIT_OUT_OF_RANGE", "limit must be 1 to 5000")
        if "after" not in query:
            return limit, None
        position = self._cursors.read(listing, query["after"])
        if position is None:
            return _error(400, "INVALID_QUERY", "after: not a cursor of this listing")
        return limit, position

    def _bad_filter(self, query: Mapping[str, str]) -> HttpResponse | None:
        for name in ("event", "market", "outcome", "order"):
            if name in query and _UUID.fullmatch(query[name]) is None:
                return _error(400, "INVALID_QUERY", f"{name}: invalid UUID")
        for name in ("startsAfter", "startsBefore"):
            if name in query and not query[name].lstrip("-").isdigit():
                return _error(400, "INVALID_QUERY", f"{name}: invalid integer")
        return None

    def _matches(self, item: Mapping[str, Any], query: Mapping[str, str]) -> bool:
        market = self.feed.markets[item["marketId"]]
        return (
            query.get("market", item["marketId"]) == item["marketId"]
            and query.get("outcome", item["outcomeId"]) == item["outcomeId"]
            and query.get("order", item["orderId"]) == item["orderId"]
            and query.get("event", market.event_id) == market.event_id
            and market.starts_ts > int(query.get("startsAfter", market.starts_ts - 1))
            and market.starts_ts < int(query.get("startsBefore", market.starts_ts + 1))
        )

    def _page(
        self, listing: str, rows: list[tuple[int, dict[str, Any]]], limit: int, position: int | None, newest: bool
    ) -> dict[str, Any]:
        """One page of `rows` ((position, item), in listing order) after `position`, with ``next`` if more."""
        if position is not None:
            rows = [(p, r) for p, r in rows if (p < position if newest else p > position)]
        page: dict[str, Any] = {"items": [item for _, item in rows[:limit]]}
        if len(rows) > limit:
            page["next"] = self._cursors.make(listing, rows[limit - 1][0])
        return page

    def _fills(self, query: Mapping[str, str], key_id: str) -> HttpResponse:
        args = self._bad_filter(query) or self._page_args(query, "fills")
        if isinstance(args, HttpResponse):
            return args
        limit, position = args
        wait = self.throttles.take(key_id, "history", 8 + math.ceil(limit / 50))
        if wait:
            return _throttled(wait)
        rows = [(i, f) for i, f in enumerate(self.feed.fills) if self._matches(f, query)]
        return json_response(200, self._page("fills", rows[::-1], limit, position, newest=True))

    def _orders(self, query: Mapping[str, str], key_id: str) -> HttpResponse:
        status = query.get("status", "OPEN")
        if status not in _STATUSES:
            return _error(400, "INVALID_QUERY", "status: unknown variant")
        args = self._bad_filter(query) or self._page_args(query, "orders")
        if isinstance(args, HttpResponse):
            return args
        limit, position = args
        wait = (
            self.throttles.take(key_id, "read", 1)
            if status == "OPEN"
            else self.throttles.take(key_id, "history", 4 + math.ceil(limit / 100))
        )
        if wait:
            return _throttled(wait)
        rows = [
            (i, o.rest())
            for i, o in enumerate(self.feed.orders.values())
            if o.status == status and self._matches(o.rest(), query)
        ]
        newest = self.script.orders_newest_first
        return json_response(200, self._page("orders", rows[::-1] if newest else rows, limit, position, newest))

    def _order(self, order_id: str, key_id: str) -> HttpResponse:
        wait = self.throttles.take(key_id, "read", 1)
        if wait:
            return _throttled(wait)
        order = self.feed.orders.get(order_id)
        if order is None:
            return _error(404, "ORDER_NOT_FOUND", "order not found")
        return json_response(200, order.rest())

    def _market(self, market_id: str, key_id: str) -> HttpResponse:
        wait = self.throttles.take(key_id, "read", 1)
        if wait:
            return _throttled(wait)
        market = self.feed.markets.get(market_id)
        if market is None:
            return _error(404, "MARKET_NOT_FOUND", "market not found")
        return json_response(200, market.catalog())

    def _account_orders(self, if_none_match: str | None, key_id: str) -> HttpResponse:
        wait = self.throttles.take(key_id, "account", 1)
        if wait:
            return _throttled(wait)
        etag = f'"orders-{self.feed.seq}"'  # the format is open (protocols/novig-v3.md §14.9)
        if if_none_match == etag:
            return HttpResponse(304, b"", {"ETag": etag})
        return json_response(200, {"seq": self.feed.seq, "open": self.feed.open_entries()}, {"ETag": etag})
