"""The ``lines`` format: one human-readable line per event, like ``tail -f``."""

from __future__ import annotations

import os
from decimal import Decimal

from fillwatch.events import Cancel, Event, Status
from fillwatch.render.text import sanitize

__all__ = ["LinesSink", "format_line"]


def _num(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 278.00 → 278, 0.7500 → 0.75."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_line(event: Event) -> str:
    """``12:00:01 kalshi FILL   buy  yes   278 @ 0.75  HIGHNY-22DEC23-B53.5 taker``."""
    time_of_day = event.ts.strftime("%H:%M:%S")
    if isinstance(event, Cancel):
        kind, detail = "CANCEL", _num(event.qty)
        if event.original_qty is not None:
            detail += f" left of {_num(event.original_qty)}"
        extra = f"({event.reason})" if event.reason else ""
    else:
        kind, detail = "FILL", _num(event.qty)
        extra = "taker" if event.taker else "maker" if event.taker is False else ""
    return (
        f"{time_of_day} {event.venue} {kind:<6} {event.action or '-':<4} {sanitize(event.side):<4} "
        f"{detail} @ {_num(event.price)}  {sanitize(event.market)} {extra}".rstrip()
    )


class LinesSink:
    """Writes one plain line per event to a file descriptor."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer: list[str] = []

    def event(self, event: Event) -> None:
        self._buffer.append(format_line(event))

    def status(self, status: Status) -> None:
        pass

    def flush(self) -> None:
        if self._buffer:
            data = ("\n".join(self._buffer) + "\n").encode()
            self._buffer.clear()
            while data:
                data = data[os.write(self._fd, data) :]

    def close(self) -> None:
        self.flush()
