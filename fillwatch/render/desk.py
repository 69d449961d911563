"""The views of a ``watch``: several accounts shown in one stdout view and one ``--output`` file.

A :class:`Desk` builds the shared sinks once (the stdout view, the ``--output``
file) and gives each account its own :class:`~fillwatch.render.views.Views`
(:meth:`Desk.views`): the account's runner writes through a :class:`_Face` onto
the shared sinks, then into the account's own sinks (its checkpoint, its
recording), its stderr diagnostics (prefixed with the account) and its totals
(a :class:`~fillwatch.render.session.Session` per account).

On a terminal (``table``) the stdout view is one live table for every account
(:class:`~fillwatch.render.board.DeskBoard`: an account column, a header line
per account, totals per account and overall); an account's failure shows in its
header line while the table is on the screen and is printed on stderr after it
closes (stderr would tear it). With ``lines`` each line names its account when
there are two or more. When every account stopped, :meth:`Desk.close` prints the
merged summary on stderr (:func:`~fillwatch.render.board.watch_summary`; with
JSON lines only when stderr is a terminal, as for one account).

Lines are written in the order events reach the desk, whichever account they
come from. A shared sink that fails once (a full disk, a closed pipe) fails for
every account: each face re-raises what the first one met, so that no account's
checkpoint covers a line that was not written; the desk's `stop` hook is told at
once, so that accounts with nothing to write stop too. ``--max-events`` counts
every account's events (CONTRACT §2).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fillwatch.core.errors import ExitCode, WriteFailed
from fillwatch.core.events import Event, Status
from fillwatch.render import Sink
from fillwatch.render.board import DeskBoard, Ending, watch_summary
from fillwatch.render.console import ColorMode, make_console
from fillwatch.render.jsonl import JsonLinesSink
from fillwatch.render.lines import LineFormatter, LinesSink
from fillwatch.render.rows import ACCOUNT_MAX
from fillwatch.render.session import Session
from fillwatch.render.status import StatusSink, stamp
from fillwatch.render.summary import SessionSink
from fillwatch.render.table import LiveTableSink
from fillwatch.render.text import sanitize
from fillwatch.render.views import Format, Views, resolve_format

__all__ = ["Account", "Desk"]


@dataclass(frozen=True, slots=True)
class Account:
    """One account of a watch: the name its events carry, its venue and the exchange it trades on."""

    name: str
    venue: str
    env: str


class Desk:
    """The shared views of a watch, and each account's way into them.

    Args:
        fmt: the stdout format (``auto`` is resolved here).
        accounts: every account, in the order the user named them.
        output: the ``--output`` file's sink, opened (None without one).
        max_events: stop every account after this many events in all.
        stop: called once with the code every account must stop with (a bound, a failed shared write).
        clock: the sessions' clock (their durations).
    """

    def __init__(
        self,
        fmt: Format,
        accounts: Sequence[Account],
        *,
        color: ColorMode = "auto",
        bell: bool = False,
        quiet: bool = False,
        raw: bool = False,
        output: Sink | None = None,
        max_events: int | None = None,
        since: datetime | None = None,
        stop: Callable[[ExitCode], None] = lambda code: None,
        stdout_fd: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fmt = resolve_format(fmt, stdout_is_tty=os.isatty(stdout_fd))
        self.accounts = {account.name: account for account in accounts}
        self.sessions = {
            account.name: Session(venue=account.venue, env=account.env, since=since, clock=clock)
            for account in accounts
        }
        self.endings: dict[str, Ending] = {}
        """How each account that stopped did (the table's header and the summary show it)."""
        self.table: LiveTableSink | None = None
        self._color: ColorMode = color
        self._quiet = quiet
        self._stop = stop
        self._max_events = max_events
        self.count = 0
        self.failure: BaseException | None = None
        """What the first shared write that failed raised (every face raises it from then on)."""
        self.titles: dict[tuple[str, str], str] = {}
        self.outcomes: dict[tuple[str, str], str] = {}
        self.wants_titles = self.fmt != "jsonl"
        self.shared: list[Sink] = [self._stdout_view(bell=bell, raw=raw, stdout_fd=stdout_fd)]
        if output is not None:
            self.shared.append(output)
        self._closed = False

    def _stdout_view(self, *, bell: bool, raw: bool, stdout_fd: int) -> Sink:
        if self.fmt == "jsonl":
            return JsonLinesSink(stdout_fd, raw=raw)
        out = make_console(self._color)
        if self.fmt == "table":
            board = DeskBoard(self.sessions, endings=self.endings, titles=self.titles, outcomes=self.outcomes)
            self.table = LiveTableSink(out, board, bell=bell)
            return self.table
        width = out.width if os.isatty(stdout_fd) else None
        names = [sanitize(name) for name in self.accounts]
        account = min(ACCOUNT_MAX, max(len(name) for name in names)) if len(names) >= 2 else 0
        formatter = LineFormatter(out, titles=self.titles, outcomes=self.outcomes, width=width, account=account)
        return LinesSink(stdout_fd, formatter, bell=bell)

    def views(self, account: str, *, extra: Sequence[Sink]) -> Views:
        """`account`'s views: the shared sinks (through its face), `extra` (its checkpoint, its recording),
        its diagnostics on stderr and its totals."""
        known = self.accounts[account]
        session = self.sessions[account]
        views = Views(sinks=[_Face(self)], session=session, titles=self.titles, outcomes=self.outcomes)
        views.wants_titles = self.wants_titles
        views.sinks += extra
        table = self.table
        if table is None:
            views.sinks.append(StatusSink(sys.stderr, venue=known.venue, quiet=self._quiet, account=account))
        else:  # the table shows the connection in its header: stderr would tear it
            views.table = table
            views.redraw = lambda *_: table.request()
            views.on_frame = session.frame
        views.sinks.append(SessionSink(session, make_console(self._color, stderr=True), show=False))
        return views

    def ended(self, account: str, code: int, message: str | None) -> None:
        """`account` stopped with `code` (`message`: why, for a failure); the others go on.

        A failure is said on stderr at once, or, while the live table is the view, in the
        account's header line (and on stderr once the table has closed). A shared sink's failure is
        every account's: :meth:`close` raises it, and it is said once, then.
        """
        if self.failure is not None and message == str(self.failure):
            self.endings[account] = Ending(code)
            return
        self.endings[account] = Ending(code, message)
        if self.table is not None:
            if self.table.live:
                self.table.request()
            return
        if message is not None and not self._quiet:
            _error(account, message)

    def shown(self, event: Event) -> None:
        """One event reached the shared sinks: count it against ``--max-events``."""
        self.count += 1
        if self.count == self._max_events:
            self._stop(ExitCode.OK)

    def failed(self, exc: BaseException) -> None:
        """A shared sink could not write: every account stops (a closed stdout pipe: quietly, with 0)."""
        if self.failure is None:
            self.failure = exc
            self._stop(ExitCode.OK if isinstance(exc, BrokenPipeError) else ExitCode.WRITE)

    def close(self) -> None:
        """Close the shared sinks, once every account has stopped.

        Raises:
            WriteFailed: the last lines could not be written.
        """
        if self._closed:
            return
        self._closed = True
        for sink in self.shared:
            try:
                sink.close()
            except BrokenPipeError:
                pass
            except OSError as exc:
                if self.failure is None:
                    self.failure = WriteFailed(f"cannot write: {exc.strerror or exc}")
            except WriteFailed as exc:
                if self.failure is None:
                    self.failure = exc
        self._report()
        if isinstance(self.failure, WriteFailed):
            raise self.failure

    def _report(self) -> None:
        """After the views closed: the failures the table showed, then the merged summary (unless quiet)."""
        if self._quiet:
            return
        if self.table is not None:
            for account, ending in self.endings.items():
                if ending.message is not None:
                    _error(account, ending.message)
        err = make_console(self._color, stderr=True)
        if self.fmt == "jsonl" and not err.is_terminal:
            return  # pipes and cron logs get nothing but diagnostics
        if not err.is_terminal:
            err.width = 400  # a log gets whole lines
        err.print(watch_summary(self.sessions, self.endings), crop=False, soft_wrap=False)


def _error(account: str, message: str) -> None:
    sys.stderr.write(stamp(f"fillwatch: {account}: error: {message}\n"))
    sys.stderr.flush()


class _Face:
    """One account's way into the shared sinks: what it hands them, and their failures as its own."""

    def __init__(self, desk: Desk) -> None:
        self._desk = desk

    def event(self, event: Event) -> None:
        desk = self._desk
        for sink in desk.shared:
            sink.event(event)
        desk.shown(event)

    def status(self, status: Status) -> None:
        for sink in self._desk.shared:
            sink.status(status)

    def flush(self) -> None:
        desk = self._desk
        if desk.failure is not None:
            raise desk.failure
        for sink in desk.shared:
            try:
                sink.flush()
            except (BrokenPipeError, WriteFailed, OSError) as exc:
                desk.failed(exc)
                raise

    def close(self) -> None:
        self.flush()
