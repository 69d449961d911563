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
tried again at the next connection or after `retry_interval` seconds, by a
timer (a quiet stream is no reason to wait). This module does no I/O of its
own: REST goes through :mod:`fillwatch.net.http`.

:class:`Follower` holds these rules; the stream pushes each item into it
(:meth:`Follower.live`, synchronously, as its frame is read) and it pushes
what is to be shown on. :func:`follow` is the same as an async iterator over
a pulled stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from typing import Any, cast

from fillwatch.core.events import Item
from fillwatch.core.ledger import Ledger
from fillwatch.net.http import MAX_WAIT, RestClient
from fillwatch.net.stream import Authenticate, Streamed
from fillwatch.session.follower import BATCH, Follower
from fillwatch.session.history import MAX_PAGES, RecordHistory, history_pages, warming_up
from fillwatch.venues.base import Venue

__all__ = ["BATCH", "MAX_PAGES", "MAX_WAIT", "Follower", "follow", "history_pages", "warming_up"]


class _Signal:
    """Wakes the reader of :func:`follow` when something is to be shown or the stream may flow again."""

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, *others: asyncio.Future[Any]) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        await asyncio.wait((self._waiter, *others), return_when=asyncio.FIRST_COMPLETED)
        self._waiter = None


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

    The :class:`Follower` over a pulled stream (`live`: ``net.stream.watch``,
    or None for history only, ``--no-follow``); see it for the arguments.

    Raises:
        ConnectionFailed: history only, and it could not be read.
        ConfigError: the history read before the stream was redirected.
    """
    shown: deque[Item] = deque()
    errors: list[BaseException] = []
    signal = _Signal()
    pending: list[asyncio.Future[Streamed]] = []  # the stream's next item, asked for

    def put(item: Item) -> None:
        shown.append(item)
        signal.set()

    def failed(exc: BaseException) -> None:
        errors.append(exc)
        signal.set()

    async def settle() -> None:  # a frame read already is shown before the page
        for _ in range(3):
            if not (pending and pending[0].done()):
                return
            await asyncio.sleep(0)

    core = Follower(
        venue, rest, ledger, out=put, clock=clock, authenticate=authenticate, retry_interval=retry_interval,
        record_history=record_history, resume=signal.set, on_error=failed, settle=settle, wait_cap=MAX_WAIT,
    )  # fmt: skip
    first = asyncio.ensure_future(core.before(since, history_only=live is None))
    try:
        while not first.done() or shown:
            while shown:
                yield shown.popleft()
            if not first.done():
                await signal.wait(first)
        first.result()
        if live is not None:
            async with contextlib.aclosing(cast(AsyncGenerator[Streamed, None], live)):
                try:
                    async for item in _pump(core, live, shown, errors, signal, pending):
                        yield item
                finally:
                    await _cancel(pending)
    finally:
        await _cancel([first])
        await core.aclose()


async def _pump(
    core: Follower,
    live: AsyncIterator[Streamed],
    shown: deque[Item],
    errors: list[BaseException],
    signal: _Signal,
    pending: list[asyncio.Future[Streamed]],
) -> AsyncIterator[Item]:
    """Pull `live` into `core` whenever it may flow, and yield what it shows."""
    while True:
        while shown:
            yield shown.popleft()
        if errors:
            raise errors[0]
        if not pending and not core.paused:
            pending.append(asyncio.ensure_future(anext(live)))
        if pending and pending[0].done() and not core.paused:
            try:
                item = pending.pop().result()
            except StopAsyncIteration:
                return
            core.live(item)
            continue
        await signal.wait(*pending)


async def _cancel(futures: list[asyncio.Future[Any]]) -> None:
    for future in futures:
        future.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
            await future
    futures.clear()
