"""The ledger's sweep under many deletions: the same keys forgotten as a scan of the dict from its front."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from fillwatch.core.ledger import SLACK, SWEEP_EVERY, Ledger
from tests.test_ledger import T0, fill
from tests.test_ledger_window import LATE, Clock, at


class ScanningLedger(Ledger):
    """The sweep as it was before the admission-order queue: one pass over the dict's items from the front."""

    def _sweep(self) -> None:
        seen = self._seen
        horizon = None if self.newest is None else self._window_start() - SLACK
        excess = len(seen) - self.capacity
        expired = []
        for key, ts in seen.items():
            if len(expired) >= excess and (horizon is None or ts >= horizon):
                break
            expired.append(key)
        for key in expired:
            del seen[key]
        self._next_sweep = self._admitted + SWEEP_EVERY


def stream(rng: random.Random, n: int) -> list[object]:
    """Fills mostly moving forward in time, some late (old times), repeated keys and history, at random."""
    events: list[object] = []
    newest = 0.0
    for i in range(n):
        roll = rng.random()
        newest += rng.choice((0.001, 0.01, 0.5, 3.0))
        seconds = newest - rng.uniform(0, 90) if roll < 0.1 else newest
        number = rng.randrange(i) if roll > 0.95 and i else i  # a duplicate, or one long forgotten
        source = "history" if 0.1 <= roll < 0.2 else "live"
        events.append(fill(number, seconds=seconds, source=source))  # type: ignore[arg-type]
    return events


def test_the_sweep_forgets_what_a_front_scan_forgot_through_many_deletions() -> None:
    """Over 30,000 fills at capacities 50, 700 and 200,000 (deleting keys every admission or every
    sweep), each admission answers alike and the keys left, and the checkpoint, are the same."""
    for capacity in (50, 700, 200_000):
        rng = random.Random(capacity)
        ledger = Ledger(overlap=timedelta(seconds=60), capacity=capacity, clock=Clock(LATE))
        model = ScanningLedger(overlap=timedelta(seconds=60), capacity=capacity, clock=Clock(LATE))
        for n, event in enumerate(stream(rng, 30_000)):
            assert ledger.admit(event) is model.admit(event), n  # type: ignore[arg-type]
            if n % 97 == 0:
                assert list(ledger._seen.items()) == list(model._seen.items()), n
        assert list(ledger._seen.items()) == list(model._seen.items())
        assert ledger.checkpoint() == model.checkpoint()
        assert len(ledger) <= capacity


def test_keys_remembered_and_restored_from_a_checkpoint_are_swept_in_admission_order() -> None:
    """Keys from a checkpoint, then `remember`ed ones, then admitted ones leave in that order."""
    start = Ledger(overlap=timedelta(seconds=60), clock=Clock(LATE))
    for n in range(3):
        start.admit(fill(n, seconds=n))
    checkpoint = start.checkpoint()
    ledger = Ledger(overlap=timedelta(seconds=60), capacity=5, checkpoint=checkpoint, clock=Clock(LATE))
    model = ScanningLedger(overlap=timedelta(seconds=60), capacity=5, checkpoint=checkpoint, clock=Clock(LATE))
    for each in (ledger, model):
        each.remember(fill(10, seconds=1))
        each.remember(fill(11, seconds=2))
        for n in range(20, 26):
            each.admit(fill(n, seconds=n))
    assert list(ledger._seen) == list(model._seen)
    assert [key for key, _ in ledger._seen] == ["t21", "t22", "t23", "t24", "t25"]


def test_implausible_times_at_the_capacity_go_oldest_first() -> None:
    """With only implausible times, each admission past the capacity forgets exactly the oldest key."""
    ledger = Ledger(capacity=100, clock=Clock(LATE))
    far = datetime(2100, 6, 1, tzinfo=T0.tzinfo)
    for n in range(5_000):
        assert ledger.admit(at(n, far + n * timedelta(microseconds=1)))  # type: ignore[arg-type]
    assert len(ledger) == 100
    assert [key for key, _ in ledger._seen] == [f"t{n}" for n in range(4_900, 5_000)]
