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
  history is read at once, before the next frame (for up to 60 s: then live
  events flow again while it goes on);
* every event, live or history, passes the :class:`~fillwatch.core.ledger.Ledger`,
  which lets each (venue, id, order_id) through once.

Once the stream runs, backfills read in the background, one at a time: live
events keep coming while a backfill waits or pages (CONTRACT §5). Only the
requests run in the background; each page is recorded, parsed and shown here,
in one step, never while a frame received before it waits to be shown, so a
``--record`` lists pages and frames in the order the adapter read them, and
``replay`` shows what the run showed, in the same order.

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

from fillwatch.core.errors import AuthenticationError, ConfigError, ConnectionFailed
from fillwatch.core.events import (
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
from fillwatch.core.ledger import Ledger
from fillwatch.net.http import MAX_WAIT, Redirected, RestClient, RestError, Unauthorized
from fillwatch.net.stream import Authenticate, Streamed
from fillwatch.venues.base import HistoryPage, Reconcile, Request, Venue, excerpt

__all__ = ["BATCH", "MAX_PAGES", "follow", "history_pages", "warming_up"]

MAX_PAGES = 10_000  # a venue that keeps returning cursors is not followed forever
BATCH = 5_000
"""History events gathered before they are shown: a longer read is shown a batch at a time
(each oldest first), so that memory stays flat. ``replay`` gathers by the same rule."""
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

RecordHistory: TypeAlias = Callable[[float, str, bytes, datetime, str | None], None]
"""Receives (receive time, kind, body, since, page token) for every history page read (``--record``)."""


class _Pager:
    """Where one read of history stands: the page to ask for next, and the cursors seen.

    The requests are made elsewhere; :meth:`take` parses each answer and moves on.
    """

    def __init__(self, venue: Venue, since: datetime, kinds: Sequence[str]) -> None:
        self.venue = venue
        self.since = since
        self._kinds = deque(kinds)
        self.page: str | None = None
        self._seen: set[str] = set()
        self._pages = 0

    @property
    def kind(self) -> str | None:
        """The kind of history to ask for next (None: the read is complete)."""
        return self._kinds[0] if self._kinds else None

    def take(self, body: bytes) -> HistoryPage:
        """Parse the answer to the current request, and move on to the next page (or kind).

        Raises:
            RestError: the body is no page of history; the venue handed out a page cursor it
                had handed out before in this read, or more than :data:`MAX_PAGES` pages.
        """
        kind, name = self._kinds[0], self.venue.name
        try:
            result = self.venue.parse_history(kind, body, self.since, self.page)
        except ValueError as exc:  # orjson's errors included: not a page of history at all
            raise RestError(f"{name} {kind} history: {exc}") from exc
        self._pages += 1
        following = result.next_page
        if following is None:
            self._kinds.popleft()
            self.page, self._seen, self._pages = None, set(), 0
            return result
        if self.page is not None:
            self._seen.add(self.page)
        if following in self._seen:
            raise RestError(
                f"{name} {kind} history: the venue handed out the page cursor {excerpt(following, 40)!r} "
                f"again after {self._pages} pages; stopped reading there"
            )
        if self._pages >= MAX_PAGES:
            raise RestError(f"{name} {kind} history: more than {MAX_PAGES} pages; stopped reading there")
        self.page = following
        return result


async def _fetch(
    pager: _Pager,
    rest: RestClient,
    clock: Callable[[], float],
    authenticate: Authenticate | None,
) -> tuple[float, bytes]:
    """The body of the page `pager` stands at, and when it came.

    Raises:
        RestError: after the REST client's retries.
        AuthenticationError: rejected twice (fresh signature / renewed token in between).
    """
    venue, kind, since, page = pager.venue, pager.kind, pager.since, pager.page
    assert kind is not None

    def make() -> Request:
        return venue.history_request(kind, since, page, int(clock() * 1000))

    try:
        body = await rest.send(make)
    except Unauthorized:
        if authenticate is not None:
            await authenticate(True)
        body = await rest.send(make)  # a second rejection stops the run
    return clock(), body


async def history_pages(
    venue: Venue,
    rest: RestClient,
    since: datetime,
    *,
    clock: Callable[[], float] = time.time,
    authenticate: Authenticate | None = None,
    record_history: RecordHistory | None = None,
    kinds: Sequence[str] | None = None,
) -> AsyncIterator[HistoryPage]:
    """Each page of history from `since`, as it is read (every kind of the venue's, or only `kinds`).

    Raises:
        RestError: a page could not be read (after retries) or understood, or the
            paging went round in circles (see :meth:`_Pager.take`).
        AuthenticationError: rejected twice (fresh signature / renewed token in between).
    """
    pager = _Pager(venue, since, venue.history_kinds if kinds is None else kinds)
    while pager.kind is not None:
        kind, page = pager.kind, pager.page
        at, body = await _fetch(pager, rest, clock, authenticate)
        if record_history is not None:
            record_history(at, kind, body, since, page)
        yield pager.take(body)


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


@dataclass(eq=False)
class _Backfill:
    """One read of history since `start` (only `kind` of it, for a :class:`Reconcile`), as it goes."""

    start: datetime
    downtime: float | None
    kind: str | None = None
    label: str | None = None
    pager: _Pager | None = None
    began: float = 0.0
    owed: datetime | None = None
    gathered: list[Event] = field(default_factory=list)
    """Events read and not shown yet (at most about :data:`BATCH`)."""
    fills: int = 0
    cancels: int = 0
    skipped: int = 0


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
    backfills after that read in the background, one at a time, while live
    events keep coming.

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
        job.pager = _Pager(venue, job.start, venue.history_kinds if job.kind is None else (job.kind,))
        job.began = clock()
        job.owed = ledger.resume_from
        ledger.owe(job.start)

    def take(job: _Backfill, at: float, body: bytes) -> None:
        """Record, parse and gather one page (RestError: see :meth:`_Pager.take`)."""
        pager = job.pager
        assert pager is not None
        assert pager.kind is not None
        if record_history is not None:
            record_history(at, pager.kind, body, job.start, pager.page)
        page = pager.take(body)
        job.gathered.extend(page.events)
        job.skipped += page.skipped

    def shown(job: _Backfill) -> list[Event]:
        """The gathered events, oldest first (same time: by id), that the ledger lets through."""
        gathered, job.gathered = job.gathered, []
        gathered.sort(key=lambda event: (event.ts, event.id))
        events = [event for event in gathered if ledger.admit(event)]
        fills = sum(isinstance(event, Fill) for event in events)
        job.fills, job.cancels = job.fills + fills, job.cancels + len(events) - fills
        return events

    def end(job: _Backfill, error: RestError | None) -> Item | None:
        """The backfill's report: None for a reconciliation that succeeded."""
        if error is not None:
            job.gathered = []  # never shown: the owed backfill reads them again
            return BackfillFailed(job.start, str(error), job.downtime)
        if job.kind is not None:  # a reconciliation is no backfill: it closes no gap
            ledger.resume_from = job.owed
            if job.label is None:
                return None
            return Backfilled(job.start, job.fills, job.cancels, clock() - job.began, label=job.label)
        ledger.settle()
        return Backfilled(job.start, job.fills, job.cancels, clock() - job.began, job.downtime, job.skipped)

    async def at_once(job: _Backfill) -> AsyncIterator[Item]:
        """Read and show `job` before anything else (history before the stream)."""
        begin(job)
        assert job.pager is not None
        error: RestError | None = None
        try:
            if authenticate is not None:  # history may come first: a token, and the adapter warmed up
                await authenticate(False)
            while job.pager.kind is not None:
                at, body = await _fetch(job.pager, rest, clock, authenticate)
                take(job, at, body)
                if len(job.gathered) >= BATCH or job.pager.kind is None:
                    for event in shown(job):
                        yield event
                    if (note := flag()) is not None:
                        yield note
        except Redirected as exc:
            raise ConfigError(str(exc)) from exc
        except RestError as exc:
            error = exc
        report = end(job, error)
        if report is not None:
            yield report

    flagged = False

    def flag() -> Implausible | None:
        """The first event whose time was implausible, said once (ledger.first_implausible)."""
        nonlocal flagged
        event = ledger.first_implausible
        if flagged or not ledger.implausible or event is None:
            return None
        flagged = True
        return Implausible(event.id, event.ts)

    start = since
    if since is not None:
        ledger.set_floor(since)  # the history floor: nothing older is printed, after any reconnect
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

    async def first_page(job: _Backfill) -> tuple[float, bytes]:
        if authenticate is not None:
            await authenticate(False)
        assert job.pager is not None
        return await _fetch(job.pager, rest, clock, authenticate)

    confirmed_at: datetime | None = None
    dropped_at: float | None = None
    retry_at = float("inf")
    waiting: deque[_Backfill] = deque()
    job: _Backfill | None = None  # the backfill reading now
    fetching: asyncio.Task[tuple[float, bytes]] | None = None  # its request in flight
    next_live: asyncio.Future[Streamed] | None = None
    alone_until = float("-inf")  # until then, the running reconciliation is waited for alone

    def add(new: _Backfill) -> None:
        """Read `new` next, unless a read waiting already covers it (earlier start, same or every kind)."""
        if not any(queued.kind in (None, new.kind) for queued in waiting):
            waiting.append(new)
        if job is None:
            start_next()

    def start_next() -> None:
        nonlocal job, fetching, alone_until
        job = fetching = None
        alone_until = float("-inf")
        if waiting:
            job = waiting.popleft()
            begin(job)
            fetching = asyncio.get_running_loop().create_task(first_page(job))

    async with contextlib.aclosing(live):
        try:
            while True:
                if job is not None and fetching is not None:
                    loop = asyncio.get_running_loop()
                    if next_live is None and loop.time() < alone_until:  # a reconciliation, before the next frame
                        await asyncio.wait((fetching,), timeout=alone_until - loop.time())
                        if not fetching.done():
                            continue  # past the cap: from now on, live events flow meanwhile
                    else:  # the stream and the request: whichever comes first
                        next_live = next_live or asyncio.ensure_future(anext(live))
                        await asyncio.wait((next_live, fetching), return_when=asyncio.FIRST_COMPLETED)
                        if not next_live.done():
                            await asyncio.sleep(0)  # a frame received already is shown first
                    if fetching.done() and not (next_live is not None and next_live.done()):  # no frame waits
                        done, fetching = fetching, None
                        error: RestError | None = None
                        try:
                            take(job, *done.result())
                        except RestError as exc:
                            error = exc
                        assert job.pager is not None
                        if error is None and job.pager.kind is not None:
                            fetching = asyncio.get_running_loop().create_task(
                                _fetch(job.pager, rest, clock, authenticate)
                            )
                            if len(job.gathered) < BATCH:
                                continue
                        for event in shown(job) if error is None else ():
                            yield event
                        if (note := flag()) is not None:
                            yield note
                        if fetching is not None:
                            continue
                        report = end(job, error)
                        start_next()
                        if isinstance(report, BackfillFailed):
                            retry_at = clock() + retry_interval  # a full backfill then reads it too
                        if report is not None:
                            yield report
                        continue
                try:
                    item = await (next_live if next_live is not None else anext(live))
                except StopAsyncIteration:
                    break
                finally:
                    next_live = None
                if isinstance(item, (Fill, Cancel)):
                    if job is not None and job.gathered:  # what was read before this event, first
                        for event in shown(job):
                            yield event
                    if ledger.admit(item):
                        yield item
                    if (note := flag()) is not None:
                        yield note
                    if clock() >= retry_at and job is None and ledger.resume_from is not None:
                        retry_at = float("inf")
                        add(_Backfill(ledger.backfill_from(now()), None))
                    continue
                if isinstance(item, Reconcile):
                    idle = job is None
                    add(_Backfill(ledger.backfill_from(now()), None, item.kind, item.label))
                    if idle:  # read at once, before the next frame, as long as that takes up to the cap
                        alone_until = asyncio.get_running_loop().time() + MAX_WAIT
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
                        add(_Backfill(ledger.backfill_from(anchor or now()), downtime))
                    confirmed_at = confirmed_at or now()
                    dropped_at = None
        finally:
            for pending in (next_live, fetching):
                if pending is not None:
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                        await pending
