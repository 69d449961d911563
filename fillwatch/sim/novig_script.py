"""How the simulated Novig behaves (:class:`Script`) and what it saw (:class:`Stats`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fillwatch.sim.faults import ConnectionStats

__all__ = ["GARBAGE", "Script", "Stats"]

GARBAGE: tuple[str | bytes, ...] = (
    "{not json",
    b"\x00\x01binary",
    '{"event":"fill","data":{"orderId":"o","marketId":"m"}}',  # no id, no price
    "[1, 2, 3]",
    '{"event":"cancel","data":{"id":"o","marketId":"m","outcomeId":"x","price":"high","qty":1,'
    '"timestamp":"2026-01-01T00:00:00Z"}}',
)
"""Malformed frames a :attr:`Script.garbage_every` slips in, in turn."""


@dataclass
class Script:
    """How the simulator behaves. The defaults make a well-behaved venue."""

    rate: float = 2.0
    """Steps per second; 0 sends as fast as the connection takes them."""
    limit: int | None = None
    """Steps to make over the server's life; then only heartbeats."""
    seed: int | None = None
    frames: Sequence[str | bytes] | None = None
    """Send these frames (once, over the server's life) instead of the feed."""
    token_lifetime: float = 1800.0
    """``expires_in`` of every token issued; the socket closes when its token expires."""
    reject: int = 0
    """Answer this many upgrades with `reject_status` before accepting (-1: all)."""
    reject_status: int = 401
    drop_after: int | None = None
    """On each connection, drop TCP (no close frame) after this many steps..."""
    drops: int | None = None
    """...this many times in all (None: on every connection)."""
    silent_after: int | None = None
    """On each connection, send nothing at all after this many steps."""
    garbage_every: int | None = None
    """Slip a malformed frame in after every N steps."""
    drop_between: tuple[int, int] | None = None
    """On each connection, drop TCP after a random number of steps in this range (chaos)."""
    rest_failures: int = 0
    """Answer this many history requests (``fills/all``, ``orders/all``) with HTTP 503; may be set
    while the server runs."""
    orders_delay: float = 0.0
    """Hold each ``orders/all`` response this many seconds after it was made: live fills of the orders
    it shows cross it on the way (the client cannot know their currency yet)."""
    json_ping: float = 10.0
    """Seconds between JSON ``ping`` events."""
    heartbeat: float = 15.0
    """Seconds between protocol Ping frames."""


@dataclass
class Stats(ConnectionStats):
    """What the simulator saw and did, for tests and the demo."""

    expired: int = 0
    """Connections closed because their token expired."""
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    rest: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    rest_rejected: int = 0
    """REST calls refused with 401 (no valid token)."""
    commands: list[Any] = field(default_factory=list)
    pings: int = 0
    pongs: list[Any] = field(default_factory=list)
