"""The ledger's window edges, sweeps, owed gaps, history floor and implausible times (issue 17).

Events are built in-process (no venue message is parsed here): the ledger sees only
`Fill` objects, whose key is (id, order_id) and whose time and source are the fields used.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from fillwatch.core.ledger import AHEAD, SWEEP_EVERY, Checkpoint, Ledger, plausible
from tests.test_ledger import T0, fill

US = timedelta(microseconds=1)
NOW = T0.timestamp()
LATE = NOW + 86_400  # a clock a day after T0: every time of the test is plausible


def at(n: int, ts: datetime, *, source: str = "live") -> object:
    """Fill `n` dated exactly `ts`."""
    return dataclasses.replace(fill(n, seconds=0, source=source), ts=ts)  # type: ignore[arg-type]


class Clock:
    """A wall clock the test sets; counts how often it was read."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


# --- plausible times -------------------------------------------------------------------------------


def test_plausible_times_are_2000_to_before_2100_and_at_most_five_minutes_ahead() -> None:
    """2000-01-01 and the clock + 5 min are plausible; a microsecond before 2000, 2100-01-01 and
    a microsecond past the clock + 5 min are not."""
    far = datetime(2200, 1, 1, tzinfo=UTC).timestamp()
    assert plausible(datetime(2000, 1, 1, tzinfo=UTC), far)
    assert not plausible(datetime(2000, 1, 1, tzinfo=UTC) - US, far)
    assert plausible(datetime(2100, 1, 1, tzinfo=UTC) - US, far)
    assert not plausible(datetime(2100, 1, 1, tzinfo=UTC), far)
    assert plausible(T0 + AHEAD, NOW)
    assert not plausible(T0 + AHEAD + US, NOW)
    assert timedelta(minutes=5) == AHEAD


def test_an_implausible_first_event_is_stamped_at_the_clock_and_flagged_once() -> None:
    """With nothing printed yet, an event dated 2100 is admitted, counted, kept as the first one, and
    does not become `newest`; a second such event is counted but the first stays first."""
    ledger = Ledger(clock=Clock(NOW))
    first, second = at(1, datetime(2100, 6, 1, tzinfo=UTC)), at(2, datetime(2100, 7, 1, tzinfo=UTC))
    assert ledger.admit(first)
    assert ledger.newest is None
    assert ledger.admit(second)
    assert (ledger.implausible, ledger.first_implausible) == (2, first)
    assert not ledger.admit(first)
    assert ledger.stamp(first) == first.ts  # nothing plausible printed yet: its own time
    assert ledger.admit(fill(3, seconds=0))
    assert ledger.stamp(first) == T0  # the newest plausible time
    # Both keys were stamped at the clock (T0), not in 2100: a window later they are swept.
    for n in range(SWEEP_EVERY):
        ledger.admit(fill(10 + n, seconds=100 + n / 1000))
    assert ledger.admit(first)  # forgotten: its key did not pin the sweep


def test_a_time_known_plausible_stays_so_when_the_clock_steps_back() -> None:
    """Once the clock said T0, a later time up to T0 + 5 min is plausible even after the clock steps back
    an hour (the clock is read only for a time past that horizon)."""
    clock = Clock(NOW)
    ledger = Ledger(clock=clock)
    assert ledger.admit(fill(1, seconds=0))
    clock.now = NOW - 3600
    assert ledger.admit(at(2, T0 + AHEAD))
    assert ledger.newest == T0 + AHEAD
    assert ledger.implausible == 0
    assert ledger.admit(at(3, T0 + AHEAD + US))  # past the horizon: the stepped-back clock decides
    assert ledger.newest == T0 + AHEAD
    assert ledger.implausible == 1


def test_the_clock_is_read_only_for_a_time_past_the_last_horizon() -> None:
    """Many events within 5 minutes of the last clock reading read the clock once."""
    clock = Clock(NOW)
    ledger = Ledger(clock=clock)
    for n in range(100):
        ledger.admit(fill(n, seconds=n))
    assert clock.reads == 1
    ledger.admit(fill(1000, seconds=301))
    assert clock.reads == 2


def test_a_clock_near_2100_never_makes_2100_plausible() -> None:
    """With the clock a minute before 2100, 2100-01-01 is implausible even though it is within 5 minutes."""
    end = datetime(2100, 1, 1, tzinfo=UTC)
    ledger = Ledger(clock=Clock((end - timedelta(minutes=1)).timestamp()))
    assert ledger.admit(at(1, end - US))
    assert ledger.newest == end - US
    assert ledger.admit(at(2, end))
    assert ledger.newest == end - US
    assert ledger.implausible == 1


def test_2000_01_01_is_never_too_far_ahead_whatever_the_clock() -> None:
    """The horizon starts at 2000-01-01: an event dated exactly then becomes newest even with a clock
    stuck at 1970 (a machine without a real-time clock), without reading it."""
    clock = Clock(0.0)
    ledger = Ledger(clock=clock)
    assert ledger.admit(at(1, datetime(2000, 1, 1, tzinfo=UTC)))
    assert ledger.newest == datetime(2000, 1, 1, tzinfo=UTC)
    assert (ledger.implausible, clock.reads) == (0, 0)


def test_a_poisoned_checkpoint_newest_is_not_flagged_again() -> None:
    """A state file left by an old version with `newest` in 2100: an event at exactly that time is
    admitted as an old one, not flagged as implausible; a later one is flagged."""
    poisoned = datetime(2100, 6, 1, tzinfo=UTC)
    ledger = Ledger(checkpoint=Checkpoint(poisoned, ()), clock=Clock(NOW))
    assert ledger.resumed
    assert ledger.admit(at(1, poisoned))
    assert ledger.implausible == 0
    assert ledger.admit(at(2, poisoned + US))
    assert ledger.implausible == 1


def test_an_event_at_the_newest_time_is_stamped_with_its_own_time() -> None:
    """The journal stamp of an event at or before `newest` is the event's own time (its zone kept);
    after `newest` it is `newest`."""
    ledger = Ledger(clock=Clock(NOW))
    ledger.admit(fill(1, seconds=10))
    same_instant = (T0 + timedelta(seconds=10)).astimezone(timezone(timedelta(hours=1)))
    assert ledger.stamp(at(2, same_instant)).isoformat() == same_instant.isoformat()
    assert ledger.stamp(fill(3, seconds=5)) == T0 + timedelta(seconds=5)
    assert ledger.stamp(fill(4, seconds=11)) == T0 + timedelta(seconds=10)


# --- the window edge -------------------------------------------------------------------------------


def test_history_exactly_at_the_window_edge_is_admitted() -> None:
    """With newest T0 + 100 s and a 60 s overlap, history at T0 + 40 s is admitted, a microsecond older is not."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=Clock(NOW))
    ledger.admit(fill(1, seconds=100))
    edge = T0 + timedelta(seconds=40)
    assert not ledger.refuses(at(2, edge, source="history"))
    assert ledger.refuses(at(3, edge - US, source="history"))
    assert ledger.admit(at(2, edge, source="history"))
    assert not ledger.admit(at(3, edge - US, source="history"))
    assert ledger.admit(at(4, T0 + timedelta(seconds=100), source="history"))  # at newest: in the window


def test_the_default_window_is_60_seconds_and_a_fresh_ledger_refuses_no_history() -> None:
    """Ledger() keeps 60 s: history 60 s before the newest is admitted, older is not; with nothing
    printed yet, any history is admitted."""
    ledger = Ledger(clock=Clock(NOW))
    assert not ledger.refuses(fill(1, seconds=-10_000, source="history"))
    assert not ledger.resumed
    ledger.admit(fill(2, seconds=100))
    assert ledger.admit(fill(3, seconds=40, source="history"))
    assert not ledger.admit(at(4, T0 + timedelta(seconds=40) - US, source="history"))


# --- the history floor -----------------------------------------------------------------------------


def test_history_below_the_floor_is_refused_live_is_not() -> None:
    """History exactly at the floor is admitted and a microsecond below it refused (`refuses` agrees);
    a live event below the floor is admitted."""
    ledger = Ledger(clock=Clock(NOW))
    ledger.set_floor(T0)
    assert ledger.refuses(at(1, T0 - US, source="history"))
    assert not ledger.admit(at(1, T0 - US, source="history"))
    assert not ledger.refuses(at(2, T0, source="history"))
    assert ledger.admit(at(2, T0, source="history"))
    assert not ledger.refuses(at(3, T0 - US))
    assert ledger.admit(at(3, T0 - US))


def test_the_floor_is_cut_to_the_second_and_the_first_one_is_the_origin() -> None:
    """set_floor keeps whole seconds; a later floor replaces `floor` but not `origin`."""
    ledger = Ledger(clock=Clock(NOW))
    ledger.set_floor(T0 + timedelta(seconds=5, microseconds=900_000))
    assert (ledger.floor, ledger.origin) == (T0 + timedelta(seconds=5), T0 + timedelta(seconds=5))
    ledger.set_floor(T0 + timedelta(seconds=30))
    assert (ledger.floor, ledger.origin) == (T0 + timedelta(seconds=30), T0 + timedelta(seconds=5))
    assert ledger.checkpoint() == Checkpoint(None, (), None, floor=T0 + timedelta(seconds=5))


def test_a_checkpoint_floor_is_both_floor_and_origin() -> None:
    """A ledger made from a checkpoint with a floor refuses history below it and passes it on."""
    ledger = Ledger(checkpoint=Checkpoint(T0 + timedelta(seconds=100), (), floor=T0 + timedelta(seconds=70)))
    assert (ledger.floor, ledger.origin) == (T0 + timedelta(seconds=70), T0 + timedelta(seconds=70))
    assert ledger.backfill_from(T0) == T0 + timedelta(seconds=70)
    assert ledger.checkpoint().floor == T0 + timedelta(seconds=70)


def test_a_backfill_never_starts_below_the_floor() -> None:
    """The start is the newest less the overlap, or the floor when that is later."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=Clock(NOW))
    ledger.admit(fill(1, seconds=100))
    ledger.set_floor(T0 + timedelta(seconds=20))
    assert ledger.backfill_from(T0) == T0 + timedelta(seconds=40)
    ledger.set_floor(T0 + timedelta(seconds=50))
    assert ledger.backfill_from(T0) == T0 + timedelta(seconds=50)
    ledger.owe(T0 + timedelta(seconds=10))
    assert ledger.backfill_from(T0) == T0 + timedelta(seconds=50)


# --- owed gaps -------------------------------------------------------------------------------------


def test_two_owed_gaps_keep_the_earlier_start() -> None:
    """Owing from T0 + 50 s and then from T0 + 80 s (or T0 + 80 s and then T0 + 50 s) owes from T0 + 50 s."""
    for first, second in ((50, 80), (80, 50)):
        ledger = Ledger(overlap=timedelta(seconds=60), clock=Clock(NOW))
        ledger.admit(fill(1, seconds=200))
        ledger.owe(T0 + timedelta(seconds=first))
        ledger.owe(T0 + timedelta(seconds=second))
        assert ledger.resume_from == T0 + timedelta(seconds=50)
        assert ledger.backfill_from(T0) == T0 + timedelta(seconds=50)
        assert ledger.admit(at(2, T0 + timedelta(seconds=50), source="history"))
        assert not ledger.admit(at(3, T0 + timedelta(seconds=50) - US, source="history"))


def test_an_owed_gap_inside_the_window_does_not_shrink_it() -> None:
    """Owing from a time later than newest - overlap keeps the window (and the backfill) at the overlap."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=Clock(NOW))
    ledger.admit(fill(1, seconds=100))
    ledger.owe(T0 + timedelta(seconds=90))
    assert ledger.backfill_from(T0) == T0 + timedelta(seconds=40)
    assert ledger.admit(fill(2, seconds=40, source="history"))
    assert ledger.refuses(at(3, T0 + timedelta(seconds=40) - US, source="history"))
    assert ledger.checkpoint().resume_from == T0 + timedelta(seconds=90)


def test_an_owed_gap_before_any_event_is_kept_in_the_checkpoint() -> None:
    """With nothing printed, a failed backfill's start is still what the checkpoint says to resume from."""
    ledger = Ledger(clock=Clock(NOW))
    ledger.owe(T0)
    assert ledger.backfill_from(T0 + timedelta(seconds=600)) == T0
    assert ledger.checkpoint() == Checkpoint(None, (), T0)


# --- sweeps and capacity ---------------------------------------------------------------------------


def test_a_sweep_after_1024_admissions_keeps_the_window_and_its_5_second_slack() -> None:
    """At one event a second, the 1024th admission sweeps: the keys of the last 60 s plus 5 s
    (edge included) stay, all older ones go; before it nothing is forgotten."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=Clock(LATE))
    for n in range(SWEEP_EVERY - 1):
        ledger.admit(fill(n, seconds=n))
    assert len(ledger) == SWEEP_EVERY - 1
    ledger.admit(fill(SWEEP_EVERY - 1, seconds=SWEEP_EVERY - 1))  # newest 1023 s: keys from 958 s stay
    assert len(ledger) == 66
    assert not ledger.admit(fill(958, seconds=958))  # the key at the slack's edge is still known
    assert ledger.admit(fill(957, seconds=957))  # live, forgotten: admitted again
    assert SWEEP_EVERY == 1024


def test_the_next_sweep_comes_1024_admissions_after_the_last() -> None:
    """After a sweep, the next one comes 1024 admissions later, not before."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=Clock(LATE))
    for n in range(SWEEP_EVERY):
        ledger.admit(fill(n, seconds=n))
    assert len(ledger) == 66
    for n in range(SWEEP_EVERY, 2 * SWEEP_EVERY - 1):
        ledger.admit(fill(n, seconds=n))
    assert len(ledger) == 66 + SWEEP_EVERY - 1
    ledger.admit(fill(2 * SWEEP_EVERY - 1, seconds=2 * SWEEP_EVERY - 1))
    assert len(ledger) == 66


def test_duplicates_and_refused_history_do_not_count_toward_a_sweep() -> None:
    """Only admissions count: 1023 admissions plus any number of duplicates sweep nothing."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=Clock(LATE))
    for n in range(SWEEP_EVERY - 1):
        ledger.admit(fill(n, seconds=n))
    for _ in range(10):
        assert not ledger.admit(fill(0, seconds=0))
        assert not ledger.admit(fill(5000, seconds=0, source="history"))
    assert len(ledger) == SWEEP_EVERY - 1


def test_the_capacity_is_exact_and_the_oldest_keys_go_first() -> None:
    """With capacity 10, ten keys in the window stay; the eleventh evicts the first admitted."""
    ledger = Ledger(overlap=timedelta(seconds=60), capacity=10, clock=Clock(LATE))
    for n in range(10):
        ledger.admit(fill(n, seconds=n))
    assert len(ledger) == 10
    assert not ledger.admit(fill(0, seconds=0))
    ledger.admit(fill(10, seconds=10))
    assert len(ledger) == 10
    assert not ledger.admit(fill(1, seconds=1))
    assert ledger.admit(fill(0, seconds=0))  # evicted: admitted again (and evicts t1)
    assert len(ledger) == 10


def test_reaching_the_capacity_forgets_nothing_passing_it_sweeps() -> None:
    """With capacity 100 and one event a second, the 100th key forgets nothing (even keys out of the
    window); the 101st sweeps every key older than the window and its slack."""
    ledger = Ledger(overlap=timedelta(seconds=60), capacity=100, clock=Clock(LATE))
    for n in range(100):
        ledger.admit(fill(n, seconds=n))
    assert len(ledger) == 100
    ledger.admit(fill(100, seconds=100))
    assert len(ledger) == 66  # 35 s … 100 s


def test_a_sweep_with_only_implausible_times_forgets_only_the_excess() -> None:
    """With no plausible time printed, the capacity still holds: the excess oldest keys go, no others."""
    ledger = Ledger(capacity=3, clock=Clock(LATE))
    for n in range(4):
        assert ledger.admit(at(n, datetime(2100, 6, 1, tzinfo=UTC) + n * US))
    assert ledger.newest is None
    assert len(ledger) == 3
    assert ledger.admit(at(0, datetime(2100, 6, 1, tzinfo=UTC)))
    assert not ledger.admit(at(3, datetime(2100, 6, 1, tzinfo=UTC) + 3 * US))


def test_a_sweep_stops_at_the_first_key_still_in_the_window() -> None:
    """A sweep forgets the expired keys at the front (oldest admitted first) and stops at the first one
    still in the window: a live event admitted later with an old time stays known until then."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=Clock(LATE))
    ledger.admit(fill(0, seconds=1000))
    ledger.admit(fill(1, seconds=0))  # live, old time, admitted after a key in the window
    for n in range(2, SWEEP_EVERY):
        ledger.admit(fill(n, seconds=1000 + n / 1000))
    assert len(ledger) == SWEEP_EVERY
    assert not ledger.admit(fill(1, seconds=0))


class Bare(NamedTuple):
    """The four fields the ledger reads of an event, cheap to make by the hundred thousand."""

    id: str
    order_id: str
    ts: datetime
    source: str = "live"


def test_the_default_capacity_is_200_000_keys() -> None:
    """Ledger() holds 200,000 keys of one window and no more: the 200,001st evicts the oldest."""
    ledger = Ledger(clock=Clock(LATE))
    admit = ledger.admit
    for n in range(200_000):
        admit(Bare(str(n), "o", T0))  # type: ignore[arg-type]
    assert len(ledger) == 200_000
    admit(Bare("last", "o", T0))  # type: ignore[arg-type]
    assert len(ledger) == 200_000
    assert admit(Bare("0", "o", T0))  # type: ignore[arg-type]  # the oldest went
    assert not admit(Bare("2", "o", T0))  # type: ignore[arg-type]  # ("1" went for it): the rest stay
