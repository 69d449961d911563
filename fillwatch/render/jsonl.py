"""Event lines: the JSON object of CONTRACT §3, one per line.

:func:`record` is the single place that knows the keys and their order;
:func:`encode` turns it into bytes. Money stays :class:`~decimal.Decimal`
until this edge, where it becomes a JSON number: through ``float``, which
renders every value with at most 15 significant digits exactly (venues send at
most 10), and as an integer when it is whole (``qty`` 278, not 278.0).
:func:`~fillwatch.core.lines.parse_record` is the inverse, for ``fillwatch replay`` of an
``--output`` file (it lives in :mod:`fillwatch.core.lines`, below the session that reads it;
re-exported here).
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import orjson

from fillwatch.core.appending import append, is_regular
from fillwatch.core.events import Cancel, Event, Fill, Status
from fillwatch.core.lines import parse_record

__all__ = ["JsonLinesSink", "encode", "encode_with_raw", "format_ts", "parse_record", "record"]


_DAYS: dict[int, str] = {}
"""``YYYY-MM-DDT`` by proleptic ordinal: the date changes rarely, the time of day every second."""
_DAYS_MAX = 4096
_HOURS = tuple(f"{hour:02d}:" for hour in range(24))
_MINUTES_SECONDS = tuple(f"{minute:02d}:{second:02d}" for minute in range(60) for second in range(60))
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def format_ts(ts: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``, always with milliseconds (``.000`` for whole seconds), so
    that the strings sort in time order (CONTRACT §3); `ts` must be UTC.

    Built from tables rather than formatted: a cache by second missed every other event of a
    stream whose events are a few hundred milliseconds apart (0.34 µs against 1.2 µs).
    """
    ordinal = ts.toordinal()
    day = _DAYS.get(ordinal)
    if day is None:
        if len(_DAYS) >= _DAYS_MAX:
            _DAYS.clear()
        day = _DAYS[ordinal] = ts.date().isoformat() + "T"
    return day + _HOURS[ts.hour] + _MINUTES_SECONDS[ts.minute * 60 + ts.second] + _MILLIS[ts.microsecond // 1000]


_SMALLEST_INT, _END_OF_INTS = -(2**63), 2**64  # what orjson writes as an integer: i64 and u64


_NUMBERS: dict[Decimal, int | float] = {}
"""JSON numbers by Decimal: prices, sizes and fees repeat, and converting costs three times a look-up."""
_NUMBERS_MAX = 4096


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    try:
        return _NUMBERS[value]
    except KeyError:
        pass
    except TypeError:  # a signaling NaN cannot be hashed
        return _convert(value)
    if len(_NUMBERS) >= _NUMBERS_MAX:
        _NUMBERS.clear()
    number = _NUMBERS[value] = _convert(value)
    return number


def _convert(value: Decimal) -> int | float:
    number = float(value)
    if number.is_integer() and _SMALLEST_INT <= (whole := int(number)) < _END_OF_INTS:
        return whole
    return number  # fractional, or a whole number orjson cannot write as a 64-bit integer


def record(event: Event) -> dict[str, object]:
    """The event as the ordered mapping of CONTRACT §3, every key present."""
    if isinstance(event, Cancel):
        taker = fee = position = wash = None
        original_qty, reason = _number(event.original_qty), event.reason
    else:
        taker, fee, position, wash = event.taker, _number(event.fee), _number(event.position), event.wash
        original_qty = reason = None
    return {
        "kind": event.kind,
        "venue": event.venue,
        "id": event.id,
        "order_id": event.order_id,
        "market": event.market,
        "side": event.side,
        "action": event.action,
        "price": _number(event.price),
        "qty": _number(event.qty),
        "ts": format_ts(event.ts),
        "taker": taker,
        "fee": fee,
        "position": position,
        "wash": wash,
        "original_qty": original_qty,
        "currency": event.currency,
        "source": event.source,
        "reason": reason,
        "account": event.account,
    }


def encode(event: Event) -> bytes:
    """One event line, newline included: the bytes of ``orjson.dumps(record(event))`` and a newline,
    joined from cached pieces (keys with the words that repeat, numbers, the date) rather than a dict.

    A :class:`Fill` takes the same steps inline, in the same order (a fill's line is most of the
    lines, and each call saved is ~5 % of the line); what raises a ``TypeError`` there (an id
    orjson refuses, a signaling NaN) is encoded again the general way, which raises as it does."""
    if type(event) is not Fill:
        return _line(event)
    try:
        what = (event.market, event.side, event.action)
        rest = (event.wash, event.currency, event.source, event.account)
        start = _FILL_STARTS.get(event.venue) or _keep(
            _FILL_STARTS, event.venue, _START % (b'"fill"', _dumps(event.venue))
        )
        middle = _MIDDLES.get(what) or _keep(_MIDDLES, what, _MIDDLE % tuple(map(_dumps, what)))
        end = _FILL_ENDS.get(rest) or _keep(_FILL_ENDS, rest, _FILL_END % tuple(map(_dumps, rest)))
        numbers, fee, position, taker, ts = _NUMBER_JSON, event.fee, event.position, event.taker, event.ts
        fee_json = numbers.get(fee) or _number_json(fee)
        if position is None:
            position_json = _NULL
        else:
            number = float(position)  # _convert, inline: a position seldom repeats, so it is not kept
            whole = number.is_integer() and _SMALLEST_INT <= int(number) < _END_OF_INTS
            position_json = _dumps(int(number) if whole else number)
        day = _DAYS_JSON.get(ts.toordinal()) or _day_json(ts)
        return b"".join(
            (
                start, _dumps(event.id), b',"order_id":', _dumps(event.order_id), middle,
                numbers.get(event.price) or _number_json(event.price), b',"qty":',
                numbers.get(event.qty) or _number_json(event.qty), day, _HOURS_JSON[ts.hour],
                _MINUTES_SECONDS_JSON[ts.minute * 60 + ts.second], _MILLIS_JSON[ts.microsecond // 1000],
                b',"taker":', b"true" if taker is True else b"false" if taker is False else _constant(taker),
                b',"fee":', fee_json, b',"position":', position_json, end,
            )
        )  # fmt: skip
    except TypeError:
        return _line(event)


def _line(event: Event) -> bytes:
    """:func:`encode`, for any event."""
    who = (event.kind, event.venue)
    start = _STARTS.get(who) or _keep(_STARTS, who, _START % tuple(map(_dumps, who)))
    what = (event.market, event.side, event.action)
    middle = _MIDDLES.get(what) or _keep(_MIDDLES, what, _MIDDLE % tuple(map(_dumps, what)))
    if isinstance(event, Cancel):
        ends = (event.currency, event.source, event.reason, event.account)
        end = _CANCEL_ENDS.get(ends) or _keep(_CANCEL_ENDS, ends, _CANCEL_END % tuple(map(_dumps, ends)))
        flags = _CANCEL_FLAGS + _number_json(event.original_qty)
    else:
        rest = (event.wash, event.currency, event.source, event.account)
        end = _FILL_ENDS.get(rest) or _keep(_FILL_ENDS, rest, _FILL_END % tuple(map(_dumps, rest)))
        fee, position = _number_json(event.fee), _fresh_json(event.position)
        flags = b',"taker":%b,"fee":%b,"position":%b' % (_constant(event.taker), fee, position)
    return b"".join(
        (
            start, _dumps(event.id), b',"order_id":', _dumps(event.order_id), middle, _number_json(event.price),
            b',"qty":', _number_json(event.qty), _ts_json(event.ts), flags, end,
        )
    )  # fmt: skip


_dumps = orjson.dumps
_NULL = b"null"
_CANCEL_FLAGS = b',"taker":null,"fee":null,"position":null,"wash":null,"original_qty":'
_START = b'{"kind":%b,"venue":%b,"id":'
_MIDDLE = b',"market":%b,"side":%b,"action":%b,"price":'
_CANCEL_END = b',"currency":%b,"source":%b,"reason":%b,"account":%b}\n'
_FILL_END = b',"wash":%b,"original_qty":null,"currency":%b,"source":%b,"reason":null,"account":%b}\n'
_STARTS: dict[tuple[object, ...], bytes] = {}
_FILL_STARTS: dict[object, bytes] = {}
"""A fill's start, by venue alone (:func:`encode`'s own route)."""
"""Runs of a line's JSON by the values in them that repeat, one table per run (a tuple of
strings, flags or None, never an id or a number): kind and venue; market, side and action;
and the ends of a cancel and of a fill."""
_MIDDLES: dict[tuple[object, ...], bytes] = {}
_CANCEL_ENDS: dict[tuple[object, ...], bytes] = {}
_FILL_ENDS: dict[tuple[object, ...], bytes] = {}
_PIECES_MAX = 4096
_K = TypeVar("_K")
_NUMBER_JSON: dict[Decimal | None, bytes] = {}
"""JSON text of :func:`_number`, by Decimal."""
_DAYS_JSON: dict[int, bytes] = {}
_HOURS_JSON = tuple(hour.encode() for hour in _HOURS)
_MINUTES_SECONDS_JSON = tuple(text.encode() for text in _MINUTES_SECONDS)
_MILLIS_JSON = tuple(f'{millis}"'.encode() for millis in _MILLIS)


def _keep(table: dict[_K, bytes], key: _K, piece: bytes) -> bytes:
    if len(table) >= _PIECES_MAX:
        table.clear()
    table[key] = piece
    return piece


def _constant(value: object) -> bytes:
    if value is None:
        return _NULL
    return b"true" if value is True else b"false" if value is False else _dumps(value)


def _number_json(value: Decimal | None) -> bytes:
    """``orjson.dumps(_number(value))``, kept by Decimal."""
    if value is None:
        return _NULL
    try:
        return _NUMBER_JSON[value]
    except KeyError:
        pass
    except TypeError:  # a signaling NaN cannot be hashed
        return _dumps(_convert(value))
    if len(_NUMBER_JSON) >= _NUMBERS_MAX:
        _NUMBER_JSON.clear()
    text = _NUMBER_JSON[value] = _dumps(_convert(value))
    return text


def _fresh_json(value: Decimal | None) -> bytes:
    """``orjson.dumps(_number(value))`` for a number that seldom repeats (a position): not kept,
    so that it neither pays for a look-up that misses nor pushes the prices out."""
    return _NULL if value is None else _dumps(_convert(value))


def _ts_json(ts: datetime) -> bytes:
    """``,"ts":`` and ``orjson.dumps(format_ts(ts))``: the same tables, as bytes."""
    day = _DAYS_JSON.get(ts.toordinal()) or _day_json(ts)
    return (
        day
        + _HOURS_JSON[ts.hour]
        + _MINUTES_SECONDS_JSON[ts.minute * 60 + ts.second]
        + _MILLIS_JSON[ts.microsecond // 1000]
    )


def _day_json(ts: datetime) -> bytes:
    """``,"ts":"YYYY-MM-DDT`` of `ts`, kept by its ordinal."""
    if len(_DAYS_JSON) >= _DAYS_MAX:
        _DAYS_JSON.clear()
    day = _DAYS_JSON[ts.toordinal()] = b',"ts":"' + ts.date().isoformat().encode() + b"T"
    return day


def _raw(raw: str | bytes | None) -> orjson.Fragment | None:
    """The venue's message as embedded JSON: its own bytes, not re-encoded.

    A message spread over several lines (pretty-printed JSON) is compacted,
    since an event line must stay one line.
    """
    if raw is None:
        return None
    newline, carriage_return = ("\n", "\r") if isinstance(raw, str) else (b"\n", b"\r")
    if newline in raw or carriage_return in raw:  # type: ignore[operator]
        raw = orjson.dumps(orjson.loads(raw))
    return orjson.Fragment(raw)


def encode_with_raw(event: Event) -> bytes:
    """One event line with the venue's original message under ``"raw"`` (``--raw``)."""
    fields = record(event)
    fields["raw"] = _raw(event.raw)
    return orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)


class JsonLinesSink:
    """Appends event lines to a file descriptor (stdout, or an ``--output`` file).

    Lines are buffered until :meth:`flush`, which hands them to the kernel in
    as few ``write`` calls as it takes: every line lies whole inside one write,
    so readers never see a torn line. A write that fails or falls short raises
    :class:`~fillwatch.core.errors.WriteFailed`, and a regular file is cut back to
    where it was (:func:`fillwatch.core.appending.append`): it holds whole lines only.
    """

    def __init__(self, fd: int, *, owns_fd: bool = False, raw: bool = False, name: str = "stdout") -> None:
        """`name` says what `fd` is in an error message."""
        self._fd = fd
        self._owns_fd = owns_fd
        self._name = name
        try:
            self._regular = is_regular(fd)
        except OSError:
            self._regular = False
        self._buffer = bytearray()
        self._encode = encode_with_raw if raw else encode

    def event(self, event: Event) -> None:
        self._buffer += self._encode(event)

    def status(self, status: Status) -> None:
        pass

    def flush(self) -> None:
        if not self._buffer:
            return
        data = bytes(self._buffer)
        self._buffer.clear()
        append(self._fd, data, name=self._name, regular=self._regular)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._owns_fd:
                os.close(self._fd)
