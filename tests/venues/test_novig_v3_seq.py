"""The Novig v3 private-channel ``seq`` tracker, following the gap rules of Novig's "Connection" and
"Private" streaming pages (``api/streaming/connection`` "Gaps", ``api/streaming/private`` "Recovery")."""

from __future__ import annotations

from fillwatch.venues.novig_v3.seq import Gap, Lost, SeqTracker


def test_contiguous_batches_apply_in_order() -> None:
    """After a snapshot at seq S, batches S+1, S+2 apply one by one."""
    seq: SeqTracker[str] = SeqTracker("orders")
    assert seq.snapshot(907) == ([], None)
    assert seq.batch(908, "a") == (["a"], None)
    assert seq.batch(909, "b") == (["b"], None)
    assert seq.last == 909


def test_the_documented_gap_recovery() -> None:
    """Connection page: 48124 after 48122 is a gap; the snapshot at 48125 drops what it covers, replays the rest."""
    seq: SeqTracker[str] = SeqTracker("book")
    seq.snapshot(48121)
    assert seq.batch(48122, "22") == (["22"], None)
    assert seq.batch(48124, "24") == ([], Gap("book", 48123, 48124, "batch"))
    assert seq.batch(48126, "26") == ([], None)  # held: one gap, one snapshot request
    assert seq.snapshot(48125) == (["26"], None)
    assert seq.last == 48126


def test_a_snapshot_that_leaves_a_further_jump_reports_it() -> None:
    """Held batches beyond a second jump stay held after the snapshot, and the jump is reported again."""
    seq: SeqTracker[str] = SeqTracker("orders")
    seq.snapshot(10)
    seq.batch(12, "12")
    seq.batch(15, "15")
    assert seq.snapshot(11) == (["12"], Gap("orders", 13, 15, "batch"))
    assert seq.snapshot(14) == (["15"], None)


def test_heartbeats() -> None:
    """A heartbeat at the last seq is quiet, ahead of it a gap (reported once), behind it a lost numbering."""
    seq: SeqTracker[str] = SeqTracker("orders")
    assert seq.heartbeat(5) is None  # no baseline yet
    seq.snapshot(907)
    assert seq.heartbeat(907) is None
    assert seq.heartbeat(911) == Gap("orders", 908, 911, "heartbeat")
    assert seq.heartbeat(911) is None
    seq.snapshot(911)
    assert isinstance(seq.heartbeat(2), Lost)


def test_holding_is_bounded() -> None:
    """More held batches than the capacity give up on repair: reconnect."""
    seq: SeqTracker[int] = SeqTracker("orders", capacity=3)
    seq.snapshot(0)
    assert isinstance(seq.batch(2, 2)[1], Gap)
    assert seq.batch(3, 3) == ([], None)
    assert seq.batch(4, 4) == ([], None)
    assert isinstance(seq.batch(5, 5)[1], Lost)


def test_reset_forgets_the_baseline() -> None:
    """A new connection never compares a seq with the old one's: batches wait for its snapshot."""
    seq: SeqTracker[str] = SeqTracker("orders")
    seq.snapshot(900)
    seq.reset()
    assert seq.batch(5, "x") == ([], None)
    assert seq.snapshot(4) == (["x"], None)
