"""Per-market totals as a table (the live table's footer) and the session summary on exit.

:class:`SessionSink` keeps the run's :class:`~fillwatch.render.session.Session`
up to date from the items the runner hands it and, when the run ends, prints
the summary on stderr: duration, events, the per-market totals, reconnects
and frames skipped as malformed. It goes last among the sinks, so that in
table mode the summary appears below the live table's final frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from fillwatch import venues
from fillwatch.core.events import Event, Status
from fillwatch.render.console import BUY, DIM, SELL
from fillwatch.render.layout import elide, fit, money
from fillwatch.render.positions import MarketPosition
from fillwatch.render.session import Session
from fillwatch.render.text import count, is_bare_id, price, sanitize, signed

__all__ = ["SessionSink", "Totals", "basis", "count", "fit", "format_duration", "summary"]

Titles = Mapping[tuple[str, str], str]


def basis(session: Session) -> str:
    """What the P&L covers: ``session`` or ``since 2026-11-21 20:30Z``."""
    if session.since is None:
        return "session"
    return "since " + session.since.strftime("%Y-%m-%d %H:%MZ")


_HEADING = Style(bold=True)


def format_duration(seconds: float) -> str:
    """``0:02:13`` (hours:minutes:seconds)."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class Totals:
    """One row per market: position, average entry, realized P&L, fees, counts; then a totals row.

    Positions are YES-equivalent on binary markets (see
    :mod:`fillwatch.render.positions`); P&L is the session's realized FIFO
    P&L before fees. Laid out by hand rather than with :class:`rich.table.Table`,
    which costs milliseconds per draw: the live footer is drawn up to ten times
    a second. The numbers always show in full; the market column takes the
    room they leave: the ticker first (elided in the middle, never at its
    end), the title in what remains.

    Args:
        session: the positions.
        titles: market titles by (venue, market).
        limit: at most this many rows (then "… and N more").
        width: lay out for this many columns rather than the console's.
    """

    _NAMES = ("position", "avg", "realized", "fees", "fills", "cancels")
    _DROP = (5, 4, 1, 3)
    """Columns given up, in this order, before a ticker is elided: cancels, fills, avg, fees."""

    def __init__(
        self,
        session: Session,
        *,
        titles: Titles | None = None,
        outcomes: Titles | None = None,
        limit: int | None = None,
        width: int | None = None,
    ) -> None:
        self._session = session
        self._titles = titles or {}
        self._outcomes = outcomes or {}
        self._limit = limit
        self._width = width

    @staticmethod
    def _cells(position: MarketPosition) -> list[tuple[str, Style | None]]:
        held = position.position
        return [
            (signed(held), BUY if held > 0 else SELL if held < 0 else None),
            (price(position.average), None),
            (money(position.realized), BUY if position.realized > 0 else SELL if position.realized < 0 else None),
            (money(position.fees, sign=False), None),
            (str(position.fills), None),
            (str(position.cancels), None),
        ]

    def _total_rows(self) -> list[tuple[str, list[tuple[str, Style | None]]]]:
        """One totals row per currency (dollars and Novig's CASH and COIN do not add up)."""
        by_currency: dict[str | None, list[MarketPosition]] = {}
        for position in self._session.markets():
            if position.fills or position.cancels:  # a position only known from the start adds nothing
                by_currency.setdefault(position.currency, []).append(position)
        rows = []
        for currency, positions in by_currency.items():
            realized = sum((p.realized for p in positions), Decimal(0))
            fees = sum((p.fees for p in positions), Decimal(0))
            label = "total" if len(by_currency) == 1 else f"total {sanitize(currency or 'unknown')}"
            cells: list[tuple[str, Style | None]] = [
                ("", None),
                ("", None),
                (money(realized), BUY if realized > 0 else SELL if realized < 0 else None),
                (money(fees, sign=False), None),
                (str(sum(p.fills for p in positions)), None),
                (str(sum(p.cancels for p in positions)), None),
            ]
            rows.append((label, cells))
        return rows

    def _ticker(self, position: MarketPosition, title: str | None) -> str:
        """The market (its title instead of a bare id), with the outcome's name after it off binary markets."""
        ticker = sanitize(title if title and is_bare_id(position.market) else position.market)
        if position.outcome is None:
            return ticker
        outcome = self._outcomes.get((position.venue, position.outcome)) or position.outcome
        plain = venues.display(position.venue).plain  # counted in plain contracts: no label
        currency = f" ({sanitize(position.currency)})" if position.currency and position.currency not in plain else ""
        return f"{ticker}: {sanitize(outcome)}{currency}"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        markets = self._session.markets()
        shown = markets if self._limit is None else markets[: self._limit]
        rows, titles = self._rows(shown)
        totals = self._total_rows() if markets else []
        width = self._width or options.max_width
        keep, widths = self._columns(rows, totals, width)
        rows, totals = _only(rows, keep), _only(totals, keep)
        names = [self._NAMES[i] for i in keep]
        wanted = max([6, *(_wanted(ticker, title) for (ticker, _), title in zip(rows, titles, strict=True))])
        room = max(6, min(wanted, width - sum(widths) - 2 * len(widths)))
        heading = "".join("  " + fit(name, w, right=True) for name, w in zip(names, widths, strict=True))
        yield Segment(fit("market", room) + heading, _HEADING)
        yield Segment.line()
        for (ticker, cells), title in zip(rows, titles, strict=True):
            yield from _label(ticker, title, room)
            yield from _numbers(cells, widths)
        if len(shown) < len(markets):
            yield Segment(f"… and {len(markets) - len(shown)} more", DIM)
            yield Segment.line()
        for label, cells in totals:
            yield Segment(fit(label, room), _HEADING)
            yield from _numbers(cells, widths)

    def _rows(self, shown: list[MarketPosition]) -> tuple[list[_Row], list[str | None]]:
        """(market cell, number cells) of each market shown, and the title to show after it (none for a bare id:
        the title replaced it)."""
        titles = [self._titles.get((p.venue, p.market)) for p in shown]
        rows = [(self._ticker(p, title), self._cells(p)) for p, title in zip(shown, titles, strict=True)]
        return rows, [None if is_bare_id(p.market) else title for p, title in zip(shown, titles, strict=True)]

    def _columns(self, rows: list[_Row], totals: list[_Row], width: int) -> tuple[list[int], list[int]]:
        """The number columns kept (indexes into `_NAMES`) and their widths: columns go, in `_DROP`'s order,
        until the market column has room for the tickers (up to 28 cells)."""
        everything = rows + totals
        widths = [
            max([len(name), *(len(cells[i][0]) for _, cells in everything)]) for i, name in enumerate(self._NAMES)
        ]
        need = min(28, max([6, *(cell_len(ticker) for ticker, _ in rows)]))
        keep = list(range(len(self._NAMES)))
        for index in self._DROP:
            if width - sum(widths[i] + 2 for i in keep) >= need:
                break
            keep.remove(index)
        return keep, [widths[i] for i in keep]


_Row = tuple[str, list[tuple[str, Style | None]]]
"""A row of the totals table: the market (or totals) label, then the (text, style) of each number."""


def _only(rows: list[_Row], keep: list[int]) -> list[_Row]:
    """`rows` with only the number cells of the columns kept."""
    return [(label, [cells[i] for i in keep]) for label, cells in rows]


def _wanted(ticker: str, title: str | None) -> int:
    """Cells the market column needs to show `ticker` and `title` whole."""
    return cell_len(ticker) + (2 + cell_len(sanitize(title)) if title else 0)


def _label(ticker: str, title: str | None, room: int) -> list[Segment]:
    """The market cell: the whole ticker (elided in the middle if need be), then the title in what is left."""
    shown = elide(ticker, room)
    left = room - cell_len(shown) - 2
    if not title or left < 4:
        return [Segment(fit(shown, room))]
    return [Segment(shown + "  "), Segment(fit(sanitize(title), left), DIM)]


def _numbers(cells: list[tuple[str, Style | None]], widths: list[int]) -> list[Segment]:
    out = []
    for (text, style), width in zip(cells, widths, strict=True):
        out.append(Segment("  "))
        out.append(Segment(fit(text, width, right=True), style))
    out.append(Segment.line())
    return out


def summary(
    session: Session, *, titles: Titles | None = None, outcomes: Titles | None = None, width: int | None = None
) -> RenderableType:
    """The exit summary: one line of counts, one of P&L, then the positions table."""
    head = Text("fillwatch: session ", style="bold")
    head.append(format_duration(session.duration()))
    head.append(f" · {count(session.events, 'event')} ({count(session.fills, 'fill')}, ")
    head.append(f"{count(session.cancels, 'cancel')})")
    if session.history:
        head.append(f", {session.history} from history")
    head.append(f" · reconnects {session.reconnects}")
    if session.backfills or session.backfills_failed:
        head.append(f" · {session.recovered} recovered from history in {count(session.backfills, 'backfill')}")
        if session.backfills_failed:
            head.append(f" ({count(session.backfills_failed, 'attempt')} failed and retried)", style="yellow")
    head.append(f" · skipped {count(session.skipped, 'malformed frame')}", style="yellow" if session.skipped else "")
    if session.filtered:
        head.append(f" · {count(session.filtered, 'event')} filtered out")
    if not session.markets():
        return head
    book = session.book
    realized, fees = book.realized(), book.fees()
    pnl = Text(f"P&L ({basis(session)}, FIFO): realized {money(realized)}, fees {money(fees, sign=False)}")
    pnl.append(f", net {money(realized - fees)}", style=BUY if realized > fees else SELL if realized < fees else "")
    return Group(head, pnl, Totals(session, titles=titles, outcomes=outcomes, width=width))


class SessionSink:
    """Feeds the session model; prints the summary to `console` on close when `show` is set."""

    def __init__(
        self,
        session: Session,
        console: Console,
        *,
        show: bool = True,
        titles: Titles | None = None,
        outcomes: Titles | None = None,
        full_width: bool = False,
    ) -> None:
        self.session = session
        self._console = console
        self._show = show
        self._titles = titles
        self._outcomes = outcomes
        self._full_width = full_width
        """Not a terminal (a log file): print every line whole, however long."""

    def event(self, event: Event) -> None:
        self.session.add(event)

    def status(self, status: Status) -> None:
        self.session.status(status)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self._show:
            return
        if self._full_width:
            self._console.width = 400  # a log gets whole lines: nothing wraps, no ticker is cut
            self._console.print(
                summary(self.session, titles=self._titles, outcomes=self._outcomes), crop=False, soft_wrap=False
            )
        else:
            self._console.print(summary(self.session, titles=self._titles, outcomes=self._outcomes))
