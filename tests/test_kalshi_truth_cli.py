"""Kalshi venue truth through the CLI: Ed25519 keys, demo's key type, cancel lines, unsolicited errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from fillwatch.core.errors import ExitCode
from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.sim.thread import SimThread
from tests.conftest import fillwatch, kalshi_args
from tests.venues.test_kalshi_truth import LIVE_FILL, user_order

pytestmark = pytest.mark.timeout(60)


def write_ed25519(path: Path, key: ed25519.Ed25519PrivateKey) -> Path:
    """Write `key` as Kalshi hands an Ed25519 key out: PKCS#8 PEM (openapi.yaml GenerateApiKeyResponse)."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    """The Ed25519 API key the simulated venue knows."""
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture
def ed_sim(ed_key: ed25519.Ed25519PrivateKey) -> Iterator[KalshiSim]:
    """A simulated Kalshi that knows only the Ed25519 key."""
    with SimThread(KalshiSim(Script(rate=50, seed=7), key=ed_key)) as sim:
        yield sim


def lines_of(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_kalshi_streams_with_an_ed25519_key(ed_sim: KalshiSim, ed_key, tmp_path: Path) -> None:
    """`fillwatch kalshi` signs the upgrade and the REST history with an Ed25519 key, and streams."""
    key = write_ed25519(tmp_path / "ed.pem", ed_key)
    args = kalshi_args(ed_sim, key, "--api-url", ed_sim.api_url, "--since", "10m", "--max-events", "8")
    result = fillwatch(args)
    assert result.returncode == 0, result.stderr
    assert len(lines_of(result.stdout)) == 8
    assert ed_sim.stats.rejected == 0
    assert ed_sim.stats.rest_requests  # the history was read, signed with the same key


def test_an_unknown_ed25519_key_is_rejected(ed_sim: KalshiSim, tmp_path: Path) -> None:
    """The simulator verifies Ed25519 signatures: a key it does not know is refused twice, exit 3."""
    other = write_ed25519(tmp_path / "other.pem", ed25519.Ed25519PrivateKey.generate())
    result = fillwatch(kalshi_args(ed_sim, other))
    assert (result.returncode, result.stdout) == (ExitCode.AUTH, "")
    assert ed_sim.stats.upgrades == 2


def test_demo_signs_with_an_ed25519_key_on_request() -> None:
    """`fillwatch demo --key-type ed25519` streams from a simulated Kalshi that verifies Ed25519 signatures."""
    result = fillwatch(["demo", "--key-type", "ed25519", "-f", "jsonl", "--max-events", "5", "--rate", "50"])
    assert result.returncode == 0, result.stderr
    assert [line["venue"] for line in lines_of(result.stdout)] == ["kalshi"] * 5


def test_demo_key_type_does_not_apply_to_novig() -> None:
    """`--key-type` with `--venue novig` is a usage error (exit 2), in one line."""
    result = fillwatch(["demo", "--venue", "novig", "--key-type", "ed25519", "--max-events", "1"])
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.splitlines() == [
        "fillwatch: error: --key-type chooses the simulated Kalshi key; it does not apply to --venue novig"
    ]


def test_kalshi_prints_the_cancelled_quantity_and_reason(kalshi_sim, key_file: Path) -> None:
    """asyncapi.yaml fill and user_order frames through the CLI: buy no @ 0.82, then a close cancel of 4 contracts."""
    frames = [orjson.dumps(LIVE_FILL).decode(), orjson.dumps(user_order(last_update_reason="CloseCancel")).decode()]
    sim = kalshi_sim(Script(rate=50, frames=frames))
    result = fillwatch(kalshi_args(sim, key_file, "--max-events", "2"))
    assert result.returncode == 0, result.stderr
    fill, cancel = lines_of(result.stdout)
    assert (fill["side"], fill["action"], fill["price"], fill["ts"]) == ("no", "buy", 0.82, "2026-05-02T18:02:11.101Z")
    assert (cancel["qty"], cancel["original_qty"], cancel["reason"]) == (4, 10, "market_closed")


@pytest.mark.parametrize("code", [7, 18, 27])  # not 16: retired, the simulator no longer sends it
def test_an_error_answering_no_command_of_ours_is_reported_not_fatal(kalshi_sim, key_file: Path, code: int) -> None:
    """An asyncapi.yaml error frame with no id mid-stream is a counted, skipped frame: no exit 1, no reconnect."""
    sim = kalshi_sim(Script(rate=50, seed=7, error_after=(2, code)))
    result = fillwatch(kalshi_args(sim, key_file, "--max-events", "6"))
    assert result.returncode == 0, result.stderr
    assert len(lines_of(result.stdout)) == 6
    assert f"skipped a frame (Kalshi error {code}, answering no command of ours; 1 so far)" in result.stderr
    assert sim.stats.connections == 1


def test_a_timeless_cancel_replays_with_the_time_it_was_read(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """A user_order with null created_ts_ms and no update time (asyncapi.yaml) is dated on receipt, and so on replay."""
    timeless = user_order(created_ts_ms=None, created_time=None, last_update_time=..., last_updated_ts_ms=...)
    sim = kalshi_sim(Script(rate=50, frames=[orjson.dumps(timeless).decode()]))
    rec = tmp_path / "run.rec"
    before = time.time()
    live = fillwatch(kalshi_args(sim, key_file, "--max-events", "1", "--record", str(rec)))
    assert live.returncode == 0, live.stderr
    [line] = lines_of(live.stdout)
    read_at = datetime.fromisoformat(line["ts"]).timestamp()
    assert before - 0.001 <= read_at <= time.time()
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl"])
    assert (replayed.returncode, replayed.stdout) == (0, live.stdout)
