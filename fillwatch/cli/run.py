"""A run of the CLI: the views its options ask for, and the one :class:`~fillwatch.session.session.Session`.

The commands resolve their values and hand a ``connect`` (the venue spec's
``build``, waiting for the clock the session chooses) to :func:`tail`, which
builds the session's :class:`Frontend` from the options and runs it. The
session owns everything it opens (the REST client, the token glue, the
checkpoint); the views come from :mod:`fillwatch.render.views`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from fillwatch.cli.options import RunOptions
from fillwatch.core.errors import ExitCode
from fillwatch.core.events import Event, Item
from fillwatch.render.desk import Account, Desk
from fillwatch.render.views import Format, Views, open_views, output_sink, printed_to
from fillwatch.session.session import Connect, Session
from fillwatch.session.sink import Sink
from fillwatch.session.watch import Member, Watch
from fillwatch.venues.spec import Built

__all__ = ["Frontend", "replay", "run_to_end", "tail", "watch"]


class Frontend:
    """The views and the ``--output`` file of a run, as its options ask (a session's :class:`Frontend`).

    `replay` names the recording a replay shows (None: a live run).
    """

    def __init__(self, options: RunOptions, *, replay: str | None = None) -> None:
        self._options = options
        self._replay = replay

    def output(self) -> Sink | None:
        sinks = output_sink(self._options.output, raw=self._options.raw)
        return sinks[0] if sinks else None

    def printed(self, venue: str, account: str) -> list[Event]:
        return [] if self._options.output is None else printed_to(self._options.output, venue, account)

    def views(self, venue: str, *, extra: Sequence[Sink], since: datetime | None) -> Views:
        options = self._options
        if self._replay is not None:  # a replay's header names the recording, not a venue's environment
            return open_views(
                cast(Format, options.fmt.value),
                venue=venue,
                env="replay",
                replay=self._replay,
                color=options.color.value,
                quiet=options.quiet,
                raw=options.raw,
                extra=extra,
            )
        return open_views(
            cast(Format, options.fmt.value),
            venue=venue,
            env=options.env,
            color=options.color.value,
            bell=options.bell,
            quiet=options.quiet,
            raw=options.raw,
            extra=extra,
            since=since,
        )


async def tail(connect: Connect, options: RunOptions, *, account: str | None = None) -> ExitCode:
    """Follow the venue `connect` builds into the views `options` ask for, until the run ends.

    Args:
        connect: the venue's spec ``build`` given the resolved values; the session passes the clock.
        options: the shared command-line options.
        account: what the events' ``account`` says (the profile's name; None: the venue's).

    Raises:
        FillwatchError: what stopped the run (its class gives the exit code).
    """
    return await Session(connect, options, Frontend(options), account=account).run()


async def replay(items: AsyncIterator[Item], options: RunOptions, *, name: str) -> ExitCode:
    """Show the items of recording `name` (read by :func:`fillwatch.session.replay.replay`) through one Session."""
    return await Session(_recorded, options, Frontend(options, replay=name)).replay(items)


async def watch(members: Sequence[Member], options: RunOptions) -> ExitCode:
    """Run every member's session into one set of views (a :class:`~fillwatch.render.desk.Desk`) until each
    has stopped; the highest of their exit codes (CONTRACT §4)."""
    accounts = [Account(member.account, member.venue, member.env) for member in members]
    # The watch's accounts reach the desk, which stops them all: each is told of the other (called later).
    group = Watch(members, lambda account: _Seat(desk, account, options.output), lambda *end: desk.ended(*end))
    desk = Desk(
        cast(Format, options.fmt.value),
        accounts,
        color=options.color.value,
        bell=options.bell,
        quiet=options.quiet,
        raw=options.raw,
        output=Frontend(options).output(),
        max_events=options.max_events,
        since=options.since_time(),
        stop=group.stop,
    )
    try:
        code = await group.run()
    finally:
        desk.close()
    return code


class _Seat:
    """One account's :class:`Frontend` in a watch: its views are the desk's, its ``--output`` the shared one."""

    def __init__(self, desk: Desk, account: str, output: Path | None) -> None:
        self._desk = desk
        self._account = account
        self._output = output

    def output(self) -> Sink | None:
        return None  # the desk writes the one --output file for every account

    def printed(self, venue: str, account: str) -> list[Event]:
        return [] if self._output is None else printed_to(self._output, venue, account)

    def views(self, venue: str, *, extra: Sequence[Sink], since: datetime | None) -> Views:
        return self._desk.views(self._account, extra=extra)


def _recorded(clock: Callable[[], float]) -> Built:
    """A replay connects nowhere: the recording stands for the venue."""
    raise AssertionError("a replay session does not connect")


def run_to_end(main: Coroutine[Any, Any, ExitCode]) -> int:
    """``asyncio.run(main)``; a stdout closed while the last lines were written is a normal end."""
    try:
        return asyncio.run(main)
    except BrokenPipeError:  # stdout closed while the last lines were written
        return ExitCode.OK
