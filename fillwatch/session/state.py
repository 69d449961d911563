"""The ``--state`` checkpoint file: locked while in use, replaced atomically.

Format (JSON, version 1)::

    {"version": 1, "venue": "kalshi", "account": "<key id>",
     "newest": "2026-11-21T20:33:25.762000+00:00", "resume_from": null,
     "seen": [["<id>", "<order_id>"], ...], "memory": {...}}

``memory`` (optional) is what the venue adapter keeps for the next run
(``Venue.memory``; Novig: the orders it knew open), as the adapter wrote it.
``floor`` (optional) is the history floor of the file's first run (CONTRACT §2).

Between two saves, every burst of lines written is followed by one append to
the journal ``FILE.journal`` beside it, one line per event printed::

    ["2026-11-21T20:33:25.762000+00:00","<id>","<order_id>"]

so that a run killed with ``kill -9`` leaves a checkpoint that covers every
burst but (at most) the one it was writing. :meth:`StateFile.load` reads the
journal after the file (its torn or garbage lines are skipped); every save
empties it, and so does the start of every run.

An advisory lock (``flock`` on ``FILE.lock``, beside the file: the file itself
is replaced on every save, so it cannot carry the lock) keeps two processes
from sharing one checkpoint. Saves write a temporary file in the same
directory, fsync it, and rename it over the old one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson

from fillwatch.core.appending import append, open_append, read_tail
from fillwatch.core.errors import ConfigError, WriteFailed
from fillwatch.core.events import Event, Status
from fillwatch.core.files import open_regular
from fillwatch.core.ledger import Checkpoint, Ledger

__all__ = ["CheckpointSink", "StateDirectory", "StateFile", "journal_line", "private_directory"]

VERSION = 1
JOURNAL_BYTES = 64 << 20
"""How much of the journal's end is read (it holds the events of at most one save interval)."""


def journal_line(ts: datetime | None, event: Event) -> bytes:
    """The journal line of one printed event, counted as printed at `ts`."""
    return orjson.dumps([None if ts is None else ts.isoformat(), event.id, event.order_id]) + b"\n"


def _take_lock(lock_path: Path, what: str) -> int:
    """The descriptor holding an exclusive ``flock`` on `lock_path` (created), or a ConfigError at once."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot create the state lock {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"{what} is in use by another fillwatch process") from None
    return fd


_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def private_directory(path: Path, *, option: str, holds: str, what: str) -> None:
    """Make `path` a directory (mode 700, parents too) if it is not one: a watch's ``--state`` or
    ``--record``, which hold one `holds` file per account.

    Raises:
        ConfigError: it is something else, or cannot be made.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{option} {path} must be a directory for watch (one {holds} per account)") from None
    except OSError as exc:
        raise ConfigError(f"cannot create the {what} directory {path}: {exc.strerror}") from None


class StateDirectory:
    """A ``watch``'s ``--state``: a directory with one checkpoint file per account, ``NAME.state``.

    The directory is locked as a whole (``watch.lock`` in it) for the run, so that two
    watches never share an account's checkpoint; each account's file then works as a
    single run's ``--state`` file does (journal and lock beside it). It is created
    (mode 700) when missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Create the directory if need be and take its lock.

        Raises:
            ConfigError: the path is not a directory, cannot be created, or another process holds the lock.
        """
        private_directory(self.path, option="--state", holds="checkpoint", what="state")
        self._lock_fd = _take_lock(self.path / "watch.lock", f"state directory {self.path}")

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def file(self, account: str) -> Path:
        """Where `account`'s checkpoint lives.

        Raises:
            ConfigError: the account's name cannot name a file (letters, digits, ``.``, ``_``, ``-``).
        """
        if not _ACCOUNT_NAME.fullmatch(account):
            raise ConfigError(
                f"profile name {account!r} cannot name its checkpoint file: use letters, digits, '.', '_' and '-'"
            )
        return self.path / f"{account}.state"


class StateFile:
    """One checkpoint file, for one venue account."""

    def __init__(self, path: Path, *, venue: str, account: str) -> None:
        self.path = path
        self.venue = venue
        self.account = account
        self.journal_path = path.with_name(path.name + ".journal")
        self._lock_fd: int | None = None
        self._journal_fd: int | None = None

    def lock(self) -> None:
        """Take the advisory lock, or fail at once if another process holds it.

        Raises:
            ConfigError: the file is in use, or its directory is not writable.
        """
        self._lock_fd = _take_lock(self.path.with_name(self.path.name + ".lock"), f"state file {self.path}")

    def unlock(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def journal(self, printed: bytes) -> None:
        """Append journal lines (:func:`journal_line`) for events just written, whole or not at all.

        Raises:
            WriteFailed: the journal cannot be written.
        """
        if self._journal_fd is None:
            try:
                self._journal_fd, _ = open_append(self.journal_path, 0o600)
            except OSError as exc:
                raise WriteFailed(f"cannot open the state journal {self.journal_path}: {exc.strerror}") from None
        append(self._journal_fd, printed, name=f"state journal {self.journal_path}", regular=True)

    def _clear_journal(self) -> None:
        """Empty the journal: the file just saved covers it."""
        try:
            if self._journal_fd is not None:
                os.ftruncate(self._journal_fd, 0)
            elif self.journal_path.exists():
                os.truncate(self.journal_path, 0)
        except OSError as exc:
            raise WriteFailed(f"cannot empty the state journal {self.journal_path}: {exc.strerror}") from None

    def _read_journal(self) -> list[tuple[datetime | None, str, str]]:
        """The journal's entries; lines that are torn or not entries are skipped."""
        entries = []
        for line in read_tail(self.journal_path, JOURNAL_BYTES):
            try:
                ts, id_, order_id = orjson.loads(line)
                moment = None if ts is None else datetime.fromisoformat(ts)
            except (ValueError, TypeError):  # orjson's errors included
                continue
            if isinstance(id_, str) and isinstance(order_id, str) and (moment is None or moment.tzinfo is not None):
                entries.append((moment, id_, order_id))
        return entries

    def load(self) -> Checkpoint | None:
        """The saved checkpoint, or None when there is no file yet.

        Raises:
            ConfigError: the file is unreadable, malformed, or another account's.
        """
        try:
            with open_regular(self.path, "state file") as file:
                data = orjson.loads(file.read())
        except FileNotFoundError:
            journal = self._read_journal()  # a first run killed before its first save
            return Checkpoint(None, ()).including(journal) if journal else None
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"state file {self.path} cannot be read: {exc}") from None
        try:
            if data["version"] != VERSION:
                raise ConfigError(f"state file {self.path} has version {data['version']}, expected {VERSION}")
            if (data["venue"], data["account"]) != (self.venue, self.account):
                raise ConfigError(
                    f"state file {self.path} belongs to {data['venue']} account {data['account']}, "
                    f"not {self.venue} account {self.account}"
                )
            checkpoint = Checkpoint.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"state file {self.path} is malformed ({exc})") from None
        return checkpoint.including(self._read_journal())

    def save(self, checkpoint: Checkpoint) -> None:
        """Replace the file atomically with `checkpoint`, then empty the journal.

        Raises:
            WriteFailed: the file cannot be written (the old one stays).
        """
        document = {"version": VERSION, "venue": self.venue, "account": self.account, **checkpoint.to_json()}
        directory = self.path.parent
        try:
            fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        except OSError as exc:
            raise WriteFailed(f"cannot write the state file {self.path}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps(document))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise WriteFailed(f"cannot write the state file {self.path}: {exc.strerror}") from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self._clear_journal()


class CheckpointSink:
    """Keeps the checkpoint up to date with the lines written before it.

    It sits after stdout and ``--output`` among the sinks, and the runner
    flushes it only when they were flushed, so a checkpoint never claims a
    line that was not written. Every flush appends the events of the burst to
    the journal; full saves are throttled to one per `interval` seconds while
    events flow, plus one when the run starts and one at its end. A run that
    could not write its lines ends with :meth:`abort`, which saves nothing more.
    """

    def __init__(
        self,
        state: StateFile,
        ledger: Ledger,
        *,
        memory: Callable[[], object] = lambda: None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`memory` gives what the venue adapter keeps for the next run (``Venue.memory``)."""
        self._state = state
        self._ledger = ledger
        self._memory = memory
        self._interval = interval
        self._clock = clock
        self._pending: list[Event] = []
        self._save(clock())  # a clean start: the journal read at load is in the file now

    def event(self, event: Event) -> None:
        self._pending.append(event)

    def status(self, status: Status) -> None:
        pass

    def flush(self) -> None:
        if not self._pending:
            return
        stamp = self._ledger.stamp  # journaled first: a kill during the slower full save repeats nothing
        self._state.journal(b"".join([journal_line(stamp(event), event) for event in self._pending]))
        self._pending.clear()
        now = self._clock()
        if now - self._last_save >= self._interval:
            self._save(now)

    def close(self) -> None:
        """The run ended with every line written: save the checkpoint."""
        try:
            self._save(self._clock())
        finally:
            self._state.unlock()

    def abort(self) -> None:
        """The run ended with lines unwritten: the last save and the journal stand, nothing newer."""
        self._state.unlock()

    def _save(self, now: float) -> None:
        self._state.save(dataclasses.replace(self._ledger.checkpoint(), memory=self._memory()))
        self._last_save = now
        self._pending.clear()
