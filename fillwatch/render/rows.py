"""The rows of the ``table`` format: its columns, how they fit a width, and one event's row.

A row is laid out lazily and kept as ready segments (most rows of a fast stream
scroll away unseen): its cell texts are made when it is first drawn, its
segments once per (width, title).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from rich.cells import cell_len
from rich.segment import Segment

from fillwatch.core.events import Cancel, Event
from fillwatch.render.console import DIM, TAKER, row_style
from fillwatch.render.layout import elide, fit
from fillwatch.render.positions import contracts, currency_label
from fillwatch.render.text import TimeOfDay, is_bare_id, number, sanitize, signed

__all__ = ["ACCOUNT_MAX", "HISTORY_MARK", "MARKET_MIN", "MARKET_WANTED", "Column", "Row", "columns_for"]

Titles = Mapping[tuple[str, str], str]

HISTORY_MARK = "h"
"""In the mark column: the event was read from the venue's history (a backfill, ``--since``)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the table: its name (the cell it shows), width and alignment, and when it gives way."""

    name: str
    width: int
    right: bool = False
    drop: int = 0
    """Dropped on narrow terminals, lowest first (0: never)."""
    heading: str = ""


# The market column takes what the others leave; a column is dropped before a ticker is elided.
_COLUMNS = (
    Column("time", 8),
    Column("mark", 1, heading=" "),
    Column("venue", 6, drop=1),
    Column("account", 0, drop=4),
    Column("market", 0),
    Column("side", 4),
    Column("action", 11),
    Column("qty", 7, right=True),
    Column("price", 6, right=True),
    Column("m/t", 5, drop=2),
    Column("fee", 6, right=True, drop=3),
    Column("position", 8, right=True, drop=5),
)
ACCOUNT_MAX = 12
"""An account's name gets at most this much room in the account column (a ``watch`` of several accounts)."""
MARKET_MIN = 12
"""The market column's width below which tickers are elided rather than columns dropped."""
MARKET_WANTED = 28
"""At most this much room is won for tickers by dropping columns."""


def columns_for(
    width: int, ticker: int = MARKET_WANTED, wider: Mapping[str, int] | None = None, *, account: int = 0
) -> tuple[tuple[Column, ...], int]:
    """The columns that fit in `width` and the market column's width, for tickers of `ticker` cells.

    `wider` gives columns more room than their default (outcome names for the side, "0.5 CASH" for qty).
    `account`: the account column's width (0: no account column, one account); it goes last but one, and
    only once the market column would be narrower than `MARKET_MIN` (tickers are elided before).
    """
    want = max(MARKET_MIN, min(ticker, MARKET_WANTED))
    room = {**(wider or {}), "account": min(ACCOUNT_MAX, max(account, len("account")))}
    columns = [replace(c, width=max(c.width, room.get(c.name, 0))) for c in _COLUMNS if account or c.name != "account"]
    while True:
        fixed = sum(c.width for c in columns) + len(columns) - 1
        market = width - fixed
        droppable = [c for c in columns if c.drop]
        if market >= want or not droppable:
            return tuple(columns), max(market, 1)
        going = min(droppable, key=lambda c: c.drop)
        if going.name == "account" and market >= MARKET_MIN:
            return tuple(columns), market  # which account matters more than a whole ticker: it is elided first
        columns.remove(going)


class Row:
    """One event's row, laid out lazily: most rows of a fast stream scroll away unseen.

    The cell texts are made when the row is first drawn, the segments once per
    (width, title).
    """

    __slots__ = ("_key", "_named", "_segments", "cells", "event", "market", "qty", "side", "style")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.market = sanitize(event.market)
        self.side = sanitize(event.side)
        self._named = event.side.lower() in ("yes", "no")
        label = currency_label(event)
        self.qty = number(contracts(event)) + (f" {sanitize(label)}" if label else "")
        self.cells: dict[str, str] | None = None
        self._key: tuple[object, ...] | None = None
        self._segments: list[Segment] = []

    def name(self, outcomes: Titles) -> None:
        """Show the outcome's name rather than its id once it is known (Novig's outcomes are ids)."""
        if self._named:
            return
        found = outcomes.get((self.event.venue, self.event.side))
        if found:
            self._named = True
            self.side = sanitize(found)
            if self.cells is not None:
                self.cells["side"] = self.side
            self._key = None

    def _make_cells(self, time_of_day: TimeOfDay) -> dict[str, str]:
        event = self.event
        self.style = row_style(event)
        if isinstance(event, Cancel):
            action = f"cancel {event.action or ''}".rstrip()
            maker_taker = fee = position = ""
        else:
            action = event.action or "-"
            maker_taker = "taker" if event.taker else "maker" if event.taker is False else ""
            fee = "" if event.fee is None else number(event.fee)
            position = "" if event.position is None else signed(event.position)
        return {
            "time": time_of_day(event.ts),
            "mark": HISTORY_MARK if event.source == "history" else " ",
            "venue": sanitize(event.venue),
            "account": sanitize(event.account or ""),
            "side": self.side,
            "action": action,
            "qty": self.qty,
            "price": number(event.price),
            "m/t": maker_taker,
            "fee": fee,
            "position": position,
        }

    def segments(
        self, columns: tuple[Column, ...], market_width: int, title: str | None, time_of_day: TimeOfDay
    ) -> list[Segment]:
        """The row's segments for this layout, made once and then reused."""
        key = (market_width, columns, title)
        if key == self._key:
            return self._segments
        cells = self.cells
        if cells is None:
            cells = self.cells = self._make_cells(time_of_day)
        style = self.style
        out: list[Segment] = []
        plain: list[str] = []
        for index, column in enumerate(columns):
            gap = " " if index else ""
            if column.name == "market":
                out.append(Segment("".join(plain) + gap, style))
                plain = []
                out += self._market(market_width, title)
            elif column.name == "m/t" and cells["m/t"] == "taker":
                out.append(Segment("".join(plain) + gap, style))
                plain = []
                out.append(Segment(fit("taker", column.width), style + TAKER))
            else:
                plain.append(gap + fit(cells[column.name], column.width, column.right))
        out.append(Segment("".join(plain), style))
        self._key, self._segments = key, out
        return out

    def _market(self, width: int, title: str | None) -> list[Segment]:
        if title and is_bare_id(self.market):  # a bare id (Novig's UUIDs) tells a reader nothing: the title
            return [Segment(fit(sanitize(title), width), self.style)]
        ticker = elide(self.market, width)
        room = width - cell_len(ticker) - 2
        if not title or room < 4:
            return [Segment(fit(ticker, width), self.style)]
        return [
            Segment(ticker + "  ", self.style),
            Segment(fit(sanitize(title), room), self.style + DIM),
        ]
