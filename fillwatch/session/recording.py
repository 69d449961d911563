"""``--record`` and ``replay``: what the venue sent, kept to be shown again.

A recording is a JSON-lines file. Each session (one run of fillwatch) starts
with a header naming the venue, so that replay can pick the adapter; then one
line per frame received, or per page of REST history read, with its
wall-clock receive time ``t`` (Unix seconds)::

    {"recording":"fillwatch","version":1,"venue":"kalshi","started":"2026-01-02T03:04:05.678Z"}
    {"t":1767323045.712301,"text":"{\"type\":\"fill\",\"sid\":1,\"msg\":{…}}"}
    {"t":1767323046.001200,"binary":"AAE="}
    {"t":1767323046.5,"history":"fills","since":"2026-01-02T02:00:00+00:00","page":null,"body":"{\"fills\":[…]}"}
    {"t":1767323047.1,"backfill_failed":"2026-01-02T02:00:00+00:00"}
    {"t":1767323047.2,"floor":"2026-01-02T03:04:05.900000+00:00"}
    {"t":1767323050.2,"end":{"last":["d91bc706-…","ee587a1c-…"]}}

A run that starts from a ``--state`` checkpoint writes it into the header
(event ids and times, and the adapter's memory of orders: nothing secret),
so that replay de-duplicates and reconciles exactly as the run did; a
backfill that failed part-way is marked, since the run showed none of its
pages. The run's history floor (CONTRACT §2) is written when it is set, so
that replay refuses the same history. The end of a session names the last event the run
showed, so that replay stops where the run stopped, even in the middle of a
backfill (``--max-events``, ``--duration``, a signal).

Frames are kept as the exact text received (a JSON string, not re-encoded
JSON), so replay parses the very same bytes and prints the very same lines.
Only what the venue *sent* is written: never a URL, a header, a key, a
signature or a token (the frames of the private channels carry none).

:func:`read` reads a recording, or an ``--output`` file of event lines, and
:func:`replay` turns either into the items the live stream would have
yielded, as fast as possible or paced at ``speed`` times real time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from fillwatch import venues
from fillwatch.core.appending import append, is_regular, open_append
from fillwatch.core.errors import ConfigError, WriteFailed
from fillwatch.core.events import BackfillFailed, Cancel, Event, Fill, Item, Skipped, Status
from fillwatch.core.files import open_regular
from fillwatch.core.ledger import Checkpoint, Ledger, aware_time
from fillwatch.render.jsonl import format_ts, parse_record
from fillwatch.session.follow import BATCH
from fillwatch.venues.base import Malformed, Venue

__all__ = [
    "End",
    "FailedBackfill",
    "Floor",
    "Frame",
    "Header",
    "History",
    "RecordedClock",
    "Recorder",
    "read",
    "replay",
]

MAGIC = "fillwatch"
VERSION = 1
_YIELD_EVERY = 256  # entries replayed between two turns of the event loop


@dataclass(frozen=True, slots=True)
class Header:
    """The start of one recorded session."""

    venue: str
    checkpoint: Checkpoint | None = None
    """The ``--state`` checkpoint the run started from."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One WebSocket frame as received: text as ``str``, binary as ``bytes``."""

    t: float
    data: str | bytes


@dataclass(frozen=True, slots=True)
class History:
    """One page of REST history, as returned for ``parse_history(kind, body, since, page)``."""

    t: float
    kind: str
    body: bytes
    since: datetime
    page: str | None = None


@dataclass(frozen=True, slots=True)
class FailedBackfill:
    """The backfill whose pages precede this failed part-way: the run showed none of them."""

    t: float
    since: datetime


@dataclass(frozen=True, slots=True)
class Floor:
    """The run's history floor was set to `at`: no history older than it was shown from here on."""

    t: float
    at: datetime


@dataclass(frozen=True, slots=True)
class End:
    """The end of a session: `last` is the (id, order_id) of the last event shown."""

    t: float
    last: tuple[str, str] | None


Entry = Header | Frame | History | FailedBackfill | Floor | End | Event
"""One line of a recording, or one event of an event-lines file."""


class RecordedClock:
    """The time of the frame or page recorded last (the wall clock before the first): the adapter's
    clock while recording, so that the times it learns are the recorded ones and replay agrees."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.at: float | None = None

    def __call__(self) -> float:
        return self._clock() if self.at is None else self.at


class Recorder:
    """Appends one session to a recording file; a sink only so the runner closes it.

    :meth:`frame` is the stream's ``record`` hook. Lines are buffered and
    written together as soon as the event loop is idle (one ``write`` for a
    burst of frames), whole, like event lines.
    """

    def __init__(
        self,
        path: Path,
        *,
        venue: str,
        checkpoint: Checkpoint | None = None,
        clock: Callable[[], float] = time.time,
        floor: Callable[[], datetime | None] = lambda: None,
        recorded: RecordedClock | None = None,
    ) -> None:
        """Open `path` for appending (created private: mode 600) and write the header.

        `floor` gives the run's history floor (``Ledger.floor``), recorded when it changes;
        `recorded` is the clock the adapter was built with (it follows what is recorded).

        Raises:
            ConfigError: if the file cannot be opened.
        """
        try:
            self._fd, _ = open_append(path, 0o600)  # a torn last line (kill -9) is cut
            self._regular = is_regular(self._fd)
        except OSError as exc:
            raise ConfigError(f"cannot open recording file {path}: {exc.strerror}") from None
        self._name = str(path)
        self._failure: WriteFailed | None = None
        self._clock = clock
        self._floor = floor
        self._floor_recorded = None if checkpoint is None else checkpoint.floor
        self._recorded = recorded if recorded is not None else RecordedClock(clock)
        self._last: tuple[str, str] | None = None
        started = format_ts(datetime.fromtimestamp(clock(), UTC))
        header: dict[str, object] = {"recording": MAGIC, "version": VERSION, "venue": venue, "started": started}
        if checkpoint is not None:
            header["checkpoint"] = checkpoint.to_json()
        self._buffer = bytearray(orjson.dumps(header, option=orjson.OPT_APPEND_NEWLINE))
        self._flush_pending = False
        self.flush()

    def clock(self) -> float:
        """The time of the frame or page recorded last: the adapter's clock, so that replay agrees."""
        return self._recorded()

    def frame(self, t: float, data: str | bytes) -> None:
        """Record one received frame with its receive time."""
        entry = {"t": t, "text": data} if isinstance(data, str) else {"t": t, "binary": base64.b64encode(data).decode()}
        self._recorded.at = t
        self._append(entry)

    def history(self, t: float, kind: str, body: bytes, since: datetime, page: str | None) -> None:
        """Record one page of REST history, as it will be given to ``venue.parse_history``."""
        entry: dict[str, object] = {"t": t, "history": kind, "since": since.isoformat(), "page": page}
        try:
            entry["body"] = body.decode()
        except UnicodeDecodeError:
            entry["body_b64"] = base64.b64encode(body).decode()
        self._recorded.at = t
        self._append(entry)

    def _append(self, entry: dict[str, object]) -> None:
        if self._failure is not None:  # a write failed since: the run stops (exit 5)
            raise self._failure
        self._buffer += orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
        if not self._flush_pending:
            try:
                asyncio.get_running_loop().call_soon(self._write_soon)
                self._flush_pending = True
            except RuntimeError:  # no event loop: write at once
                self.flush()

    def _write_soon(self) -> None:
        """:meth:`flush` from the event loop: a failure is kept, raised by the next frame or flush."""
        try:
            self.flush()
        except WriteFailed as exc:
            self._failure = exc

    # The Sink protocol: events and status are not recorded (replay makes them again),
    # except that a backfill failed, which decides what its recorded pages showed.

    def event(self, event: Event) -> None:
        self._last = (event.id, event.order_id)

    def status(self, status: Status) -> None:
        floor = self._floor()
        if floor is not None and floor != self._floor_recorded:
            self._floor_recorded = floor
            self._append({"t": self._clock(), "floor": floor.isoformat()})
        if isinstance(status, BackfillFailed):
            self._append({"t": self._clock(), "backfill_failed": status.since.isoformat()})

    def flush(self) -> None:
        """Write out the buffered lines."""
        self._flush_pending = False
        if self._failure is not None:
            raise self._failure
        if not self._buffer:
            return
        data = bytes(self._buffer)
        self._buffer.clear()
        append(self._fd, data, name=f"recording file {self._name}", regular=self._regular)

    def close(self) -> None:
        """Write out the rest and close the file."""
        if self._fd < 0:
            return
        self._buffer += orjson.dumps(
            {"t": self._clock(), "end": {"last": self._last}}, option=orjson.OPT_APPEND_NEWLINE
        )
        try:
            self.flush()
        finally:
            os.close(self._fd)
            self._fd = -1


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

    Frames go through the venue's ``parse`` and history pages through its
    ``parse_history``, exactly as in the live run; each header starts a new
    session with a fresh adapter and a fresh de-duplication ledger (from the
    run's checkpoint, if it had one). The pages of one backfill (pages with
    the same ``since``, frames in between allowed; a kind read again from its
    first page begins the next backfill, though it starts from the same time)
    are gathered and their events shown in time order before the next event
    of a frame, as the live run does (:mod:`fillwatch.session.follow`: a batch at a
    time, by the same ``BATCH`` rule). Event lines are shown as they are.

    Args:
        entries: from :func:`read`.
        speed: pace the items at this many times real time (receive times for
            a recording, event times for event lines); None: as fast as possible.
        raw: attach each frame to its events (``--raw``).
        make_venue: builds a parse-only adapter from a venue name.
        clock: monotonic seconds, for pacing.
    """
    venue: Venue | None = None
    at = 0.0  # the time of the frame or page being parsed: the adapter's clock, as in the run

    def recorded_time() -> float:
        return at

    ledger: Ledger | None = None  # the session's
    admit: Callable[[Event], bool] | None = None  # its admit
    skipped = 0
    start: tuple[float, float] | None = None  # (first entry's time, clock then)
    backfill: list[Event] = []  # the events of the backfill being gathered
    backfill_since: datetime | None = None
    held: list[Item] = []  # what the last frame gave: the run may have stopped before showing all of it
    read_kinds: set[str] = set()  # the kinds of history the gathered backfill read (each once, from page None)
    for count, entry in enumerate(entries, 1):
        if speed is None and count % _YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let the runner flush and see signals: output streams out
        if isinstance(entry, End):
            # The run stopped: show the last frame's items and the pending backfill only up to
            # the last event it showed (a frame received while a backfill was shown may be unshown).
            shown = _in_time_order(backfill, admit)
            keys = [(event.id, event.order_id) for event in shown]
            if entry.last in keys:
                held += shown[: keys.index(entry.last) + 1]
            for item in _up_to(held, entry.last):
                yield item
            backfill.clear()
            held.clear()
            continue
        for item in held:
            yield item
        held.clear()
        if isinstance(entry, FailedBackfill):
            backfill.clear()  # the run showed none of it
            read_kinds.clear()
            continue
        if isinstance(entry, History) and entry.page is None and entry.kind in read_kinds:
            backfill_since = None  # a kind read again: the next backfill, even from the same time (the floor)
        same_backfill = isinstance(entry, History) and entry.since == backfill_since
        if backfill and not isinstance(entry, Frame) and not same_backfill:
            for event in _in_time_order(backfill, admit):
                yield event
            backfill.clear()
            read_kinds.clear()
        if isinstance(entry, Header):
            venue = make_venue(entry.venue)
            venue.clock = recorded_time
            if entry.checkpoint is not None and entry.checkpoint.memory is not None:
                try:
                    venue.recall(entry.checkpoint.memory)
                except ValueError as exc:
                    raise ConfigError(f"a session's checkpoint cannot be read ({exc})") from None
            ledger = Ledger(checkpoint=entry.checkpoint)
            admit = ledger.admit
            continue
        if isinstance(entry, Floor):
            if ledger is not None:
                ledger.set_floor(entry.at)
            continue
        if speed is not None:
            at = _time_of(entry)
            if start is None:
                start = (at, clock())
            delay = start[1] + (at - start[0]) / speed - clock()
            if delay > 0:
                await asyncio.sleep(delay)
        if isinstance(entry, (Fill, Cancel)):
            yield entry
            continue
        assert venue is not None  # read() refuses frames before a header
        at = entry.t
        if isinstance(entry, History):
            with contextlib.suppress(ValueError):  # not a page: the run could not read it, and showed none of it
                backfill.extend(venue.parse_history(entry.kind, entry.body, entry.since, entry.page).events)
            if entry.since != backfill_since:
                read_kinds.clear()
            read_kinds.add(entry.kind)
            backfill_since = entry.since
            if len(backfill) >= BATCH:
                for event in _in_time_order(backfill, admit):
                    yield event
                backfill.clear()
            continue
        for parsed in venue.parse(entry.data):
            if isinstance(parsed, (Fill, Cancel)):
                if backfill:  # the live run showed what it had read before this frame's events
                    held += _in_time_order(backfill, admit)
                    backfill.clear()
                if admit is None or admit(parsed):
                    held.append(replace(parsed, raw=entry.data) if raw else parsed)
            elif isinstance(parsed, Malformed):
                skipped += 1
                held.append(Skipped(parsed.reason, parsed.excerpt, skipped))
    for item in held:
        yield item
    for event in _in_time_order(backfill, admit):
        yield event


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
