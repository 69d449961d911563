"""``replay``: a recording (or an ``--output`` file) read back into the items the live run showed.

Frames go through the stream's own :class:`~fillwatch.net.stream.Dispatch`
(parsing, skipped frames and their count, ``--raw`` attachment: the code the
live run uses, fed recorded frames instead of a socket), history pages through
the venue's ``parse_history``; the de-duplication ledger and the backfill
order follow the rules of :mod:`fillwatch.session.follow`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

import orjson

from fillwatch import venues
from fillwatch.core.errors import ConfigError
from fillwatch.core.events import Cancel, Event, Fill, Item, Skipped
from fillwatch.core.files import open_regular
from fillwatch.core.ledger import Checkpoint, Ledger, aware_time
from fillwatch.core.lines import parse_record
from fillwatch.net.failures import _Refused, _Resubscribe
from fillwatch.net.stream import Dispatch, Stream, Streamed, StreamOptions
from fillwatch.session.entries import MAGIC, VERSION, End, Entry, FailedBackfill, Floor, Frame, Header, History
from fillwatch.session.follower import BATCH
from fillwatch.venues.base import Venue

__all__ = ["read", "replay"]

_YIELD_EVERY = 256  # entries replayed between two turns of the event loop


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
        return Header(venue, None if fields.get("checkpoint") is None else Checkpoint.from_json(fields["checkpoint"]))
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


def _time_of(entry: Frame | History | FailedBackfill | End | Event) -> float:
    return entry.ts.timestamp() if isinstance(entry, (Fill, Cancel)) else entry.t


async def replay(
    entries: Iterable[Entry],
    *,
    speed: float | None = None,
    raw: bool = False,
    make_venue: Callable[[str], Venue] = venues.parser,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Item]:
    """The items a recording (or event-lines file) describes, as the live run saw them.

    Frames go through the stream's :class:`~fillwatch.net.stream.Dispatch` and
    history pages through the venue's ``parse_history``, exactly as in the live
    run; each header starts a new session with a fresh adapter and a fresh
    de-duplication ledger (from the run's checkpoint, if it had one). The pages
    of one backfill (pages with the same ``since``, frames in between allowed;
    a kind read again from its first page begins the next backfill, though it
    starts from the same time) are gathered and their events shown in time
    order before the next event of a frame, as the live run does
    (:mod:`fillwatch.session.follow`: a batch at a time, by the same ``BATCH``
    rule). Event lines are shown as they are.

    Args:
        entries: from :func:`read`.
        speed: pace the items at this many times real time (receive times for
            a recording, event times for event lines); None: as fast as possible.
        raw: attach each frame to its events (``--raw``).
        make_venue: builds a parse-only adapter from a venue name.
        clock: monotonic seconds, for pacing.
    """
    state = _Replay(raw=raw, make_venue=make_venue)
    start: tuple[float, float] | None = None  # (first entry's time, clock then)
    for count, entry in enumerate(entries, 1):
        if speed is None and count % _YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let the runner flush and see signals: output streams out
        shown, done = state.before(entry)
        for item in shown:
            yield item
        if done:
            continue
        assert isinstance(entry, (Frame, History, Fill, Cancel))
        if speed is not None:
            at = _time_of(entry)
            if start is None:
                start = (at, clock())
            delay = start[1] + (at - start[0]) / speed - clock()
            if delay > 0:
                await asyncio.sleep(delay)
        for item in state.take(entry):
            yield item
    for item in state.finish():
        yield item


class _Replay:
    """Where a replay stands: the session's adapter and ledger, the backfill being gathered, what a frame gave."""

    def __init__(self, *, raw: bool, make_venue: Callable[[str], Venue]) -> None:
        self._raw = raw
        self._make_venue = make_venue
        self.at = 0.0  # the time of the frame or page being parsed: the adapter's clock, as in the run
        self._stream: Stream | None = None  # one for the whole replay: skipped frames are counted across sessions
        self._dispatch: Dispatch | None = None
        self._ledger: Ledger | None = None  # the session's
        self._admit: Callable[[Event], bool] | None = None  # its admit
        self._backfill: list[Event] = []  # the events of the backfill being gathered
        self._backfill_since: datetime | None = None
        self._read_kinds: set[str] = (
            set()
        )  # the kinds of history the gathered backfill read (each once, from page None)
        self._held: list[Item] = []  # what the last frame gave: the run may have stopped before showing all of it

    def clock(self) -> float:
        return self.at

    def before(self, entry: Entry) -> tuple[list[Item], bool]:
        """What is shown before `entry` is taken, and whether that was all of it (a header, a floor, an end)."""
        if isinstance(entry, End):
            return self._end(entry), True
        shown, self._held = self._held, []
        if isinstance(entry, FailedBackfill):
            self._backfill.clear()  # the run showed none of it
            self._read_kinds.clear()
            return shown, True
        if isinstance(entry, History) and entry.page is None and entry.kind in self._read_kinds:
            self._backfill_since = None  # a kind read again: the next backfill, even from the same time (the floor)
        same_backfill = isinstance(entry, History) and entry.since == self._backfill_since
        if self._backfill and not isinstance(entry, Frame) and not same_backfill:
            shown += self._gathered()
            self._read_kinds.clear()
        if isinstance(entry, Header):
            self._session(entry.venue, entry.checkpoint)
            return shown, True
        if isinstance(entry, Floor):
            if self._ledger is not None:
                self._ledger.set_floor(entry.at)
            return shown, True
        return shown, False

    def take(self, entry: Frame | History | Event) -> list[Item]:
        """What `entry` shows at once (a frame's items wait: see :meth:`before`)."""
        if isinstance(entry, (Fill, Cancel)):
            return [entry]
        self.at = entry.t
        if isinstance(entry, History):
            return self._page(entry)
        assert self._dispatch is not None  # read() refuses frames before a header
        with contextlib.suppress(_Resubscribe, _Refused):  # the live run reconnected; nothing to show
            self._dispatch.frame(entry.data)
        return []

    def finish(self) -> list[Item]:
        shown, self._held = self._held, []
        return shown + self._gathered()

    def _session(self, name: str, checkpoint: Checkpoint | None) -> None:
        venue = self._make_venue(name)
        venue.clock = self.clock
        if checkpoint is not None and checkpoint.memory is not None:
            try:
                venue.recall(checkpoint.memory)
            except ValueError as exc:
                raise ConfigError(f"a session's checkpoint cannot be read ({exc})") from None
        if self._stream is None:
            self._stream = Stream(venue, StreamOptions(url="", raw=self._raw))
        self._stream.venue = venue
        self._dispatch = Dispatch(self._stream, self._parsed, lambda: None)
        self._ledger = Ledger(checkpoint=checkpoint)
        self._admit = self._ledger.admit

    def _parsed(self, item: Streamed) -> None:
        """One item of a frame, from the stream's dispatch (status and requests are the live run's own)."""
        if isinstance(item, (Fill, Cancel)):
            if self._backfill:  # the live run showed what it had read before this frame's events
                self._held += self._gathered()
            if self._admit is None or self._admit(item):
                self._held.append(item)
        elif isinstance(item, Skipped):
            self._held.append(item)

    def _page(self, entry: History) -> list[Item]:
        assert self._dispatch is not None
        venue = self._stream.venue if self._stream is not None else None
        assert venue is not None
        with contextlib.suppress(ValueError):  # not a page: the run could not read it, and showed none of it
            self._backfill.extend(venue.parse_history(entry.kind, entry.body, entry.since, entry.page).events)
        if entry.since != self._backfill_since:
            self._read_kinds.clear()
        self._read_kinds.add(entry.kind)
        self._backfill_since = entry.since
        return self._gathered() if len(self._backfill) >= BATCH else []

    def _gathered(self) -> list[Item]:
        shown: list[Item] = []
        shown += _in_time_order(self._backfill, self._admit)
        self._backfill.clear()
        return shown

    def _end(self, entry: End) -> list[Item]:
        """The run stopped: the last frame's items and the pending backfill only up to the last event it
        showed (a frame received while a backfill was shown may be unshown)."""
        shown = _in_time_order(self._backfill, self._admit)
        keys = [(event.id, event.order_id) for event in shown]
        held = self._held
        if entry.last in keys:
            held += shown[: keys.index(entry.last) + 1]
        self._backfill.clear()
        self._held = []
        return _up_to(held, entry.last)


def _up_to(items: list[Item], last: tuple[str, str] | None) -> list[Item]:
    """`items` up to the event whose key is `last`; without it, none of the events (the run showed none).

    A `last` of None says nothing (a recorder told of no event): every item is kept.
    """
    keys = [(item.id, item.order_id) if isinstance(item, (Fill, Cancel)) else None for item in items]
    if last is None:
        return items
    if last in keys:
        return items[: keys.index(last) + 1]
    return [item for item in items if not isinstance(item, (Fill, Cancel))]


def _in_time_order(events: list[Event], admit: Callable[[Event], bool] | None) -> list[Event]:
    """One backfill's events, oldest first (ties by id, as the live backfill), duplicates dropped."""
    ordered = sorted(events, key=lambda event: (event.ts, event.id))
    return ordered if admit is None else [event for event in ordered if admit(event)]
