"""How the simulated Kalshi behaves (:class:`Script`) and what it saw (:class:`Stats`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fillwatch.sim.faults import ConnectionStats
from fillwatch.sim.feed import Schema
from fillwatch.sim.subscriptions import ERRORS

__all__ = ["GARBAGE", "Script", "Stats"]

GARBAGE: tuple[str | bytes, ...] = (
    "{not json",
    b"\x00\x01binary",
    '{"type":"fill","sid":1,"msg":{"order_id":"x","market_ticker":"M"}}',  # no trade_id
    "[1, 2, 3]",
    '{"type":"fill","sid":1,"msg":{"trade_id":"t","order_id":"o","market_ticker":"M",'
    '"side":"maybe","yes_price_dollars":"0.5","count_fp":"1.00","ts_ms":1}}',
)
"""Malformed frames a :attr:`Script.garbage_every` slips in, in turn."""


@dataclass
class Script:
    """How the simulator behaves. The defaults make a well-behaved venue."""

    rate: float = 2.0
    """Events per second; 0 sends as fast as the connection takes them."""
    limit: int | None = None
    """Events to send over the server's life; then only heartbeats."""
    schema: Schema = "current"
    """``current``: only what the documents allow; ``legacy`` / ``mixed``: older fill shapes too (feed.py)."""
    seed: int | None = None
    frames: Sequence[str | bytes] | None = None
    """Send these frames (once, over the server's life) instead of the feed."""
    reject: int = 0
    """Answer this many upgrades with `reject_status` before accepting (-1: all)."""
    reject_status: int = 401
    drop_after: int | None = None
    """On each connection, drop TCP (no close frame) after this many events..."""
    drops: int | None = None
    """...this many times in all (None: on every connection)."""
    silent_after: int | None = None
    """On each connection, send nothing at all after this many events."""
    garbage_every: int | None = None
    """Slip a malformed frame in after every N events."""
    subscribe_error: int | None = None
    """Answer every subscribe command with this error code (9: authentication required)."""
    error_after: tuple[int, int] | None = None
    """(N, code): after N events on the first connection, send Kalshi error `code` (once): a terminal
    channel error (10, 25) names the subscription it ends (``sid``); any other goes without ``id``."""
    drop_between: tuple[int, int] | None = None
    """On each connection, drop TCP after a random number of events in this range (chaos)."""
    rest_failures: int = 0
    """Answer this many REST requests with HTTP 503 before serving them."""
    rest_rate_limit_every: int | None = None
    """Answer every Nth REST request with HTTP 429 and no headers, as Kalshi does."""
    heartbeat: float = 10.0

    def __post_init__(self) -> None:
        if self.error_after is not None and self.error_after[1] not in ERRORS:
            raise ValueError(f"error code {self.error_after[1]} is retired or unknown (AsyncAPI 2.0.0)")


@dataclass
class Stats(ConnectionStats):
    """What the simulator saw and did, for tests and the demo."""

    commands: list[dict[str, Any]] = field(default_factory=list)
    rest_requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
