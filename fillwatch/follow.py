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

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

from fillwatch.errors import AuthenticationError, ConfigError, ConnectionFailed
from fillwatch.events import Backfilled, BackfillFailed, Cancel, Connected, Disconnected, Event, Fill, Item
from fillwatch.ledger import Ledger
from fillwatch.net.http import Redirected, RestClient, RestError, Unauthorized
from fillwatch.net.stream import Authenticate, Streamed
from fillwatch.venues.base import Reconcile, Request, Venue, excerpt

__all__ = ["follow", "history_batches", "read_history", "warming_up"]

MAX_PAGES = 10_000  # a venue that keeps returning cursors is not followed forever
BATCH = 5_000
"""History events sorted and handed on together: a longer read goes on in batches, so memory stays flat."""
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

RecordHistory: TypeAlias = Callable[[float, str, bytes, datetime, str | None], None]
"""Receives (receive time, kind, body, since, page token) for every history page read (``--record``)."""


async def history_pages(
    venue: Venue,
    rest: RestClient,
    since: datetime,
    *,
    clock: Callable[[], float] = time.time,
    authenticate: Authenticate | None = None,
    record_history: RecordHistory | None = None,
    kinds: Sequence[str] | None = None,
) -> AsyncIterator[tuple[Sequence[Event], int]]:
    """Each page of history from `since` as it is read: its events (the venue's order) and unreadable rows.

    Reads every kind of the venue's history, or only `kinds`.

    Raises:
        RestError: a page could not be read (after retries), or not understood; the
            venue handed out a page cursor it had handed out before in this read, or
            more than :data:`MAX_PAGES` pages.
        AuthenticationError: rejected twice (fresh signature / renewed token in between).
    """
    for kind in venue.history_kinds if kinds is None else kinds:
        page: str | None = None
        seen: set[str] = set()
        for number in range(1, MAX_PAGES + 1):

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
            yield result.events, result.skipped
            if result.next_page is None:
                break
            if page is not None:
                seen.add(page)
            if result.next_page in seen:
                raise RestError(
                    f"{venue.name} {kind} history: the venue handed out the page cursor "
                    f"{excerpt(result.next_page, 40)!r} again after {number} pages; stopped reading there"
                )
            page = result.next_page
        else:
            raise RestError(f"{venue.name} {kind} history: more than {MAX_PAGES} pages; stopped reading there")


async def history_batches(
    pages: AsyncIterator[tuple[Sequence[Event], int]], size: int = BATCH
) -> AsyncIterator[tuple[list[Event], int]]:
    """The events of `pages` in batches of about `size`, each oldest first (same time: by id), with skipped rows.

    A history that fits in one batch comes out in time order, whatever order
    its pages were in; a longer one comes out a batch at a time, so that its
    events are never all held at once.
    """
    batch: list[Event] = []
    skipped = 0
    async for events, unreadable in pages:
        batch.extend(events)
        skipped += unreadable
        if len(batch) >= size:
            batch.sort(key=lambda event: (event.ts, event.id))
            yield batch, skipped
            batch, skipped = [], 0
    if batch or skipped:
        batch.sort(key=lambda event: (event.ts, event.id))
        yield batch, skipped


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

    Events of the same time come in id order, whatever order the pages gave
    them in. Holds the whole history: :func:`follow` reads it a batch at a time.

    Raises:
        RestError, AuthenticationError: as :func:`history_pages`.
    """
    events: list[Event] = []
    skipped = 0
    pages = history_pages(
        venue, rest, since, clock=clock, authenticate=authenticate, record_history=record_history, kinds=kinds
    )
    async for page, unreadable in pages:
        events.extend(page)
        skipped += unreadable
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
        pages = history_pages(
            venue,
            rest,
            BEGINNING,
            clock=clock,
            authenticate=authenticate,
            record_history=record_history,
            kinds=venue.warm_up,
        )
        try:
            async for _ in pages:  # the adapter learns from each page; its events are not shown
                pass
        except Unauthorized as exc:
            raise AuthenticationError(f"{venue.name} rejected a renewed token ({exc})") from exc
        done = True

    return hook


@dataclass(frozen=True, slots=True)
class _Ended:
    """A background backfill ended (with the error it raised, if it raised one)."""

    error: BaseException | None = None


async def _drain(job: AsyncIterator[Item], out: asyncio.Queue[Item | _Ended]) -> None:
    """Run `job` to its end, putting its items on `out`, then an :class:`_Ended`."""
    try:
        async for item in job:
            await out.put(item)
    except Exception as exc:  # noqa: BLE001 (not swallowed: the consumer raises it in its own task)
        await out.put(_Ended(exc))
    else:
        await out.put(_Ended())


class _Backfills:
    """Backfills run one at a time in the background, while the live stream goes on.

    Their items wait in a bounded queue for :func:`follow` to take them: a
    backfill pages ahead of what was shown by at most that much.
    """

    def __init__(self) -> None:
        self.waiting: deque[AsyncIterator[Item]] = deque()
        self.out: asyncio.Queue[Item | _Ended] = asyncio.Queue(maxsize=BATCH)
        self.running: asyncio.Task[None] | None = None

    def add(self, job: AsyncIterator[Item]) -> None:
        self.waiting.append(job)
        if self.running is None:
            self.next()

    def next(self) -> None:
        """The running backfill ended: start the next one waiting, if any."""
        self.running = None
        if self.waiting:
            self.running = asyncio.get_running_loop().create_task(_drain(self.waiting.popleft(), self.out))

    async def aclose(self) -> None:
        for job in self.waiting:
            await job.aclose()  # type: ignore[attr-defined]
        if self.running is not None:
            self.running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.running


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

    History read before the stream (``--since``, a checkpoint) comes first;
    backfills after that run in the background, one at a time, and live events
    keep coming while they wait or page (CONTRACT §5).

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
        ConfigError: the history read before the stream was redirected.
    """

    def now() -> datetime:
        return datetime.fromtimestamp(clock(), UTC)

    async def backfill(
        start: datetime, downtime: float | None, kind: str | None = None, *, first: bool = False
    ) -> AsyncIterator[Item]:
        """Read the history since `start` (only `kind` of it, for a :class:`Reconcile`).

        While it reads, the gap is owed: live events that move the newest time
        on must not push the ledger's window past the gap's older history.
        """
        began = clock()
        owed = ledger.resume_from
        ledger.owe(start)
        fills = cancels = skipped = 0
        try:
            if authenticate is not None:  # history may come first: a token, and the adapter warmed up
                await authenticate(False)
            pages = history_pages(
                venue,
                rest,
                start,
                clock=clock,
                authenticate=authenticate,
                record_history=record_history,
                kinds=None if kind is None else (kind,),
            )
            async for events, unreadable in history_batches(pages):
                skipped += unreadable
                for event in events:
                    if ledger.admit(event):
                        fills += isinstance(event, Fill)
                        cancels += isinstance(event, Cancel)
                        yield event
        except RestError as exc:
            if first and isinstance(exc, Redirected):
                raise ConfigError(str(exc)) from exc
            yield BackfillFailed(start, str(exc), downtime)
            return
        if kind is None:  # a reconciliation is no backfill: it closes no gap
            ledger.settle()
            yield Backfilled(start, fills, cancels, clock() - began, downtime, skipped)
        else:
            ledger.resume_from = owed

    start = since
    if start is None and ledger.resumed:  # from the checkpoint's newest event (or the last minute)
        start = ledger.backfill_from(now())
    if live is None:
        if start is None:
            return
        async for item in backfill(start, None, first=True):
            if isinstance(item, BackfillFailed):
                raise ConnectionFailed(f"could not read the history: {item.reason}")
            yield item
        return
    history_read_at: datetime | None = None
    if start is not None:
        history_read_at = now()
        async for item in backfill(start, None, first=True):
            yield item

    confirmed_at: datetime | None = None
    dropped_at: float | None = None
    retry_at = float("inf")
    backfills = _Backfills()
    next_live: asyncio.Future[Streamed] | None = None
    next_out: asyncio.Future[Item | _Ended] | None = None
    async with contextlib.aclosing(live):
        try:
            while True:
                if backfills.running is not None:  # both: whichever comes first
                    next_live = next_live or asyncio.ensure_future(anext(live))
                    next_out = next_out or asyncio.ensure_future(backfills.out.get())
                    await asyncio.wait((next_live, next_out), return_when=asyncio.FIRST_COMPLETED)
                    if next_out.done():
                        got, next_out = next_out.result(), None
                        if isinstance(got, _Ended):
                            if got.error is not None:
                                raise got.error
                            backfills.next()
                            continue
                        if isinstance(got, BackfillFailed):
                            retry_at = clock() + retry_interval  # a full backfill then reads it too
                        yield got
                        continue
                try:
                    if next_live is not None:
                        item = await next_live
                    else:
                        item = await anext(live)
                except StopAsyncIteration:
                    break
                finally:
                    next_live = None
                if isinstance(item, (Fill, Cancel)):
                    if ledger.admit(item):
                        yield item
                    if clock() >= retry_at and backfills.running is None and ledger.resume_from is not None:
                        retry_at = float("inf")
                        backfills.add(backfill(ledger.backfill_from(now()), None))
                    continue
                if isinstance(item, Reconcile):
                    backfills.add(backfill(ledger.backfill_from(now()), None, item.kind))
                    continue
                yield item
                if isinstance(item, Disconnected):
                    if dropped_at is None:
                        dropped_at = clock()
                elif isinstance(item, Connected):
                    downtime = None if dropped_at is None else clock() - dropped_at
                    anchor = confirmed_at or history_read_at
                    if anchor is not None or ledger.resume_from is not None:
                        # Subscribed first, now read what happened since the last event (or the anchor).
                        backfills.add(backfill(ledger.backfill_from(anchor or now()), downtime))
                    confirmed_at = confirmed_at or now()
                    dropped_at = None
        finally:
            for pending in (next_live, next_out):
                if pending is not None:
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                        await pending
            await backfills.aclose()
