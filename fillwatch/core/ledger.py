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

Event times are data, not truth: a time more than `AHEAD` after the clock,
or outside 2000–2100, is admitted (printed once) but never becomes `newest`,
so it moves neither the backfill start nor the checkpoint (:func:`plausible`).

The history floor (CONTRACT §2): no history event older than `floor` is
admitted, and no backfill starts below it. `origin`, the first floor a
``--state`` file ever had, travels in the checkpoint.

No files (``state.py`` reads and writes checkpoints); the only clock is the
one given, read for the plausibility of new times.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fillwatch.core.events import Event

__all__ = ["AHEAD", "Checkpoint", "Ledger", "aware_time", "plausible"]

Key = tuple[str, str]
"""(id, order_id): the venue is the same for every event of a run."""

SLACK = timedelta(seconds=5)
"""How much longer than the window keys are kept: more than any precision difference."""

SWEEP_EVERY = 1024
"""Admissions between two sweeps of the keys that left the window (the capacity is checked every time)."""

AHEAD = timedelta(minutes=5)
"""How far after the local clock an event time may lie and still move the cursor."""
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def plausible(ts: datetime, now: float) -> bool:
    """Whether event time `ts` may move the backfill cursor: 2000–2100, and at most `AHEAD` after `now`."""
    return _EARLIEST <= ts < _LATEST and ts.timestamp() <= now + AHEAD.total_seconds()


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
    floor: datetime | None = None
    """The history floor of the first run of this state: no later run prints history older than it."""

    def to_json(self) -> dict[str, object]:
        """The JSON object that ``--state`` files and recordings keep."""
        document: dict[str, object] = {
            "newest": _iso(self.newest),
            "resume_from": _iso(self.resume_from),
            "seen": self.seen,
        }
        if self.floor is not None:
            document["floor"] = _iso(self.floor)
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
        newest, resume_from = aware_time(value["newest"]), aware_time(value.get("resume_from"))
        floor = aware_time(value.get("floor"))
        return cls(newest, seen, resume_from, value.get("memory"), floor)

    def including(self, printed: Iterable[tuple[datetime | None, str, str]]) -> Checkpoint:
        """This checkpoint and the events printed after it (the ``--state`` journal: (time, id, order_id))."""
        newest, seen = self.newest, dict.fromkeys(self.seen)
        for ts, id_, order_id in printed:
            seen[(id_, order_id)] = None
            if ts is not None and (newest is None or ts > newest):
                newest = ts
        return Checkpoint(newest, tuple(seen), self.resume_from, self.memory, self.floor)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def aware_time(value: object) -> datetime | None:
    """A stored ISO 8601 time with its zone (None stays None); one without a zone is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"a time without a time zone: {value!r}")
    return moment


class Ledger:
    """Admits each event once; remembers the newest event time."""

    def __init__(
        self,
        *,
        overlap: timedelta = timedelta(seconds=60),
        capacity: int = 200_000,
        checkpoint: Checkpoint | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` (wall-clock seconds) decides which new event times are plausible."""
        self.overlap = overlap
        self.capacity = capacity
        self.newest: datetime | None = None
        self.resume_from: datetime | None = None
        self.resumed = checkpoint is not None
        """Whether a previous run left a checkpoint: this run starts by reading what it missed."""
        self.floor: datetime | None = None
        """No history event older than this is admitted; no backfill starts below it."""
        self.origin: datetime | None = None
        """The first floor of this ``--state`` file (kept in the checkpoint)."""
        self.implausible = 0
        """Events admitted whose time was implausible (kept from moving `newest`)."""
        self.first_implausible: Event | None = None
        self._clock = clock
        self._horizon = _EARLIEST
        """No event time up to this one is too far ahead (it was the clock + AHEAD when last read)."""
        self._seen: dict[Key, datetime] = {}
        self._order: deque[Key] = deque()
        """The keys of `_seen` in the order they were admitted: a sweep takes the oldest from here."""
        self._admitted = 0
        self._next_sweep = SWEEP_EVERY
        if checkpoint is not None:
            self.newest = checkpoint.newest
            self.resume_from = checkpoint.resume_from
            self.floor = self.origin = checkpoint.floor
            for key in checkpoint.seen:
                self._seen[key] = checkpoint.newest  # type: ignore[assignment]
            self._order.extend(self._seen)

    def set_floor(self, floor: datetime) -> None:
        """Print no history older than `floor` from now on (the first floor is kept as `origin`).

        The floor is cut to its whole second: a venue that dates events in whole
        seconds (Kalshi legacy, Novig NBX) gives an event made just after it the second before.
        """
        floor = floor.replace(microsecond=0)
        self.floor = floor
        if self.origin is None:
            self.origin = floor

    def remember(self, event: Event) -> None:
        """Count `event` as printed (read back from ``--output``) without moving `newest`."""
        key = (event.id, event.order_id)
        if key not in self._seen:
            latest = self.newest or datetime.fromtimestamp(self._clock(), UTC)
            self._seen[key] = min(event.ts, latest + AHEAD)  # an implausible time must not pin the keys
            self._order.append(key)

    def __len__(self) -> int:
        return len(self._seen)

    def admit(self, event: Event) -> bool:
        """True the first time `event` is seen (and record it); False for a duplicate."""
        key = (event.id, event.order_id)
        seen = self._seen
        if key in seen:
            return False
        ts = event.ts
        if event.source == "history" and self.floor is not None and ts < self.floor:
            return False  # before the run (or the first run of its state) began
        newest = self.newest
        if newest is None or ts > newest:
            if _EARLIEST <= ts <= self._horizon or self._plausible(ts):
                self.newest = ts
            else:
                self._flag(event)
                ts = newest or datetime.fromtimestamp(self._clock(), UTC)
        elif event.source == "history" and ts < self._window_start():
            return False  # older than the window: printed by an earlier run or connection
        seen[key] = ts
        self._order.append(key)
        self._admitted += 1
        if self._admitted >= self._next_sweep or len(seen) > self.capacity:
            self._sweep()
        return True

    def _plausible(self, ts: datetime) -> bool:
        """:func:`plausible` by the clock, which moves `_horizon` (a time known plausible) forward."""
        now = self._clock()
        self._horizon = min(datetime.fromtimestamp(now, UTC) + AHEAD, _LATEST - timedelta.resolution)
        return plausible(ts, now)

    def _flag(self, event: Event) -> None:
        self.implausible += 1
        if self.first_implausible is None:
            self.first_implausible = event

    def refuses(self, event: Event) -> bool:
        """Whether :meth:`admit` would refuse `event` (without recording it): seen, or history too old."""
        if (event.id, event.order_id) in self._seen:
            return True
        if event.source != "history":
            return False
        if self.floor is not None and event.ts < self.floor:
            return True
        return self.newest is not None and event.ts < self._window_start()

    def _sweep(self) -> None:
        """Forget the keys that left the window (every `SWEEP_EVERY` admissions: cheap per event).

        The oldest keys go first, while they are over the capacity or older than the
        window: the first one that is neither ends the sweep. They are taken from the
        front of `_order`, O(1) each: scanning the dict from its front instead walked past
        the slots of every key deleted since it last resized (6.4 µs per admission at the
        capacity, where each admission sweeps one key).
        """
        seen, order = self._seen, self._order
        horizon = None if self.newest is None else self._window_start() - SLACK  # None: only implausible times
        excess = len(seen) - self.capacity
        while order:
            key = order[0]
            if excess <= 0 and (horizon is None or seen[key] >= horizon):
                break
            order.popleft()
            del seen[key]
            excess -= 1
        self._next_sweep = self._admitted + SWEEP_EVERY

    def _window_start(self) -> datetime:
        """The oldest event time a backfill may still return: the overlap, or an owed gap's start."""
        assert self.newest is not None
        start = self.newest - self.overlap
        return min(start, self.resume_from) if self.resume_from else start

    def backfill_from(self, fallback: datetime) -> datetime:
        """Where a backfill after a gap starts: the last event time (or `fallback`) less the overlap.

        An unresolved earlier gap moves the start back to where that gap began;
        it never goes below the floor.
        """
        start = (self.newest or fallback) - self.overlap
        start = min(start, self.resume_from) if self.resume_from else start
        return max(start, self.floor) if self.floor else start

    def owe(self, since: datetime) -> None:
        """Remember that history from `since` could not be read."""
        self.resume_from = min(since, self.resume_from) if self.resume_from else since

    def settle(self) -> None:
        """A backfill covering every owed gap succeeded."""
        self.resume_from = None

    def checkpoint(self) -> Checkpoint:
        """The keys still in the window, for the next run."""
        if self.newest is None:
            return Checkpoint(None, (), self.resume_from, floor=self.origin)
        horizon = self._window_start() - SLACK
        keys: Iterable[Key] = (key for key, ts in self._seen.items() if ts >= horizon)
        return Checkpoint(self.newest, tuple(keys), self.resume_from, floor=self.origin)

    def stamp(self, event: Event) -> datetime | None:
        """The time `event` counts as printed at: its own, or the newest plausible one for an implausible time."""
        newest = self.newest
        return event.ts if newest is None or event.ts <= newest else newest
