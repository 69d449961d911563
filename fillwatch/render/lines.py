"""The ``lines`` format: one colour-coded line per event, appended like ``tail -f``.

Built for speed (CONTRACT §6: ≥ 50,000 lines/s to a terminal): rich decides
the colours once, when the sink is made, and hands back ANSI prefixes
(:func:`~fillwatch.render.console.ansi`); after that a line is one f-string
from cached pieces (sanitized market names, times per second, styles per
kind), and a flush is one ``os.write`` of everything buffered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import tzinfo

from rich.console import Console

from fillwatch.events import Cancel, Event, Status
from fillwatch.render.console import BUY, CANCEL, DIM, OTHER, SELL, TAKER, ansi
from fillwatch.render.text import TimeOfDay, number, sanitize

__all__ = ["LineFormatter", "LinesSink"]

Titles = Mapping[tuple[str, str], str]
"""Market titles by (venue, market), filled in the background by ``net.titles``."""


class LineFormatter:
    """Formats events as styled lines for one console's colour capabilities.

    ``12:00:01 kalshi BUY         yes       278 @ 0.75   KXFED-26DEC-T4.25  Fed funds …  taker fee 0.01 pos 500``
    """

    _max_cached = 4096

    def __init__(self, console: Console, *, titles: Titles | None = None, tz: tzinfo | None = None) -> None:
        self._titles: Titles = titles if titles is not None else {}
        self._time = TimeOfDay(tz)
        reset = "\x1b[0m" if console.color_system is not None else ""
        # Per line style: the prefix that starts the line, and the pieces that
        # dim a title or embolden "taker" within it and then return to it.
        self._on: dict[str | None, str] = {}
        self._title_on: dict[str | None, str] = {}
        self._taker: dict[str | None, str] = {}
        for key, style in (("buy", BUY), ("sell", SELL), (None, OTHER), ("cancel", CANCEL)):
            on = ansi(console, style)[0]
            back = reset + on if reset else ""
            self._on[key] = on
            self._title_on[key] = (reset + ansi(console, style + DIM)[0]) if reset else ""
            self._taker[key] = f"  {reset}{ansi(console, style + TAKER)[0]}taker{back}"
        self._back = {key: (reset + on if reset else "") for key, on in self._on.items()}
        self._reset = reset
        self._markets: dict[tuple[str, str, str | None, str | None], str] = {}
        self._safe: dict[str, str] = {}

    def _text(self, value: str) -> str:
        safe = self._safe.get(value)
        if safe is None:
            if len(self._safe) >= self._max_cached:
                self._safe.clear()
            safe = self._safe[value] = sanitize(value)
        return safe

    def _market(self, event: Event, key: str | None) -> str:
        """The market, then its title (dimmed) when known; cached per (market, title, style)."""
        title = self._titles.get((event.venue, event.market))
        cache_key = (event.venue, event.market, title, key)
        text = self._markets.get(cache_key)
        if text is None:
            if len(self._markets) >= self._max_cached:
                self._markets.clear()
            text = self._text(event.market)
            if title:
                text += f"  {self._title_on[key]}{sanitize(title)}{self._back[key]}"
            self._markets[cache_key] = text
        return text

    def __call__(self, event: Event) -> str:
        """One line, newline included."""
        time_of_day = self._time(event.ts)
        action = event.action or "-"
        if isinstance(event, Cancel):
            key: str | None = "cancel"
            head = f"CANCEL {action:<4}"
            extra = f" left of {number(event.original_qty)}" if event.original_qty is not None else ""
            if event.reason:
                extra += f" ({self._text(event.reason)})"
        else:
            key = event.action if event.action in ("buy", "sell") else None
            head = f"{action.upper():<11}"
            extra = self._taker[key] if event.taker else "  maker" if event.taker is False else ""
            if event.fee is not None:
                extra += f" fee {number(event.fee)}"
            if event.position is not None:
                extra += f" pos {number(event.position)}"
        return (
            f"{self._on[key]}{time_of_day} {event.venue} {head} {self._text(event.side):<4} "
            f"{number(event.qty):>8} @ {number(event.price):<6} {self._market(event, key)}{extra}{self._reset}\n"
        )


class LinesSink:
    """Writes one colour-coded line per event to a file descriptor; ``bell`` rings for new fills."""

    def __init__(self, fd: int, formatter: LineFormatter, *, bell: bool = False) -> None:
        self._fd = fd
        self._format = formatter
        self._bell = bell
        self._buffer: list[str] = []
        self._ring = False

    def event(self, event: Event) -> None:
        self._buffer.append(self._format(event))
        if self._bell and not isinstance(event, Cancel):
            self._ring = True

    def status(self, status: Status) -> None:
        pass

    def flush(self) -> None:
        if not self._buffer:
            return
        if self._ring:  # one bell per batch of new fills: a burst is one alert, not thousands
            self._buffer.append("\a")
            self._ring = False
        data = "".join(self._buffer).encode()
        self._buffer.clear()
        while data:
            data = data[os.write(self._fd, data) :]

    def close(self) -> None:
        self.flush()
