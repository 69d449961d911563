"""Everything that writes what the user sees: one sink per destination.

A sink receives events and status items from the runner, buffers what it
writes, and writes it out on :meth:`Sink.flush`. The runner decides when to
flush (as soon as no further frame is waiting), so a burst of frames costs one
system call and a quiet stream shows each line at once.
"""

from __future__ import annotations

from typing import Protocol

from fillwatch.core.events import Event, Status

__all__ = ["Sink"]


class Sink(Protocol):
    """A destination for events and status items."""

    def event(self, event: Event) -> None:
        """Take one event (buffer it; write on flush)."""
        ...

    def status(self, status: Status) -> None:
        """Take one status item (sinks that do not show status ignore it)."""
        ...

    def flush(self) -> None:
        """Write out what is buffered. May raise BrokenPipeError."""
        ...

    def close(self) -> None:
        """Write out the rest and release the destination."""
        ...
