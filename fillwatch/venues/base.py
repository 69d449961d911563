"""What every venue adapter provides, and the helpers they share.

A venue adapter is Sans-I/O in the websockets sense: frames in, items out. It
never touches a socket, a clock or the environment; the stream (``net/``)
calls it and acts on what it returns. Besides events it returns *control*
items, which tell the stream what the frame means for the connection.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeAlias, TypeVar

import orjson

from fillwatch.core.events import Cancel, Event, Fill

__all__ = [
    "DECIMALS",
    "UNREADABLE",
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
    "checked",
    "decode",
    "excerpt",
    "field_error",
    "shown",
    "to_decimal",
    "ts_from_clock",
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
    says exactly. The stream passes this up; :func:`~fillwatch.session.follow.follow`
    reads that history at once and shows what it gives before the next frame.
    """

    kind: str
    label: str | None = None
    """Report the read like a backfill, under this name (a Novig v3 gap: ``seq 908→913``); None: silently."""


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


UNREADABLE = (LookupError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError)
"""What reading a hostile message may raise (a missing key, a wrong type, a number or time
out of range, a value nested too deep to show): the message is then skipped and counted, never fatal."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Event times a datetime can hold with a day to spare at both ends, so that any
# time zone can show them and the ledger can take its overlap off them.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
_MIN_S = -((_EPOCH - _EARLIEST) // timedelta(seconds=1))
_MAX_S = (_LATEST - _EPOCH) // timedelta(seconds=1)
_MIN_MS, _MAX_MS = _MIN_S * 1000, _MAX_S * 1000
EPOCH, MIN_MS, MAX_MS = _EPOCH, _MIN_MS, _MAX_MS
"""What :func:`ts_from_ms` reads from, for a parser that inlines its common case."""

# Numbers: finite, below 2**64 in size, at most 64 characters of text and no
# smaller than 1e-30, so that a line shows each in at most a hundred characters.
_BOUND = Decimal(2**64)
_LONGEST = 64
_SMALLEST = -30
_ZERO, _ONE = Decimal(0), Decimal(1)
_DECIMALS: dict[str, Decimal] = {}
"""Decimals read from text, by the text (immutable, so shared; exact, so the same as reading again)."""
DECIMALS: Mapping[str, Decimal] = _DECIMALS
"""The same, read-only: a parser's hot path looks a text up before calling :func:`to_decimal`."""
_DECIMALS_KEPT = 4096

E = TypeVar("E", bound=Event)


def to_decimal(value: object, *, keep: bool = True) -> Decimal:
    """An exact decimal from a JSON value: a string, an integer or a float.

    Floats are read through their shortest repr, so ``0.667`` stays ``0.667``. A text read
    is kept for the next time unless `keep` is False (a value that seldom repeats: a position).

    Raises:
        ValueError: for anything else (booleans included), and for numbers a
            line cannot show: NaN, infinities, 2**64 or more in size, longer
            than 64 characters, or smaller than 1e-30 (``"1e-999"``).
    """
    if isinstance(value, str):
        known = _DECIMALS.get(value)
        if known is not None:
            return known
        if len(value) > _LONGEST:
            raise ValueError(f"number of {len(value)} characters")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        raise ValueError(f"not a number: {shown(value)}")
    if number.is_finite():
        magnitude = number.adjusted()  # the power of ten of the first digit: below 19 is below 2**64
        if _SMALLEST <= magnitude < 19 or (magnitude == 19 and abs(number) < _BOUND):
            if keep and isinstance(value, str):  # prices, counts and fees repeat: Decimal(text) costs ~5x a lookup
                if len(_DECIMALS) >= _DECIMALS_KEPT:
                    _DECIMALS.clear()
                _DECIMALS[value] = number
            return number
    raise ValueError(f"number out of range: {shown(value)}")


def checked(event: E) -> E:
    """`event`, when its price is from 0 to 1 and its quantity above 0 (CONTRACT §5).

    Raises:
        ValueError: a price or quantity out of range.
    """
    if not _ZERO <= event.price <= _ONE:
        raise ValueError(f"price {event.price} outside 0–1")
    if event.qty <= _ZERO:
        raise ValueError(f"quantity {event.qty} not above 0")
    return event


def ts_from_clock(clock: Callable[[], float]) -> datetime:
    """Now by `clock` (wall-clock seconds) to the millisecond, rounded: the time of an event the venue does not date."""
    return datetime.fromtimestamp(round(clock(), 3), UTC)


def ts_from_ms(ms: object) -> datetime:
    """A UTC datetime from integer Unix milliseconds, exactly."""
    if type(ms) is not int:  # JSON gives int, float, bool or str: only int will do (bool is an int subclass)
        raise ValueError(f"not integer milliseconds: {shown(ms)}")
    if not _MIN_MS <= ms <= _MAX_MS:
        raise ValueError(f"time out of range: {ms} ms")
    # Whole seconds and microseconds: timedelta(milliseconds=ms) is twice as slow.
    return _EPOCH + timedelta(0, ms // 1000, ms % 1000 * 1000)


def ts_from_s(s: object) -> datetime:
    """A UTC datetime from integer Unix seconds."""
    if not isinstance(s, int) or isinstance(s, bool):
        raise ValueError(f"not integer seconds: {shown(s)}")
    if not _MIN_S <= s <= _MAX_S:
        raise ValueError(f"time out of range: {s} s")
    return _EPOCH + timedelta(seconds=s)


def ts_from_iso(text: object) -> datetime:
    """A UTC datetime from RFC 3339 text."""
    if not isinstance(text, str) or len(text) > _LONGEST:
        raise ValueError(f"not a timestamp: {shown(text)}")
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one past year 9999 once in UTC
        raise ValueError(f"not a timestamp: {text!r}") from None
    if not _EARLIEST <= parsed <= _LATEST:
        raise ValueError(f"time out of range: {text!r}")
    return parsed


def field_error(exc: Exception) -> str:
    """What was wrong with a message's field, in a few words: a hostile value in it is cut short."""
    text = f"missing {exc.args[0]!s}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
    return text if len(text) <= 100 else text[:100] + "…"


def shown(value: object) -> str:
    """A value for an error message, cut short: a hostile one may be long, or nested a thousand deep."""
    text = reprlib.repr(value)  # bounded in depth and length, unlike repr()
    return text if len(text) <= 40 else text[:40] + "…"


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
