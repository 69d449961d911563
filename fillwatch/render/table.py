"""The ``table`` format: a live, colour-coded table of fills and cancels.

:class:`FillBoard` is the view model and a rich renderable: newest events on
top, as many as the terminal holds, under a header (venue, env, connection
state, age of the last frame, reconnects) and above a footer of per-market
session totals. It is cheap to draw many times a second: each row is laid out
once per terminal width and kept as ready segments, and the footer is
re-rendered only when the totals changed.

:class:`LiveTableSink` owns the :class:`rich.live.Live` display
(``auto_refresh=False``: no thread touches the board) and redraws it from the
event loop, at most ``max_fps`` times a second however fast events come: an
event only *requests* a redraw, and one timer coalesces all requests. When
nothing happens it still redraws once a second, so the frame age keeps time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from fillwatch.core.events import Event, Fill, Status
from fillwatch.render.console import DIM
from fillwatch.render.layout import fit
from fillwatch.render.rows import HISTORY_MARK, Row, columns_for
from fillwatch.render.session import Session
from fillwatch.render.summary import Totals, basis
from fillwatch.render.text import TimeOfDay, count, sanitize

__all__ = ["BADGE", "FillBoard", "LiveTableSink", "Part", "connection_parts", "fit_parts"]

Titles = Mapping[tuple[str, str], str]

_HEAD = Style(bold=True)
BADGE = Style(bold=True, reverse=True)
_AMBER = Style(color="yellow", bold=True)
_STATE = {
    "connected": Style(color="green", bold=True),
    "connecting": Style(color="yellow"),
    "disconnected": Style(color="red", bold=True),
}
OVERDUE = 12.0
"""Seconds without a frame after which a connection shows amber: Kalshi pings every 10 s."""
SIDE_MAX = 16
"""Outcome names get at most this much room in the side column."""


def _age(seconds: float) -> str:
    if seconds < 1:
        return "<1 s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


class FillBoard:
    """The live table's view model and renderable.

    Args:
        session: totals and connection state (kept by the session sink).
        titles: market titles by (venue, market), filled in the background.
        capacity: rows kept (more than any terminal shows).
        footer_rows: at most this many markets in the footer (None: as the height allows).
        tz: time zone of the time column (None: local).
        wall_clock: for the age of the last frame.
    """

    def __init__(
        self,
        session: Session,
        *,
        titles: Titles | None = None,
        outcomes: Titles | None = None,
        capacity: int = 500,
        footer_rows: int | None = None,
        tz: tzinfo | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.titles: Titles = titles if titles is not None else {}
        self.outcomes: Titles = outcomes if outcomes is not None else {}
        self.rows: deque[Row] = deque(maxlen=capacity)
        self._footer_rows = footer_rows
        self._time = TimeOfDay(tz)
        self._wall_clock = wall_clock
        self._footer_key: tuple[int, int, int, int] | None = None
        self._footer: list[list[Segment]] = []

    def add(self, event: Event) -> None:
        """Put an event on top."""
        self.rows.appendleft(Row(event))

    def _header_parts(self) -> list[Part]:
        """(priority, text, style) of the header's parts: 0 always shown, higher dropped first when narrow."""
        session = self.session
        parts: list[Part] = [(0, " fillwatch ", BADGE)]
        if session.replay is not None:
            parts.append((0, f" replay {sanitize(session.replay)}", _HEAD))
            parts.append((1, f"  {count(session.fills, 'fill')} · {count(session.cancels, 'cancel')}", DIM))
            return parts
        parts.append((0, f" {sanitize(session.venue)} {sanitize(session.env)}  ", _HEAD))
        parts += connection_parts(session, self._wall_clock())
        parts.append((5, f"  P&L {basis(session)}", DIM))
        if self._from_history():
            parts.append((6, f"  {HISTORY_MARK} = from history", DIM))
        return parts

    def _from_history(self) -> bool:
        """Whether a row near the top was read from history (the header then explains the mark)."""
        return any(row.event.source == "history" for row in _take(self.rows, 200))

    def header(self, width: int = 10_000) -> Text:
        """Venue, endpoint, connection state, age of the last frame, counts: whole, parts dropped to fit."""
        return fit_parts(self._header_parts(), width)

    def top(self, width: int) -> list[Text]:
        """The lines above the column headings: the header, and the notice under it if there is one."""
        lines = [self.header(width)]
        if self.session.notice:
            lines.append(Text(self.session.notice, Style(color="yellow"), no_wrap=True, overflow="ellipsis"))
        return lines

    def bottom(self, console: Console, options: ConsoleOptions, height: int) -> list[list[Segment]]:
        """The lines below the rows: a rule and the footer's totals (none before the first event)."""
        limit = self._footer_limit(height)
        footer = self._footer_lines(console, options, limit) if limit else []
        return [[Segment("─" * options.max_width, DIM)], *footer] if footer else []

    def account_width(self) -> int:
        """The account column's width (0: none, the rows are one account's)."""
        return 0

    def _footer_lines(self, console: Console, options: ConsoleOptions, limit: int) -> list[list[Segment]]:
        key = (self.session.version, options.max_width, limit, len(self.titles))
        if key != self._footer_key:
            table = Totals(self.session, titles=self.titles, outcomes=self.outcomes, limit=limit)
            self._footer = console.render_lines(table, options.update(height=None), pad=False, new_lines=False)
            self._footer_key = key
        return self._footer

    def _footer_limit(self, height: int) -> int:
        """Markets in the footer: a third of the terminal's height, at least one."""
        markets = len(self.session.markets())
        if not markets:
            return 0
        limit = max(1, min(markets, (height - 6) // 3))
        return limit if self._footer_rows is None else min(limit, self._footer_rows)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        height = options.height or options.size.height
        bottom = self.bottom(console, options, height)
        top = self.top(width)
        room = max(0, height - len(top) - 2 - len(bottom))
        shown = list(_take(self.rows, room))
        for row in shown:
            row.name(self.outcomes)
        wider = {
            "side": min(SIDE_MAX, max((cell_len(row.side) for row in shown), default=0)),
            "qty": max((cell_len(row.qty) for row in shown), default=0),
        }
        ticker = max((cell_len(row.market) for row in shown), default=0)
        columns, market_width = columns_for(width, ticker, wider, account=self.account_width())
        yield from top
        heading = " ".join(
            fit(c.heading or c.name, market_width if c.name == "market" else c.width, c.right) for c in columns
        )
        yield Segment(heading, Style(bold=True, underline=True))
        yield Segment.line()
        if not self.rows:
            yield Text("waiting for fills and cancels…", DIM)
        for row in shown:
            title = self.titles.get((row.event.venue, row.event.market))
            yield from row.segments(columns, market_width, title, self._time)
            yield Segment.line()
        for line in bottom:
            yield from line
            yield Segment.line()


Part = tuple[int, str, Style | str]
"""One part of a header line: (priority: 0 always shown, higher dropped first when narrow; text; style)."""


def connection_parts(session: Session, now: float) -> list[Part]:
    """A session's connection in a header: state, age of the last frame, counts, reconnects, recovered, skipped."""
    state = session.state
    age = None if session.last_frame is None else max(0.0, now - session.last_frame)
    overdue = state == "connected" and age is not None and age > OVERDUE
    label = "● " + state
    if state == "disconnected" and session.retry_in is not None:
        label += f", retrying in {session.retry_in:.1f} s"
    parts: list[Part] = [(0, label, _AMBER if overdue else _STATE[state])]
    if age is not None:
        parts.append((2, f"  last frame {_age(age)} ago", _AMBER if overdue else ""))
    parts.append((1, f"  {count(session.fills, 'fill')} · {count(session.cancels, 'cancel')}", DIM))
    parts.append((3, f"  reconnects {session.reconnects}", ""))
    if session.recovered:
        parts.append((4, f"  {session.recovered} recovered from history", ""))
    if session.skipped:
        parts.append((2, f"  skipped {session.skipped}", "yellow"))
    return parts


def fit_parts(parts: list[Part], width: int) -> Text:
    """The parts as one line of `width` cells at most: the highest priorities dropped first (never those of
    priority 0), then the end cut with an ellipsis."""
    for level in sorted({p for p, _, _ in parts if p}, reverse=True):
        if sum(cell_len(t) for _, t, _ in parts) <= width:
            break
        parts = [part for part in parts if part[0] < level]
    text = Text(no_wrap=True, overflow="ellipsis")
    for _, part, style in parts:
        text.append(part, style)
    return text


def _take(rows: Iterable[Row], n: int) -> Iterable[Row]:
    for index, row in enumerate(rows):
        if index >= n:
            return
        yield row


class LiveTableSink:
    """Shows a :class:`FillBoard` in a :class:`rich.live.Live` display, redrawn from the event loop.

    Args:
        console: the stdout console.
        board: what to draw.
        max_fps: redraws per second at most, however fast events arrive.
        idle_refresh: seconds between redraws when nothing happens (the frame age ticks).
        bell: ring the terminal bell when new fills arrived (once per redraw).
    """

    def __init__(
        self,
        console: Console,
        board: FillBoard,
        *,
        max_fps: float = 10.0,
        idle_refresh: float = 1.0,
        bell: bool = False,
    ) -> None:
        self.board = board
        self._console = console
        self._live = Live(
            console=console,
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
            vertical_overflow="crop",
            get_renderable=lambda: board,
        )
        self._interval = 1.0 / max_fps
        self._idle = idle_refresh
        self._bell = bell
        self._ring = False
        self._soon = False
        self._last = -float("inf")
        self._timer: asyncio.TimerHandle | None = None
        self._broken = False
        self.redraws = 0

    def event(self, event: Event) -> None:
        self.board.add(event)
        if self._bell and isinstance(event, Fill):
            self._ring = True
        self.request()

    def status(self, status: Status) -> None:
        self.request()

    def request(self) -> None:
        """Ask for a redraw: at once if the last one is old enough, else when it is."""
        if self._soon:
            return
        self._soon = True
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()  # the idle tick: replaced by a sooner redraw
        self._timer = loop.call_at(max(loop.time(), self._last + self._interval), self._redraw, loop)

    def _redraw(self, loop: asyncio.AbstractEventLoop) -> None:
        self._soon = False
        self._timer = None
        try:
            self.draw()
        except BrokenPipeError:
            self._broken = True  # the runner learns of it at the next flush
            return
        self._last = loop.time()
        self._timer = loop.call_at(self._last + self._idle, self._redraw, loop)

    def draw(self) -> None:
        """Redraw now (and ring the bell if fills arrived since the last redraw)."""
        if not self._live.is_started:
            self._live.start()
        self._live.refresh()
        self.redraws += 1
        if self._ring:
            self._ring = False
            self._console.bell()

    @property
    def live(self) -> bool:
        """Whether the table is on the screen now (drawn and not yet closed)."""
        return self._live.is_started

    def flush(self) -> None:
        if self._broken:
            raise BrokenPipeError

    def close(self) -> None:
        """Stop redrawing and leave the final frame on the terminal (drawn now: a replay may end before any redraw)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._broken:
            return
        self.draw()
        self._live.stop()
