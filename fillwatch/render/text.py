"""Making untrusted text safe to show in a terminal, and the small formatters the views share."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = ["TimeOfDay", "count", "is_bare_id", "number", "price", "sanitize", "signed"]

# C0 and C1 control characters, DEL included: ESC would let a market name move
# the cursor, recolour or retitle the terminal. And the Unicode bidi embeddings,
# overrides and isolates (U+202A–U+202E, U+2066–U+2069): they would let a name
# reorder the rest of the line as shown ("Trojan Source").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_PRICE = Decimal("0.0001")
_BARE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def is_bare_id(text: str) -> bool:
    """Whether `text` is a bare id (Novig's market and outcome UUIDs): it tells a reader nothing, a title does."""
    return _BARE_ID.fullmatch(text) is not None


def sanitize(text: str) -> str:
    """`text` with every control character written as a visible escape (``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 cancel``, ``2 cancels``: a number with its noun agreeing."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def number(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 278.00 → 278, 0.7500 → 0.75."""
    text = str(value)  # the same text as f"{value:f}" unless it has an exponent, in a third of the time
    if "E" in text:
        text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def signed(value: Decimal) -> str:
    """Like :func:`number`, with a sign unless zero: +10, -2.5, 0."""
    text = number(value)
    return text if value <= 0 else "+" + text


def price(value: Decimal | None) -> str:
    """An average price to the venues' finest tick (0.0001), or ``-`` when there is none."""
    if value is None:
        return "-"
    try:
        return number(value.quantize(_PRICE, rounding=ROUND_HALF_EVEN))
    except InvalidOperation:  # too many digits for the tick (a hostile number): as it is
        return str(value)


class TimeOfDay:
    """``HH:MM:SS`` of event times in `tz` (None: the local zone), cached per second and per minute.

    Events arrive in bursts within the same second; formatting a time is the
    costliest part of a line, so the last second's text is kept. A new second in
    the minute last converted is that minute's ``HH:MM:`` and the seconds, when
    the zone's offset is the same at both ends of the minute; converting again
    (``astimezone``, ~0.9 µs) happens once a minute.
    """

    def __init__(self, tz: tzinfo | None = None) -> None:
        self._tz = tz
        self._second: int | None = None
        self._text = ""
        self._minute = _NONE
        """The Unix second the last converted local minute starts at (`_NONE`: none to reuse)."""
        self._prefix = ""

    def __call__(self, ts: datetime) -> str:
        second = int(ts.timestamp())
        if second != self._second:
            self._second = second
            at = second - self._minute
            self._text = self._prefix + _TWO[at] if 0 <= at < _MINUTE else self._convert(ts, second)
        return self._text

    def _convert(self, ts: datetime, second: int) -> str:
        local = ts.astimezone(self._tz)
        text = f"{_TWO[local.hour]}:{_TWO[local.minute]}:{_TWO[local.second]}"
        start, offset = second - local.second, local.utcoffset()
        # Only where int(timestamp()) is the exact second (not before 1970, nor where a float
        # rounds microseconds up), for an offset of whole seconds that holds through the minute.
        exact = start >= 0 and start + _MINUTE <= _EXACT and offset is not None and not offset.microseconds
        if exact and self._offset(start) == offset == self._offset(start + _MINUTE - 1):
            self._minute, self._prefix = start, text[:6]
        else:
            self._minute = _NONE
        return text

    def _offset(self, second: int) -> timedelta | None:
        return (_EPOCH + timedelta(seconds=second)).astimezone(self._tz).utcoffset()


_TWO = [f"{n:02d}" for n in range(61)]
_MINUTE = 60
_EXACT = 2**32
_NONE = -(2**62)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
