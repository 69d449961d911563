"""The Novig v3 ``seq`` tracker at its edges: replays, the snapshot boundary, the holding bound, resets.

Rules from Novig's "Connection" page (``api/streaming/connection`` "Gaps") and "Private" page
(``api/streaming/private`` "Recovery"), ``protocols/novig-v3.md`` §5.1 and §5.6: a snapshot carries
the ``seq`` of its last event and the next batch ``seq + 1``; held batches the new snapshot covers
are dropped, the rest apply in order.
"""

from __future__ import annotations

from fillwatch.venues.novig_v3.seq import Gap, Lost, SeqTracker


def _tracker(at: int, capacity: int = 4096) -> SeqTracker[str]:
    seq: SeqTracker[str] = SeqTracker("orders", capacity)
    assert seq.snapshot(at) == ([], None)
    return seq


def test_a_new_tracker_has_no_baseline_and_waits_for_nothing() -> None:
    """A fresh tracker has applied nothing and has no gap outstanding."""
    seq: SeqTracker[str] = SeqTracker("orders")
    assert (seq.channel, seq.last, seq.awaiting) == ("orders", None, False)


def test_the_last_applied_batch_again_is_dropped_quietly() -> None:
    """A batch at exactly the last applied seq is a replay: nothing applies and no gap is reported."""
    seq = _tracker(907)
    assert seq.batch(908, "a") == (["a"], None)
    assert seq.batch(908, "a again") == ([], None)
    assert seq.batch(907, "older") == ([], None)
    assert seq.batch(909, "b") == (["b"], None)


def test_a_batch_two_ahead_is_a_gap_naming_both_seqs() -> None:
    """After seq S, a batch at S+2 is held and reported as a gap from S+1 to S+2; nothing applies."""
    seq = _tracker(907)
    assert seq.batch(909, "b") == ([], Gap("orders", 908, 909, "batch"))
    assert (seq.last, seq.awaiting) == (907, True)


def test_while_a_gap_waits_even_the_missing_batch_is_held_for_the_snapshot() -> None:
    """Once a gap is reported, every later batch waits for the snapshot (even the missing one turning up)."""
    seq = _tracker(907)
    seq.batch(909, "b")
    assert seq.batch(908, "a") == ([], None)
    assert seq.snapshot(907) == (["a", "b"], None)
    assert (seq.last, seq.awaiting) == (909, False)


def test_a_held_batch_at_the_snapshot_seq_is_covered_by_it() -> None:
    """A held batch whose seq equals the snapshot's is covered by it: dropped, with no gap reported."""
    seq = _tracker(10)
    seq.batch(12, "12")
    seq.batch(13, "13")
    assert seq.snapshot(12) == (["13"], None)
    assert seq.last == 13


def test_a_further_jump_after_the_snapshot_names_the_first_held_seq() -> None:
    """After a snapshot, a jump to several held batches reports the lowest of them as the seq seen."""
    seq = _tracker(10)
    for n in (12, 16, 15):
        seq.batch(n, str(n))
    assert seq.snapshot(11) == (["12"], Gap("orders", 13, 15, "batch"))
    assert (seq.last, seq.awaiting) == (12, True)
    assert seq.batch(14, "14") == ([], None)
    assert seq.snapshot(13) == (["14", "15", "16"], None)


def test_a_snapshot_behind_the_last_applied_seq_is_the_new_baseline() -> None:
    """A snapshot always becomes the baseline, even one below the seq applied so far."""
    seq = _tracker(907)
    seq.batch(908, "a")
    assert seq.snapshot(5) == ([], None)
    assert seq.batch(6, "x") == (["x"], None)


def test_heartbeat_edges() -> None:
    """A heartbeat one behind the last seq is a lost numbering naming both; one ahead is a gap from the next seq."""
    seq = _tracker(907)
    assert seq.heartbeat(906) == Lost("orders", "heartbeat seq 906 is behind the last applied 907")
    assert seq.heartbeat(907) is None
    assert seq.heartbeat(908) == Gap("orders", 908, 908, "heartbeat")
    assert seq.awaiting is True


def test_a_heartbeat_while_a_batch_gap_waits_is_quiet() -> None:
    """A heartbeat ahead of us while a gap already waits for its snapshot asks for nothing more."""
    seq = _tracker(907)
    seq.batch(909, "b")
    assert seq.heartbeat(912) is None


def test_the_default_bound_is_4096_held_batches() -> None:
    """By default 4096 batches can wait for a snapshot; the 4097th gives up with a lost numbering."""
    seq: SeqTracker[int] = SeqTracker("orders")
    for n in range(1, 4097):
        assert seq.batch(n, n) == ([], None)
    assert seq.batch(4097, 4097) == ([], Lost("orders", "more than 4096 batches held while waiting for a snapshot"))


def test_a_batch_held_again_at_the_bound_is_not_a_loss() -> None:
    """At the holding bound, a batch already held arriving again replaces it and is not a loss."""
    seq: SeqTracker[str] = SeqTracker("orders", capacity=2)
    seq.batch(1, "1")
    seq.batch(2, "2")
    assert seq.batch(2, "2 again") == ([], None)
    assert seq.snapshot(0) == (["1", "2 again"], None)


def test_giving_up_forgets_the_baseline_and_what_was_held() -> None:
    """After a lost numbering nothing is held, no gap waits, and batches wait for a new snapshot."""
    seq = _tracker(0, capacity=2)
    seq.batch(2, "2")
    seq.batch(3, "3")
    assert isinstance(seq.batch(4, "4")[1], Lost)
    assert (seq.last, seq.awaiting) == (None, False)
    assert seq.batch(9, "9") == ([], None)
    assert seq.snapshot(8) == (["9"], None)


def test_reset_forgets_an_outstanding_gap_and_held_batches() -> None:
    """A reset drops held batches and the waiting gap: the next connection's snapshot starts clean."""
    seq = _tracker(907)
    seq.batch(909, "old")
    seq.reset()
    assert (seq.last, seq.awaiting) == (None, False)
    assert seq.snapshot(908) == ([], None)
    assert seq.batch(909, "new") == (["new"], None)
