"""Diagnostics on stderr: one short line per connection event (stern style).

``+`` a connection was confirmed, ``-`` it ended and another attempt follows,
``!`` a frame was skipped. Skipped frames are rate limited: the first few are
shown, then at most one line every few seconds, each with the running count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from fillwatch.events import Connected, Disconnected, Event, Skipped, Status
from fillwatch.render.text import sanitize

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
    ) -> None:
        self._stream = stream
        self._venue = venue
        self._quiet = quiet
        self._clock = clock
        self._last_skip_line = -float("inf")
        self._connections = 0

    def event(self, event: Event) -> None:
        pass

    def status(self, status: Status) -> None:
        line = self._line(status)
        if line is not None and not self._quiet:
            self._stream.write(line + "\n")
            self._stream.flush()

    def _line(self, status: Status) -> str | None:
        if isinstance(status, Connected):
            self._connections += 1
            verb = "connected to" if self._connections == 1 else "reconnected to"
            return f"+ {verb} {self._venue} ({sanitize(status.url)})"
        if isinstance(status, Disconnected):
            return f"- disconnected: {sanitize(status.reason)}; retrying in {status.retry_in:.1f} s"
        if isinstance(status, Skipped):
            now = self._clock()
            if status.count > self.shown_before_limit and now - self._last_skip_line < self.interval:
                return None
            self._last_skip_line = now
            return f"! skipped a frame ({status.reason}; {status.count} so far): {sanitize(status.excerpt)}"
        return None

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
