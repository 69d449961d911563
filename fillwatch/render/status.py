"""Diagnostics on stderr: one short line per connection event (stern style).

``+`` a connection was confirmed (after a reconnect: with what the backfill
recovered), or history was read; ``-`` a connection ended and another attempt
follows; ``!`` a frame was skipped or a backfill failed. Skipped frames are
rate limited: the first few are shown, then at most one line every few
seconds, each with the running count.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from fillwatch.core.events import (
    Backfilled,
    BackfillFailed,
    Connected,
    Disconnected,
    Event,
    Implausible,
    Skipped,
    Status,
)
from fillwatch.render.text import count, sanitize

__all__ = ["StatusSink"]


class StatusSink:
    """Writes status items to `stream` (stderr) as they come; events are ignored."""

    shown_before_limit = 3
    interval = 5.0

    def __init__(
        self,
        stream: TextIO,
        *,
        venue: str,
        quiet: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        account: str | None = None,
    ) -> None:
        """`account`: the account the lines are about, named in front of each (a ``watch``)."""
        self._stream = stream
        self._account = "" if account is None else f"{sanitize(account)}: "
        self._venue = venue
        self._quiet = quiet
        self._clock = clock
        self._last_skip_line = -float("inf")
        self._connections = 0
        self._wall = wall_clock

    def event(self, event: Event) -> None:
        pass

    def status(self, status: Status) -> None:
        line = self._line(status)
        if line is not None and not self._quiet:
            self._stream.write(stamp(self._account + line + "\n", stream=self._stream, wall_clock=self._wall))
            self._stream.flush()

    def _line(self, status: Status) -> str | None:
        if isinstance(status, Connected):
            self._connections += 1
            if self._connections == 1:
                return f"+ connected to {self._venue} ({sanitize(status.url)})"
            return None  # said with the backfill's outcome, which follows at once
        if isinstance(status, Backfilled):
            recovered = f"{count(status.fills, 'fill')} and {count(status.cancels, 'cancel')}"
            unreadable = f" ({count(status.skipped, 'unreadable row')} skipped)" if status.skipped else ""
            if status.label is not None:
                return f"+ {sanitize(status.label)}: {recovered} recovered{unreadable}"
            if status.downtime is not None:
                return f"+ reconnected after {status.downtime:.1f} s, {recovered} recovered{unreadable}"
            return f"+ history since {_when(status.since)}: {recovered}{unreadable} ({status.seconds:.1f} s)"
        if isinstance(status, BackfillFailed):
            lead = f"+ reconnected after {status.downtime:.1f} s; " if status.downtime is not None else ""
            return f"{lead}! history since {_when(status.since)} not read ({sanitize(status.reason)}); will retry"
        if isinstance(status, Implausible):
            return (
                f"! event {sanitize(status.id)} is dated {_when(status.ts)}, more than 5 minutes ahead of this "
                "clock or outside 2000-2100: printed, but the backfill and checkpoint keep the newest plausible time"
            )
        if isinstance(status, Disconnected):
            return f"- disconnected: {sanitize(status.reason)}; retrying in {status.retry_in:.1f} s"
        if isinstance(status, Skipped):
            now = self._clock()
            if status.count > self.shown_before_limit and now - self._last_skip_line < self.interval:
                return None
            self._last_skip_line = now
            return f"! skipped a frame ({sanitize(status.reason)}; {status.count} so far): {sanitize(status.excerpt)}"
        return None

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def is_log(stream: object) -> bool:
    """Whether lines written to `stream` need their time (``FILLWATCH_LOG_TIMES``, default ``auto``).

    ``auto``: anything but a terminal, since a log file (``2>>main.log``) or a
    pipe to cron's mail keeps lines for later, when a bare line says nothing of
    when it happened; except the systemd journal, which stamps lines itself.
    ``always`` and ``never`` decide for every stream.
    """
    choice = os.environ.get("FILLWATCH_LOG_TIMES", "auto").strip().lower()
    if choice in ("always", "never"):
        return choice == "always"
    try:
        return not stream.isatty() and not _is_journal(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False  # an in-memory stream: no file, so no log


def _is_journal(fd: int) -> bool:
    """Whether `fd` is the journal stream systemd gave this service (``JOURNAL_STREAM=dev:inode``)."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    if not device.isdigit() or not inode.isdigit():
        return False
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def stamp(line: str, *, stream: object = None, wall_clock: Callable[[], float] = time.time) -> str:
    """`line` with an ISO 8601 UTC time in front when `stream` (default stderr) is not a terminal."""
    if not is_log(sys.stderr if stream is None else stream):
        return line
    moment = datetime.fromtimestamp(wall_clock(), UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") + " " + line


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
