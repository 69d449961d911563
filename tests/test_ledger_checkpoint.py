"""Checkpoint serialisation: the JSON object a --state file and a recording header keep (issue 17).

The format is the one fillwatch/session/state.py documents (version 1): ``newest``, ``resume_from``,
``seen`` as [id, order_id] pairs, optional ``floor`` and ``memory``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fillwatch.core.ledger import Checkpoint, Ledger
from tests.test_ledger import T0, fill

LATE = T0.timestamp() + 86_400


def test_to_json_writes_every_field_as_iso_text() -> None:
    """newest, resume_from and floor are ISO 8601 with their offset; seen and memory are kept as given."""
    checkpoint = Checkpoint(
        T0 + timedelta(milliseconds=762), (("t1", "o1"),), T0, memory={"open": ["o3"]}, floor=T0 - timedelta(hours=1)
    )
    assert checkpoint.to_json() == {
        "newest": "2026-11-21T12:00:00.762000+00:00",
        "resume_from": "2026-11-21T12:00:00+00:00",
        "seen": (("t1", "o1"),),
        "floor": "2026-11-21T11:00:00+00:00",
        "memory": {"open": ["o3"]},
    }


def test_to_json_leaves_out_an_absent_floor_and_memory() -> None:
    """A checkpoint without floor or memory has neither key (files of older versions look the same)."""
    assert Checkpoint(None, ()).to_json() == {"newest": None, "resume_from": None, "seen": ()}


def test_from_json_reads_what_to_json_wrote() -> None:
    """Every field survives the round trip through JSON-shaped values (lists for tuples)."""
    checkpoint = Checkpoint(
        T0, (("t1", "o1"), ("t2", "o1")), T0 - timedelta(seconds=9), memory={"k": [1]}, floor=T0 - timedelta(days=1)
    )
    document = {**checkpoint.to_json(), "seen": [list(key) for key in checkpoint.seen]}
    assert Checkpoint.from_json(document) == checkpoint


def test_from_json_of_an_old_file_without_optional_fields() -> None:
    """Only newest and seen are required; resume_from, memory and floor default to None."""
    loaded = Checkpoint.from_json({"newest": "2026-11-21T12:00:00+00:00", "seen": [["t1", "o1"]]})
    assert loaded == Checkpoint(T0, (("t1", "o1"),), None, None, None)


def test_from_json_keeps_a_time_zone_offset() -> None:
    """A time written with another offset is the same instant, with its offset kept."""
    loaded = Checkpoint.from_json({"newest": "2026-11-21T13:00:00+01:00", "seen": []})
    assert loaded.newest == T0
    assert loaded.newest.utcoffset() == timedelta(hours=1)
    assert loaded.newest.tzinfo == timezone(timedelta(hours=1))


def test_from_json_makes_keys_text() -> None:
    """Keys written as numbers come back as the text a venue event would carry."""
    assert Checkpoint.from_json({"newest": None, "seen": [[17, 4]]}).seen == (("17", "4"),)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "^the checkpoint is not an object$"),
        ({"newest": 1700000000, "seen": []}, "not a time: 1700000000"),
        ({"newest": "2026-11-21T12:00:00", "seen": []}, "a time without a time zone: '2026-11-21T12:00:00'"),
        ({"newest": None, "seen": [], "floor": "2026-11-21T12:00:00"}, "without a time zone"),
        ({"newest": None, "seen": [], "resume_from": 5}, "not a time: 5"),
        ({"newest": "yesterday", "seen": []}, "yesterday"),
    ],
)
def test_from_json_refuses_what_is_not_a_checkpoint(value: object, message: str) -> None:
    """A non-object, a time that is not text, a time without a zone or not a time raises ValueError."""
    with pytest.raises(ValueError, match=message):
        Checkpoint.from_json(value)


@pytest.mark.parametrize("value", [{"seen": []}, {"newest": None}, {"newest": None, "seen": [["only-one"]]}])
def test_from_json_refuses_missing_fields(value: object) -> None:
    """A checkpoint without newest or seen, or with a key that is not a pair, raises."""
    with pytest.raises((KeyError, ValueError)):
        Checkpoint.from_json(value)


def test_including_adds_journal_entries_and_moves_newest_forward_only() -> None:
    """Journal entries add their keys (in order, once) and move newest only to a later time; other
    fields are kept."""
    base = Checkpoint(T0, (("t1", "o"),), T0 - timedelta(seconds=5), memory=[1], floor=T0 - timedelta(hours=2))
    merged = base.including(
        [(T0 + timedelta(seconds=2), "t2", "o"), (T0 - timedelta(seconds=1), "t1", "o"), (None, "t3", "o")]
    )
    assert merged == Checkpoint(
        T0 + timedelta(seconds=2),
        (("t1", "o"), ("t2", "o"), ("t3", "o")),
        T0 - timedelta(seconds=5),
        memory=[1],
        floor=T0 - timedelta(hours=2),
    )
    assert base.including([(T0 - timedelta(seconds=1), "t9", "o")]).newest == T0
    assert base.including([(T0, "t9", "o")]).newest == T0


def test_an_entry_at_the_newest_time_leaves_newest_as_it_was() -> None:
    """A journal entry at the same instant as newest, written with another offset, does not replace it."""
    same = T0.astimezone(timezone(timedelta(hours=1)))
    merged = Checkpoint(T0, ()).including([(same, "t1", "o")])
    assert merged.to_json()["newest"] == "2026-11-21T12:00:00+00:00"


def test_including_into_an_empty_checkpoint_takes_the_first_time() -> None:
    """A first run killed before any save: the journal alone gives newest and the keys."""
    merged = Checkpoint(None, ()).including([(None, "t0", "o"), (T0, "t1", "o"), (T0 - timedelta(1), "t2", "o")])
    assert merged == Checkpoint(T0, (("t0", "o"), ("t1", "o"), ("t2", "o")))


def test_a_checkpoint_keeps_the_keys_of_the_window_and_slack_with_the_edge() -> None:
    """The checkpoint holds keys from newest - overlap - 5 s on (that edge included), with the
    resume point and the origin floor."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=lambda: LATE)
    ledger.set_floor(T0 - timedelta(hours=1))
    ledger.set_floor(T0)
    ledger.admit(fill(1, seconds=34.999))
    ledger.admit(fill(2, seconds=35))
    ledger.admit(fill(3, seconds=100))
    ledger.owe(T0 + timedelta(seconds=90))
    checkpoint = ledger.checkpoint()
    assert checkpoint == Checkpoint(
        T0 + timedelta(seconds=100),
        (("t2", "o"), ("t3", "o")),
        T0 + timedelta(seconds=90),
        floor=T0 - timedelta(hours=1),
    )


def test_a_checkpoint_with_an_owed_gap_keeps_the_keys_back_to_the_gap() -> None:
    """While a gap is owed from T0 + 10 s, the checkpoint keeps keys from T0 + 5 s on."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=lambda: LATE)
    for n, seconds in enumerate((4.999, 5, 100)):
        ledger.admit(fill(n, seconds=seconds))
    ledger.owe(T0 + timedelta(seconds=10))
    assert ledger.checkpoint().seen == (("t1", "o"), ("t2", "o"))


def test_a_ledger_from_a_checkpoint_knows_its_keys_and_times() -> None:
    """Keys of a checkpoint are refused, newest and resume_from are taken over, and its keys are
    swept once the window has moved past the checkpoint's newest."""
    checkpoint = Checkpoint(T0, (("t1", "o"),), T0 - timedelta(seconds=30))
    ledger = Ledger(overlap=timedelta(seconds=60), checkpoint=checkpoint, clock=lambda: LATE)
    assert (ledger.newest, ledger.resume_from, ledger.resumed) == (T0, T0 - timedelta(seconds=30), True)
    assert not ledger.admit(fill(1, seconds=0))
    assert ledger.admit(fill(2, seconds=-30, source="history"))  # the owed gap's start: in the window
    ledger.settle()
    for n in range(3, 2000):
        ledger.admit(fill(n, seconds=1000 + n / 1000))
    assert ledger.admit(fill(1, seconds=0))  # its key was swept: the checkpoint's keys date at its newest


def test_a_settled_gap_leaves_no_resume_point() -> None:
    """After settle(), the checkpoint has no resume point and serialises it as null."""
    ledger = Ledger(clock=lambda: LATE)
    ledger.admit(fill(1, seconds=0))
    ledger.owe(T0 - timedelta(seconds=30))
    ledger.settle()
    assert ledger.checkpoint().resume_from is None
    assert ledger.checkpoint().to_json()["resume_from"] is None


def test_remember_counts_as_printed_without_moving_newest() -> None:
    """An event read back from --output is refused later, leaves `newest` alone, and an implausible time
    is remembered at most 5 minutes after the newest time, so the key still leaves the window."""
    ledger = Ledger(overlap=timedelta(seconds=60), clock=lambda: LATE)
    ledger.admit(fill(1, seconds=0))
    far = fill(2, seconds=0)
    far = type(far)(**{**{n: getattr(far, n) for n in far.__slots__}, "ts": datetime(2100, 6, 1, tzinfo=UTC)})
    ledger.remember(far)
    ledger.remember(fill(3, seconds=50))
    assert ledger.newest == T0
    assert not ledger.admit(far)
    assert not ledger.admit(fill(3, seconds=50))
    ledger.admit(fill(4, seconds=300 + 65))  # newest - 65 s = T0 + 300 s, where `far` was stamped
    assert ("t2", "o") in ledger.checkpoint().seen
    ledger.admit(fill(5, seconds=300 + 65.001))
    assert ("t2", "o") not in ledger.checkpoint().seen


def test_remember_before_any_event_stamps_at_the_clock_and_keeps_the_first_stamp() -> None:
    """With nothing printed, an implausible remembered time is kept at the clock + 5 min; remembering the
    key again changes nothing."""
    now = [T0.timestamp()]
    ledger = Ledger(overlap=timedelta(seconds=60), clock=lambda: now[0])
    far = fill(2, seconds=0)
    far = type(far)(**{**{n: getattr(far, n) for n in far.__slots__}, "ts": datetime(2100, 6, 1, tzinfo=UTC)})
    ledger.remember(far)
    ledger.remember(fill(2, seconds=0))  # the same key with an earlier time: the first stamp stays
    assert len(ledger) == 1
    now[0] = LATE
    ledger.admit(fill(4, seconds=300 + 65))
    assert ("t2", "o") in ledger.checkpoint().seen
    ledger.admit(fill(5, seconds=300 + 65.001))
    assert ("t2", "o") not in ledger.checkpoint().seen
