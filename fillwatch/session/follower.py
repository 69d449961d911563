"""The rules of :mod:`fillwatch.session.follow` as an object the stream pushes items into."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fillwatch.core.errors import ConfigError, ConnectionFailed
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
from fillwatch.net.http import MAX_WAIT, Redirected, RestClient, RestError
from fillwatch.net.stream import Authenticate, Streamed
from fillwatch.session.history import HistorySource, Pager, RecordHistory, source_of
from fillwatch.venues.base import Reconcile, Venue

__all__ = ["BATCH", "Follower"]

BATCH = 5_000
_EVENTS = (Fill, Cancel)  # one tuple, not one built per frame
"""History events gathered before they are shown: a longer read is shown a batch at a time
(each oldest first), so that memory stays flat. ``replay`` runs this same Follower."""


@dataclass(eq=False)
class _Backfill:
    """One read of history since `start` (only `kind` of it, for a :class:`Reconcile`), as it goes."""

    start: datetime
    downtime: float | None
    kind: str | None = None
    label: str | None = None
    pager: Pager | None = None
    began: float = 0.0
    owed: datetime | None = None
    gathered: list[Event] = field(default_factory=list)
    """Events read and not shown yet (at most about :data:`BATCH`)."""
    fills: int = 0
    cancels: int = 0
    skipped: int = 0


async def _no_wait() -> None:
    return None


class Follower:
    """The live stream and REST history joined, each event once: the rules of this module.

    Args:
        venue: the adapter (history requests and parsing).
        rest: sends the history requests (or a :class:`HistorySource`: ``replay``'s recorded pages).
        ledger: de-duplication and the checkpoint; may come from a previous run.
        out: takes each item to be shown, in order.
        clock: wall-clock seconds.
        authenticate: renews credentials after a REST rejection.
        retry_interval: how long to wait before trying an owed backfill again.
        record_history: receives every history page read (``--record``).
        pause, resume: stop and restart the stream's frames (a read the stream asked for comes first).
        on_error: takes what stops the run from a background read (a second rejection).
        settle: awaited before each page is taken (a pulled stream: its frame read already goes first).
        wait_cap: how long the stream's frames wait for a read it asked for, at most.
        stopped: the runner's reasons to stop (:attr:`~fillwatch.session.runner.Runner.stopped`): once it
            holds one, no event is admitted, so that the checkpoint never counts as printed what the run
            no longer shows (the rest of a frame or of a history batch after ``--max-events``).
    """

    def __init__(
        self,
        venue: Venue,
        rest: RestClient | HistorySource,
        ledger: Ledger,
        *,
        out: Callable[[Item], None],
        clock: Callable[[], float] = time.time,
        authenticate: Authenticate | None = None,
        retry_interval: float = 30.0,
        record_history: RecordHistory | None = None,
        pause: Callable[[], None] = lambda: None,
        resume: Callable[[], None] = lambda: None,
        on_error: Callable[[BaseException], None] | None = None,
        settle: Callable[[], Awaitable[None]] = _no_wait,
        wait_cap: float = MAX_WAIT,
        stopped: Sequence[object] = (),
    ) -> None:
        self.venue, self.ledger = venue, ledger
        self._stopped = stopped
        self.history = source_of(rest)
        self.out = out
        self.clock = clock
        self.authenticate = authenticate
        self.retry_interval = retry_interval
        self.record_history = record_history
        self._pause, self._resume = pause, resume
        self._on_error = on_error
        self._settle = settle
        self._wait_cap = wait_cap
        self._flagged = False
        self._history_read_at: datetime | None = None
        self._confirmed_at: datetime | None = None
        self._dropped_at: float | None = None
        self._waiting: deque[_Backfill] = deque()
        self._job: _Backfill | None = None  # the backfill reading now
        self._task: asyncio.Task[None] | None = None  # its reading
        self._retry: asyncio.TimerHandle | None = None
        self._alone: asyncio.TimerHandle | None = None  # set while the stream waits for a read it asked for
        self.paused = False

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # One read of history.

    def _begin(self, job: _Backfill) -> None:
        """While it reads, the gap is owed: live events that move the newest time on
        must not push the ledger's window past the gap's older history."""
        kinds = self.venue.history_kinds if job.kind is None else (job.kind,)
        job.pager = Pager(self.venue, job.start, kinds)
        job.began = self.clock()
        job.owed = self.ledger.resume_from
        self.ledger.owe(job.start)

    def _take(self, job: _Backfill, at: float, body: bytes) -> None:
        """Record, parse and gather one page (RestError: see :meth:`Pager.take`)."""
        pager = job.pager
        assert pager is not None
        assert pager.kind is not None
        if self.record_history is not None:
            self.record_history(at, pager.kind, body, job.start, pager.page)
        page = pager.take(body)
        job.gathered.extend(page.events)
        job.skipped += page.skipped

    def _show(self, job: _Backfill) -> None:
        """The gathered events, oldest first (same time: by id), that the ledger lets through."""
        gathered, job.gathered = job.gathered, []
        gathered.sort(key=lambda event: (event.ts, event.id))
        admit, out, fills, shown, stopped = self.ledger.admit, self.out, 0, 0, self._stopped
        for event in gathered:
            if stopped:
                break  # the run stopped inside the batch: its rest stays unprinted, for the next run
            if admit(event):
                out(event)
                shown += 1
                fills += isinstance(event, Fill)
        job.fills, job.cancels = job.fills + fills, job.cancels + shown - fills

    def _flag(self) -> None:
        """The first event whose time was implausible, said once (ledger.first_implausible)."""
        event = self.ledger.first_implausible
        if self._flagged or not self.ledger.implausible or event is None:
            return
        self._flagged = True
        self.out(Implausible(event.id, event.ts))

    def _end(self, job: _Backfill, error: RestError | None) -> Item | None:
        """The backfill's report: None for a reconciliation that succeeded."""
        if error is not None:
            job.gathered = []  # never shown: the owed backfill reads them again
            return BackfillFailed(job.start, str(error), job.downtime)
        if job.kind is not None:  # a reconciliation is no backfill: it closes no gap
            self.ledger.resume_from = job.owed
            if job.label is None:
                return None
            return Backfilled(job.start, job.fills, job.cancels, self.clock() - job.began, label=job.label)
        self.ledger.settle()
        return Backfilled(job.start, job.fills, job.cancels, self.clock() - job.began, job.downtime, job.skipped)

    async def _pages(self, job: _Backfill) -> None:
        """Read `job` page by page, showing a batch whenever one is gathered (RestError: it failed)."""
        assert job.pager is not None
        if self.authenticate is not None:  # history may come first: a token, and the adapter warmed up
            await self.authenticate(False)
        while job.pager.kind is not None:
            at, body = await self.history.page(job.pager, self.clock, self.authenticate)
            await self._settle()
            self._take(job, at, body)
            if len(job.gathered) >= BATCH or job.pager.kind is None:
                self._show(job)
                self._flag()

    # History before the stream.

    async def before(self, since: datetime | None, *, history_only: bool = False) -> None:
        """Read the history owed before the stream (``--since``, else the checkpoint's), and show it.

        Raises:
            ConnectionFailed: history only, and it could not be read.
            ConfigError: that read was redirected.
        """
        start = since
        if since is not None:
            self.ledger.set_floor(since)  # the history floor: nothing older is printed, after any reconnect
        if start is None and self.ledger.resumed:  # from the checkpoint's newest event (or the last minute)
            start = self.ledger.backfill_from(self.now())
        if start is None:
            return
        if not history_only:
            self._history_read_at = self.now()
        job = _Backfill(start, None)
        self._begin(job)
        error: RestError | None = None
        try:
            await self._pages(job)
        except Redirected as exc:
            raise ConfigError(str(exc)) from exc
        except RestError as exc:
            error = exc
        report = self._end(job, error)
        if history_only and isinstance(report, BackfillFailed):
            raise ConnectionFailed(f"could not read the history: {report.reason}")
        if report is not None:
            self.out(report)

    # The stream.

    def live(self, item: Streamed) -> None:
        """Take one item of the stream, as its frame is read."""
        if isinstance(item, _EVENTS):
            job = self._job
            if job is not None and job.gathered:  # what was read before this event, first
                self._show(job)
            if self._stopped:
                return  # the run stopped earlier in this frame: not shown, so not printed
            ledger = self.ledger
            if ledger.admit(item):
                self.out(item)
            if ledger.implausible and not self._flagged:  # _flag's own test, without its call per event
                self._flag()
        elif isinstance(item, Reconcile):
            idle = self._job is None
            self._add(_Backfill(self.ledger.backfill_from(self.now()), None, item.kind, item.label))
            if idle:  # read at once, before the next frame, as long as that takes up to the cap
                self._wait_alone()
        else:
            self._status(item)

    def _status(self, item: Item) -> None:
        ledger = self.ledger
        if isinstance(item, Connected) and ledger.floor is None and not ledger.resumed:
            ledger.set_floor(self.now())  # nothing from before the run's first subscription
        self.out(item)
        if isinstance(item, Disconnected):
            if self._dropped_at is None:
                self._dropped_at = self.clock()
        elif isinstance(item, Connected):
            downtime = None if self._dropped_at is None else self.clock() - self._dropped_at
            anchor = self._confirmed_at or self._history_read_at
            if anchor is not None or ledger.resume_from is not None:
                # Subscribed first, now read what happened since the last event (or the anchor).
                self._add(_Backfill(ledger.backfill_from(anchor or self.now()), downtime))
            self._confirmed_at = self._confirmed_at or self.now()
            self._dropped_at = None

    # Background reads, one at a time.

    def backfill(self) -> None:
        """Read history in the background from where the ledger says, as an owed read retried (``replay``: a
        recorded read whose cause the recording does not show: ``--since``, a checkpoint, a retry's timer)."""
        self._add(_Backfill(self.ledger.backfill_from(self.now()), None))

    def show_gathered(self) -> None:
        """Show what the read running has gathered, as at the end of a batch (``replay``: the recording ends
        after the run showed it)."""
        if self._job is not None and self._job.gathered:
            self._show(self._job)

    def _add(self, new: _Backfill) -> None:
        """Read `new` next, unless a read waiting already covers it (earlier start, same or every kind)."""
        if not any(queued.kind in (None, new.kind) for queued in self._waiting):
            self._waiting.append(new)
        if self._job is None:
            self._start_next()

    def _start_next(self) -> None:
        self._job = self._task = None
        if self._waiting:
            job = self._job = self._waiting.popleft()
            self._begin(job)
            self._task = asyncio.get_running_loop().create_task(self._read(job))

    async def _read(self, job: _Backfill) -> None:
        error: RestError | None = None
        try:
            await self._pages(job)
        except RestError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - a second rejection: the run stops with it
            self._failed(exc)
            return
        if error is not None:
            self._flag()
        report = self._end(job, error)
        self._start_next()
        if isinstance(report, BackfillFailed):
            self._retry_later()  # a full backfill then reads it too
        if report is not None:
            self.out(report)
        self._stop_waiting()

    def _failed(self, exc: BaseException) -> None:
        if self._on_error is None:
            raise exc
        self._on_error(exc)

    def _retry_later(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        self._retry = asyncio.get_running_loop().call_later(self.retry_interval, self._retry_owed)

    def _retry_owed(self) -> None:
        self._retry = None
        if self.ledger.resume_from is None:  # a later backfill read the gap already
            return
        if self._job is not None:
            self._retry_later()
            return
        self._add(_Backfill(self.ledger.backfill_from(self.now()), None))

    def _wait_alone(self) -> None:
        """Hold the stream's frames back while the read it asked for runs, up to the cap."""
        self.paused = True
        self._pause()
        self._alone = asyncio.get_running_loop().call_later(self._wait_cap, self._stop_waiting)

    def _stop_waiting(self) -> None:
        if self._alone is not None:
            self._alone.cancel()
            self._alone = None
        if self.paused:
            self.paused = False
            self._resume()

    async def aclose(self) -> None:
        """Abandon the read running, and the timers."""
        for timer in (self._retry, self._alone):
            if timer is not None:
                timer.cancel()
        self._waiting.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
