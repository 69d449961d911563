"""How the simulated Novig v3 behaves (:class:`Script`), what it did (:class:`Stats`), its error bodies.

Every shape comes from Novig's v3 pages (``Semionsr/novig-v3-kit``, ``fixtures/docs/``) and
``openapi-v3-target.json``, summarised in ``protocols/novig-v3.md``. Where those documents
leave a shape open (the notes' §12 and §14), the choice is a :class:`Script` field, and its
docstring names the page that leaves it open.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Literal

import orjson

from fillwatch.sim.faults import ConnectionStats

__all__ = ["ERRORS", "GARBAGE", "Bucket", "Script", "Sent", "Stats", "error_body"]

ERRORS: dict[str, tuple[int, str]] = {
    # code → (status, message): the examples of openapi-v3-target.json's responses and api_errors.md.
    "SIGNATURE_REJECTED": (401, "signature verification failed"),
    "ACCOUNT_LOCKED": (423, "the account is locked out of trading"),
    "SYSTEM_LOCKED": (423, "the exchange has halted trading"),
    "RATE_LIMIT_EXCEEDED": (429, "Rate limit exceeded. Please wait before retrying."),
    "GEOLOCATION_NOT_FOUND": (451, "the key holder never geolocated"),
    "GEOLOCATION_EXPIRED": (451, "no geolocation in the last 3 days"),
    "ANONYMIZED_NETWORK": (451, "VPN, proxy, or Tor exit"),
    "INTERNAL_ERROR": (500, "internal error"),
    "INVALID_REQUEST": (400, "the request is malformed"),
}
"""The REST/upgrade refusals a script can ask for (``ErrorBody``: ``code`` and ``message``)."""

GARBAGE: tuple[str | bytes, ...] = (
    "{not json",
    b"\x00\x01binary",
    '{"ts":1,"delta":{},"orders":{"seq":"x","deltas":[{"kind":"fill"}]}}',
    "[1, 2, 3]",
    '{"heartbeat":"soon"}',
)
"""Malformed frames a :attr:`Script.garbage_every` slips in, in turn."""


def error_body(code: str, message: str | None = None, **extra: object) -> bytes:
    """The ``ErrorBody`` JSON (``code``, ``message``) for `code`, with the documented message by default."""
    return orjson.dumps({"code": code, "message": message or ERRORS.get(code, (400, code))[1], **extra})


@dataclass
class Script:
    """How the simulator behaves. The defaults make a well-behaved venue."""

    # The order flow -----------------------------------------------------------------
    rate: float | None = 2.0
    """Batches per second from the venue's own clock; 0 as fast as possible; None: only the test's
    own calls (``sim.feed.place(...)`` and friends, then ``sim.publish``)."""
    limit: int | None = None
    """Batches to make over the server's life; then only heartbeats."""
    seed: int | None = None
    markets: int = 3
    golive_every: int | None = 25
    """Make a market go live (``GOLIVE``, voiding its resting orders) about every N batches (None: never)."""

    # Keepalive (api_streaming_connection.md "Why a connection closes", api_streaming_private.md) --
    heartbeat: float = 15.0
    """Seconds between ``heartbeat`` frames while a private channel is subscribed."""
    ping_interval: float = 15.0
    """Seconds between protocol Pings; no Pong between two Pings drops TCP without a close frame."""
    stall_timeout: float = 15.0
    """A write to the client stalled this long closes the socket with ``1008 SLOW_CONSUMER``."""
    queue_limit: int = 256
    """Frames the per-connection outbox holds; past it ``orders``/``positions``/market frames drop
    (api_streaming_private.md "Slow consumer" documents the drop, not the queue's size)."""
    send_buffer: int | None = None
    """SO_SNDBUF of each accepted socket (small values make a lagging client show sooner)."""

    # Throttles (api_throttling.md) -------------------------------------------------------
    throttle: bool = True
    """Meter the ``stream``, ``history`` and ``read`` buckets per key as documented."""

    # Faults ------------------------------------------------------------------------------
    drop_seqs: Collection[int] = ()
    """Never send the ``orders`` batches with these seqs, on any connection (a seq gap on purpose)."""
    drop_every: int | None = None
    """On each connection, drop every Nth ``orders`` batch (a gap the heartbeat reveals)."""
    drop_chance: float = 0.0
    """Drop each ``orders`` batch with this probability (seeded by ``seed``: the chaos run's frame drops)."""
    close_after: int | None = None
    """On each connection, close with ``1008`` and `close_reason` after N batches sent..."""
    close_reason: str = "SLOW_CONSUMER"
    """...``SLOW_CONSUMER`` or a 451 code such as ``GEOLOCATION_NOT_FOUND``."""
    closes: int | None = None
    """How many such closes over the server's life (None: on every connection)."""
    drop_after: int | None = None
    """On each connection, drop TCP (no close frame) after N batches sent (``sim.faults``)..."""
    drops: int | None = None
    """...this many times in all (None: on every connection)."""
    drop_between: tuple[int, int] | None = None
    """On each connection, drop TCP after a random number of batches in this range (chaos)."""
    silent_after: int | None = None
    """On each connection, send nothing at all after N batches (no heartbeats, no Pings)."""
    garbage_every: int | None = None
    """Slip a malformed frame in after every N batches sent."""
    refuse_upgrades: int = 0
    """Answer this many upgrades (after the signature passed) with `refuse_code` (-1: all)."""
    refuse_code: str = "RATE_LIMIT_EXCEEDED"
    rest_failures: int = 0
    """Answer this many signed REST calls with `rest_failure_code`; may be set while the server runs."""
    rest_failure_code: str = "RATE_LIMIT_EXCEEDED"
    retry_after: int = 1
    """``Retry-After`` (seconds) on a scripted 429."""

    # Shapes the documents leave open (protocols/novig-v3.md §12, §14) ---------------------
    error_shape: Literal["top", "nested"] = "top"
    """A socket error frame: top-level ``{code, message, nonce}`` (every third-party client) or nested
    ``{nonce, error: {code, message}}``. Open: only the ``ErrorBody`` schema exists, no page shows a
    socket error frame (§4.6, §14.1)."""
    ack_shape: Literal["named", "subscribed"] = "named"
    """``unsubscribe``/``status`` acks: ``{nonce, unsubscribed: [...]}`` / ``{nonce, status: {...}}`` (a
    third-party mock), or ``{nonce, subscribed: {...}}``. Open: api_streaming_connection.md says only
    "Ack" (§14.1)."""
    snapshot_subscribed: bool = True
    """Whether the ``snapshot`` verb's reply repeats ``subscribed``. Open: api_streaming_connection.md
    shows only the ``subscribe`` reply (§14.7)."""
    cancel_remaining: bool = False
    """Whether a ``cancel`` event carries ``remaining``. Open: absent in api_streaming_private.md's
    example, said by a third party to be on the Orders page (§13.2, §14.2)."""
    frame_ts: Literal["engine", "send"] = "engine"
    """A delta frame's ``ts``: when the batch happened (the REST ``Fill.ts``), or when it is written.
    Open: no page says which (§14.3)."""
    share_frames: bool = False
    """Whether a market delta and the private batch it causes (``GOLIVE``'s cancels) share one frame,
    and ``orders``/``positions`` batches of one step too. Open (§14.6)."""
    close_cancels: bool = True
    """Whether ``CLOSE`` sends each resting order a ``cancel`` with ``MARKET_CLOSED`` (else they leave
    silently, seen only over REST). Open: api_streaming_private.md names the reason only (§14.5)."""
    heartbeat_at_zero: bool = True
    """Whether heartbeats are sent before the first event (``seq`` 0). Open (§14.8)."""
    orders_newest_first: bool = True
    """``GET /v3/orders`` item order. Open: the OpenAPI ``listOrders`` does not say (§6.3, §14.10)."""
    short_prices: bool = False
    """Prices on the private stream unpadded (``"0.67"``) rather than three decimals. Open (§14.14)."""
    restart_keeps_sockets: bool = False
    """Whether ``sim.restart()`` (``seq`` back to 0: "A server restart resets the ``seq``",
    api_streaming_private.md) keeps open sockets, so that a client sees a heartbeat below its last
    seq, or drops them. Open: no page says what a restart does to a connection (§14.13)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """One ``fill`` or ``cancel`` (or ``open``/``reject``) written to a client, for the chaos checks."""

    connection: int
    seq: int
    kind: str
    order_id: str
    remaining: int | None = None


@dataclass
class Stats(ConnectionStats):
    """What the simulator saw and did, for tests, the demo and the chaos run."""

    upgrade_rejections: list[tuple[int, str]] = field(default_factory=list)
    """(status, message) of each refused upgrade."""
    rest: list[tuple[str, str, str]] = field(default_factory=list)
    """(method, path, raw query) of every REST call."""
    rest_times: list[float] = field(default_factory=list)
    """``time.monotonic()`` as each of those calls arrived."""
    rest_rejections: list[tuple[int, str]] = field(default_factory=list)
    commands: list[object] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    """Every order event written to a client."""
    dropped_seqs: list[tuple[int, int]] = field(default_factory=list)
    """(connection, seq) of every ``orders`` batch dropped: by a full outbox or on purpose."""
    lagged: int = 0
    """Frames dropped because the client's outbox was full."""
    heartbeats: int = 0
    pings: int = 0
    pong_timeouts: int = 0
    closes: list[tuple[int, str]] = field(default_factory=list)
    """(code, reason) of every close the server started."""
    close_times: list[float] = field(default_factory=list)
    """``time.monotonic()`` as each of those closes was started."""
    upgrade_times: list[float] = field(default_factory=list)
    """``time.monotonic()`` as each upgrade request arrived (the reconnects, timed on the venue's side)."""
    scripted_closes: int = 0
    """Closes made by :attr:`Script.close_after`."""
    throttled: int = 0

    def sent_keys(self, kind: str) -> list[tuple[str, int | None]]:
        """(orderId, remaining) of every event of `kind` written, in order (duplicates kept)."""
        return [(s.order_id, s.remaining) for s in self.sent if s.kind == kind]


class Bucket:
    """One throttle bucket: `capacity` tokens, refilled at `refill` per second (api_throttling.md)."""

    def __init__(self, capacity: int, refill: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.refill, self._clock = capacity, refill, clock
        self.tokens = float(capacity)
        self._at = clock()

    def _fill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.refill)
        self._at = now

    def take(self, cost: int) -> int:
        """Spend `cost`; 0 if it passed, else the ``Retry-After`` seconds. Over capacity: only from full."""
        self._fill()
        if cost > self.capacity:
            if self.tokens >= self.capacity:
                self.tokens = 0.0
                return 0
            return max(1, math.ceil((self.capacity - self.tokens) / self.refill))
        if self.tokens >= cost:
            self.tokens -= cost
            return 0
        return max(1, math.ceil((cost - self.tokens) / self.refill))
