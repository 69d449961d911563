"""CheckpointSink: the journal after each burst, throttled full saves, close and abort (issue 17).

The sink is driven as the runner drives it (event, then flush after the lines were
written), with a controllable monotonic clock; the files are real.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from fillwatch.core.errors import WriteFailed
from fillwatch.core.events import Connected
from fillwatch.core.ledger import Checkpoint, Ledger
from fillwatch.session.state import CheckpointSink, StateFile
from tests.test_ledger import T0, fill

LATE = T0.timestamp() + 86_400


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def setup(tmp_path: Path, **options: object) -> tuple[StateFile, Ledger, CheckpointSink, Clock]:
    state = StateFile(tmp_path / "s.json", venue="kalshi", account="a")
    state.lock()
    ledger = Ledger(clock=lambda: LATE)
    clock = Clock()
    sink = CheckpointSink(state, ledger, clock=clock, **options)  # type: ignore[arg-type]
    return state, ledger, sink, clock


def saved(tmp_path: Path) -> dict[str, object]:
    return orjson.loads((tmp_path / "s.json").read_bytes())


def journal(tmp_path: Path) -> list[list[object]]:
    return [orjson.loads(line) for line in (tmp_path / "s.json.journal").read_bytes().splitlines()]


def printed(ledger: Ledger, sink: CheckpointSink, *events: object) -> None:
    for event in events:
        assert ledger.admit(event)  # type: ignore[arg-type]
        sink.event(event)  # type: ignore[arg-type]


def test_the_sink_saves_at_start_with_the_adapters_memory(tmp_path: Path) -> None:
    """Making the sink saves the ledger's checkpoint and the adapter's memory, and empties an old journal."""
    (tmp_path / "s.json.journal").write_bytes(b'["2026-11-21T12:00:00+00:00","t9","o"]\n')
    state = StateFile(tmp_path / "s.json", venue="kalshi", account="a")
    ledger = Ledger(checkpoint=state.load(), clock=lambda: LATE)
    CheckpointSink(state, ledger, memory=lambda: {"open": ["o1"]}, clock=Clock())
    assert saved(tmp_path)["seen"] == [["t9", "o"]]
    assert saved(tmp_path)["memory"] == {"open": ["o1"]}
    assert (tmp_path / "s.json.journal").read_bytes() == b""


def test_a_flush_journals_the_burst_and_saves_only_after_the_interval(tmp_path: Path) -> None:
    """Within the interval a flush only journals its events (stamped with their times); at the
    interval (edge included) it saves everything and empties the journal."""
    state, ledger, sink, clock = setup(tmp_path, interval=2.0)
    printed(ledger, sink, fill(1, seconds=1), fill(2, seconds=2))
    clock.now = 101.999
    sink.flush()
    assert journal(tmp_path) == [["2026-11-21T12:00:01+00:00", "t1", "o"], ["2026-11-21T12:00:02+00:00", "t2", "o"]]
    assert saved(tmp_path)["seen"] == []
    printed(ledger, sink, fill(3, seconds=3))
    clock.now = 102.0
    sink.flush()
    assert saved(tmp_path)["seen"] == [["t1", "o"], ["t2", "o"], ["t3", "o"]]
    assert (tmp_path / "s.json.journal").read_bytes() == b""
    printed(ledger, sink, fill(4, seconds=4))
    clock.now = 103.999  # 1.999 s after the last save
    sink.flush()
    assert journal(tmp_path) == [["2026-11-21T12:00:04+00:00", "t4", "o"]]
    state.unlock()


def test_the_default_interval_is_one_second(tmp_path: Path) -> None:
    """Without an interval given, a flush one second after the last save saves."""
    state, ledger, sink, clock = setup(tmp_path)
    printed(ledger, sink, fill(1, seconds=1))
    clock.now = 100.999
    sink.flush()
    assert saved(tmp_path)["seen"] == []
    printed(ledger, sink, fill(2, seconds=2))
    clock.now = 101.0
    sink.flush()
    assert saved(tmp_path)["seen"] == [["t1", "o"], ["t2", "o"]]
    state.unlock()


def test_a_flush_without_events_writes_nothing(tmp_path: Path) -> None:
    """An empty flush neither journals nor saves, even long after the last save; a flushed burst is not
    journaled twice."""
    state, ledger, sink, clock = setup(tmp_path, interval=1.0)
    ledger.admit(fill(2, seconds=2))  # admitted, but its line not yet handed to the sink
    clock.now = 1000.0
    sink.flush()
    assert not (tmp_path / "s.json.journal").exists()
    assert saved(tmp_path)["seen"] == []
    printed(ledger, sink, fill(1, seconds=1))
    sink.flush()  # journaled, then saved: the last save was 900 s ago
    assert saved(tmp_path)["seen"] == [["t2", "o"], ["t1", "o"]]
    printed(ledger, sink, fill(3, seconds=3))
    clock.now = 1000.5
    sink.flush()
    sink.flush()
    assert journal(tmp_path) == [["2026-11-21T12:00:03+00:00", "t3", "o"]]
    state.unlock()


def test_an_implausible_event_is_journaled_at_the_newest_plausible_time(tmp_path: Path) -> None:
    """A fill dated 2100 is journaled at the newest plausible time, so the journal cannot move newest to 2100."""
    state, ledger, sink, _clock = setup(tmp_path, interval=3600.0)
    far = fill(2, seconds=0)
    far = type(far)(**{**{n: getattr(far, n) for n in far.__slots__}, "ts": datetime(2100, 6, 1, tzinfo=UTC)})
    printed(ledger, sink, fill(1, seconds=5), far)
    sink.flush()
    assert journal(tmp_path)[1] == ["2026-11-21T12:00:05+00:00", "t2", "o"]
    state.unlock()
    assert StateFile(tmp_path / "s.json", venue="kalshi", account="a").load().newest == T0 + timedelta(seconds=5)


def test_statuses_are_ignored(tmp_path: Path) -> None:
    """A status item is not an event: it is neither journaled nor saved."""
    state, _ledger, sink, clock = setup(tmp_path)
    sink.status(Connected("wss://example.invalid", 1))
    clock.now = 500.0
    sink.flush()
    assert not (tmp_path / "s.json.journal").exists()
    state.unlock()


def test_close_saves_everything_and_releases_the_lock(tmp_path: Path) -> None:
    """close() saves the checkpoint at once (whatever the interval), empties the journal and unlocks."""
    _state, ledger, sink, _clock = setup(tmp_path, interval=3600.0)
    printed(ledger, sink, fill(1, seconds=1))
    sink.flush()
    sink.close()
    assert saved(tmp_path)["seen"] == [["t1", "o"]]
    assert (tmp_path / "s.json.journal").read_bytes() == b""
    other = StateFile(tmp_path / "s.json", venue="kalshi", account="a")
    other.lock()
    other.unlock()


def test_a_close_whose_save_fails_still_releases_the_lock(tmp_path: Path) -> None:
    """If the final save fails, close() raises WriteFailed and the lock is released all the same."""
    _state, _ledger, sink, _clock = setup(tmp_path)
    (tmp_path / "s.json").unlink()
    (tmp_path / "s.json").mkdir()
    (tmp_path / "s.json" / "keep").write_bytes(b"x")
    with pytest.raises(WriteFailed):
        sink.close()
    other = StateFile(tmp_path / "s.json", venue="kalshi", account="a")
    other.lock()
    other.unlock()


def test_abort_saves_nothing_more_and_releases_the_lock(tmp_path: Path) -> None:
    """After abort(), the last save and the journal stand: events handed over but not flushed are in neither."""
    _state, ledger, sink, _clock = setup(tmp_path, interval=3600.0)
    printed(ledger, sink, fill(1, seconds=1))
    sink.flush()
    printed(ledger, sink, fill(2, seconds=2))  # its line was not written
    sink.abort()
    assert saved(tmp_path)["seen"] == []
    assert journal(tmp_path) == [["2026-11-21T12:00:01+00:00", "t1", "o"]]
    assert StateFile(tmp_path / "s.json", venue="kalshi", account="a").load() == Checkpoint(
        T0 + timedelta(seconds=1), (("t1", "o"),)
    )
    other = StateFile(tmp_path / "s.json", venue="kalshi", account="a")
    other.lock()
    other.unlock()
