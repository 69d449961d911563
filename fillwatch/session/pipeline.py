"""Assembling one run: sinks, checkpoint, recording, titles, the stream and its backfill.

:func:`tail` is the one client path: ``kalshi``, ``novig`` and ``demo`` all
come through it, so the demo exercises exactly what a real run does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from fillwatch.cli.options import RunOptions
from fillwatch.core.appending import open_append, read_tail
from fillwatch.core.errors import ConfigError, ExitCode
from fillwatch.core.events import Event
from fillwatch.core.filters import selector
from fillwatch.core.ledger import Ledger
from fillwatch.net.http import RestClient
from fillwatch.net.positions import read_positions
from fillwatch.net.stream import Authenticate, Record, StreamOptions, watch
from fillwatch.net.titles import TitleResolver
from fillwatch.render import Sink
from fillwatch.render.jsonl import JsonLinesSink, parse_record
from fillwatch.render.views import Views, open_views, warning
from fillwatch.session import recording
from fillwatch.session.follow import follow, warming_up
from fillwatch.session.runner import run
from fillwatch.session.state import CheckpointSink, StateFile
from fillwatch.venues.base import Venue

__all__ = ["output_sink", "printed_to", "run_to_end", "tail"]


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


async def tail(
    venue: Venue, url: str, options: RunOptions, *, account: str, authenticate: Authenticate | None = None
) -> ExitCode:
    """Follow `venue` at `url` into the sinks until the run ends: the one client path.

    Args:
        venue: the adapter, with its credentials.
        url: the WebSocket URL.
        options: the shared command-line options.
        account: who the credentials belong to (names the ``--state`` checkpoint's owner).
        authenticate: makes credentials current before attempts (token venues).
    """
    state = checkpoint = None
    if options.state is not None:
        state = StateFile(options.state, venue=venue.name, account=account)
        state.lock()
        checkpoint = state.load()
        if checkpoint is not None and checkpoint.memory is not None:
            try:
                venue.recall(checkpoint.memory)
            except ValueError as exc:
                raise ConfigError(f"state file {options.state} is malformed ({exc})") from None
    since = options.since_time()
    ledger = Ledger(checkpoint=checkpoint)
    if state is not None and checkpoint is None:  # the first run of this state file: its floor
        ledger.set_floor(since or datetime.now(UTC))
    elif checkpoint is not None and options.output is not None:
        for event in printed_to(options.output, venue.name):  # after kill -9: lines newer than the checkpoint
            ledger.remember(event)
    extra = output_sink(options.output, raw=options.raw)
    if state is not None:
        extra.append(CheckpointSink(state, ledger, memory=lambda: venue.memory(ledger.refuses)))
    recorder = None
    if options.record is not None:
        if checkpoint is not None:  # with the lines read back from --output: replay refuses them too
            checkpoint = dataclasses.replace(ledger.checkpoint(), memory=checkpoint.memory)
        recorder = recording.Recorder(
            options.record, venue=venue.name, checkpoint=checkpoint, floor=lambda: ledger.floor
        )
        extra.append(recorder)
        venue.clock = recorder.clock  # the times the adapter learns are the recorded ones: replay agrees
    views = open_views(
        options.fmt.value,
        venue=venue.name,
        env=options.env,
        color=options.color.value,
        bell=options.bell,
        quiet=options.quiet,
        raw=options.raw,
        extra=extra,
        since=since,
    )
    stream = StreamOptions(
        url=url, max_retries=options.max_retries, stall_timeout=options.stall_timeout, raw=options.raw
    )
    hooks = [hook for hook in (views.on_frame, recorder and recorder.frame) if hook is not None]
    record_history = None if recorder is None else recorder.history
    async with RestClient(retry_after_unit=venue.retry_after_unit) as rest:
        authenticate = warming_up(venue, rest, authenticate, record_history=record_history)
        live = None if options.no_follow else watch(venue, stream, authenticate=authenticate, record=_each(hooks))
        sinks = views.sinks
        resolver = None
        if views.wants_titles:
            resolver = TitleResolver(venue, rest, titles=views.titles, outcomes=views.outcomes, on_title=views.redraw)
            sinks = [resolver, *sinks]
        items = follow(
            venue,
            live,
            rest,
            ledger,
            since=since,
            authenticate=authenticate,
            record_history=record_history,
        )
        select = views.filter(selector(options.markets, options.kinds), globs=options.markets, kinds=options.kinds)
        positions = _starting_positions(venue, rest, views)
        try:
            return await run(items, sinks, select=select, max_events=options.max_events, duration=options.seconds())
        finally:
            if positions is not None:
                positions.cancel()
            if resolver is not None:
                await resolver.aclose()


def _starting_positions(venue: Venue, rest: RestClient, views: Views) -> asyncio.Task[None] | None:
    """Read the positions held before the run in the background, for the views that show positions."""
    if not views.wants_titles or not hasattr(venue, "positions_request"):
        return None

    async def read() -> None:
        found = await read_positions(venue, rest)
        for market, qty in found or ():
            views.session.book.start(venue.name, market, qty)
        if found:
            views.session.version += 1
            if views.redraw is not None:
                views.redraw()

    return asyncio.get_running_loop().create_task(read())


def printed_to(output: Path, venue: str) -> list[Event]:
    """The events of `venue` among the last lines of an ``--output`` file (hostile: bad lines skipped)."""
    events = []
    for line in read_tail(output):
        try:
            fields = orjson.loads(line)
            event = parse_record(fields) if isinstance(fields, dict) else None
        except (ValueError, TypeError, ArithmeticError):  # orjson's errors included
            continue
        if event is not None and event.venue == venue:
            events.append(event)
    return events


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


def run_to_end(main: Coroutine[Any, Any, ExitCode]) -> int:
    """``asyncio.run(main)``; a stdout closed while the last lines were written is a normal end."""
    try:
        return asyncio.run(main)
    except BrokenPipeError:  # stdout closed while the last lines were written
        return ExitCode.OK
