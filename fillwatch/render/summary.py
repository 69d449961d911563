"""Per-market totals as a table (the live table's footer) and the session summary on exit.

:class:`SessionSink` keeps the run's :class:`~fillwatch.render.session.Session`
up to date from the items the runner hands it and, when the run ends, prints
the summary on stderr: duration, events, the per-market totals, reconnects
and frames skipped as malformed. It goes last among the sinks, so that in
table mode the summary appears below the live table's final frame.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from fillwatch.events import Event, Status
from fillwatch.render.console import BUY, DIM, SELL
from fillwatch.render.session import MarketTotals, Session
from fillwatch.render.text import number, price, sanitize, signed

__all__ = ["SessionSink", "Totals", "fit", "format_duration", "summary"]

Titles = Mapping[tuple[str, str], str]

_TITLE_ROOM = 40
"""Characters of a market's title shown in the totals."""
_HEADING = Style(bold=True)


def format_duration(seconds: float) -> str:
    """``0:02:13`` (hours:minutes:seconds)."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class Totals:
    """Session totals per market and side, most recently active first: a rich renderable.

    Laid out by hand rather than with :class:`rich.table.Table`, which costs
    milliseconds per draw: the live footer is drawn up to ten times a second.
    The numbers always show in full; the market column (ticker, then title)
    takes the room they leave and is cut with an ellipsis.

    Args:
        session: the totals.
        titles: market titles by (venue, market).
        limit: at most this many rows (then "… and N more").
    """

    _NAMES = ("side", "net", "bought", "@ vwap", "sold", "@ vwap", "fees", "fills", "cancels")

    def __init__(self, session: Session, *, titles: Titles | None = None, limit: int | None = None) -> None:
        self._session = session
        self._titles = titles or {}
        self._limit = limit

    def _cells(self, totals: MarketTotals) -> list[tuple[str, Style | None]]:
        net_style = BUY if totals.net > 0 else SELL if totals.net < 0 else None
        return [
            (sanitize(totals.side)[:8], None),
            (signed(totals.net), net_style),
            (number(totals.bought), BUY if totals.bought else None),
            (price(totals.buy_vwap), None),
            (number(totals.sold), SELL if totals.sold else None),
            (price(totals.sell_vwap), None),
            (number(totals.fees), None),
            (str(totals.fills), None),
            (str(totals.cancels), None),
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        markets = self._session.markets()
        shown = markets if self._limit is None else markets[: self._limit]
        rows = [(totals, self._cells(totals)) for totals in shown]
        widths = [max([len(name), *(len(cells[i][0]) for _, cells in rows)]) for i, name in enumerate(self._NAMES)]
        numbers = sum(widths) + 2 * len(widths)
        labels = [_label(t, self._titles.get((t.venue, t.market))) for t in shown]
        room = min(max([6, *(cell_len(a) + cell_len(b) for a, b in labels)]), max(6, options.max_width - numbers))
        heading = fit("market", room) + "".join(
            "  " + (fit(n, w) if i == 0 else fit(n, w, right=True))
            for i, (n, w) in enumerate(zip(self._NAMES, widths, strict=True))
        )
        yield Segment(heading, _HEADING)
        yield Segment.line()
        for (ticker, title), (_, cells) in zip(labels, rows, strict=True):
            ticker_part = fit(ticker, room) if not title or cell_len(ticker) + 3 > room else ticker
            yield Segment(ticker_part)
            if ticker_part is ticker:
                yield Segment(fit(title, room - cell_len(ticker)), DIM)
            for i, ((text, style), width) in enumerate(zip(cells, widths, strict=True)):
                yield Segment("  ")
                yield Segment(fit(text, width, right=i > 0), style)
            yield Segment.line()
        if len(shown) < len(markets):
            yield Segment(f"… and {len(markets) - len(shown)} more", DIM)
            yield Segment.line()


def _label(totals: MarketTotals, title: str | None) -> tuple[str, str]:
    """(ticker, "  title") for the market column; the title cut to a label's length."""
    if not title:
        return sanitize(totals.market), ""
    title = title if len(title) <= _TITLE_ROOM else title[: _TITLE_ROOM - 1] + "…"
    return sanitize(totals.market), "  " + sanitize(title)


def fit(text: str, width: int, right: bool = False) -> str:
    """`text` padded (or cut, with an ellipsis) to exactly `width` cells."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = " " * (width - length)
    return pad + text if right else text + pad


def summary(session: Session, *, titles: Titles | None = None) -> RenderableType:
    """The exit summary: one line of counts, then the totals table."""
    head = Text("fillwatch: session ", style="bold")
    head.append(format_duration(session.duration()))
    head.append(f" · {session.events} events ({session.fills} fills, {session.cancels} cancels)")
    head.append(f" · reconnects {session.reconnects}")
    if session.backfills or session.backfills_failed:
        head.append(f" · {session.recovered} recovered from history in {session.backfills} backfills")
        if session.backfills_failed:
            head.append(f" ({session.backfills_failed} failed and retried)", style="yellow")
    head.append(f" · skipped {session.skipped} malformed frames", style="yellow" if session.skipped else "")
    if not session.totals:
        return head
    return Group(head, Totals(session, titles=titles))


class SessionSink:
    """Feeds the session model; prints the summary to `console` on close when `show` is set."""

    def __init__(self, session: Session, console: Console, *, show: bool = True, titles: Titles | None = None) -> None:
        self.session = session
        self._console = console
        self._show = show
        self._titles = titles

    def event(self, event: Event) -> None:
        self.session.add(event)

    def status(self, status: Status) -> None:
        self.session.status(status)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._show:
            self._console.print(summary(self.session, titles=self._titles))
