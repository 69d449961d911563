"""One connection to the simulated Novig v3 websocket: its verbs, outbox, heartbeats and Pings.

Verbs, nonces, selections, weights and the snapshot reply follow api_streaming_connection.md
("Verbs", "Choose what to subscribe to", "Channels and cost", "Nonces", "Each subscription
starts with a snapshot"); the ``orders``/``positions`` snapshot, batches and heartbeat follow
api_streaming_private.md; market ``lifecycle`` frames api_streaming_lifecycle.md.

The outbox is api_streaming_private.md's "Slow consumer" table: replies and heartbeats wait
for room; ``orders``/``positions`` frames go before market frames and, like them, are dropped
when the outbox is full; a write that stalls ``stall_timeout`` closes with ``1008
SLOW_CONSUMER``. A protocol Ping goes out every ``ping_interval``; a Ping still unanswered at
the next one drops TCP without a close frame ("Why a connection closes").
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from fillwatch.sim.faults import Faults
from fillwatch.sim.novig_v3_feed import Batch, NovigV3Feed
from fillwatch.sim.novig_v3_rest import Throttles
from fillwatch.sim.novig_v3_script import GARBAGE, Script, Sent, Stats
from fillwatch.sim.novig_v3_verbs import Selection, Verbs

__all__ = ["Connection", "Out", "Outbox", "Venue"]


@dataclass
class Out:
    """One frame to write: its payload, the order events it carries (for :class:`Stats`)."""

    payload: dict[str, Any] | str | bytes
    sent: tuple[Sent, ...] = ()
    stamp: bool = False
    """Set ``ts`` when written (``Script.frame_ts == "send"``)."""
    close: str | None = None
    """Not a frame: close with ``1008`` and this reason once everything before it is written."""


class Outbox:
    """A connection's bounded queue: private frames first, then market frames (api_streaming_private.md)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._front: deque[Out] = deque()
        self._market: deque[Out] = deque()
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._front) + len(self._market)

    def _changed(self) -> None:
        (self._ready.set if len(self) else self._ready.clear)()
        (self._room.set if len(self) < self.limit else self._room.clear)()

    def offer(self, out: Out, *, market: bool = False) -> bool:
        """Queue a droppable frame; False if the outbox is full and it was dropped."""
        if len(self) >= self.limit:
            return False
        (self._market if market else self._front).append(out)
        self._changed()
        return True

    async def room(self) -> None:
        """Wait until a frame fits (replies and heartbeats wait; they are never dropped)."""
        await self._room.wait()

    def force(self, out: Out) -> None:
        """Queue a reply or heartbeat once :meth:`room` said it fits."""
        self._front.append(out)
        self._changed()

    async def get(self) -> Out:
        await self._ready.wait()
        out = self._front.popleft() if self._front else self._market.popleft()
        self._changed()
        return out


@dataclass
class Venue:
    """What every connection shares: the subaccount's feed, the script, the statistics, the throttles."""

    feed: NovigV3Feed
    script: Script
    stats: Stats
    throttles: Throttles
    clock_ms: Callable[[], int]
    rng: random.Random = field(default_factory=random.Random)
    on_subscribed: Callable[[], None] = lambda: None


class Connection:
    """One accepted websocket: :meth:`run` until it closes; :meth:`deliver` each batch the venue makes."""

    def __init__(self, venue: Venue, ws: ServerConnection, number: int, key_id: str) -> None:
        self.venue, self.ws, self.number, self.key_id = venue, ws, number, key_id
        self.selection = Selection()
        self.outbox = Outbox(venue.script.queue_limit)
        self.silent = asyncio.Event()
        self.done = False
        self.batches = 0
        """Batches this connection was due (delivered or dropped)."""
        self._faults = Faults(venue.script, venue.stats, venue.rng)
        self._verbs = Verbs(self)

    async def run(self) -> None:
        loops = [self._write(), self._heartbeats(), self._pings(), self._verbs.listen(self.ws)]
        tasks = [asyncio.create_task(loop) for loop in loops]
        try:
            await self.ws.wait_closed()
        finally:
            self.done = True
            for task in tasks:
                task.cancel()

    # Writing -----------------------------------------------------------------------------

    async def reply(self, payload: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        """Queue a reply, waiting for room; a callable is built only then (a snapshot is taken when sent)."""
        await self.outbox.room()
        self.outbox.force(Out(payload() if callable(payload) else payload))

    async def _write(self) -> None:
        stats, script = self.venue.stats, self.venue.script
        with contextlib.suppress(ConnectionClosed):
            while True:
                out = await self.outbox.get()
                if self.silent.is_set():
                    return
                if out.close is not None:
                    await self._close(out.close)
                    return
                payload, text = out.payload, not isinstance(out.payload, bytes)
                if isinstance(payload, dict):
                    payload = orjson.dumps({"ts": self.venue.clock_ms(), **payload} if out.stamp else payload)
                try:
                    await asyncio.wait_for(self.ws.send(payload, text=text), script.stall_timeout)
                except TimeoutError:
                    await self._close("SLOW_CONSUMER")
                    return
                if out.sent:
                    stats.delivered += 1
                    stats.sent.extend(out.sent)

    async def _close(self, reason: str) -> None:
        """Close with ``1008`` and `reason` (``SLOW_CONSUMER`` or a 451 code)."""
        self.venue.stats.closes.append((1008, reason))
        self.venue.stats.close_times.append(time.monotonic())
        self.done = True
        try:  # a client that reads nothing never takes the close frame either
            await asyncio.wait_for(self.ws.close(1008, reason), self.ws.close_timeout or 2.0)
        except TimeoutError:
            if self.ws.transport is not None:
                self.ws.transport.abort()

    async def _every(self, period: float, action: Callable[[], Awaitable[bool]]) -> None:
        with contextlib.suppress(ConnectionClosed):
            while not self.silent.is_set():
                await asyncio.sleep(period)
                if self.silent.is_set() or not await action():
                    return

    async def _heartbeats(self) -> None:
        async def beat() -> bool:
            feed = self.venue.feed
            if self.selection.private and (self.venue.script.heartbeat_at_zero or feed.seq or feed.positions_seq):
                self.venue.stats.heartbeats += 1
                await self.reply(self._heartbeat)  # its seqs are read when it fits in the outbox
            return True

        await self._every(self.venue.script.heartbeat, beat)

    def _heartbeat(self) -> dict[str, Any]:
        """``{"heartbeat": {<channel>: <last seq>, …, "ts": …}}``, one key per private channel held."""
        feed, private = self.venue.feed, self.selection.private
        beat: dict[str, Any] = {"orders": feed.seq} if "orders" in private else {}
        if "positions" in private:
            beat["positions"] = feed.positions_seq
        return {"heartbeat": {**beat, "ts": self.venue.clock_ms()}}

    async def _pings(self) -> None:
        pending: asyncio.Task[Awaitable[float]] | None = None

        async def ping() -> bool:
            nonlocal pending
            if pending is not None and (not pending.done() or not pending.result().done()):  # type: ignore[attr-defined]
                self.venue.stats.pong_timeouts += 1
                if self.ws.transport is not None:
                    self.ws.transport.abort()  # no close frame: the client sees 1006
                return False
            self.venue.stats.pings += 1
            pending = asyncio.create_task(self.ws.ping())
            return True

        await self._every(self.venue.script.ping_interval, ping)

    # Batches -----------------------------------------------------------------------------

    def deliver(self, batch: Batch) -> None:
        """Queue what `batch` means for this connection's subscriptions, with the script's faults."""
        if self.done or self.silent.is_set():
            return
        private = self.selection.private
        orders = "orders" in private and batch.seq is not None
        positions = "positions" in private and batch.positions_seq is not None
        market = self._market_part(batch)
        if not (orders or positions or market):
            return
        if self._faults.end_here(self.ws, self.silent, self.batches):
            self.done = True
            return
        self.batches += 1
        if orders and self._dropped_on_purpose(batch):
            orders = False
        self._queue(batch, orders, positions, market)
        self._after_batch()

    def _market_part(self, batch: Batch) -> dict[str, Any]:
        if batch.lifecycle is None:
            return {}
        market_id, transition, seq = batch.lifecycle
        market = self.venue.feed.markets[market_id]
        if not self.selection.watches(market_id, market.event_id):
            return {}
        return {market_id: {"eventId": market.event_id, "lifecycle": {"seq": seq, "deltas": [transition]}}}

    def _dropped_on_purpose(self, batch: Batch) -> bool:
        script = self.venue.script
        assert batch.seq is not None
        every = script.drop_every and self.batches % script.drop_every == 0
        if batch.seq in script.drop_seqs or every or self.venue.rng.random() < script.drop_chance:
            self.venue.stats.dropped_seqs.append((self.number, batch.seq))
            return True
        return False

    def _queue(self, batch: Batch, orders: bool, positions: bool, market: dict[str, Any]) -> None:
        stamp = self.venue.script.frame_ts == "send"
        head: dict[str, Any] = {} if stamp else {"ts": batch.ts}
        parts: list[tuple[dict[str, Any], tuple[Sent, ...]]] = []
        if orders:
            assert batch.seq is not None
            sent = tuple(
                Sent(
                    self.number, batch.seq, e["kind"], e["orderId"], e.get("remaining") if e["kind"] == "fill" else None
                )
                for e in batch.events
            )
            parts.append(({"orders": {"seq": batch.seq, "deltas": batch.events}}, sent))
        if positions:
            parts.append(({"positions": {"seq": batch.positions_seq, "deltas": batch.positions}}, ()))
        if self.venue.script.share_frames and parts:
            merged = {k: v for part, _ in parts for k, v in part.items()}
            self._offer(batch, Out({**head, "delta": market, **merged}, sum((s for _, s in parts), ()), stamp))
            return
        for part, sent in parts:
            self._offer(batch, Out({**head, "delta": {}, **part}, sent, stamp))
        if market:
            self._offer(batch, Out({**head, "delta": market}, (), stamp), market=True)

    def _offer(self, batch: Batch, out: Out, *, market: bool = False) -> None:
        if self.outbox.offer(out, market=market):
            return
        self.venue.stats.lagged += 1
        if out.sent and batch.seq is not None:
            self.venue.stats.dropped_seqs.append((self.number, batch.seq))

    def _after_batch(self) -> None:
        script, stats = self.venue.script, self.venue.stats
        if script.garbage_every and self.batches % script.garbage_every == 0:
            self.outbox.offer(Out(GARBAGE[(self.batches // script.garbage_every) % len(GARBAGE)]))
        if (
            script.close_after is not None
            and self.batches >= script.close_after
            and (script.closes is None or stats.scripted_closes < script.closes)
        ):
            self.done = True  # nothing more is queued; the writer closes after what is
            stats.scripted_closes += 1
            self.outbox.force(Out({}, close=script.close_reason))


def _left(event: dict[str, Any]) -> int | None:
    """A fill's ``remaining`` (with the order id, the stream's key of a fill)."""
    return event.get("remaining") if event["kind"] == "fill" else None
