"""The per-connection faults both simulated venues can be scripted with.

A connection goes silent (no data, no heartbeats) after `silent_after` events,
or has its TCP connection dropped without a close frame after `drop_after`
events (or a random number in `drop_between`), at most `drops` times over the
server's life. :class:`Faults` decides, before each event, whether the
connection is to end there; :class:`ConnectionStats` counts what happened, for the
tests, the demo and the chaos run.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Protocol

from websockets.asyncio.server import ServerConnection

__all__ = ["ConnectionStats", "Faults"]


class _Script(Protocol):
    silent_after: int | None
    drop_after: int | None
    drop_between: tuple[int, int] | None
    drops: int | None


@dataclass
class ConnectionStats:
    """What a simulated venue saw and did on its connections (each venue adds its own counts)."""

    upgrades: int = 0
    rejected: int = 0
    connections: int = 0
    events: int = 0
    """Steps made (one or more frames each), whether or not a client was connected to receive them."""
    delivered: int = 0
    """Steps sent to a client."""
    delivered_keys: list[tuple[str, str, str]] = field(default_factory=list)
    """(kind, id, order_id) of every line the steps sent to a client imply."""
    drops: int = 0


class Faults:
    """One connection's scripted faults; call :meth:`end_here` before each event."""

    def __init__(self, script: _Script, stats: ConnectionStats, rng: random.Random) -> None:
        self._script = script
        self._stats = stats
        self._drop_after = script.drop_after
        if script.drop_between is not None:
            self._drop_after = rng.randint(*script.drop_between)

    def end_here(self, ws: ServerConnection, silent: asyncio.Event, sent: int) -> bool:
        """Go silent or drop `ws` if the script says so after `sent` events; True if the connection is done."""
        script = self._script
        if script.silent_after is not None and sent >= script.silent_after:
            silent.set()  # nothing more, not even heartbeats, until the client gives up
            return True
        if (
            self._drop_after is not None
            and sent >= self._drop_after
            and (script.drops is None or self._stats.drops < script.drops)
        ):
            self._stats.drops += 1
            assert ws.transport is not None
            ws.transport.abort()
            return True
        return False
