"""What every venue adapter provides, and the helpers they share.

A venue adapter is Sans-I/O in the websockets sense: frames in, items out. It
never touches a socket, a clock or the environment; the stream (``net/``)
calls it and acts on what it returns. Besides events it returns *control*
items, which tell the stream what the frame means for the connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeAlias

import orjson

from fillwatch.events import Cancel, Event, Fill

__all__ = [
    "Ack",
    "HistoryPage",
    "Malformed",
    "Parsed",
    "Reconcile",
    "Rejected",
    "Reply",
    "Request",
    "Resync",
    "Venue",
    "decode",
    "excerpt",
    "to_decimal",
    "ts_from_iso",
    "ts_from_ms",
    "ts_from_s",
]


@dataclass(frozen=True, slots=True)
class Ack:
    """The venue confirmed the subscription to one channel."""

    channel: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The venue refused us in-band; `auth` tells whether fresh credentials may help."""

    code: int | None
    message: str
    auth: bool


@dataclass(frozen=True, slots=True)
class Resync:
    """The venue says the subscription lost data: reconnect, resubscribe (and backfill)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Reconcile:
    """The frame implies events only REST history can spell out: read `kind` now.

    A Novig ``CLOSE`` cancels your resting orders on that market without a
    cancel event; which ones, and what was left of them, only ``orders/all``
    says exactly. The stream passes this up; :func:`~fillwatch.follow.follow`
    reads that history at once and shows what it gives before the next frame.
    """

    kind: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A frame to send back at once (an application-level pong, say)."""

    frame: bytes


@dataclass(frozen=True, slots=True)
class Malformed:
    """A frame that could not be understood; it is counted and skipped."""

    reason: str
    excerpt: str


Parsed: TypeAlias = Fill | Cancel | Ack | Rejected | Resync | Reconcile | Reply | Malformed
"""What an adapter makes of one frame; unknown message types make nothing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One REST request, described by an adapter and sent by ``net.http``."""

    method: str
    url: str
    params: Mapping[str, str | int] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of REST history: its events and the token of the next page (None: last)."""

    events: Sequence[Event]
    next_page: str | None
    skipped: int = 0
    """Rows that could not be understood (counted, reported, never fatal)."""


class Venue(Protocol):
    """Sans-I/O description of one venue's private WebSocket stream."""

    name: str
    """The venue's name as written in event lines (``"kalshi"``)."""

    channels: frozenset[str]
    """The channels whose acknowledgement makes a connection *confirmed*."""

    def handshake_headers(self, now_ms: int) -> dict[str, str]:
        """HTTP headers for the upgrade request, made afresh for every attempt."""
        ...

    def subscribe_frames(self) -> Sequence[bytes]:
        """The commands to send once the connection is open (JSON text)."""
        ...

    def parse(self, frame: str | bytes) -> Sequence[Parsed]:
        """Interpret one received frame: text frames arrive as ``str``."""
        ...

    # REST history (gap backfill, --since): each kind is paged separately.

    history_kinds: tuple[str, ...]
    """The history endpoints to read, e.g. ``("fills", "orders")``."""

    warm_up: tuple[str, ...]
    """History kinds read in full before the first connection, to know what the stream will not say."""

    retry_after_unit: float
    """The unit of the venue's ``Retry-After`` header, in seconds (1: the HTTP standard's seconds)."""

    clock: Callable[[], float]
    """Wall-clock seconds, for the times a venue does not send (replay sets the recorded ones)."""

    def history_request(self, kind: str, since: datetime, page: str | None, now_ms: int) -> Request:
        """The request for one page of `kind` history from `since` (page None: the first)."""
        ...

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        """The events of one page (``source="history"``), and the next page's token.

        `page` is the token the page was asked for with (None: the first).
        Returns ``next_page=None`` once the history reaches back past `since`.
        """
        ...

    # Across runs (--state).

    def memory(self, done: Callable[[Event], bool]) -> Any:
        """What the next run needs to know, as JSON (None: nothing).

        `done` tells whether an event needs no showing any more (the ledger
        has shown it): what the adapter made but the run did not show yet
        must be kept for the next run to make again.
        """
        ...

    def recall(self, memory: Any) -> None:
        """Take up what a previous run's :meth:`memory` kept (ValueError: not such a value)."""
        ...

    # Market names for the terminal views.

    def market_request(self, market: str, now_ms: int) -> Request:
        """The request for one market's description."""
        ...

    def parse_market_title(self, body: bytes) -> str | None:
        """A human title for the market, or None when the body has none."""
        ...


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_decimal(value: object) -> Decimal:
    """An exact decimal from a JSON value: a string, an integer or a float.

    Floats are read through their shortest repr, so ``0.667`` stays ``0.667``.

    Raises:
        ValueError: for anything else (booleans included).
    """
    if isinstance(value, str):
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise ValueError(f"not a number: {value!r}")


def ts_from_ms(ms: object) -> datetime:
    """A UTC datetime from integer Unix milliseconds, exactly."""
    if type(ms) is not int:  # JSON gives int, float, bool or str: only int will do (bool is an int subclass)
        raise ValueError(f"not integer milliseconds: {ms!r}")
    # Whole seconds and microseconds: timedelta(milliseconds=ms) is twice as slow.
    return _EPOCH + timedelta(0, ms // 1000, ms % 1000 * 1000)


def ts_from_s(s: object) -> datetime:
    """A UTC datetime from integer Unix seconds."""
    if not isinstance(s, int) or isinstance(s, bool):
        raise ValueError(f"not integer seconds: {s!r}")
    return _EPOCH + timedelta(seconds=s)


def ts_from_iso(text: object) -> tuple[datetime, bool]:
    """A UTC datetime from RFC 3339 text, and whether it had a fraction of a second."""
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC), "." in text


def decode(frame: str | bytes) -> dict[str, Any] | Malformed:
    """A text frame's JSON object, or why the frame is not one (binary, not JSON, not an object)."""
    if isinstance(frame, bytes):
        return Malformed("binary frame", excerpt(frame))
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return Malformed("not JSON", excerpt(frame))
    if not isinstance(message, dict):
        return Malformed("not a JSON object", excerpt(frame))
    return message


def excerpt(frame: str | bytes, limit: int = 120) -> str:
    """The start of a frame, for a diagnostic line (the sink escapes it)."""
    text = frame if isinstance(frame, str) else frame[:limit].decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "…"
