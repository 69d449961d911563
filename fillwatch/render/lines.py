"""The ``lines`` format: one colour-coded line per event, appended like ``tail -f``.

Built for speed (CONTRACT §6: ≥ 50,000 lines/s to a terminal): rich decides
the colours once, when the sink is made, and hands back ANSI prefixes
(:func:`~fillwatch.render.console.ansi`); after that a line is one f-string
from cached pieces (sanitized market names, times per second, styles per
kind), and a flush is one ``os.write`` of everything buffered. A fill like
one seen before (same venue, action, side, source and maker/taker) takes its
start from a cache, and its numbers' cells by the ``str`` of each decimal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import tzinfo
from decimal import Decimal

from rich.cells import cell_len
from rich.console import Console

from fillwatch import venues
from fillwatch.core.events import Cancel, Event, Fill, Source, Status
from fillwatch.render.console import BUY, CANCEL, DIM, OTHER, SELL, TAKER, ansi, direction
from fillwatch.render.layout import elide, fit, money
from fillwatch.render.positions import contracts, currency_label
from fillwatch.render.text import TimeOfDay, number, sanitize, signed

__all__ = ["LineFormatter", "LinesSink", "layout"]

Titles = Mapping[tuple[str, str], str]
"""Market titles by (venue, market), filled in the background by ``net.titles``."""

MARKET = 28
"""The market column's width: most tickers fit; longer ones push the line on a pipe, are elided on a terminal."""
MARKET_MIN = 12
SIDE = 14
"""Room for an outcome's name (Novig) in place of yes/no."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which optional fields a line has and how wide the market column is, for one terminal width."""

    venue: bool = True
    maker_taker: bool = True
    fee: bool = True
    position: bool = True
    account: int = 0
    """The account column's width (0: none: one account's lines)."""
    market: int = MARKET
    width: int | None = None
    """The terminal's width (None: a pipe or file, full lines)."""

    @property
    def extras(self) -> int:
        return 6 * self.maker_taker + 11 * self.fee + 12 * self.position

    @property
    def fixed(self) -> int:
        """Cells before the title."""
        return _BASE + 7 * self.venue + (self.account + 1 if self.account else 0) + self.market + 1 + self.extras


_BASE = 9 + 1 + 11 + 1 + 4 + 1 + 8 + 3 + 6 + 1  # time+mark, action, side, qty @ price (spaces included)


def layout(width: int | None, account: int = 0) -> _Layout:
    """The fullest line that fits in `width` cells: the title gives way first, then venue, maker/taker, fee,
    then the market column shrinks (tickers elided in the middle), then the account column goes (a watch of
    several accounts, `account` cells wide) and last the position."""
    if width is None:
        return _Layout(account=account)
    shape = _Layout(width=width, account=account)
    for drop in ("venue", "maker_taker", "fee"):
        if shape.fixed <= width:
            return shape
        shape = replace(shape, **{drop: False})
    shape = _shrink(shape, width)
    if shape.fixed > width and shape.account:
        shape = _shrink(replace(shape, account=0, market=MARKET), width)
    if shape.fixed > width:
        shape = replace(shape, position=False)
    return shape


def _shrink(shape: _Layout, width: int) -> _Layout:
    """`shape` with the market column narrowed (down to its least) until the line fits in `width`."""
    return replace(shape, market=max(MARKET_MIN, MARKET - (shape.fixed - width)))


class LineFormatter:
    """Formats events as styled lines for one console's colour capabilities and one width.

    ``12:00:01  kalshi BUY         yes       278 @ 0.75   KXFED-26DEC-T4.25        taker fee 0.01   pos    +500  Fed…``

    Every field has a fixed width, so the columns of a market's lines stay put
    when its title arrives: the title comes last and takes what the width
    leaves (on a pipe or in a file, ``width`` None: all of it). A mark after
    the time (``h``) tells an event read from the venue's history.
    """

    _max_cached = 4096

    def __init__(
        self,
        console: Console,
        *,
        titles: Titles | None = None,
        outcomes: Titles | None = None,
        tz: tzinfo | None = None,
        width: int | None = None,
        account: int = 0,
    ) -> None:
        """`account`: the account column's width (a watch of several accounts; 0: no account column)."""
        self._titles: Titles = titles if titles is not None else {}
        self._outcomes: Titles = outcomes if outcomes is not None else {}
        self._time = TimeOfDay(tz)
        self._account = account
        self._layout = layout(width, account)
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
            self._taker[key] = f"{reset}{ansi(console, style + TAKER)[0]}taker{back} "
        self._back = {key: (reset + on if reset else "") for key, on in self._on.items()}
        self._reset = reset
        self._markets: dict[tuple[str, str, str | None, str | None], tuple[str, str]] = {}
        self._safe: dict[str, str] = {}
        self._heads: dict[
            tuple[str, str | None, str, Source, bool | None, str | None], tuple[str, str, str, str | None]
        ] = {}
        """A fill's (line prefix, text from the mark to the quantity, taker cell, style) by the fields they show."""
        self._qty = _Cells(lambda value: f"{number(_given(value)):>8}")
        self._price = _Cells(lambda value: f"{number(_given(value)):<6}")
        self._fee, self._position = self._extras()

    @property
    def width(self) -> int | None:
        """The width lines are fitted to (None: whole lines)."""
        return self._layout.width

    def resize(self, width: int) -> None:
        """Fit the next lines to `width` cells (the terminal was resized)."""
        self._layout = layout(width, self._account)
        self._markets.clear()
        self._heads.clear()
        self._fee, self._position = self._extras()

    def _extras(self) -> tuple[_Cells, _Cells]:
        """The cells of a fill's fee and position (by their text, "None" for none) in this layout."""
        shape = self._layout
        fee = _Cells(
            lambda value: "" if not shape.fee else f"fee {number(value):<6} " if value is not None else " " * 11
        )
        position = _Cells(
            lambda value: "" if not shape.position else f"pos {signed(value):>7} " if value is not None else " " * 12
        )
        return fee, position

    def _text(self, value: str) -> str:
        safe = self._safe.get(value)
        if safe is None:
            if len(self._safe) >= self._max_cached:
                self._safe.clear()
            safe = self._safe[value] = sanitize(value)
        return safe

    def _market(self, event: Event, key: str | None) -> tuple[str, str]:
        """(the market's cell, the dimmed title after the extras), cached per (market, title, style)."""
        title = self._titles.get((event.venue, event.market))
        cache_key = (event.venue, event.market, title, key)
        cells = self._markets.get(cache_key)
        if cells is None:
            if len(self._markets) >= self._max_cached:
                self._markets.clear()
            shape = self._layout
            ticker = self._text(event.market)
            if shape.width is not None:
                ticker = elide(ticker, shape.market)
            ticker += " " * max(0, shape.market - cell_len(ticker))
            after = ""
            room = None if shape.width is None else shape.width - shape.fixed - 2
            if title and (room is None or room >= 4):
                shown = sanitize(title) if room is None else _cut(sanitize(title), room)
                after = f"  {self._title_on[key]}{shown}{self._back[key]}"
            cells = self._markets[cache_key] = (ticker, after)
        return cells

    def __call__(self, event: Event) -> str:
        """One line, newline included."""
        if isinstance(event, Fill):
            head = self._heads.get((event.venue, event.action, event.side, event.source, event.taker, event.account))
            if head is not None:  # a fill like one seen before: its line from cached pieces
                on, start, taker, key = head
                ticker, title = self._market(event, key)
                line = (
                    f"{self._time(event.ts)}{start}{self._qty[str(event.qty)]} @ {self._price[str(event.price)]} "
                    f"{ticker} {taker}{self._fee[str(event.fee)]}{self._position[str(event.position)]}"
                )
                if not title:
                    return f"{on}{line.rstrip(' ')}{self._reset}\n"
                return f"{on}{line}{title}{self._reset}\n"
        return self._line(event)

    def _line(self, event: Event) -> str:
        """One line made from scratch; the pieces of a fill's line that repeat are kept for the next ones."""
        time_of_day = self._time(event.ts)
        mark = "h" if event.source == "history" else " "
        action = event.action or "-"
        if isinstance(event, Cancel):
            key: str | None = "cancel"
            head = f"CANCEL {action:<4}"
            extra = self._cancel_extra(event)
        else:
            key = direction(event)
            head = f"{action.upper():<11}"
            taker = self._taker_cell(event, key)
            extra = f"{taker}{self._fee[str(event.fee)]}{self._position[str(event.position)]}"
        venue = f"{self._text(event.venue):<6} " if self._layout.venue else ""
        if self._layout.account:
            venue += f"{fit(self._text(event.account or ''), self._layout.account)} "
        if self._names_outcomes(event.venue):
            return self._outcome_line(event, key, f"{time_of_day}{mark} {venue}{head}", extra)
        start = f"{mark} {venue}{head} {self._text(event.side):<4} "
        if isinstance(event, Fill):
            if len(self._heads) >= self._max_cached:
                self._heads.clear()
            self._heads[(event.venue, event.action, event.side, event.source, event.taker, event.account)] = (
                self._on[key],
                start,
                taker,
                key,
            )
        ticker, title = self._market(event, key)
        line = f"{time_of_day}{start}{self._qty[str(event.qty)]} @ {self._price[str(event.price)]} {ticker} {extra}"
        if not title:
            line = line.rstrip(" ")
        return f"{self._on[key]}{line}{title}{self._reset}\n"

    @staticmethod
    def _names_outcomes(venue: str) -> bool:
        """Whether the venue's lines name the outcome rather than side and ticker (its ids mean nothing)."""
        return venues.display(venue).outcome_lines

    def _taker_cell(self, fill: Fill, key: str | None) -> str:
        if not self._layout.maker_taker:
            return ""
        return self._taker[key] if fill.taker else "maker " if fill.taker is False else "      "

    def _cancel_extra(self, event: Cancel) -> str:
        extras = self._layout.extras
        if not extras:
            return ""
        extra = f"left of {number(event.original_qty)}" if event.original_qty is not None else ""
        if event.reason:
            extra += f" ({self._text(event.reason)})"
        return fit(extra, extras)

    def _outcome_line(self, event: Event, key: str | None, head: str, extra: str) -> str:
        """A line for a venue whose markets and outcomes are ids (Novig): names, contracts, currency, cost.

        ``… BUY         Over 26.5      0.5 CASH @ 0.667  $0.3335  KC Chiefs vs BUF Bills — Total  maker``
        """
        shape = self._layout
        outcome = self._text(self._outcomes.get((event.venue, event.side)) or event.side)
        qty = contracts(event)
        label = currency_label(event)
        cost = f"${money(qty * event.price, sign=False)}" if event.currency == "CASH" and event.kind == "fill" else ""
        title = self._titles.get((event.venue, event.market))
        market = sanitize(title) if title else self._text(event.market)
        line = (
            f"{head} {_cut(outcome, SIDE):<{SIDE}} {number(qty):>8} {label:<4} @ {number(event.price):<6} "
            f"{cost:<9} {market}  {extra.rstrip(' ')}"
        ).rstrip(" ")
        if shape.width is not None and cell_len(line) > shape.width:
            line = fit(line, shape.width)
        return f"{self._on[key]}{line}{self._reset}\n"


class _Cells(dict[str, str]):
    """Formatted cells by the text of the decimal they show (``str`` of a Decimal is exact and cheap, its hash is not).

    The text ``"None"`` stands for no value. At most `_MAX` cells are kept.
    """

    _MAX = 4096

    def __init__(self, render: Callable[[Decimal | None], str]) -> None:
        super().__init__()
        self._render = render

    def __missing__(self, text: str) -> str:
        if len(self) >= self._MAX:
            self.clear()
        cell = self[text] = self._render(None if text == "None" else Decimal(text))
        return cell


def _given(value: Decimal | None) -> Decimal:
    """A required field's decimal (quantity, price): the text "None" is never theirs."""
    if value is None:
        raise TypeError("a quantity or price of None")
    return value


def _cut(text: str, width: int) -> str:
    """`text` cut to `width` cells with an ellipsis, not padded."""
    return text if cell_len(text) <= width else fit(text, width)


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
        self._follow_size()

    def _follow_size(self) -> None:
        """On a terminal, lay the next lines out for its width now (it may have been resized)."""
        if self._format.width is None:
            return
        try:
            width = os.get_terminal_size(self._fd).columns
        except OSError:
            return
        if width and width != self._format.width:
            self._format.resize(width)

    def close(self) -> None:
        self.flush()
