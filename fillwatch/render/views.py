"""Choosing and assembling the terminal views for one run, and the ``--output`` file's sink.

:func:`open_views` turns the output options (``--format``, ``--color``,
``--bell``, ``-q``) into sinks, in the order the runner must close them: the
stdout view first, the stderr diagnostics next, and the session sink last, so
that its summary lands below the live table's final frame.

The CLI builds them for a :class:`~fillwatch.session.session.Session` (its
``Frontend``, :mod:`fillwatch.cli.run`); ``render`` imports neither the session
nor the network, only the sink protocol the session defines.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, TypeAlias

import orjson

from fillwatch.core.appending import open_append, read_tail
from fillwatch.core.errors import ConfigError
from fillwatch.core.events import Event
from fillwatch.core.filters import FilterWatch, Selector
from fillwatch.render import Sink
from fillwatch.render.console import ColorMode, make_console
from fillwatch.render.jsonl import JsonLinesSink, parse_record
from fillwatch.render.lines import LineFormatter, LinesSink
from fillwatch.render.session import Session
from fillwatch.render.status import StatusSink, stamp
from fillwatch.render.summary import SessionSink
from fillwatch.render.table import FillBoard, LiveTableSink

__all__ = [
    "Format",
    "Views",
    "open_views",
    "output_sink",
    "printed_to",
    "resolve_format",
]

Format: TypeAlias = Literal["auto", "table", "lines", "jsonl"]


def resolve_format(fmt: Format, *, stdout_is_tty: bool) -> Format:
    """``auto`` is ``table`` on a terminal and ``jsonl`` otherwise (CONTRACT §2); ``json`` is read as ``jsonl``
    before this (:func:`fillwatch.cli.options.output_format`)."""
    if fmt == "auto":
        return "table" if stdout_is_tty else "jsonl"
    return fmt


@dataclass
class Views:
    """The sinks of one run and the hooks that feed the views from outside the sink protocol."""

    sinks: list[Sink]
    session: Session
    titles: dict[tuple[str, str], str] = field(default_factory=dict)
    """Market titles: filled by a resolver in ``net/``, read by the views."""
    outcomes: dict[tuple[str, str], str] = field(default_factory=dict)
    """Outcome names by (venue, outcome id) (Novig's outcomes are ids): filled with the titles."""
    wants_titles: bool = False
    redraw: Callable[..., None] | None = None
    """Call when something the view shows changed outside of events (a title arrived)."""
    on_frame: Callable[[float, str | bytes], None] | None = None
    """The stream's record hook, for views that show the age of the last frame."""
    table: LiveTableSink | None = None
    """The live table, when it is the view (warnings then show in it, not on stderr)."""

    def filter(
        self,
        select: Selector | None,
        *,
        globs: Sequence[str] = (),
        kinds: Sequence[str] = (),
        patience: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> Selector | None:
        """`select`, watched: hidden events are counted in the session, and a filter that hides
        everything says so once on stderr (after 30 s, or at the end of the run)."""
        if select is None:
            return None

        def hidden() -> None:
            self.session.filtered += 1
            self.session.version += 1

        def warn(message: str) -> None:
            if self.table is not None and self.table.live:  # stderr would tear the live table
                self.session.notice = f"warning: {message}"
                self.table.request()
            else:
                warning(message)

        watch = FilterWatch(
            select, globs=globs, kinds=kinds, warn=warn, on_hidden=hidden, patience=patience, clock=clock
        )
        at = next((i for i, sink in enumerate(self.sinks) if isinstance(sink, SessionSink)), len(self.sinks))
        self.sinks.insert(at, watch)
        return watch

    def positions(self, venue: str, found: Sequence[tuple[str, Decimal]]) -> None:
        """The positions held before the run (read in the background): they start the book."""
        for market, qty in found:
            self.session.book.start(venue, market, qty)
        if found:
            self.session.version += 1
            if self.redraw is not None:
                self.redraw()


def warning(message: str) -> None:
    """One warning line on stderr (with the time when stderr is a log, not a terminal)."""
    sys.stderr.write(stamp(f"fillwatch: warning: {message}\n"))
    sys.stderr.flush()


def open_views(
    fmt: Format,
    *,
    venue: str,
    env: str,
    color: ColorMode = "auto",
    bell: bool = False,
    quiet: bool = False,
    raw: bool = False,
    extra: Sequence[Sink] = (),
    stdout_fd: int = 1,
    since: datetime | None = None,
    replay: str | None = None,
) -> Views:
    """The sinks for `fmt`, with `extra` sinks (``--output``, checkpoint, recorder) after the stdout view.

    The session summary goes to stderr unless `quiet`; with JSON lines it is
    shown only when stderr is a terminal, so that pipes and cron logs get
    nothing but diagnostics. `since` is where the P&L starts (``--since``);
    `replay` names the file a replay shows (the header says so instead of a connection).
    """
    fmt = resolve_format(fmt, stdout_is_tty=os.isatty(stdout_fd))
    session = Session(venue=venue, env=env, since=since, replay=replay)
    views = Views(sinks=[], session=session)
    err_console = make_console(color, stderr=True)
    if fmt == "table":
        board = FillBoard(session, titles=views.titles, outcomes=views.outcomes)
        table = LiveTableSink(make_console(color), board, bell=bell)
        views.sinks.append(table)
        views.table = table
        views.redraw = lambda *_: table.request()
        views.wants_titles = True
        views.on_frame = session.frame
    elif fmt == "lines":
        out = make_console(color)
        width = out.width if os.isatty(stdout_fd) else None  # a pipe or file gets full lines
        formatter = LineFormatter(out, titles=views.titles, outcomes=views.outcomes, width=width)
        views.sinks.append(LinesSink(stdout_fd, formatter, bell=bell))
        views.wants_titles = True
    else:
        views.sinks.append(JsonLinesSink(stdout_fd, raw=raw))
    views.sinks += extra
    if fmt != "table":  # the table shows the connection in its header
        views.sinks.append(StatusSink(sys.stderr, venue=venue, quiet=quiet))
    show_summary = not quiet and (fmt != "jsonl" or err_console.is_terminal)
    if show_summary or fmt == "table":  # the totals cost Decimal arithmetic per event: only when shown
        views.sinks.append(
            SessionSink(
                session,
                err_console,
                show=show_summary,
                titles=views.titles,
                outcomes=views.outcomes,
                full_width=not err_console.is_terminal,
            )
        )
    return views


def output_sink(output: Path | None, *, raw: bool) -> list[Sink]:
    """The ``--output`` file's sink (appending; a torn last line left by ``kill -9`` is cut), if asked for."""
    if output is None:
        return []
    try:
        fd, cut = open_append(output, 0o644)
    except OSError as exc:
        raise ConfigError(f"cannot open output file {output}: {exc.strerror}") from None
    if cut:
        warning(f"cut a torn last line ({cut} bytes) from {output}")
    return [JsonLinesSink(fd, owns_fd=True, raw=raw, name=f"output file {output}")]


def printed_to(output: Path, venue: str, account: str) -> list[Event]:
    """The events of `venue` and `account` among the last lines of an ``--output`` file (hostile: bad
    lines skipped; a line from before the ``account`` key counts for every account of its venue)."""
    events = []
    for line in read_tail(output):
        try:
            fields = orjson.loads(line)
            event = parse_record(fields) if isinstance(fields, dict) else None
        except (ValueError, TypeError, ArithmeticError):  # orjson's errors included
            continue
        if event is not None and event.venue == venue and event.account in (account, None):
            events.append(event)
    return events
