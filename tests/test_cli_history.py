"""--since, --no-follow and --state, run as a user runs them, against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fillwatch.core.errors import ExitCode
from fillwatch.session.state import StateFile
from fillwatch.sim.kalshi import Script
from tests.conftest import fillwatch, kalshi_args, trades_on

pytestmark = pytest.mark.timeout(60)


def events_of(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def keys_of(stdout: str) -> list[tuple[object, object, object]]:
    return [(e["kind"], e["id"], e["order_id"]) for e in events_of(stdout)]


def api(sim) -> list[str]:
    return ["--api-url", sim.api_url]


def test_two_runs_with_one_state_file_print_each_event_once(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """Run, pause (the venue goes on trading), run again: every event once over both runs.

    Everything the venue did before the second run's first live event was
    printed by the first run or recovered from history by the second.
    """
    sim = kalshi_sim(Script(rate=100, seed=31))
    state = tmp_path / "kalshi.state"
    first = fillwatch(kalshi_args(sim, key_file, *api(sim), "--state", str(state), "--max-events", "30"))
    assert first.returncode == 0, first.stderr
    trades_on(sim, 60)  # events happen while nobody listens: only REST history has them
    second = fillwatch(kalshi_args(sim, key_file, *api(sim), "--state", str(state), "--max-events", "200"))
    assert second.returncode == 0, second.stderr
    both = keys_of(first.stdout) + keys_of(second.stdout)
    assert len(both) == len(set(both)) == 230
    emitted = sim.emitted[:]
    assert set(both) <= set(emitted)
    later = events_of(second.stdout)
    first_live = next(e for e in later if e["source"] == "live")
    before = emitted[: emitted.index((first_live["kind"], first_live["id"], first_live["order_id"]))]
    assert set(before) <= set(both)
    assert sum(e["source"] == "history" for e in later) >= 20
    assert "+ history since" in second.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("kalshi.state")) == [
        "kalshi.state",
        "kalshi.state.journal",
        "kalshi.state.lock",
    ]
    assert (tmp_path / "kalshi.state.journal").stat().st_size == 0  # the last save covers it


def test_a_second_process_on_the_same_state_file_exits_2(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """The advisory lock: the second holder gets one clear line and exit 2."""
    sim = kalshi_sim()
    state = tmp_path / "kalshi.state"
    holder = StateFile(state, venue="kalshi", account=sim.key_id)
    holder.lock()
    try:
        result = fillwatch(kalshi_args(sim, key_file, *api(sim), "--state", str(state), "--max-events", "1"))
    finally:
        holder.unlock()
    assert result.returncode == ExitCode.USAGE
    assert result.stderr == f"fillwatch: error: state file {state} is in use by another fillwatch process\n"
    assert sim.stats.upgrades == 0


def test_since_no_follow_prints_history_and_exits_0(kalshi_sim, key_file: Path) -> None:
    """--since 1h --no-follow: every event of the last hour, from history, then exit 0."""
    sim = kalshi_sim(Script(rate=100, seed=32, limit=40))
    live = fillwatch(kalshi_args(sim, key_file, *api(sim), "--max-events", "40"))
    assert live.returncode == 0
    history = fillwatch(kalshi_args(sim, key_file, *api(sim), "--since", "1h", "--no-follow"))
    assert history.returncode == 0, history.stderr
    events = events_of(history.stdout)
    assert {e["source"] for e in events} == {"history"}
    assert set(keys_of(history.stdout)) == set(keys_of(live.stdout)) == set(sim.emitted)
    times = [e["ts"] for e in events]
    assert times == sorted(times)
    assert sim.stats.connections == 1  # the history-only run opened no WebSocket


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-follow"], "--no-follow needs --since or --state"),
        (["--since", "yesterday-ish"], "invalid --since"),
        (["--since", "2999-01-01"], "is in the future"),
    ],
)
def test_history_usage_errors_exit_2(kalshi_sim, key_file: Path, args: list[str], message: str) -> None:
    """Bad history options are usage errors, before any connection."""
    sim = kalshi_sim()
    result = fillwatch(kalshi_args(sim, key_file, *args))
    assert result.returncode == ExitCode.USAGE
    assert message in result.stderr
    assert sim.stats.upgrades == 0
