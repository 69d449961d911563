"""Everything that writes what the user sees: one sink per destination.

The sink protocol itself is the session's (:class:`fillwatch.session.sink.Sink`):
a run hands events and status items to sinks and decides when they flush.
"""

from __future__ import annotations

from fillwatch.session.sink import Sink

__all__ = ["Sink"]
