"""The --state checkpoint file: round trip, atomic replace, lock, ownership."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fillwatch.core.errors import ConfigError, ExitCode
from fillwatch.core.ledger import Checkpoint
from fillwatch.session.state import StateFile

NOW = datetime(2026, 11, 21, 12, 0, 0, 123000, tzinfo=UTC)


def test_round_trip_leaves_no_temporary_file(tmp_path: Path) -> None:
    """What is saved loads back, and only the state file (and its lock) remain."""
    state = StateFile(tmp_path / "s.json", venue="kalshi", account="key-1")
    assert state.load() is None
    memory = {"orders_seen_until": NOW.isoformat(), "open": [["o3", "m", "CASH", None]], "ended": ["o2"]}
    checkpoint = Checkpoint(NOW, (("t1", "o1"), ("o2", "o2")), resume_from=NOW, memory=memory)
    state.save(checkpoint)
    state.save(checkpoint)
    assert state.load() == checkpoint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_second_holder_is_refused(tmp_path: Path) -> None:
    """Two processes on one state file: the second gets a clear error, exit 2."""
    first = StateFile(tmp_path / "s.json", venue="kalshi", account="key-1")
    second = StateFile(tmp_path / "s.json", venue="kalshi", account="key-1")
    first.lock()
    with pytest.raises(ConfigError, match="in use by another fillwatch process") as caught:
        second.lock()
    assert caught.value.exit_code == ExitCode.USAGE
    first.unlock()
    second.lock()
    second.unlock()


def test_another_accounts_state_is_refused(tmp_path: Path) -> None:
    """A checkpoint written for another account or venue is not used."""
    StateFile(tmp_path / "s.json", venue="kalshi", account="key-1").save(Checkpoint(NOW, ()))
    with pytest.raises(ConfigError, match="belongs to kalshi account key-1"):
        StateFile(tmp_path / "s.json", venue="kalshi", account="key-2").load()


@pytest.mark.parametrize("content", ["{", '{"version": 1}', '{"version": 7, "venue": "kalshi"}', "[]"])
def test_malformed_state_is_a_configuration_error(tmp_path: Path, content: str) -> None:
    """A damaged file is reported, not silently replaced."""
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=r"state file .* (cannot be read|is malformed|has version)"):
        StateFile(path, venue="kalshi", account="key-1").load()
