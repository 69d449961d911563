"""The Novig v3 adapter: signed ``/v3/ws``, the private ``orders`` channel, REST recovery of gaps.

Facts from ``protocols/novig-v3.md`` (Novig's v3 pages, ``Semionsr/novig-v3-kit``
``fixtures/docs/``): the upgrade and every REST call are signed ``NOVIG-V3``
(:mod:`.signing`, §3); the stream is read by :class:`~.orders.NovigV3Orders` (§4–§5, §8);
what it cannot say is read from REST (:mod:`.history`, §5.6, §6, §8.3).

How a lost batch is recovered through the shared adapter protocol, with no help from the
session: a ``seq`` jump or a heartbeat ahead of the last applied ``seq`` sends a
``snapshot`` request at once (a :class:`~fillwatch.venues.base.Reply`); the snapshot's diff
against the known book names the orders that ended or filled meanwhile, and the adapter asks
for history (:class:`~fillwatch.venues.base.Reconcile` of :data:`~.history.KIND`), which the
session reads at once. After a reconnect the session's own backfill reads the same kind.
Stream and REST fills share one id (``orderId:remaining``), so the ledger shows each once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from fillwatch.core.events import Cancel, Event, Fill
from fillwatch.core.secret import RedactedDict
from fillwatch.venues.base import UNREADABLE, Ack, HistoryPage, Parsed, Reconcile, Request
from fillwatch.venues.novig_v3.control import close_meaning
from fillwatch.venues.novig_v3.history import KIND, LOOKUP, Reader
from fillwatch.venues.novig_v3.orders import NovigV3Orders, OrderLookup
from fillwatch.venues.novig_v3.seq import Gap, Recovered
from fillwatch.venues.novig_v3.signing import PrivateKey, signed_get, signed_headers

__all__ = ["ENDPOINTS", "GapReport", "NovigV3", "parser"]

ENDPOINTS: dict[str, dict[str, str]] = {
    # env → endpoint → URL: protocols/novig-v3.md §1 (the REST base without /v3: paths carry it).
    "prod": {"ws": "wss://api.novig.com/v3/ws", "api": "https://api.novig.com"},
    "demo": {"ws": "wss://api.qa.novig.com/v3/ws", "api": "https://api.qa.novig.com"},
}

_PAGE = 500  # the documented default page size (§6.1); the maximum is 5000
_RECONCILE = Reconcile(KIND)
_LOOKUP = Reconcile(LOOKUP)


class GapReport:
    """What the stream's numbering showed: each gap as ``(last applied, seen)``, and how it was seen."""

    __slots__ = ("by_heartbeat", "gaps")

    def __init__(self) -> None:
        self.gaps: list[tuple[int, int]] = []
        self.by_heartbeat = 0

    def __repr__(self) -> str:
        return f"GapReport({len(self.gaps)} gaps, {self.by_heartbeat} by heartbeat)"


class NovigV3:
    """One Novig v3 subaccount, signed by its key (none: a parser for recordings, which cannot sign)."""

    name = "novig"
    channels = frozenset({"orders"})
    history_kinds: tuple[str, ...] = (KIND,)
    warm_up: tuple[str, ...] = ()
    retry_after_unit = 1.0  # Retry-After in seconds (§10)

    def __init__(
        self,
        key_id: str | None = None,
        key: PrivateKey | None = None,
        *,
        ws_url: str = ENDPOINTS["prod"]["ws"],
        api_url: str = ENDPOINTS["prod"]["api"],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key_id, self._key = key_id, key
        self.ws_path = urlsplit(ws_url).path or "/"
        self.api_url = api_url.rstrip("/")
        self.clock = clock
        self.report = GapReport()
        self._stream = NovigV3Orders()
        self._ended: dict[str, None] = {}
        self._fresh = True  # no snapshot yet on this connection
        self._gap: tuple[int, int] | None = None  # (last applied, highest seen) of the gap being recovered
        self._reader = Reader(self._stream.births, lambda: list(self._ended), self._born, lambda: self.clock())

    def __repr__(self) -> str:
        return f"NovigV3(key_id={self.key_id!r}, api_url={self.api_url!r})"

    # The stream ---------------------------------------------------------------

    def handshake_headers(self, now_ms: int) -> dict[str, str]:
        """The three ``Novig-*`` headers of ``GET /v3/ws``, signed at `now_ms` (every attempt afresh)."""
        key_id, key = self._signer()
        return signed_headers(key_id, key, now_ms, "GET", self.ws_path)

    def subscribe_frames(self) -> Sequence[bytes]:
        """``{"nonce": 1, "subscribe": {"private": ["orders"]}}``: a new connection starts afresh."""
        self._fresh, self._gap = True, None  # what the last connection lost, its backfill reads
        return self._stream.subscribe_frames()

    def parse(self, frame: str | bytes) -> Sequence[Parsed]:
        """One frame: events and control items; a gap's snapshot request goes back at once."""
        items: list[Parsed] = []
        lookup = reconcile = False
        for item in self._stream.parse(frame):
            if isinstance(item, Gap):
                self.report.gaps.append((item.expected - 1, item.seen))
                self.report.by_heartbeat += item.via == "heartbeat"
                low, high = self._gap or (item.expected - 1, item.seen)
                self._gap = (min(low, item.expected - 1), max(high, item.seen))
            elif isinstance(item, OrderLookup):
                lookup = True
            elif isinstance(item, Recovered):
                self._ended.update(dict.fromkeys(item.ended))
                reconcile = not self._fresh  # after a reconnect the session's backfill reads it
            else:
                items.append(item)
        if any(isinstance(item, Ack) for item in items):
            self._fresh = False
        if lookup:
            items.append(_LOOKUP)
        if reconcile:
            items.append(self._recovery())
        return items

    def _recovery(self) -> Reconcile:
        """The read that recovers a gap, named by its ``seq`` span (``seq 908→913``) for the report."""
        gap, self._gap = self._gap, None
        if gap is None:
            return _RECONCILE
        return Reconcile(KIND, label=f"seq {gap[0]}→{gap[1]}")

    @staticmethod
    def close_meaning(code: int | None, reason: str) -> Parsed | None:
        """A close of the socket: 1008 with a location code stops (Rejected), other 1008 resyncs."""
        return close_meaning(code, reason)

    # REST history -------------------------------------------------------------

    def history_request(self, kind: str, since: datetime, page: str | None, now_ms: int) -> Request:
        """The request for one page of the chain (see :mod:`.history`)."""
        if kind == LOOKUP:
            waiting = self._stream.waiting()
            if page is not None or waiting:
                order_id = page.removeprefix("o:") if page else waiting[0]
                return self._get(now_ms, f"/v3/orders/{quote(order_id, safe='')}")
            return self._get(now_ms, "/v3/orders", [("status", "OPEN"), ("limit", 1)])
        if kind != KIND:
            raise ValueError(f"no {kind} history on Novig v3")
        if page is None or page.startswith("f:"):
            after = [] if page is None else [("after", page[2:])]
            return self._get(now_ms, "/v3/portfolio/fills", [("limit", _PAGE), *after])
        if page.startswith("o:"):
            return self._get(now_ms, f"/v3/orders/{quote(page[2:], safe='')}")
        after = [("after", page[2:])] if page.startswith("c:") else []
        return self._get(now_ms, "/v3/orders", [("status", "CANCELED"), ("limit", _PAGE), *after])

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        """One page: a lookup's waiting events, or the next step of a full read."""
        if kind == LOOKUP:
            answer = orjson.loads(body)
            events: list[Event] = []
            if isinstance(answer, dict) and "orderId" in answer:
                events = [item for item in self._stream.learn_order(body) if isinstance(item, (Fill, Cancel))]
            waiting = self._stream.waiting()
            following = f"o:{waiting[0]}" if waiting and f"o:{waiting[0]}" != page else None
            return HistoryPage(events, following)
        return self._reader.parse(body, since, page)

    def _born(self, order_id: str, size: int, created_ms: int) -> None:
        self._stream.born(order_id, size, created_ms)
        self._ended.pop(order_id, None)

    # Across runs (--state) ----------------------------------------------------

    def memory(self, done: Callable[[Event], bool]) -> dict[str, Any] | None:
        """The resting orders as last known: the next run's first snapshot shows which ended meanwhile."""
        return {"api": "v3", "book": self._stream.book(), "ended": list(self._ended)}

    def recall(self, memory: Any) -> None:
        """Take up what :meth:`memory` kept (ValueError: not such a value)."""
        try:
            if memory.get("api") != "v3":
                raise ValueError("not a Novig v3 memory")
            self._stream.restore(memory["book"])
            self._ended.update(dict.fromkeys(str(order) for order in memory.get("ended", [])))
        except UNREADABLE as exc:
            raise ValueError(f"not a Novig v3 memory ({exc})") from None

    # Market names -------------------------------------------------------------

    def market_request(self, market: str, now_ms: int) -> Request:
        """``GET /v3/catalog/markets/{id}``."""
        return self._get(now_ms, f"/v3/catalog/markets/{quote(market, safe='')}")

    @staticmethod
    def parse_market_title(body: bytes) -> str | None:
        """The market's ``description`` (``Celtics @ Lakers``); None for a body without one."""
        try:
            market = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        title = market.get("description") if isinstance(market, dict) else None
        return title if isinstance(title, str) and title.strip() else None

    @staticmethod
    def parse_outcome_names(body: bytes) -> dict[str, str]:
        """Outcome id → its ``name``, from the market's ``outcomes``."""
        try:
            market = orjson.loads(body)
            outcomes = market["outcomes"]
            return {o["outcomeId"]: o["name"] for o in outcomes if isinstance(o.get("name"), str)}
        except (orjson.JSONDecodeError, *UNREADABLE):
            return {}

    # Signing ------------------------------------------------------------------

    def _signer(self) -> tuple[str, PrivateKey]:
        if self.key_id is None or self._key is None:
            raise RuntimeError("this Novig v3 adapter parses recordings only: it has no key to sign with")
        return self.key_id, self._key

    def _get(self, now_ms: int, path: str, params: list[tuple[str, str | int]] | None = None) -> Request:
        if self._key is None:  # a parser never sends: the request is described, unsigned
            return Request(method="GET", url=self.api_url + path, headers=RedactedDict())
        key_id, key = self._signer()
        return signed_get(key_id, key, now_ms, self.api_url, path, params or ())


def parser(*, clock: Callable[[], float] | None = None) -> NovigV3:
    """An adapter for recorded frames and pages: no key."""
    return NovigV3() if clock is None else NovigV3(clock=clock)
