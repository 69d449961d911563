"""The trader's view of a ``watch``: one live table for every account, and the merged exit summary.

:class:`DeskBoard` is a :class:`~fillwatch.render.table.FillBoard` over several
accounts' :class:`~fillwatch.render.session.Session`: the rows of every account
(newest on top, with an account column when there are two or more), a header
with one line per account (its venue, connection, counts; why it ended, once it
has) and a footer of totals per account and overall (:class:`AccountTotals`).

:func:`watch_summary` is what a watch prints on stderr when it ends: one line
per account (its counts, reconnects, skipped frames, how it ended), the
overall counts, and the same per-account totals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from fillwatch.core.errors import ExitCode
from fillwatch.render.console import BUY, DIM, SELL
from fillwatch.render.layout import fit, money
from fillwatch.render.rows import ACCOUNT_MAX, HISTORY_MARK
from fillwatch.render.session import Session
from fillwatch.render.summary import basis, format_duration
from fillwatch.render.table import BADGE, FillBoard, Part, Titles, connection_parts, fit_parts
from fillwatch.render.text import count, sanitize

__all__ = ["AccountTotals", "DeskBoard", "Ending", "watch_summary"]

_FAILED = Style(color="red", bold=True)
_BOLD = Style(bold=True)
_ZERO = Decimal(0)
_SIGNALLED: dict[int, str] = {
    ExitCode.OK: "ended",
    ExitCode.HANGUP: "stopped (hangup)",
    ExitCode.INTERRUPTED: "stopped (interrupted)",
    ExitCode.TERMINATED: "stopped (terminated)",
}
"""How an account that stopped without a failure of its own ended, by its code."""


@dataclass(frozen=True, slots=True)
class Ending:
    """How an account stopped: its exit code and, for a failure, why."""

    code: int
    message: str | None = None

    def text(self) -> tuple[str, Style | str]:
        """``✖ credentials rejected (exit 3)`` in red for a failure, else ``ended`` (dim), and its style."""
        if self.message is not None:
            return f"✖ {sanitize(self.message)} (exit {self.code})", _FAILED
        return _SIGNALLED.get(self.code, f"stopped (exit {self.code})"), DIM


def _width(names: list[str]) -> int:
    """The account names' column width (at most `ACCOUNT_MAX`)."""
    return min(ACCOUNT_MAX, max((cell_len(sanitize(name)) for name in names), default=0))


class DeskBoard(FillBoard):
    """The live table of a watch: every account's rows, a header line and a footer row per account.

    Args:
        sessions: each account's totals and connection, by account name, in the order named.
        endings: how each account that stopped did (filled as they stop).
        titles, outcomes, tz, wall_clock, capacity: as :class:`FillBoard`'s.
    """

    def __init__(
        self,
        sessions: Mapping[str, Session],
        *,
        endings: Mapping[str, Ending] | None = None,
        titles: Titles | None = None,
        outcomes: Titles | None = None,
        capacity: int = 500,
        tz: tzinfo | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        first = next(iter(sessions.values()))  # the P&L's basis (every account's is the watch's --since)
        super().__init__(first, titles=titles, outcomes=outcomes, capacity=capacity, tz=tz, wall_clock=wall_clock)
        self.sessions = sessions
        self.endings: Mapping[str, Ending] = endings if endings is not None else {}
        self._name_width = _width(list(sessions))

    def account_width(self) -> int:
        return self._name_width if len(self.sessions) >= 2 else 0

    def _title_parts(self) -> list[Part]:
        parts: list[Part] = [(0, " fillwatch ", BADGE), (0, f" {count(len(self.sessions), 'account')}", _BOLD)]
        parts.append((5, f"  P&L {basis(self.session)}", DIM))
        if self._from_history():
            parts.append((6, f"  {HISTORY_MARK} = from history", DIM))
        return parts

    def account_parts(self, name: str) -> list[Part]:
        """One account's header line: its name, venue and exchange, then its connection, or why it ended."""
        session = self.sessions[name]
        parts: list[Part] = [
            (0, " " + fit(sanitize(name), self._name_width) + " ", _BOLD),
            (1, f"{sanitize(session.venue)} {sanitize(session.env)}  ", ""),
        ]
        ending = self.endings.get(name)
        if ending is None:
            return parts + connection_parts(session, self._wall_clock())
        label, style = ending.text()
        parts.append((0, label, style))  # why it ended is cut last, and only at its end
        parts.append((2, f"  {count(session.fills, 'fill')} · {count(session.cancels, 'cancel')}", DIM))
        parts.append((3, f"  reconnects {session.reconnects}", ""))
        if session.skipped:
            parts.append((2, f"  skipped {session.skipped}", "yellow"))
        return parts

    def top(self, width: int) -> list[Text]:
        lines = [fit_parts(self._title_parts(), width)]
        lines += [fit_parts(self.account_parts(name), width) for name in self.sessions]
        for name, session in self.sessions.items():
            if session.notice:
                notice = f"{sanitize(name)}: {session.notice}"
                lines.append(Text(notice, Style(color="yellow"), no_wrap=True, overflow="ellipsis"))
        return lines

    def bottom(self, console: Console, options: ConsoleOptions, height: int) -> list[list[Segment]]:
        if not any(session.events for session in self.sessions.values()):
            return []
        totals = AccountTotals(self.sessions)
        lines = console.render_lines(totals, options.update(height=None), pad=False, new_lines=False)
        if len(lines) + 1 > max(0, height - len(self.sessions) - 6) // 2:  # the rows keep half the screen
            return []
        return [[Segment("─" * options.max_width, DIM)], *lines]


_Cells = list[tuple[str, Style | None]]


class AccountTotals:
    """One row per account (per currency, when an account has more than one): fills, cancels, realized
    P&L, fees and net; then the ``all`` row (one per currency: dollars and Novig's COIN do not add up)."""

    _NAMES = ("fills", "cancels", "realized", "fees", "net")

    def __init__(self, sessions: Mapping[str, Session]) -> None:
        self._sessions = sessions

    def rows(self) -> tuple[list[tuple[str, _Cells]], list[tuple[str, _Cells]]]:
        """(label, cells) of each account's rows (a row of zeros for one without events), and of the overall rows."""
        rows: list[tuple[str, _Cells]] = []
        overall: dict[str | None, list[Decimal | int]] = {}
        for name, session in self._sessions.items():
            mine = _by_currency(session)
            for currency, sums in mine.items():
                label = sanitize(name) if len(mine) == 1 else f"{sanitize(name)} {sanitize(currency or '?')}"
                rows.append((label, _cells(sums)))
                into = overall.setdefault(currency, _empty())
                for index, value in enumerate(sums):
                    into[index] += value
            if not mine:
                rows.append((sanitize(name), _cells(_empty())))
        labels = {c: "all" if len(overall) == 1 else f"all {sanitize(c or '?')}" for c in overall}
        totals = [(labels[currency], _cells(sums)) for currency, sums in overall.items()]
        return rows, totals or [("all", _cells(_empty()))]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows, overall = self.rows()
        everything = rows + overall
        label = max([len("account"), *(cell_len(name) for name, _ in everything)])
        widths = [max([len(n), *(len(cells[i][0]) for _, cells in everything)]) for i, n in enumerate(self._NAMES)]
        heading = fit("account", label) + "".join(
            "  " + fit(n, w, True) for n, w in zip(self._NAMES, widths, strict=True)
        )
        yield Text(heading, _BOLD, no_wrap=True, overflow="crop")
        for index, (name, cells) in enumerate(everything):
            line = Text(fit(name, label), _BOLD if index >= len(rows) else "", no_wrap=True, overflow="crop")
            for (text, style), width in zip(cells, widths, strict=True):
                line.append("  " + fit(text, width, right=True), style or "")
            yield line


def _by_currency(session: Session) -> dict[str | None, list[Decimal | int]]:
    """[fills, cancels, realized, fees] of `session`'s markets by currency (none before its first event)."""
    sums: dict[str | None, list[Decimal | int]] = {}
    for position in session.markets():
        if not (position.fills or position.cancels):
            continue  # a position only known from the start adds nothing
        row = sums.setdefault(position.currency, _empty())
        row[0] += position.fills
        row[1] += position.cancels
        row[2] += position.realized
        row[3] += position.fees
    return sums


def _empty() -> list[Decimal | int]:
    return [0, 0, _ZERO, _ZERO]


def _tone(value: Decimal) -> Style | None:
    return BUY if value > 0 else SELL if value < 0 else None


def _cells(sums: list[Decimal | int]) -> _Cells:
    fills, cancels, realized, fees = sums
    net = Decimal(realized) - Decimal(fees)
    return [
        (str(fills), None),
        (str(cancels), None),
        (money(Decimal(realized)), _tone(Decimal(realized))),
        (money(Decimal(fees), sign=False), None),
        (money(net), _tone(net)),
    ]


def watch_summary(sessions: Mapping[str, Session], endings: Mapping[str, Ending]) -> RenderableType:
    """The exit summary of a watch: the overall counts, one line per account, then the per-account totals
    (fills and cancels are counted there)."""
    first = next(iter(sessions.values()))
    events = sum(s.events for s in sessions.values())
    fills = sum(s.fills for s in sessions.values())
    cancels = sum(s.cancels for s in sessions.values())
    head = Text("fillwatch: watch ", style="bold")
    head.append(format_duration(max(s.duration() for s in sessions.values())))
    head.append(f" · {count(len(sessions), 'account')} · {count(events, 'event')} ")
    head.append(f"({count(fills, 'fill')}, {count(cancels, 'cancel')})")
    width = _width(list(sessions))
    lines: list[RenderableType] = [head]
    for name, session in sessions.items():
        line = Text(f"  {fit(sanitize(name), width)}  {sanitize(session.venue)} {sanitize(session.env)} · ")
        line.append(f"{count(session.events, 'event')} · reconnects {session.reconnects} · ")
        line.append(f"skipped {session.skipped}", "yellow" if session.skipped else "")
        if session.recovered:
            line.append(f" · {session.recovered} recovered from history")
        if session.filtered:
            line.append(f" · {count(session.filtered, 'event')} filtered out")
        label, style = endings.get(name, Ending(0)).text()
        line.append(" · ")
        line.append(label, style)
        lines.append(line)
    if events:
        lines.append(Text(f"P&L ({basis(first)}, FIFO), per account:"))
        lines.append(AccountTotals(sessions))
    return Group(*lines)
