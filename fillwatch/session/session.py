"""One run, assembled once: checkpoint, recording, REST client, titles, the stream and its backfill.

:class:`Session` is the one client path: ``kalshi``, ``novig`` and ``demo``
all come through it, so the demo exercises exactly what a real run does. It
builds the adapter once, through the venue spec's ``build`` (:data:`Connect`,
given the clock the adapter must use: the recording's, when there is one),
opens the run's one REST client, makes a token venue's
:class:`~fillwatch.venues.spec.TokenAuth` live on it, and owns every resource
it opens with one exit stack, released in reverse order whatever ends the run.

The frame path is synchronous: the stream hands each item of a frame to the
:class:`~fillwatch.session.follower.Follower` (ledger, backfill order) as the
frame is read, which hands what is to be shown to the
:class:`~fillwatch.session.runner.Runner` (filter, sinks); the sinks are
flushed when that read is done. Backfills read in a task beside it.

``session`` does not import ``render``: the caller builds the views and the
``--output`` sink and hands them over as a :class:`Frontend`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from fillwatch.core.errors import ConfigError, ExitCode
from fillwatch.core.events import Event, Item
from fillwatch.core.filters import Selector, selector
from fillwatch.core.ledger import Checkpoint, Ledger
from fillwatch.net.http import RestClient
from fillwatch.net.positions import read_positions
from fillwatch.net.stream import Authenticate, Record, Stream, StreamOptions
from fillwatch.net.titles import TitleResolver
from fillwatch.net.token import authenticator, token_source
from fillwatch.session.follower import Follower
from fillwatch.session.history import warming_up
from fillwatch.session.recording import RecordedClock, Recorder
from fillwatch.session.runner import Runner
from fillwatch.session.runner import run as run_items
from fillwatch.session.sink import Sink
from fillwatch.session.state import CheckpointSink, StateFile
from fillwatch.venues.base import Venue
from fillwatch.venues.spec import Built

__all__ = ["Connect", "Frontend", "Options", "Session", "Views"]


Connect = Callable[[Callable[[], float]], Built]
"""Builds the venue (a spec's ``build`` with its values) with the clock the adapter must read
(the recording's, when recording)."""


class Options(Protocol):
    """The shared options a session reads (the CLI's ``RunOptions`` has them; ``session`` does not import it)."""

    @property
    def state(self) -> Path | None: ...
    @property
    def record(self) -> Path | None: ...
    @property
    def output(self) -> Path | None: ...
    @property
    def max_events(self) -> int | None: ...
    @property
    def max_retries(self) -> int | None: ...
    @property
    def stall_timeout(self) -> float: ...
    @property
    def raw(self) -> bool: ...
    @property
    def markets(self) -> Sequence[str]: ...
    @property
    def kinds(self) -> Sequence[str]: ...
    @property
    def no_follow(self) -> bool: ...
    def since_time(self) -> datetime | None: ...
    def seconds(self) -> float | None: ...


class Views(Protocol):
    """The views of one run, as the caller built them."""

    sinks: list[Sink]
    wants_titles: bool
    titles: dict[tuple[str, str], str]
    outcomes: dict[tuple[str, str], str]
    redraw: Callable[..., None] | None
    on_frame: Callable[[float, str | bytes], None] | None

    def filter(self, select: Selector | None, *, globs: Sequence[str], kinds: Sequence[str]) -> Selector | None:
        """`select`, watched by the views (hidden events counted), or None for all."""
        ...

    def positions(self, venue: str, found: Sequence[tuple[str, Decimal]]) -> None:
        """The positions held before the run, read in the background."""
        ...


class Frontend(Protocol):
    """What the caller builds for the session: the ``--output`` file and the views."""

    def output(self) -> Sink | None:
        """The ``--output`` sink, opened (None without ``--output``)."""
        ...

    def printed(self, venue: str, account: str) -> list[Event]:
        """The events of `venue` and `account` among the last lines of the ``--output`` file."""
        ...

    def views(self, venue: str, *, extra: Sequence[Sink], since: datetime | None) -> Views:
        """The views, with `extra` sinks (``--output``, recording, checkpoint) after the stdout view."""
        ...


class Session:
    """One run of the client path, from the first connection to the exit code."""

    def __init__(
        self,
        connect: Connect,
        options: Options,
        frontend: Frontend,
        *,
        account: str | None = None,
        joined: Callable[[Runner], None] | None = None,
    ) -> None:
        """`account` names the events' ``account`` (a profile's name; None: the venue's); `joined` is told of
        the session's runner as soon as it exists (a :class:`~fillwatch.session.watch.Watch` stops it, and
        handles the signals for every session it runs)."""
        self._connect = connect
        self._options = options
        self._frontend = frontend
        self._account = account
        self._joined = joined

    async def run(self) -> ExitCode:
        """Follow the venue into the sinks until the run ends.

        Raises:
            FillwatchError: what stopped the run (its class gives the exit code).
        """
        async with contextlib.AsyncExitStack() as stack:
            return await self._run(stack)

    async def replay(self, items: AsyncIterator[Item]) -> ExitCode:
        """Show a recording's items in this session's views, filtered and bounded as a live run's are.

        `items` come from :func:`fillwatch.session.replay.replay`: the recorded
        frames and pages through the live run's own Dispatch and Follower. Nothing
        connects (the recording stands for the venue), so of a run's parts only the
        views, the filter and the runner are assembled, by the code :meth:`run` uses.
        """
        options = self._options
        views = self._frontend.views("replay", extra=self._extra(), since=None)
        return await run_items(items, views.sinks, select=_select(views, options), max_events=options.max_events)

    def _extra(self) -> list[Sink]:
        """The sinks after the stdout view: the ``--output`` file, if asked for."""
        return [sink for sink in (self._frontend.output(),) if sink is not None]

    async def _run(self, stack: contextlib.AsyncExitStack) -> ExitCode:
        options = self._options
        clock = RecordedClock() if options.record is not None else time.time
        target = self._connect(clock)
        venue = target.venue
        account = self._account or venue.name
        state, checkpoint = _open_state(stack, options.state, venue, target.account)
        since = options.since_time()
        ledger = Ledger(checkpoint=checkpoint)
        if state is not None and checkpoint is None:  # the first run of this state file: its floor
            ledger.set_floor(since or datetime.now(UTC))
        elif checkpoint is not None and options.output is not None:
            for event in self._frontend.printed(venue.name, account):  # after kill -9: lines newer than the checkpoint
                ledger.remember(event)
        extra = self._extra()
        if state is not None:
            extra.append(CheckpointSink(state, ledger, memory=lambda: venue.memory(ledger.refuses)))
        recorder = None
        if options.record is not None:
            assert isinstance(clock, RecordedClock)
            if checkpoint is not None:  # with the lines read back from --output: replay refuses them too
                checkpoint = dataclasses.replace(ledger.checkpoint(), memory=checkpoint.memory)
            recorder = Recorder(
                options.record,
                venue=venue.name,
                account=account,
                checkpoint=checkpoint,
                floor=lambda: ledger.floor,
                recorded=clock,
            )
            stack.callback(recorder.close)  # the runner closes it; this covers a run that failed before
            extra.append(recorder)
        views = self._frontend.views(venue.name, extra=extra, since=since)
        rest = await stack.enter_async_context(RestClient(retry_after_unit=venue.retry_after_unit))
        authenticate = _token_glue(stack, target, rest)
        select = _select(views, options)
        resolver = None
        if views.wants_titles:
            resolver = TitleResolver(venue, rest, titles=views.titles, outcomes=views.outcomes, on_title=views.redraw)
            stack.push_async_callback(resolver.aclose)
        shown = None if resolver is None else resolver.event
        runner = Runner(
            views.sinks,
            select=select,
            max_events=options.max_events,
            shown=shown,
            account=account,
            signals=self._joined is None,
        )
        if self._joined is not None:
            self._joined(runner)
        positions = _starting_positions(venue, rest, views)
        if positions is not None:
            stack.callback(positions.cancel)
        part = _Part(target, authenticate, options, rest, ledger, runner, recorder, views.on_frame)
        stack.push_async_callback(part.follower.aclose)
        runner.on_stop = part.stream.halt if recorder is None else recorder.stopping(part.stream.halt)
        return await runner.serve(lambda: part.drive(since), duration=options.seconds())


class _Part:
    """The stream, the follower and the runner, wired: each item of a frame goes straight through."""

    def __init__(
        self,
        target: Built,
        authenticate: Authenticate | None,
        options: Options,
        rest: RestClient,
        ledger: Ledger,
        runner: Runner,
        recorder: Recorder | None,
        on_frame: Callable[[float, str | bytes], None] | None,
    ) -> None:
        self._options = options
        self._runner = runner
        venue = target.venue
        record_history = None if recorder is None else recorder.history
        authenticate = warming_up(venue, rest, authenticate, record_history=record_history)
        hooks: list[Record] = [] if on_frame is None else [on_frame]
        if recorder is not None:
            hooks.append(recorder.frame)
        stream_options = StreamOptions(
            url=target.url, max_retries=options.max_retries, stall_timeout=options.stall_timeout, raw=options.raw
        )
        self.stream = Stream(venue, stream_options, authenticate=authenticate, record=_each(hooks))
        self.follower = Follower(
            venue,
            rest,
            ledger,
            out=runner.item,
            authenticate=authenticate,
            record_history=record_history,
            pause=self.stream.pause,
            resume=self.stream.resume,
            on_error=self._failed,
            stopped=runner.stopped,
        )
        self._error: BaseException | None = None
        self._task: asyncio.Task[object] | None = None

    def _failed(self, exc: BaseException) -> None:
        """A background read stopped the run (a second rejection): raised by :meth:`drive`."""
        self._error = exc
        if self._task is not None:
            self._task.cancel()

    async def drive(self, since: datetime | None) -> None:
        """History before the stream, then the stream until the run ends."""
        self._task = asyncio.current_task()
        try:
            await self.follower.before(since, history_only=self._options.no_follow)
            if not self._options.no_follow:
                await self.stream.run(self.follower.live, self._runner.read_end)
        except asyncio.CancelledError:
            if self._error is None:
                raise
        if self._error is not None:
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            raise self._error


def _select(views: Views, options: Options) -> Selector | None:
    """The ``--market``/``--kind`` filter, as the views take it (they may show what it holds back)."""
    return views.filter(selector(options.markets, options.kinds), globs=options.markets, kinds=options.kinds)


def _token_glue(stack: contextlib.AsyncExitStack, target: Built, rest: RestClient) -> Authenticate | None:
    """The stream's ``authenticate`` hook of a token venue, its tokens fetched with the run's REST client."""
    if target.auth is None:
        return None
    tokens = token_source(target.auth, rest, venue=target.venue.name)
    stack.push_async_callback(tokens.aclose)
    return authenticator(target.auth, tokens)


def _open_state(
    stack: contextlib.AsyncExitStack, path: Path | None, venue: Venue, account: str
) -> tuple[StateFile | None, Checkpoint | None]:
    """The ``--state`` file, locked for the run, and the checkpoint it holds (the adapter recalls its memory)."""
    if path is None:
        return None, None
    state = StateFile(path, venue=venue.name, account=account)
    state.lock()
    stack.callback(state.unlock)
    checkpoint = state.load()
    if checkpoint is not None and checkpoint.memory is not None:
        try:
            venue.recall(checkpoint.memory)
        except ValueError as exc:
            raise ConfigError(f"state file {path} is malformed ({exc})") from None
    return state, checkpoint


def _starting_positions(venue: Venue, rest: RestClient, views: Views) -> asyncio.Task[None] | None:
    """Read the positions held before the run in the background, for the views that show positions."""
    if not views.wants_titles or not hasattr(venue, "positions_request"):
        return None

    async def read() -> None:
        found = await read_positions(venue, rest)
        if found:
            views.positions(venue.name, found)

    return asyncio.get_running_loop().create_task(read())


def _each(hooks: list[Record]) -> Record | None:
    """One record hook that calls each of `hooks` (None when there are none)."""
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]

    def record(at: float, frame: str | bytes) -> None:
        for hook in hooks:
            hook(at, frame)

    return record
