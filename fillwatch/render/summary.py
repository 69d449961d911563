"""Per-market totals as a table (the live table's footer) and the session summary on exit.

:class:`SessionSink` keeps the run's :class:`~fillwatch.render.session.Session`
up to date from the items the runner hands it and, when the run ends, prints
the summary on stderr: duration, events, the per-market totals, reconnects
and frames skipped as malformed. It goes last among the sinks, so that in
table mode the summary appears below the live table's final frame.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from fillwatch.events import Event, Status
from fillwatch.render.console import BUY, DIM, SELL
from fillwatch.render.session import Session
from fillwatch.render.text import number, price, sanitize, signed

__all__ = ["SessionSink", "format_duration", "summary", "totals_table"]

Titles = Mapping[tuple[str, str], str]

_TITLE_ROOM = 40
"""Characters of a market's title shown in the totals."""


def format_duration(seconds: float) -> str:
    """``0:02:13`` (hours:minutes:seconds)."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def totals_table(
    session: Session, *, titles: Titles | None = None, limit: int | None = None, width: int = 120
) -> Table:
    """Session totals per market and side, most recently active first (at most `limit` rows), in `width` cells.

    The numbers always show in full; the market column (ticker, then title)
    takes the room they leave and is cut with an ellipsis.
    """
    markets = session.markets()
    shown = markets if limit is None else markets[:limit]
    rows: list[list[Text]] = []
    for totals in shown:
        market = Text(sanitize(totals.market))
        title = (titles or {}).get((totals.venue, totals.market))
        if title:
            market.append("  " + sanitize(title if len(title) <= _TITLE_ROOM else title[: _TITLE_ROOM - 1] + "…"), DIM)
        net_style = BUY if totals.net > 0 else SELL if totals.net < 0 else ""
        rows.append(
            [
                market,
                Text(sanitize(totals.side)),
                Text(signed(totals.net), net_style),
                Text(number(totals.bought), BUY if totals.bought else ""),
                Text(price(totals.buy_vwap)),
                Text(number(totals.sold), SELL if totals.sold else ""),
                Text(price(totals.sell_vwap)),
                Text(number(totals.fees)),
                Text(str(totals.fills)),
                Text(str(totals.cancels)),
            ]
        )
    names = ("side", "net", "bought", "@ vwap", "sold", "@ vwap", "fees", "fills", "cancels")
    widths = [max([len(name), *(row[i + 1].cell_len for row in rows)]) for i, name in enumerate(names)]
    side_width = min(widths[0], 8)
    room = width - sum(widths[1:]) - side_width - 2 * len(names)
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("market", no_wrap=True, overflow="ellipsis", max_width=max(room, 6))
    table.add_column("side", no_wrap=True, overflow="ellipsis", max_width=side_width)
    for name in names[1:]:
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    if len(shown) < len(markets):
        table.add_row(Text(f"… and {len(markets) - len(shown)} more", DIM))
    return table


def summary(session: Session, *, titles: Titles | None = None, width: int = 120) -> RenderableType:
    """The exit summary: one line of counts, then the totals table."""
    head = Text("fillwatch: session ", style="bold")
    head.append(format_duration(session.duration()))
    head.append(f" · {session.events} events ({session.fills} fills, {session.cancels} cancels)")
    head.append(f" · reconnects {session.reconnects}")
    head.append(f" · skipped {session.skipped} malformed frames", style="yellow" if session.skipped else "")
    if not session.totals:
        return head
    return Group(head, totals_table(session, titles=titles, width=width))


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
            self._console.print(summary(self.session, titles=self._titles, width=self._console.width))
