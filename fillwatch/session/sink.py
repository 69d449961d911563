"""What a run writes into: the sink protocol (the views in ``render/`` implement it)."""

from __future__ import annotations

from typing import Protocol

from fillwatch.core.events import Event, Status

__all__ = ["Sink"]


class Sink(Protocol):
    """A destination for events and status items.

    A sink receives events and status items from the runner, buffers what it
    writes, and writes it out on :meth:`flush`. The runner decides when to
    flush (when a read from the stream was handled), so a burst of frames costs
    one system call and a quiet stream shows each line at once.
    """

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
