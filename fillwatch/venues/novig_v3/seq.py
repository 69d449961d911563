"""The ``seq`` of one Novig v3 private channel: apply in order, notice loss, recover.

Facts from Novig's "Private" and "Connection" streaming pages (``protocols/novig-v3.md``
§5.1, §5.6): a snapshot carries the ``seq`` of its last event, the next batch carries
``seq + 1``; when its queue is full the server drops ``orders`` frames, so a batch whose
``seq`` jumps, or a ``heartbeat`` whose ``seq`` is above the last applied one, means a
batch was lost. The cure is a ``snapshot`` request: batches after the jump are kept,
those the new snapshot covers are dropped, the rest are applied in order. A ``seq`` is
never carried across connections (:meth:`SeqTracker.reset`).

Pure bookkeeping, generic in what a batch is: the tracker hands back the batches to
apply now, and a :class:`Gap` or :class:`Lost` value for the caller to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeAlias, TypeVar

__all__ = ["Gap", "Lost", "Recovered", "SeqTracker", "Verdict"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Gap:
    """Batches after `expected` up to `seen` were lost: ask for a snapshot of the channel."""

    channel: str
    expected: int
    """The ``seq`` that should have come next."""
    seen: int
    """The ``seq`` that showed the loss (a batch's, or a heartbeat's)."""
    via: Literal["batch", "heartbeat"]


@dataclass(frozen=True, slots=True)
class Lost:
    """The channel's numbering cannot be repaired in place: reconnect and resubscribe."""

    channel: str
    reason: str


@dataclass(frozen=True, slots=True)
class Recovered:
    """A snapshot after a gap or a reconnect: what only REST history can now tell.

    Read fills since `since_ms` (the last batch applied before the loss; None: none was),
    for these orders in particular: `ended` (gone from the book), `shrunk` (filled in
    the meantime) and `appeared` (placed in the meantime).
    """

    seq: int
    since_ms: int | None
    ended: tuple[str, ...]
    shrunk: tuple[str, ...]
    appeared: tuple[str, ...]


Verdict: TypeAlias = Gap | Lost | None


class SeqTracker(Generic[T]):
    """Orders the batches of one channel on one connection by ``seq``.

    Before the first snapshot, and while a gap waits for its snapshot, batches are
    held (at most `capacity`; more means :class:`Lost`).
    """

    def __init__(self, channel: str, capacity: int = 4096) -> None:
        self.channel = channel
        self.capacity = capacity
        self.last: int | None = None
        """The ``seq`` of the last applied batch (or snapshot); None before the first snapshot."""
        self.awaiting = False
        """Whether a gap was reported and its snapshot has not arrived."""
        self._held: dict[int, T] = {}

    def reset(self) -> None:
        """Forget everything: a new connection starts from its own snapshot."""
        self.last = None
        self.awaiting = False
        self._held.clear()

    def snapshot(self, seq: int) -> tuple[list[T], Verdict]:
        """A snapshot at `seq`: the held batches it does not cover that now apply, in order.

        A held batch beyond a further jump stays held, and the jump is reported again.
        """
        self.last = seq
        self.awaiting = False
        self._held = {s: batch for s, batch in self._held.items() if s > seq}
        return self._drain()

    def batch(self, seq: int, batch: T) -> tuple[list[T], Verdict]:
        """One batch: apply it (and any it unblocks), drop it as already applied, or hold it."""
        if self.last is not None and seq <= self.last:
            return [], None  # replayed, or covered by a snapshot already applied
        if self.last is None or self.awaiting:
            return [], self._hold(seq, batch)
        if seq == self.last + 1:
            self.last = seq
            return [batch], None
        expected = self.last + 1
        verdict = self._hold(seq, batch)
        if verdict is not None:
            return [], verdict
        self.awaiting = True
        return [], Gap(self.channel, expected, seq, "batch")

    def heartbeat(self, seq: int) -> Verdict:
        """The server's last ``seq`` for the channel: ahead of ours means a lost batch.

        Behind ours is not described by Novig; it can only be a server restart (which
        resets the numbering), so the connection has to start over.
        """
        if self.last is None:
            return None  # no baseline yet: the snapshot will tell
        if seq < self.last:
            return Lost(self.channel, f"heartbeat seq {seq} is behind the last applied {self.last}")
        if seq == self.last or self.awaiting:
            return None
        self.awaiting = True
        return Gap(self.channel, self.last + 1, seq, "heartbeat")

    def _hold(self, seq: int, batch: T) -> Verdict:
        if seq not in self._held and len(self._held) >= self.capacity:
            self.reset()
            return Lost(self.channel, f"more than {self.capacity} batches held while waiting for a snapshot")
        self._held[seq] = batch
        return None

    def _drain(self) -> tuple[list[T], Verdict]:
        last = self.last if self.last is not None else 0
        ready = []
        while last + 1 in self._held:
            last += 1
            ready.append(self._held.pop(last))
        self.last = last
        if not self._held:
            return ready, None
        self.awaiting = True
        return ready, Gap(self.channel, last + 1, min(self._held), "batch")
