"""De-duplication over a bounded window, and the checkpoint it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fillwatch.core.events import Fill, Source
from fillwatch.core.ledger import SWEEP_EVERY, Checkpoint, Ledger

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def fill(n: int, *, seconds: float, source: Source = "live", order: str = "o") -> Fill:
    return Fill(
        venue="kalshi",
        id=f"t{n}",
        order_id=order,
        market="M",
        side="yes",
        action="buy",
        price=Decimal("0.5"),
        qty=Decimal(1),
        ts=T0 + timedelta(seconds=seconds),
        source=source,
    )


def test_each_key_is_admitted_once() -> None:
    """The same (id, order_id) twice, live or from history, is printed once."""
    ledger = Ledger()
    assert ledger.admit(fill(1, seconds=0))
    assert not ledger.admit(fill(1, seconds=0))
    assert not ledger.admit(fill(1, seconds=0, source="history"))


def test_same_trade_id_on_two_orders_is_two_fills() -> None:
    """One taker trade filling two of your orders shares a trade id: both lines are printed."""
    ledger = Ledger()
    assert ledger.admit(fill(1, seconds=0, order="maker-a"))
    assert ledger.admit(fill(1, seconds=0, order="maker-b"))


def test_history_older_than_the_window_counts_as_printed() -> None:
    """A history event older than newest - overlap is dropped; a live one is not. `refuses` says
    the same without recording anything."""
    ledger = Ledger(overlap=timedelta(seconds=60))
    assert not ledger.refuses(fill(1, seconds=1000))
    ledger.admit(fill(1, seconds=1000))
    assert ledger.refuses(fill(1, seconds=1000))
    cases = [(fill(2, seconds=900, source="history"), False), (fill(3, seconds=950, source="history"), True)]
    cases.append((fill(4, seconds=900, source="live"), True))
    for event, admitted in cases:
        assert ledger.refuses(event) is not admitted
        assert ledger.refuses(event) is not admitted  # asking records nothing
        assert ledger.admit(event) is admitted


def test_memory_stays_flat_over_many_events() -> None:
    """Many events leave at most `capacity` keys, and no more than the window holds."""
    ledger = Ledger(overlap=timedelta(seconds=60), capacity=1_000)
    for n in range(100_000):
        ledger.admit(fill(n, seconds=n / 100))  # 100 events/s: 6,000 in a 60 s window
    assert len(ledger) == 1_000
    slow = Ledger(overlap=timedelta(seconds=60), capacity=100_000)
    most = 0
    for n in range(20_000):
        slow.admit(fill(n, seconds=float(n)))  # 1 event/s: 66 keys in the window and its slack
        most = max(most, len(slow))
    assert most <= 67 + SWEEP_EVERY  # keys that left the window go at the next sweep


def test_checkpoint_carries_the_window_to_the_next_run() -> None:
    """A ledger made from a checkpoint refuses what the last run printed, and older history."""
    first = Ledger(overlap=timedelta(seconds=60))
    for n in range(200):
        first.admit(fill(n, seconds=float(n)))
    checkpoint = first.checkpoint()
    assert checkpoint.newest == T0 + timedelta(seconds=199)
    assert {key for key, _ in checkpoint.seen} == {f"t{n}" for n in range(134, 200)}  # 60 s + 5 s slack
    second = Ledger(overlap=timedelta(seconds=60), checkpoint=checkpoint)
    assert not second.admit(fill(150, seconds=150, source="history"))
    assert not second.admit(fill(10, seconds=10, source="history"))
    assert second.admit(fill(200, seconds=200, source="history"))


def test_backfill_starts_at_the_last_event_less_the_overlap_or_an_owed_gap() -> None:
    """Without events the fallback is used; an unresolved gap moves the start back until settled."""
    ledger = Ledger(overlap=timedelta(seconds=60))
    assert ledger.backfill_from(T0) == T0 - timedelta(seconds=60)
    ledger.admit(fill(1, seconds=600))
    assert ledger.backfill_from(T0) == T0 + timedelta(seconds=540)
    ledger.owe(T0 + timedelta(seconds=100))
    assert ledger.backfill_from(T0) == T0 + timedelta(seconds=100)
    assert ledger.checkpoint() == Checkpoint(T0 + timedelta(seconds=600), (("t1", "o"),), T0 + timedelta(seconds=100))
    ledger.settle()
    assert ledger.backfill_from(T0) == T0 + timedelta(seconds=540)


def test_a_seconds_precision_live_event_is_not_reprinted_from_history() -> None:
    """Legacy live times are whole seconds, REST times have milliseconds: the window allows for it.

    A live event stamped 5.000 s whose REST twin says 5.900 s must stay known
    for as long as a backfill could return the twin (found by the chaos run).
    """
    ledger = Ledger(overlap=timedelta(seconds=60))
    live = fill(1, seconds=5)
    assert ledger.admit(live)
    for n in range(2, 400):
        ledger.admit(fill(n, seconds=5 + n * 0.3))  # the window moves past 5.5 s and beyond
        twin = fill(1, seconds=5.9, source="history")
        since = ledger.backfill_from(T0)
        if twin.ts >= since:  # a backfill from `since` would return the twin
            assert not ledger.admit(twin), f"reprinted after {n} events"


def test_an_owed_gap_is_kept_whole_until_a_backfill_settles_it() -> None:
    """A failed backfill owes history from its start: a retry long after still gets all of it, once.

    Neither the time rule nor key eviction may discard anything from the owed
    gap's start while the debt stands, however far the live stream moves on.
    """
    ledger = Ledger(overlap=timedelta(seconds=60))
    for n in range(10):
        ledger.admit(fill(n, seconds=100 + n))  # printed live before the drop
    since = ledger.backfill_from(T0)
    ledger.owe(since)  # the backfill after the reconnect failed
    for n in range(10, 400):
        ledger.admit(fill(n, seconds=300 + n))  # the live stream goes on for minutes
    assert ledger.backfill_from(T0) == since  # the retry starts where the gap began
    assert ledger.admit(fill(1000, seconds=150, source="history"))  # in the gap: printed
    assert not ledger.admit(fill(5, seconds=105, source="history"))  # printed live before: not again
    ledger.settle()
    assert not ledger.admit(fill(1001, seconds=150, source="history"))  # settled: old history is old again
