"""The ``--state`` checkpoint file: locked while in use, replaced atomically.

Format (JSON, version 1)::

    {"version": 1, "venue": "kalshi", "account": "<key id>",
     "newest": "2026-11-21T20:33:25.762000+00:00", "resume_from": null,
     "seen": [["<id>", "<order_id>"], ...], "memory": {...}}

``memory`` (optional) is what the venue adapter keeps for the next run
(``Venue.memory``; Novig: the orders it knew open), as the adapter wrote it.

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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from fillwatch.errors import ConfigError
from fillwatch.events import Event, Status
from fillwatch.files import open_regular
from fillwatch.ledger import Checkpoint, Ledger

__all__ = ["CheckpointSink", "StateFile"]

VERSION = 1


class StateFile:
    """One checkpoint file, for one venue account."""

    def __init__(self, path: Path, *, venue: str, account: str) -> None:
        self.path = path
        self.venue = venue
        self.account = account
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Take the advisory lock, or fail at once if another process holds it.

        Raises:
            ConfigError: the file is in use, or its directory is not writable.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"cannot create the state lock {lock_path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(f"state file {self.path} is in use by another fillwatch process") from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def load(self) -> Checkpoint | None:
        """The saved checkpoint, or None when there is no file yet.

        Raises:
            ConfigError: the file is unreadable, malformed, or another account's.
        """
        try:
            with open_regular(self.path, "state file") as file:
                data = orjson.loads(file.read())
        except FileNotFoundError:
            return None
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
            return Checkpoint.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"state file {self.path} is malformed ({exc})") from None

    def save(self, checkpoint: Checkpoint) -> None:
        """Replace the file atomically with `checkpoint`."""
        document = {"version": VERSION, "venue": self.venue, "account": self.account, **checkpoint.to_json()}
        directory = self.path.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps(document))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


class CheckpointSink:
    """Saves the ledger's checkpoint after the lines before it were written.

    It sits last among the sinks, so a checkpoint never claims a line that was
    not yet handed to stdout and ``--output``. Saves are throttled to one per
    `interval` seconds while events flow, plus one at the end of the run.
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
        self._last_save = -float("inf")
        self._dirty = False

    def event(self, event: Event) -> None:
        self._dirty = True

    def status(self, status: Status) -> None:
        pass

    def flush(self) -> None:
        now = self._clock()
        if self._dirty and now - self._last_save >= self._interval:
            self._save(now)

    def close(self) -> None:
        try:
            self._save(self._clock())
        finally:
            self._state.unlock()

    def _save(self, now: float) -> None:
        self._state.save(dataclasses.replace(self._ledger.checkpoint(), memory=self._memory()))
        self._last_save = now
        self._dirty = False
