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
backfill (``--max-events``, ``--duration``, a signal). Nothing is recorded
after the run stopped (:meth:`Recorder.stop`): an entry after another says
that the run showed all that the one before it gave, and replay relies on it.

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
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from fillwatch.core.appending import append, is_regular, open_append
from fillwatch.core.errors import ConfigError, WriteFailed
from fillwatch.core.events import BackfillFailed, Event, Status
from fillwatch.core.ledger import Checkpoint
from fillwatch.session.entries import MAGIC, VERSION, End, Entry, FailedBackfill, Floor, Frame, Header, History
from fillwatch.session.replay import read, replay

__all__ = [
    "End", "Entry", "FailedBackfill", "Floor", "Frame", "Header", "History", "RecordedClock", "Recorder", "read",
    "replay",
]  # fmt: skip


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
        account: str | None = None,
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
        self._stopped = False
        started = datetime.fromtimestamp(clock(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        header: dict[str, object] = {"recording": MAGIC, "version": VERSION, "venue": venue, "started": started}
        if account is not None:
            header["account"] = account
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

    def stop(self) -> None:
        """The run stopped (``--max-events``, a signal, a failed write): record nothing further.

        A page its read takes while the run winds down is never shown; recorded, it would tell replay
        that the run went on past the entry before it, whose items the run may have stopped inside.
        """
        self._stopped = True

    def stopping(self, then: Callable[[], None]) -> Callable[[], None]:
        """The runner's ``on_stop``: :meth:`stop`, then `then` (the stream halts)."""

        def stop() -> None:
            self.stop()
            then()

        return stop

    def _append(self, entry: dict[str, object]) -> None:
        if self._stopped:
            return
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
        """Write out the rest and close the file (nothing is recorded after it)."""
        if self._fd < 0:
            return
        self._stopped = True
        self._buffer += orjson.dumps(
            {"t": self._clock(), "end": {"last": self._last}}, option=orjson.OPT_APPEND_NEWLINE
        )
        try:
            self.flush()
        finally:
            os.close(self._fd)
            self._fd = -1
