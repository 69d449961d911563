"""What was printed: de-duplication over a bounded window, and the checkpoint.

Neither venue numbers or replays private messages, so "nothing twice" is built
here: an event is printed only the first time its key (venue, id, order_id)
is seen. Keys are kept for the events of the last `overlap` before the newest
event (the window every backfill re-reads) — or, while a failed backfill is
owed, since that gap's start — capped at `capacity` keys, so memory stays
flat however long the run. History events older than that window
count as printed: a backfill never reaches back past it, except from a
checkpoint, whose older events a previous run printed.

Keys are kept a little longer than the window (`SLACK`): the same event can
carry different times from different sources (a legacy live fill says whole
seconds, its REST twin milliseconds), and a key must outlive every time a
backfill could still return its twin with.

Pure: no clock, no files (``state.py`` reads and writes checkpoints).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fillwatch.events import Event

__all__ = ["Checkpoint", "Ledger"]

Key = tuple[str, str]
"""(id, order_id): the venue is the same for every event of a run."""

SLACK = timedelta(seconds=5)
"""How much longer than the window keys are kept: more than any precision difference."""

SWEEP_EVERY = 1024
"""Admissions between two sweeps of the keys that left the window (the capacity is checked every time)."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a run leaves for the next one with the same ``--state`` file."""

    newest: datetime | None
    """The newest event time printed."""
    seen: tuple[Key, ...]
    """Keys printed within the overlap window before `newest`."""
    resume_from: datetime | None = None
    """The start of a gap whose backfill never succeeded: the next backfill starts there."""
    memory: Any = None
    """What the venue adapter must remember across runs, as JSON (Novig: the orders it knew open)."""

    def to_json(self) -> dict[str, object]:
        """The JSON object that ``--state`` files and recordings keep."""
        document = {"newest": _iso(self.newest), "resume_from": _iso(self.resume_from), "seen": self.seen}
        return document if self.memory is None else {**document, "memory": self.memory}

    @classmethod
    def from_json(cls, value: object) -> Checkpoint:
        """The checkpoint kept by :meth:`to_json`.

        Raises:
            ValueError, KeyError, TypeError: `value` is not such an object.
        """
        if not isinstance(value, dict):
            raise ValueError("the checkpoint is not an object")
        seen = tuple((str(id_), str(order_id)) for id_, order_id in value["seen"])
        return cls(_time(value["newest"]), seen, _time(value.get("resume_from")), value.get("memory"))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    return datetime.fromisoformat(value)


class Ledger:
    """Admits each event once; remembers the newest event time."""

    def __init__(
        self,
        *,
        overlap: timedelta = timedelta(seconds=60),
        capacity: int = 200_000,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.overlap = overlap
        self.capacity = capacity
        self.newest: datetime | None = None
        self.resume_from: datetime | None = None
        self.resumed = checkpoint is not None
        """Whether a previous run left a checkpoint: this run starts by reading what it missed."""
        self._seen: dict[Key, datetime] = {}
        self._admitted = 0
        self._next_sweep = SWEEP_EVERY
        if checkpoint is not None:
            self.newest = checkpoint.newest
            self.resume_from = checkpoint.resume_from
            for key in checkpoint.seen:
                self._seen[key] = checkpoint.newest  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self._seen)

    def admit(self, event: Event) -> bool:
        """True the first time `event` is seen (and record it); False for a duplicate."""
        key = (event.id, event.order_id)
        seen = self._seen
        if key in seen:
            return False
        ts = event.ts
        newest = self.newest
        if newest is None or ts > newest:
            self.newest = ts
        elif event.source == "history" and ts < self._window_start():
            return False  # older than the window: printed by an earlier run or connection
        seen[key] = ts
        self._admitted += 1
        if self._admitted >= self._next_sweep or len(seen) > self.capacity:
            self._sweep()
        return True

    def refuses(self, event: Event) -> bool:
        """Whether :meth:`admit` would refuse `event` (without recording it): seen, or history too old."""
        if (event.id, event.order_id) in self._seen:
            return True
        return event.source == "history" and self.newest is not None and event.ts < self._window_start()

    def _sweep(self) -> None:
        """Forget the keys that left the window (every `SWEEP_EVERY` admissions: cheap per event)."""
        horizon = self._window_start() - SLACK
        seen = self._seen
        while seen and (len(seen) > self.capacity or next(iter(seen.values())) < horizon):
            del seen[next(iter(seen))]
        self._next_sweep = self._admitted + SWEEP_EVERY

    def _window_start(self) -> datetime:
        """The oldest event time a backfill may still return: the overlap, or an owed gap's start."""
        assert self.newest is not None
        start = self.newest - self.overlap
        return min(start, self.resume_from) if self.resume_from else start

    def backfill_from(self, fallback: datetime) -> datetime:
        """Where a backfill after a gap starts: the last event time (or `fallback`) less the overlap.

        An unresolved earlier gap moves the start back to where that gap began.
        """
        start = (self.newest or fallback) - self.overlap
        return min(start, self.resume_from) if self.resume_from else start

    def owe(self, since: datetime) -> None:
        """Remember that history from `since` could not be read."""
        self.resume_from = min(since, self.resume_from) if self.resume_from else since

    def settle(self) -> None:
        """A backfill covering every owed gap succeeded."""
        self.resume_from = None

    def checkpoint(self) -> Checkpoint:
        """The keys still in the window, for the next run."""
        if self.newest is None:
            return Checkpoint(None, (), self.resume_from)
        horizon = self._window_start() - SLACK
        keys: Iterable[Key] = (key for key, ts in self._seen.items() if ts >= horizon)
        return Checkpoint(self.newest, tuple(keys), self.resume_from)
