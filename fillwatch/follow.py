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
from dataclasses import dataclass, field
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


PageRecord: TypeAlias = tuple[float, str, bytes, datetime, str | None]
"""The arguments of one :data:`RecordHistory` call, kept until the page's events are shown."""


@dataclass(eq=False)
class _Backfill:
    """One read of history since `start` (only `kind` of it, for a :class:`Reconcile`).

    It reads in the background; :func:`follow` shows what it read, a batch at
    a time, when the stream has nothing pending. Pages are handed to
    ``--record`` just before their events are shown, so that a recording lists
    them where the run showed them, and a replay shows them there too.
    """

    start: datetime
    downtime: float | None
    kind: str | None = None
    began: float = 0.0
    owed: datetime | None = None
    fills: int = 0
    cancels: int = 0
    skipped: int = 0
    pages: list[PageRecord] = field(default_factory=list)
    """Pages read whose events are not shown yet."""

    def keep(self, t: float, kind: str, body: bytes, since: datetime, page: str | None) -> None:
        self.pages.append((t, kind, body, since, page))

    def taken(self) -> list[PageRecord]:
        pages, self.pages = self.pages, []
        return pages


@dataclass(frozen=True, slots=True)
class _Batch:
    """Events read by a background backfill, oldest first, with the pages they came from."""

    events: list[Event]
    skipped: int
    pages: list[PageRecord]


@dataclass(frozen=True, slots=True)
class _Ended:
    """A background backfill ended (with the error it raised, if it raised one)."""

    error: BaseException | None = None


async def _drain(batches: AsyncIterator[_Batch], out: asyncio.Queue[_Batch | _Ended]) -> None:
    """Run `batches` to their end, putting each on `out`, then an :class:`_Ended`."""
    try:
        async for batch in batches:
            await out.put(batch)
    except Exception as exc:  # noqa: BLE001 (not swallowed: the consumer raises it in its own task)
        await out.put(_Ended(exc))
    else:
        await out.put(_Ended())


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
    backfills after that read in the background, one at a time, and live
    events keep coming while they wait or page (CONTRACT §5). What a backfill
    read is shown once the stream has nothing pending.

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

    def begin(job: _Backfill) -> None:
        """While it reads, the gap is owed: live events that move the newest time on
        must not push the ledger's window past the gap's older history."""
        job.began = clock()
        job.owed = ledger.resume_from
        ledger.owe(job.start)

    async def read(job: _Backfill) -> AsyncIterator[_Batch]:
        if authenticate is not None:  # history may come first: a token, and the adapter warmed up
            await authenticate(False)
        pages = history_pages(
            venue,
            rest,
            job.start,
            clock=clock,
            authenticate=authenticate,
            record_history=None if record_history is None else job.keep,
            kinds=None if job.kind is None else (job.kind,),
        )
        async for events, skipped in history_batches(pages):
            yield _Batch(events, skipped, job.taken())

    def show(job: _Backfill, batch: _Batch) -> list[Event]:
        """The batch's events that the ledger lets through (its pages go to ``--record`` first)."""
        for page in batch.pages:
            record_history(*page)  # type: ignore[misc]
        job.skipped += batch.skipped
        shown = [event for event in batch.events if ledger.admit(event)]
        job.fills += sum(isinstance(event, Fill) for event in shown)
        job.cancels += len(shown) - sum(isinstance(event, Fill) for event in shown)
        return shown

    def end(job: _Backfill, error: BaseException | None, *, first: bool = False) -> Item | None:
        """The backfill's report (None for a reconciliation that succeeded); raises what is fatal."""
        for page in job.taken():
            record_history(*page)  # type: ignore[misc]
        if isinstance(error, Redirected) and first:
            raise ConfigError(str(error)) from error
        if isinstance(error, RestError):
            return BackfillFailed(job.start, str(error), job.downtime)  # owed since it began
        if error is not None:
            raise error
        if job.kind is not None:  # a reconciliation is no backfill: it closes no gap
            ledger.resume_from = job.owed
            return None
        ledger.settle()
        return Backfilled(job.start, job.fills, job.cancels, clock() - job.began, job.downtime, job.skipped)

    async def at_once(job: _Backfill) -> AsyncIterator[Item]:
        """Read and show `job` before anything else (history before the stream)."""
        begin(job)
        error: BaseException | None = None
        try:
            async for batch in read(job):
                for event in show(job, batch):
                    yield event
        except (RestError, AuthenticationError) as exc:
            error = exc
        report = end(job, error, first=True)
        if report is not None:
            yield report

    start = since
    if start is None and ledger.resumed:  # from the checkpoint's newest event (or the last minute)
        start = ledger.backfill_from(now())
    if live is None:
        if start is None:
            return
        async for item in at_once(_Backfill(start, None)):
            if isinstance(item, BackfillFailed):
                raise ConnectionFailed(f"could not read the history: {item.reason}")
            yield item
        return
    history_read_at: datetime | None = None
    if start is not None:
        history_read_at = now()
        async for item in at_once(_Backfill(start, None)):
            yield item

    confirmed_at: datetime | None = None
    dropped_at: float | None = None
    retry_at = float("inf")
    waiting: deque[_Backfill] = deque()
    running: _Backfill | None = None
    reader: asyncio.Task[None] | None = None
    out: asyncio.Queue[_Batch | _Ended] = asyncio.Queue(maxsize=4)
    next_live: asyncio.Future[Streamed] | None = None
    next_out: asyncio.Future[_Batch | _Ended] | None = None

    def add(job: _Backfill) -> None:
        waiting.append(job)
        if running is None:
            start_next()

    def start_next() -> None:
        nonlocal running, reader
        running = reader = None
        if waiting:
            running = waiting.popleft()
            begin(running)
            reader = asyncio.get_running_loop().create_task(_drain(read(running), out))

    async with contextlib.aclosing(live):
        try:
            while True:
                if running is not None:  # both: whichever comes first
                    next_live = next_live or asyncio.ensure_future(anext(live))
                    next_out = next_out or asyncio.ensure_future(out.get())
                    await asyncio.wait((next_live, next_out), return_when=asyncio.FIRST_COMPLETED)
                    if not next_live.done():
                        await asyncio.sleep(0)  # a frame already received comes first
                    if next_out.done() and not next_live.done():  # the stream waits for a frame
                        got, next_out = next_out.result(), None
                        if isinstance(got, _Batch):
                            for event in show(running, got):
                                yield event
                            continue
                        report = end(running, got.error)
                        start_next()
                        if isinstance(report, BackfillFailed):
                            retry_at = clock() + retry_interval  # a full backfill then reads it too
                        if report is not None:
                            yield report
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
                    if clock() >= retry_at and running is None and ledger.resume_from is not None:
                        retry_at = float("inf")
                        add(_Backfill(ledger.backfill_from(now()), None))
                    continue
                if isinstance(item, Reconcile):
                    add(_Backfill(ledger.backfill_from(now()), None, item.kind))
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
                        add(_Backfill(ledger.backfill_from(anchor or now()), downtime))
                    confirmed_at = confirmed_at or now()
                    dropped_at = None
        finally:
            for pending in (next_live, next_out, reader):
                if pending is not None:
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                        await pending
