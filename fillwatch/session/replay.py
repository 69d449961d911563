"""``replay``: a recording (or an ``--output`` file) read back into the items the live run showed.

Replay runs the live run's own code, fed from the recording: frames go through
the stream's :class:`~fillwatch.net.stream.Dispatch` (parsing, skipped frames,
``--raw``) into the same :class:`~fillwatch.session.follower.Follower` (the
ledger, backfills beside the stream, what waits for a read and when it is
shown), whose history reads are answered by the recorded pages, in recorded
order, instead of the REST API (:class:`_Recorded`, a
:class:`~fillwatch.session.history.HistorySource`). The adapter is built with
the recorded clock. Replay itself decides only what the recording says and
the live code cannot know: a recorded read nobody asked for yet (``--since``,
an owed read retried by its timer) is started as the Follower starts one, a
recorded failure fails the read it names, and the end of a session stops
where the run stopped: what the last entry gave waits for the next entry (the
run went on, so it showed all of it) or for the end (which cuts it after the
last event the run showed).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

import orjson

from fillwatch import venues
from fillwatch.core.errors import ConfigError
from fillwatch.core.events import BackfillFailed, Cancel, Event, Fill, Item, Skipped
from fillwatch.core.files import open_regular
from fillwatch.core.ledger import Checkpoint, Ledger, aware_time
from fillwatch.core.lines import parse_record
from fillwatch.net.failures import _Refused, _Resubscribe
from fillwatch.net.http import RestError
from fillwatch.net.stream import Authenticate, Dispatch, Stream, StreamOptions
from fillwatch.session.entries import MAGIC, VERSION, End, Entry, FailedBackfill, Floor, Frame, Header, History
from fillwatch.session.follower import Follower
from fillwatch.session.history import BEGINNING, Pager, warming_up
from fillwatch.venues.base import Venue

__all__ = ["read", "replay"]

_YIELD_EVERY = 256  # entries replayed between two turns of the event loop
_TURNS = 8  # turns of the event loop a read is given to ask for its next page


def _entry(fields: object) -> Entry:
    """One parsed line of a recording or of an event-lines file."""
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    if fields.get("recording") == MAGIC:
        if fields.get("version") != VERSION:
            raise ValueError(f"recording version {fields.get('version')!r} is not supported (only {VERSION})")
        venue = fields.get("venue")
        if not isinstance(venue, str):
            raise ValueError("the header names no venue")
        checkpoint = None if fields.get("checkpoint") is None else Checkpoint.from_json(fields["checkpoint"])
        account = fields.get("account")
        return Header(venue, checkpoint, account if isinstance(account, str) else None)
    if "kind" in fields:
        return parse_record(fields)
    t = fields.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise ValueError("no receive time")
    if isinstance(fields.get("text"), str):
        return Frame(t, fields["text"])
    if isinstance(fields.get("binary"), str):
        return Frame(t, base64.b64decode(fields["binary"], validate=True))
    if isinstance(fields.get("history"), str):
        if isinstance(fields.get("body"), str):
            body = fields["body"].encode()
        else:
            body = base64.b64decode(fields["body_b64"], validate=True)
        since = _aware(fields["since"])
        page = fields.get("page")
        return History(t, fields["history"], body, since, page if isinstance(page, str) else None)
    if isinstance(fields.get("end"), dict):
        last = fields["end"].get("last")
        return End(t, None if last is None else (str(last[0]), str(last[1])))
    if isinstance(fields.get("floor"), str):
        return Floor(t, _aware(fields["floor"]))
    if isinstance(fields.get("backfill_failed"), str):
        return FailedBackfill(t, _aware(fields["backfill_failed"]))
    raise ValueError("neither a frame, a history page nor an event")


def _aware(value: object) -> datetime:
    """A recorded time, which must carry its zone: a naive one compares with no event time."""
    moment = aware_time(value)
    if moment is None:
        raise ValueError("a time is missing")
    return moment


def read(path: Path) -> Iterator[Entry]:
    """The entries of a recording or an ``--output`` file, one line at a time.

    A recording's frames must follow a header; an event-lines file has none.

    Raises:
        ConfigError: if the file cannot be read, or a line is not a recording
            entry or an event line (the message names the line).
    """
    try:
        file = open_regular(path, "replay file")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    with file:
        header_seen = False
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                entry = _entry(orjson.loads(line))
            except (ValueError, KeyError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
                reason = "not JSON" if isinstance(exc, orjson.JSONDecodeError) else str(exc)
                raise ConfigError(f"{path}:{number}: not a recording or an event line ({reason})") from None
            if isinstance(entry, Header):
                header_seen = True
            elif isinstance(entry, (Frame, History, FailedBackfill, Floor, End)) and not header_seen:
                raise ConfigError(f"{path}:{number}: a recorded frame before the recording's header")
            yield entry


def _time_of(entry: Frame | History | Event) -> float:
    return entry.ts.timestamp() if isinstance(entry, (Fill, Cancel)) else entry.t


async def replay(
    entries: Iterable[Entry],
    *,
    speed: float | None = None,
    raw: bool = False,
    make_venue: Callable[[str], Venue] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Item]:
    """The items a recording (or event-lines file) describes, as the live run showed them.

    Each header starts a new session: a fresh adapter (from its checkpoint's
    memory, if the run had one), ledger and :class:`Follower`; its frames and
    pages are fed to them in recorded order. Events, and skipped frames, are
    yielded (status items are the live run's own: not shown again); event
    lines are shown as they are.

    Args:
        entries: from :func:`read`.
        speed: pace the items at this many times real time (receive times for
            a recording, event times for event lines); None: as fast as possible.
        raw: attach each frame to its events (``--raw``).
        make_venue: builds a parse-only adapter from a venue name (default: the
            registry's ``venues.parser``, with the recorded clock).
        clock: monotonic seconds, for pacing.
    """
    player = _Player(raw=raw, make_venue=make_venue)
    start: tuple[float, float] | None = None  # (first entry's time, clock then)
    try:
        for count, entry in enumerate(entries, 1):
            if speed is None and count % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the runner flush and see signals: output streams out
            if not isinstance(entry, End):  # the run went on: it showed all the last entry gave (see End)
                for item in player.release():
                    yield item
            if speed is not None and isinstance(entry, (Frame, History, Fill, Cancel)):
                at = _time_of(entry)
                if start is None:
                    start = (at, clock())
                delay = start[1] + (at - start[0]) / speed - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            await player.take(entry)
        await player.end_session(None)
        for item in player.release():
            yield item
    finally:
        await player.end_session(None)


class _Recorded:
    """The recording's history pages: each answers the read that asks next (a ``HistorySource``)."""

    def __init__(self) -> None:
        self._asked: asyncio.Future[tuple[float, bytes]] | None = None
        self._pager: Pager | None = None

    @property
    def asked(self) -> bool:
        return self._asked is not None and not self._asked.done()

    async def page(
        self, pager: Pager, clock: Callable[[], float], authenticate: Authenticate | None
    ) -> tuple[float, bytes]:
        self._pager = pager
        self._asked = asyncio.get_running_loop().create_future()
        return await self._asked

    def answer(self, entry: History) -> None:
        """The read asking gets `entry` (the request the recording names: the same one, for a real run's)."""
        assert self._asked is not None
        assert self._pager is not None
        self._pager.answer(entry.kind, entry.since, entry.page)
        self._asked.set_result((entry.t, entry.body))

    def fail(self) -> None:
        assert self._asked is not None
        self._asked.set_exception(RestError("the recorded read failed"))


class _Player:
    """Where a replay stands: the session being played, and what it showed since the last entry."""

    def __init__(self, *, raw: bool, make_venue: Callable[[str], Venue] | None) -> None:
        self._raw = raw
        self._make_venue = make_venue
        self.at = 0.0  # the time of the frame or page being fed: the adapter's clock, as in the run
        self._stream: Stream | None = None  # one for the whole replay: skipped frames are counted across sessions
        self._session: _Session | None = None
        self._shown: list[Item] = []  # what the last entry gave: the run may have stopped part-way (see End)
        self._account: str | None = None  # what the session being played showed its events under
        self._failures = 0  # failed reads the follower reported that no recorded failure matched yet

    def clock(self) -> float:
        return self.at

    def release(self) -> list[Item]:
        shown, self._shown = self._shown, []
        return shown

    def out(self, item: Item) -> None:
        if isinstance(item, (Fill, Cancel)):
            item.account = self._account  # type: ignore[misc]  # as the run's Runner stamped it
            self._shown.append(item)
        elif isinstance(item, Skipped):
            self._shown.append(item)
        elif isinstance(item, BackfillFailed):
            self._failures += 1

    async def take(self, entry: Entry) -> None:
        session = self._session
        if isinstance(entry, Header):
            await self.end_session(None)
            self._session = self._start(entry)
        elif isinstance(entry, (Fill, Cancel)):
            self._shown.append(entry)
        elif isinstance(entry, End):
            await self.end_session(entry)
        elif session is None:
            return  # read() refuses recorded entries before a header
        elif isinstance(entry, Floor):
            session.ledger.set_floor(entry.at)
        elif isinstance(entry, FailedBackfill):
            if self._failures == 0:
                await session.fail()
            self._failures = max(0, self._failures - 1)
        else:
            self.at = entry.t
            await (session.page(entry) if isinstance(entry, History) else session.frame(entry))

    def _start(self, header: Header) -> _Session:
        self._account = header.account or header.venue
        if self._make_venue is None:
            venue = venues.parser(header.venue, clock=self.clock)
        else:
            venue = self._make_venue(header.venue)
        checkpoint = header.checkpoint
        if checkpoint is not None and checkpoint.memory is not None:
            try:
                venue.recall(checkpoint.memory)
            except ValueError as exc:
                raise ConfigError(f"a session's checkpoint cannot be read ({exc})") from None
        if self._stream is None:
            self._stream = Stream(venue, StreamOptions(url="", raw=self._raw))
        self._stream.venue = venue
        self._failures = 0
        return _Session(venue, checkpoint, self._stream, out=self.out, clock=self.clock)

    async def end_session(self, end: End | None) -> None:
        """The session ends: where the run stopped (`end`), or with no end recorded (what was gathered shows)."""
        session, self._session = self._session, None
        if session is None:
            return
        last = None if end is None else end.last
        if end is None or (last is not None and last not in _keys(self._shown)):
            session.follower.show_gathered()  # the run showed what its read had gathered, and stopped
        await session.close()
        if end is not None:
            self._shown = _up_to(self._shown, last)


class _Session:
    """One recorded session played: the adapter, its ledger, the :class:`Follower` and the stream's dispatch."""

    def __init__(
        self,
        venue: Venue,
        checkpoint: Checkpoint | None,
        stream: Stream,
        *,
        out: Callable[[Item], None],
        clock: Callable[[], float],
    ) -> None:
        self.venue = venue
        self.ledger = Ledger(checkpoint=checkpoint)
        self.history = _Recorded()
        self.warm_up = warming_up(venue, self.history, None, clock=clock)
        self.follower = Follower(
            venue, self.history, self.ledger, out=out, clock=clock,  # the warm-up runs where the recording shows it
            retry_interval=math.inf, wait_cap=math.inf,  # the recording's order says when these fired
        )  # fmt: skip
        self.dispatch = Dispatch(stream, self.follower.live, lambda: None)
        self._tasks: list[asyncio.Task[None]] = []

    async def frame(self, entry: Frame) -> None:
        with contextlib.suppress(_Resubscribe, _Refused):  # the live run reconnected; nothing to show
            self.dispatch.frame(entry.data)

    async def page(self, entry: History) -> None:
        """Answer the read asking with `entry`; none asking: start the read the recording shows."""
        if not await self._asked():
            if self.warm_up is not None and entry.since == BEGINNING and entry.kind in self.venue.warm_up:
                self._tasks.append(asyncio.get_running_loop().create_task(self._warm_up(self.warm_up)))
            else:
                self.follower.backfill()
            if not await self._asked():
                return
        self.history.answer(entry)
        await self._asked()  # the read takes it, and asks for the next page (or ends)

    async def _warm_up(self, hook: Authenticate) -> None:
        """The stream's first attempt, as far as history goes (a failure is retried with the next attempt)."""
        with contextlib.suppress(RestError):
            await hook(False)

    async def fail(self) -> None:
        """The read asking failed (after the REST client's retries)."""
        if await self._asked():
            self.history.fail()
            await self._asked()

    async def _asked(self) -> bool:
        """Whether a read asks for a page, once the event loop gave the reads a few turns."""
        for _ in range(_TURNS):
            if self.history.asked:
                return True
            await asyncio.sleep(0)
        return self.history.asked

    async def close(self) -> None:
        await self.follower.aclose()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _keys(items: list[Item]) -> list[tuple[str, str] | None]:
    return [(item.id, item.order_id) if isinstance(item, (Fill, Cancel)) else None for item in items]


def _up_to(items: list[Item], last: tuple[str, str] | None) -> list[Item]:
    """`items` up to the event whose key is `last`; without it, none of the events (the run showed none).

    A `last` of None says nothing (a recorder told of no event): every item is kept.
    """
    keys = _keys(items)
    if last is None:
        return items
    if last in keys:
        return items[: keys.index(last) + 1]
    return [item for item in items if not isinstance(item, (Fill, Cancel))]
