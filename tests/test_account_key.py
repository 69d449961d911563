"""The ``account`` key (CONTRACT §3): the profile's name, else the venue's; kept by replay and read back per account."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from fillwatch.render.views import printed_to
from fillwatch.sim.kalshi import Script
from tests.conftest import fillwatch, kalshi_args

pytestmark = pytest.mark.timeout(60)


def test_without_a_profile_the_account_is_the_venue(kalshi_sim, key_file: Path) -> None:
    """`fillwatch kalshi` with no profile: every line says account "kalshi", as its last key."""
    sim = kalshi_sim(Script(rate=50, seed=3))
    result = fillwatch([*kalshi_args(sim, key_file), "--max-events", "4", "-q"])
    assert result.returncode == 0, result.stderr
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(list(line)[-1], line["account"]) for line in lines] == [("account", "kalshi")] * 4


def test_a_recording_replays_under_the_account_it_was_made_with(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """A recording of a profile's run names the profile in its header; replay prints the run's lines, account too."""
    sim = kalshi_sim(Script(rate=50, seed=5))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.hedge]\nvenue = "kalshi"\nkey_id = "{sim.key_id}"\nprivate_key = "{key_file}"\n'
        f'ws_url = "{sim.url}"\nformat = "jsonl"\n'
    )
    rec = tmp_path / "run.rec"
    live = fillwatch(
        ["kalshi", "--config", str(config), "--profile", "hedge", "--record", str(rec), "--max-events", "5"]
    )
    assert live.returncode == 0, live.stderr
    assert orjson.loads(rec.read_bytes().splitlines()[0])["account"] == "hedge"
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl"])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout
    assert {orjson.loads(line)["account"] for line in live.stdout.splitlines()} == {"hedge"}
    again = tmp_path / "again.jsonl"  # an --output file replays with the accounts its lines carry
    again.write_text(live.stdout)
    assert fillwatch(["replay", str(again), "-f", "jsonl"]).stdout == live.stdout


def test_the_output_tail_is_read_back_per_account(tmp_path: Path) -> None:
    """After kill -9 a run reads back its own account's lines; a line from before the key counts for every account."""
    base = {"kind": "fill", "venue": "kalshi", "order_id": "o", "market": "M", "side": "yes", "action": "buy",
            "price": 0.5, "qty": 1, "ts": "2026-01-01T00:00:00.000Z", "taker": None, "fee": None, "position": None,
            "wash": None, "original_qty": None, "currency": "USD", "source": "live", "reason": None}  # fmt: skip
    rows = [{**base, "id": "old"}, {**base, "id": "a1", "account": "main"}, {**base, "id": "h1", "account": "hedge"}]
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    assert [e.id for e in printed_to(out, "kalshi", "main")] == ["old", "a1"]
    assert [e.id for e in printed_to(out, "kalshi", "hedge")] == ["old", "h1"]
    assert printed_to(out, "novig", "main") == []
