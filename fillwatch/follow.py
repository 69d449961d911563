"""Nothing lost, nothing twice: the live stream, REST backfill and the ledger.

Neither venue numbers or replays private messages, so every gap is closed
from the venue's REST history (protocols/kalshi.md §7, novig.md §7):

* before the first connection, the history the adapter needs to know is read
  in full and shown nowhere (:func:`warming_up`; Novig: your orders);
* with ``--since`` or a checkpoint, history is read first, then the stream is
  followed;
* after every (re)connection that reaches a confirmed subscription, history is
  read again from the last event's time less the overlap (subscribe first,
  then read, so that nothing falls between the two);
* when the adapter asks for it (:class:`~fillwatch.venues.base.Reconcile`: a
  Novig market closed and took resting orders without a cancel event), that
  history is read at once, before the next frame;
* every event, live or history, passes the :class:`~fillwatch.ledger.Ledger`,
  which lets each (venue, id, order_id) through once.

A backfill that fails (after the REST client's own retries) is reported and
owed: the next backfill starts where the failed one would have, and it is
tried again at the next connection or after `retry_interval` seconds. This
module does no I/O of its own: REST goes through :mod:`fillwatch.net.http`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeAlias

from fillwatch.errors import AuthenticationError, ConnectionFailed
from fillwatch.events import (
    Backfilled,
    BackfillFailed,
    Cancel,
    Connected,
    Disconnected,
    Event,
    Fill,
    Implausible,
    Item,
)
from fillwatch.ledger import Ledger
from fillwatch.net.http import RestClient, RestError, Unauthorized
from fillwatch.net.stream import Authenticate, Streamed
from fillwatch.venues.base import Reconcile, Request, Venue

__all__ = ["follow", "read_history", "warming_up"]

MAX_PAGES = 10_000  # a venue that keeps returning cursors is not followed forever
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

RecordHistory: TypeAlias = Callable[[float, str, bytes, datetime, str | None], None]
"""Receives (receive time, kind, body, since, page token) for every history page read (``--record``)."""


async def read_history(
    venue: Venue,
    rest: RestClient,
    since: datetime,
    *,
    clock: Callable[[], float] = time.time,
    authenticate: Authenticate | None = None,
    record_history: RecordHistory | None = None,
    kinds: Sequence[str] | None = None,
) -> tuple[list[Event], int]:
    """Every history event from `since`, oldest first, and the rows that were unreadable.

    Reads every kind of the venue's history, or only `kinds`. Events of the
    same time come in id order, whatever order the pages gave them in.

    Raises:
        RestError: a page could not be read (after retries), or not understood.
        AuthenticationError: rejected twice (fresh signature / renewed token in between).
    """
    events: list[Event] = []
    skipped = 0
    for kind in venue.history_kinds if kinds is None else kinds:
        page: str | None = None
        for _ in range(MAX_PAGES):

            def make(page: str | None = page, kind: str = kind) -> Request:
                return venue.history_request(kind, since, page, int(clock() * 1000))

            try:
                body = await rest.send(make)
            except Unauthorized:
                if authenticate is not None:
                    await authenticate(True)
                body = await rest.send(make)  # a second rejection stops the run
            if record_history is not None:
                record_history(clock(), kind, body, since, page)
            try:
                result = venue.parse_history(kind, body, since, page)
            except ValueError as exc:  # orjson's errors included: not a page of history at all
                raise RestError(f"{venue.name} {kind} history: {exc}") from exc
            events.extend(result.events)
            skipped += result.skipped
            if result.next_page is None or result.next_page == page:
                break
            page = result.next_page
    events.sort(key=lambda event: (event.ts, event.id))
    return events, skipped


def warming_up(
    venue: Venue,
    rest: RestClient,
    authenticate: Authenticate | None,
    *,
    clock: Callable[[], float] = time.time,
    record_history: RecordHistory | None = None,
) -> Authenticate | None:
    """The stream's ``authenticate`` hook, reading ``venue.warm_up`` once before the first connection.

    That history is read from the beginning, every page, so that the adapter
    knows what it needs before the first frame (Novig: your orders, for the
    currency of fills and the ``CLOSE`` ticks that concern you); its events
    are not shown. As part of the first attempt, a failure is retried with
    the connection (RestError), and a second 401/403 stops the run.
    """
    if not venue.warm_up:
        return authenticate
    done = False

    async def hook(renew: bool) -> None:
        nonlocal done
        if authenticate is not None:
            await authenticate(renew)
        if done:
            return
        try:
            await read_history(
                venue,
                rest,
                BEGINNING,
                clock=clock,
                authenticate=authenticate,
                record_history=record_history,
                kinds=venue.warm_up,
            )
        except Unauthorized as exc:
            raise AuthenticationError(f"{venue.name} rejected a renewed token ({exc})") from exc
        done = True

    return hook


async def follow(
    venue: Venue,
    live: AsyncIterator[Streamed] | None,
    rest: RestClient,
    ledger: Ledger,
    *,
    since: datetime | None = None,
    clock: Callable[[], float] = time.time,
    authenticate: Authenticate | None = None,
    retry_interval: float = 30.0,
    record_history: RecordHistory | None = None,
) -> AsyncIterator[Item]:
    """Yield the events of `live` and of the venue's history, each once, with status items.

    Args:
        venue: the adapter (history requests and parsing).
        live: the stream (``net.stream.watch``), or None for history only (``--no-follow``).
        rest: sends the history requests.
        ledger: de-duplication and the checkpoint; may come from a previous run.
        since: read history from here first (``--since``; else the checkpoint, if any).
        clock: wall-clock seconds.
        authenticate: renews credentials after a REST rejection.
        retry_interval: how long to wait before trying an owed backfill again.
        record_history: receives every history page read (``--record``).

    Raises:
        ConnectionFailed: history only, and it could not be read.
    """

    def now() -> datetime:
        return datetime.fromtimestamp(clock(), UTC)

    async def backfill(start: datetime, downtime: float | None, kind: str | None = None) -> AsyncIterator[Item]:
        """Read the history since `start` (only `kind` of it, for a :class:`Reconcile`)."""
        began = clock()
        try:
            if authenticate is not None:  # history may come first: a token, and the adapter warmed up
                await authenticate(False)
            events, skipped = await read_history(
                venue,
                rest,
                start,
                clock=clock,
                authenticate=authenticate,
                record_history=record_history,
                kinds=None if kind is None else (kind,),
            )
        except RestError as exc:
            ledger.owe(start)
            yield BackfillFailed(start, str(exc), downtime)
            return
        fills = cancels = 0
        for event in events:
            if ledger.admit(event):
                fills += isinstance(event, Fill)
                cancels += isinstance(event, Cancel)
                yield event
                if ledger.implausible and not flagged:
                    yield flag()
        if kind is None:  # a reconciliation is no backfill: it closes no gap
            ledger.settle()
            yield Backfilled(start, fills, cancels, clock() - began, downtime, skipped)

    flagged = False

    def flag() -> Implausible:
        """The first event whose time was implausible, said once (ledger.first_implausible)."""
        nonlocal flagged
        flagged = True
        event = ledger.first_implausible
        assert event is not None
        return Implausible(event.id, event.ts)

    start = since
    if since is not None:
        ledger.set_floor(since)  # the history floor: nothing older is printed, after any reconnect
    if start is None and ledger.resumed:  # from the checkpoint's newest event (or the last minute)
        start = ledger.backfill_from(now())
    if live is None:
        if start is None:
            return
        async for item in backfill(start, None):
            if isinstance(item, BackfillFailed):
                raise ConnectionFailed(f"could not read the history: {item.reason}")
            yield item
        return
    history_read_at: datetime | None = None
    if start is not None:
        history_read_at = now()
        async for item in backfill(start, None):
            yield item

    confirmed_at: datetime | None = None
    dropped_at: float | None = None
    retry_at = float("inf")
    async with contextlib.aclosing(live):
        async for item in live:
            if isinstance(item, (Fill, Cancel)):
                if ledger.admit(item):
                    yield item
                    if ledger.implausible and not flagged:
                        yield flag()
                if clock() >= retry_at and ledger.resume_from is not None:
                    retry_at = float("inf")
                    async for owed in backfill(ledger.backfill_from(now()), None):
                        yield owed
                continue
            if isinstance(item, Reconcile):
                async for event in backfill(ledger.backfill_from(now()), None, item.kind):
                    if isinstance(event, BackfillFailed):
                        retry_at = clock() + retry_interval  # a full backfill then reads it too
                    yield event
                continue
            if isinstance(item, Connected) and ledger.floor is None and not ledger.resumed:
                ledger.set_floor(now())  # nothing from before the run's first subscription
            yield item
            if isinstance(item, Disconnected):
                if dropped_at is None:
                    dropped_at = clock()
            elif isinstance(item, Connected):
                downtime = None if dropped_at is None else clock() - dropped_at
                anchor = confirmed_at or history_read_at
                if anchor is not None or ledger.resume_from is not None:
                    # Subscribed first, now read what happened since the last event (or the anchor).
                    async for recovered in backfill(ledger.backfill_from(anchor or now()), downtime):
                        if isinstance(recovered, BackfillFailed):
                            retry_at = clock() + retry_interval
                        yield recovered
                confirmed_at = confirmed_at or now()
                dropped_at = None
