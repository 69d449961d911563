"""The chaos run's several-accounts mode (``python -m tools.chaos --accounts N``, ``tools/chaos_watch.py``).

The small run is the real one, shortened: one ``fillwatch watch`` process over two simulated Kalshi
accounts and one Novig v3 account, connections dropped on every account, one ``kill -9``; it must pass
(0 missing, 0 duplicates per account). The judge is checked on its own with a venue whose events are known.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tools import chaos
from tools.chaos_watch import Account, _profile, _row, _table, accounts

ROOT = Path(__file__).resolve().parent.parent


class _Known(chaos.Venue):
    """A venue that made two fills and dropped the connection once."""

    def __init__(self) -> None:
        self.sim = SimpleNamespace(stats=SimpleNamespace(drops=1, connections=2))

    def required(self) -> list[chaos.Key]:
        return [("fill", "t1", "o1"), ("fill", "t2", "o2")]


def _line(account: str, id_: str, order_id: str) -> str:
    event = {"kind": "fill", "id": id_, "order_id": order_id, "qty": 1.0, "source": "live", "account": account}
    return json.dumps(event)


@pytest.mark.timeout(60)
def test_three_accounts_with_drops_and_a_kill9_pass_with_nothing_missing_or_repeated() -> None:
    """A short run over 3 accounts (≥ 9 drops in all, some on each, one kill -9) prints a row per account and passes."""
    command = [sys.executable, "-m", "tools.chaos", "--accounts", "3", "--seconds", "8", "--rate", "80", "--kill9", "1"]
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    result = subprocess.run(
        [*command, "--min-drops", "9"], cwd=ROOT, capture_output=True, text=True, timeout=50, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = [line.strip("|").split("|") for line in result.stdout.splitlines() if line.startswith("| ")]
    rows = [[cell.strip() for cell in row] for row in table]
    assert [row[0] for row in rows[1:]] == ["kalshi-1", "kalshi-2", "novig-1"]
    assert all(row[8:12] == ["0", "0", "0", "0"] for row in rows[1:]), result.stdout
    assert result.stdout.rstrip().endswith("PASS")


def test_the_judge_counts_an_accounts_missing_and_repeated_events_and_not_another_accounts() -> None:
    """Another account's line with the same ids does not count for this one; a repeat and a gap are counted."""
    member = Account("main", _Known())
    written = [_line("main", "t1", "o1"), _line("main", "t1", "o1"), _line("hedge", "t2", "o2")]
    row = _row(member, chaos.Outcome(written=written))
    assert (row["lines"], row["missing"], row["dups"], row["unknown"]) == (2, 1, 1, 0)
    assert "| main | kalshi | 2 | 1 | 2 |" in _table({"main": row})


def test_accounts_alternate_kalshi_kalshi_novig_and_the_kalshi_ones_share_a_seed() -> None:
    """Four accounts: kalshi-1, kalshi-2, novig-1, kalshi-3; the Kalshi ones make the same ids."""
    args = argparse.Namespace(accounts=4, rate=40.0, seed=3)
    found = accounts(args)
    assert [(a.name, a.venue_name) for a in found] == [
        ("kalshi-1", "kalshi"),
        ("kalshi-2", "kalshi"),
        ("novig-1", "novig-v3"),
        ("kalshi-3", "kalshi"),
    ]
    seeds: set[Any] = {a.venue.sim.script.seed for a in found if a.venue_name == "kalshi"}
    assert seeds == {3}


def test_a_venue_command_line_becomes_a_profile() -> None:
    """``kalshi --ws-url U --key-id K --private-key P`` is ``[profiles.NAME]`` with ``ws_url``, ``key_id``, …."""
    text = _profile("main", ["kalshi", "--ws-url", "ws://127.0.0.1:1/x", "--key-id", "k", "--private-key", "/p"])
    assert text == (
        '[profiles.main]\nvenue = "kalshi"\nws_url = "ws://127.0.0.1:1/x"\nkey_id = "k"\nprivate_key = "/p"\n'
    )
