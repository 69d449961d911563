"""The session's running totals and connection state: a pure model for the views.

:class:`Session` takes every event and status item (and, when the stream
reports it, the time of every frame) and keeps what the table's header and
footer and the exit summary show: per-market totals in exact
:class:`~decimal.Decimal` arithmetic, the connection state, reconnects and
skipped frames. It does no I/O and reads no clock it was not given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Literal, TypeAlias

from fillwatch.core.events import Backfilled, BackfillFailed, Cancel, Connected, Disconnected, Event, Skipped, Status
from fillwatch.render.positions import Book, MarketPosition

__all__ = ["ConnectionState", "Session"]

ConnectionState: TypeAlias = Literal["connecting", "connected", "disconnected"]
"""Where the connection stands: before the first confirmation, confirmed, or between attempts."""


class Session:
    """Running totals and connection state of one run."""

    def __init__(
        self,
        *,
        venue: str,
        env: str,
        clock: Callable[[], float] = time.monotonic,
        since: datetime | None = None,
        replay: str | None = None,
    ) -> None:
        self.venue = venue
        self.env = env
        self.replay = replay
        """The file being replayed (the header shows it instead of a connection)."""
        self.since = since
        """Where the P&L starts: the ``--since`` time, or None for the session's start."""
        self._clock = clock
        self.started = clock()
        self.events = 0
        self.fills = 0
        self.cancels = 0
        self.book = Book()
        """Position and P&L per market (YES-equivalent on binary markets)."""
        self.history = 0
        """Events read from the venue's REST history (backfills, ``--since``)."""
        self.filtered = 0
        self.notice: str | None = None
        """A warning for the live table to show under its header (stderr would tear it)."""
        """Events that ``--market``/``--kind`` kept from the views (counted by the selector)."""
        self.state: ConnectionState = "connecting"
        self.retry_in: float | None = None
        self.last_problem: str | None = None
        self.connects = 0
        self.drops = 0
        self.skipped = 0
        self.backfills = 0
        self.backfills_failed = 0
        self.recovered = 0
        """Events the backfills found that the stream had not delivered."""
        self.last_frame: float | None = None
        """Wall-clock time of the last frame received (set through :meth:`frame`)."""
        self.version = 0
        """Bumped on every change, so that views can cache what they drew."""

    @property
    def reconnects(self) -> int:
        """Connections confirmed after the first one."""
        return max(0, self.connects - 1)

    def duration(self) -> float:
        """Seconds since the session started."""
        return self._clock() - self.started

    def add(self, event: Event) -> None:
        """Count one event into its market's position and the session's counts."""
        self.events += 1
        self.version += 1
        if event.source == "history":
            self.history += 1
        if isinstance(event, Cancel):
            self.cancels += 1
        else:
            self.fills += 1
        self.book.add(event)

    def status(self, status: Status) -> None:
        """Follow the connection: confirmed, lost (and retrying), frames skipped, history read."""
        self.version += 1
        if isinstance(status, Connected):
            self.connects += 1
            self.state, self.retry_in = "connected", None
        elif isinstance(status, Disconnected):
            if self.state == "connected":
                self.drops += 1
            self.state, self.retry_in, self.last_problem = "disconnected", status.retry_in, status.reason
        elif isinstance(status, Skipped):
            self.skipped = status.count
        elif isinstance(status, Backfilled):
            self.backfills += 1
            self.recovered += status.fills + status.cancels
        elif isinstance(status, BackfillFailed):
            self.backfills_failed += 1

    def frame(self, received_at: float, frame: object = None) -> None:
        """Note that a frame arrived at wall-clock `received_at` (the stream's record hook)."""
        self.last_frame = received_at

    def markets(self, limit: int | None = None) -> list[MarketPosition]:
        """Positions, most recently active first (at most `limit`)."""
        ordered = self.book.ordered()
        return ordered if limit is None else ordered[:limit]
