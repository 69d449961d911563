"""The client verbs of the simulated Novig v3 websocket (api_streaming_connection.md).

Every client frame is an object with an integer ``nonce`` and one verb ("Verbs"); nonces
rise within a connection, at most 2^53 − 1, and a repeated or lower one answers
``STALE_NONCE``; a frame that fails to parse or hits the throttle gets a reply with no nonce
and leaves the newest nonce unchanged ("Nonces"). ``subscribe`` and ``snapshot`` take a
selection (``markets``, ``events``, ``private``; empty: ``EMPTY_SELECTION``), cost their
weight per pair from the ``stream`` bucket ("Channels and cost"), and answer with a
snapshot reply; ``unsubscribe`` takes subject strings and ``PRIVATE`` drops every private
channel. The simulator serves ``lifecycle`` on markets and events (a market channel that
needs a book answers ``INVALID_REQUEST``: there is no book here).
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from websockets.exceptions import ConnectionClosed

if TYPE_CHECKING:
    from fillwatch.sim.novig_v3_conn import Connection

__all__ = ["MAX_MARKETS", "MAX_NONCE", "WEIGHTS", "Refused", "Selection", "Verbs", "parse_selection"]

WEIGHTS = {"lifecycle": 1, "trades": 4, "bbo": 8, "book": 16, "orders": 1, "positions": 1}
MAX_NONCE = 2**53 - 1
MAX_MARKETS = 2048
"""Markets one connection may watch (api_throttling.md "Websocket subscriptions")."""
_VERBS = frozenset({"subscribe", "unsubscribe", "snapshot", "status", "query_markets", "query_events"})
_PRIVATE = ("orders", "positions")


@dataclass(frozen=True, slots=True)
class Refused:
    """A request refused with `code` and `message` (a value, not an exception: the error tree is the client's)."""

    code: str
    message: str


@dataclass
class Selection:
    """What a ``subscribe``/``snapshot`` names, or what a connection holds."""

    markets: dict[str, str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    private: list[str] = field(default_factory=list)

    def watches(self, market_id: str, event_id: str) -> bool:
        return market_id in self.markets or event_id in self.events

    def add(self, other: Selection) -> None:
        self.markets |= other.markets
        self.events |= other.events
        self.private += [p for p in other.private if p not in self.private]

    def subscribed(self) -> dict[str, Any]:
        """The ``subscribed`` object: the whole set held now."""
        return {"markets": dict(self.markets), "events": dict(self.events), "private": list(self.private)}

    def weight(self) -> int:
        pairs = [*self.markets.values(), *self.events.values(), *self.private]
        return sum(WEIGHTS[channel] for channel in pairs)


def _subjects(payload: object, name: str) -> dict[str, str] | Refused:
    if payload is None:
        return {}
    if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
        return Refused("INVALID_REQUEST", f"{name}: expected a map of id to channel")
    for channel in payload.values():
        if channel not in WEIGHTS or channel in _PRIVATE:
            return Refused("INVALID_REQUEST", f"{name}: unknown channel {channel!r}")
        if channel != "lifecycle":
            return Refused("INVALID_REQUEST", f"{name}: the simulator serves only lifecycle")
    return dict(payload)


def parse_selection(payload: object) -> Selection | Refused:
    """The selection of a ``subscribe``/``snapshot``, or why it is refused."""
    if not isinstance(payload, dict) or set(payload) - {"markets", "events", "private"}:
        return Refused("INVALID_REQUEST", "expected a selection of markets, events and private")
    private = payload.get("private") or []
    if not isinstance(private, list) or any(p not in _PRIVATE for p in private):
        return Refused("INVALID_REQUEST", "private: expected a list of orders and positions")
    markets, events = _subjects(payload.get("markets"), "markets"), _subjects(payload.get("events"), "events")
    if isinstance(markets, Refused):
        return markets
    if isinstance(events, Refused):
        return events
    selection = Selection(markets, events, list(dict.fromkeys(private)))
    if not (selection.markets or selection.events or selection.private):
        return Refused("EMPTY_SELECTION", "the selection is empty")
    return selection


class Verbs:
    """Reads a connection's frames and answers them."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.nonce = 0

    async def listen(self, frames: AsyncIterable[str | bytes]) -> None:
        try:
            async for raw in frames:
                await self.handle(raw)
        except ConnectionClosed:
            pass

    def _error(self, code: str, message: str, nonce: int | None) -> dict[str, Any]:
        if self.connection.venue.script.error_shape == "nested":
            return {"nonce": nonce, "error": {"code": code, "message": message}}
        return {"code": code, "message": message, "nonce": nonce}

    async def handle(self, raw: str | bytes) -> None:
        """Answer one client frame."""
        venue = self.connection.venue
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await self.connection.reply(self._error("INVALID_BODY", "the frame is not valid JSON", None))
            return
        venue.stats.commands.append(frame)
        nonce = frame.get("nonce") if isinstance(frame, dict) else None
        if not isinstance(nonce, int) or isinstance(nonce, bool):
            await self.connection.reply(self._error("INVALID_REQUEST", "nonce: expected an integer", None))
            return
        stale = self._stale(nonce)
        if stale is not None:
            await self.connection.reply(self._error(stale.code, stale.message, nonce))
            return
        parsed = self._parse(frame)
        if isinstance(parsed, Refused):
            self.nonce = nonce  # a refused request still used its nonce; only parse and throttle failures do not
            await self.connection.reply(self._error(parsed.code, parsed.message, nonce))
            return
        verb, cost, payload = parsed
        wait = venue.throttles.take(self.connection.key_id, "stream", cost)
        if wait:
            venue.stats.throttled += 1
            await self.connection.reply(self._error("RATE_LIMIT_EXCEEDED", "Rate limit exceeded.", None))
            return
        self.nonce = nonce
        await self._act(verb, nonce, payload)

    def _stale(self, nonce: int) -> Refused | None:
        if nonce > MAX_NONCE or nonce < 1:
            return Refused("INVALID_REQUEST", f"nonce: 1 to {MAX_NONCE}")
        if nonce <= self.nonce:
            return Refused("STALE_NONCE", f"nonce {nonce} is not above {self.nonce}")
        return None

    def _parse(self, frame: dict[str, Any]) -> tuple[str, int, Any] | Refused:
        """(verb, cost, payload) of a frame, or why it is refused."""
        verbs = [key for key in frame if key != "nonce"]
        if len(verbs) != 1 or verbs[0] not in _VERBS:
            return Refused("INVALID_REQUEST", "expected exactly one verb")
        verb, payload = verbs[0], frame[verbs[0]]
        if verb in ("subscribe", "snapshot"):
            selection = parse_selection(payload)
            if isinstance(selection, Refused):
                return selection
            over = self._over_limit(selection) if verb == "subscribe" else None
            return over or (verb, selection.weight(), selection)
        if verb == "unsubscribe":
            if not isinstance(payload, list) or not all(isinstance(s, str) for s in payload):
                return Refused("INVALID_REQUEST", "unsubscribe: expected a list of subjects")
            return verb, len(payload), payload
        if verb == "status":
            return verb, 1, None
        return Refused("INVALID_REQUEST", f"{verb}: not served by the simulator")

    def _over_limit(self, selection: Selection) -> Refused | None:
        feed, held = self.connection.venue.feed, self.connection.selection
        events = {*held.events, *selection.events}
        watched = {*held.markets, *selection.markets} | {
            m.market_id for m in feed.markets.values() if m.event_id in events
        }
        if len(watched) > MAX_MARKETS:
            return Refused("SUBSCRIPTION_LIMIT_EXCEEDED", f"a connection watches at most {MAX_MARKETS} markets")
        return None

    async def _act(self, verb: str, nonce: int, payload: Any) -> None:
        connection = self.connection
        if verb == "subscribe":

            def subscribed() -> dict[str, Any]:
                connection.selection.add(payload)
                connection.venue.on_subscribed()
                return self._snapshot(nonce, payload, subscribed=True)

            await connection.reply(subscribed)
        elif verb == "snapshot":
            shown = connection.venue.script.snapshot_subscribed
            await connection.reply(lambda: self._snapshot(nonce, payload, subscribed=shown))
        elif verb == "unsubscribe":
            self._unsubscribe(payload)
            await connection.reply(self._ack(nonce, "unsubscribed", list(payload)))
        else:
            await connection.reply(self._ack(nonce, "status", connection.selection.subscribed()))

    def _unsubscribe(self, subjects: list[str]) -> None:
        held = self.connection.selection
        for subject in subjects:
            kind, _, subject_id = subject.partition(":")
            if subject == "PRIVATE":
                held.private.clear()
            elif kind == "market":
                held.markets.pop(subject_id, None)
            elif kind == "event":
                held.events.pop(subject_id, None)

    def _ack(self, nonce: int, name: str, value: object) -> dict[str, Any]:
        venue = self.connection.venue
        if venue.script.ack_shape == "subscribed":
            return {"ts": venue.clock_ms(), "nonce": nonce, "subscribed": self.connection.selection.subscribed()}
        return {"ts": venue.clock_ms(), "nonce": nonce, name: value}

    def _snapshot(self, nonce: int, selection: Selection, *, subscribed: bool) -> dict[str, Any]:
        """A snapshot reply (api_streaming_private.md "Snapshot", api_streaming_connection.md)."""
        venue = self.connection.venue
        feed = venue.feed
        reply: dict[str, Any] = {"ts": venue.clock_ms(), "nonce": nonce}
        if subscribed:
            reply["subscribed"] = self.connection.selection.subscribed()
        reply["snapshot"] = {
            m.market_id: {"eventId": m.event_id, "lifecycle": {"seq": m.lifecycle_seq, "status": m.status}}
            for m in feed.markets.values()
            if selection.watches(m.market_id, m.event_id)
        }
        if "orders" in selection.private:
            reply["orders"] = {"seq": feed.seq, "open": feed.open_entries()}
        if "positions" in selection.private:
            reply["positions"] = {"seq": feed.positions_seq, "positions": feed.position_items()}
        return reply
