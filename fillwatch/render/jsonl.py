"""Event lines: the JSON object of CONTRACT §3, one per line.

:func:`record` is the single place that knows the keys and their order;
:func:`encode` turns it into bytes. Money stays :class:`~decimal.Decimal`
until this edge, where it becomes a JSON number: through ``float``, which
renders every value with at most 15 significant digits exactly (venues send at
most 10), and as an integer when it is whole (``qty`` 278, not 278.0).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal

import orjson

from fillwatch.events import Cancel, Event, Status

__all__ = ["JsonLinesSink", "encode", "format_ts", "record"]


_SECONDS: dict[float, str] = {}
"""``YYYY-MM-DDTHH:MM:SS`` by Unix second: formatting a datetime costs a microsecond."""
_SECONDS_MAX = 4096
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def format_ts(ts: datetime, has_ms: bool) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (or without ``.mmm``); `ts` must be UTC."""
    second = ts.timestamp() // 1
    prefix = _SECONDS.get(second)
    if prefix is None:
        if len(_SECONDS) >= _SECONDS_MAX:
            _SECONDS.clear()
        prefix = _SECONDS[second] = datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:-6]
    return prefix + _MILLIS[ts.microsecond // 1000] if has_ms else prefix + "Z"


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


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
        "ts": format_ts(event.ts, event.ts_has_ms),
        "taker": taker,
        "fee": fee,
        "position": position,
        "wash": wash,
        "original_qty": original_qty,
        "currency": event.currency,
        "source": event.source,
        "reason": reason,
    }


def encode(event: Event) -> bytes:
    """One event line, newline included."""
    return orjson.dumps(record(event), option=orjson.OPT_APPEND_NEWLINE)


class JsonLinesSink:
    """Appends event lines to a file descriptor (stdout, or an ``--output`` file).

    Lines are buffered until :meth:`flush`, which hands them to the kernel in
    as few ``write`` calls as it takes: every line lies whole inside one write,
    so readers never see a torn line.
    """

    def __init__(self, fd: int, *, owns_fd: bool = False) -> None:
        self._fd = fd
        self._owns_fd = owns_fd
        self._buffer = bytearray()

    def event(self, event: Event) -> None:
        self._buffer += encode(event)

    def status(self, status: Status) -> None:
        pass

    def flush(self) -> None:
        if not self._buffer:
            return
        data = bytes(self._buffer)
        self._buffer.clear()
        while data:
            written = os.write(self._fd, data)
            data = data[written:]

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._owns_fd:
                os.close(self._fd)
