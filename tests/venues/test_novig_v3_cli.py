"""`fillwatch novig` on the v3 API, end to end: the CLI as a subprocess against the v3 simulator on loopback.

Sources (``Semionsr/novig-v3-kit``, ``fixtures/docs/``, summarised in ``protocols/novig-v3.md``):
api_streaming_private.md (snapshot, batches, ``seq``, heartbeat, recovery), api_streaming_connection.md
(close codes), api-reference_execution_list-fills.md and api-reference_execution_list-orders.md
(REST history), api_errors.md (signature refusals), CONTRACT §2–§3 (credentials, event lines).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fillwatch.sim.novig_v3 import NovigV3Sim, Script
from fillwatch.sim.novig_v3_auth import ApiKey
from fillwatch.sim.thread import SimThread
from tests.conftest import fillwatch

Key = tuple[str, set[str]]


def _pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    encoding, private = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, private, serialization.NoEncryption())


@contextmanager
def venue(tmp_path: Path, algorithm: str = "ed25519", **script: Any) -> Iterator[tuple[NovigV3Sim, list[str]]]:
    """A v3 simulator in a thread, and the `fillwatch novig` arguments that reach it with a fresh key."""
    key = Ed25519PrivateKey.generate() if algorithm == "ed25519" else ec.generate_private_key(ec.SECP256R1())
    key_id = str(uuid.uuid4())
    path = tmp_path / f"{algorithm}.pem"
    path.write_bytes(_pem(key))
    path.chmod(0o600)
    sim = NovigV3Sim(Script(**{"seed": 7, "golive_every": None, **script}), keys=[ApiKey(key_id, key.public_key())])
    with SimThread(sim) as running:
        args = ["novig", "--ws-url", running.url, "--api-url", running.api_url, "--key-id", key_id]
        yield running, [*args, "--private-key", str(path), "--format", "jsonl"]


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def truth(sim: NovigV3Sim) -> list[tuple[str, str, str]]:
    """Every fill and cancel the subaccount had, keyed as the event lines key them (kind, id, order_id)."""
    keys = []
    for batch in sim.feed.batches:
        for event in batch.events:
            order = event["orderId"]
            if event["kind"] == "fill":
                keys.append(("fill", f"{order}:{event['remaining']}", order))
            elif event["kind"] == "cancel":
                keys.append(("cancel", order, order))
    return keys


def printed(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["kind"], e["id"], e["order_id"]) for e in events]


def test_a_dropped_batch_is_a_gap_detected_and_recovered_once(tmp_path: Path) -> None:
    """api_streaming_private.md "Recovery": batches never sent are a seq gap; their events come from REST, once."""
    with venue(tmp_path, rate=20, limit=40, drop_seqs={8, 9, 20}) as (sim, args):
        result = fillwatch([*args, "--duration", "5s"])
        assert result.returncode == 0, result.stderr
        events = lines(result.stdout)
        expected = truth(sim)
    assert sorted(printed(events)) == sorted(expected)
    lost = {e["orderId"] for b in sim.feed.batches if b.seq in {8, 9, 20} for e in b.events if e["kind"] != "open"}
    recovered = [e for e in events if e["order_id"] in lost and e["source"] == "history"]
    assert recovered, "the dropped batches' events came from REST history"
    assert "+ seq 7→10: " in result.stderr
    assert "+ seq 19→21: " in result.stderr
    assert result.stderr.count("+ seq ") == 2


def test_stream_fills_and_rest_fills_of_a_reconnect_are_one_each(tmp_path: Path) -> None:
    """api-reference_execution_list-fills.md: a reconnect's REST read overlaps the stream; each fill is shown once."""
    with venue(tmp_path, rate=20, limit=50, drop_after=12, drops=2) as (sim, args):
        result = fillwatch([*args, "--duration", "6s"])
        assert result.returncode == 0, result.stderr
        events = lines(result.stdout)
        expected = truth(sim)
    assert len(printed(events)) == len(set(printed(events)))
    assert sorted(printed(events)) == sorted(expected)
    assert sim.stats.connections >= 3


def test_p256_key_signs_the_stream_and_rest(tmp_path: Path) -> None:
    """api_authentication.md: a P-256 key (DER ECDSA) signs the upgrade and the REST reads as an Ed25519 key does."""
    with venue(tmp_path, "p256", rate=20, limit=20) as (sim, args):
        result = fillwatch([*args, "--since", "1m", "--duration", "3s"])
        assert result.returncode == 0, result.stderr
        expected = truth(sim)
    assert sorted(printed(lines(result.stdout))) == sorted(expected)


def test_v3_and_nbx_credentials_together_are_a_usage_error(tmp_path: Path) -> None:
    """CONTRACT §2: a v3 key and NBX credentials at once is a usage error (exit 2), named in one line."""
    with venue(tmp_path, rate=None) as (_, args):
        result = fillwatch([*args, "--token", "abc"])
    assert result.returncode == 2
    assert "not both" in result.stderr


def test_an_unknown_key_is_refused_with_novigs_message(tmp_path: Path) -> None:
    """api_errors.md: a key id Novig does not know is 401 `api key not found`; the run stops with exit 3 and says so."""
    with venue(tmp_path, rate=None) as (_, args):
        args[args.index("--key-id") + 1] = str(uuid.uuid4())
        result = fillwatch(args)
    assert result.returncode == 3, result.stderr
    assert "api key not found" in result.stderr


def test_slow_consumer_close_reconnects_and_loses_nothing(tmp_path: Path) -> None:
    """api_streaming_connection.md: close 1008 SLOW_CONSUMER means reconnect with a new snapshot; nothing is lost."""
    with venue(tmp_path, rate=20, limit=40, close_after=10, closes=2) as (sim, args):
        result = fillwatch([*args, "--duration", "6s"])
        assert result.returncode == 0, result.stderr
        expected = truth(sim)
    assert sorted(printed(lines(result.stdout))) == sorted(expected)
    assert "1008" in result.stderr


def test_a_location_close_stops_the_run_with_what_to_do(tmp_path: Path) -> None:
    """api_streaming_connection.md: close 1008 with a 451 code stops the run and says to open the Novig app."""
    with venue(tmp_path, rate=20, limit=20, close_after=3, close_reason="GEOLOCATION_NOT_FOUND") as (_, args):
        result = fillwatch(args)
    assert result.returncode != 0
    assert "open the Novig app" in result.stderr


def test_state_resumes_with_what_happened_between_runs(tmp_path: Path) -> None:
    """CONTRACT §2 --state: a second run prints what happened while no run watched, and nothing the first printed."""
    state = tmp_path / "state.json"
    with venue(tmp_path, rate=20, limit=60) as (sim, args):
        first = fillwatch([*args, "--state", str(state), "--max-events", "10"])
        assert first.returncode == 0, first.stderr
        second = fillwatch([*args, "--state", str(state), "--duration", "5s"])
        assert second.returncode == 0, second.stderr
        expected = truth(sim)
    both = printed(lines(first.stdout)) + printed(lines(second.stdout))
    assert len(both) == len(set(both))
    assert sorted(both) == sorted(expected)


def test_a_recorded_v3_session_replays_exactly(tmp_path: Path) -> None:
    """CONTRACT §1 replay: a --record of a v3 run (a gap, a reconnect) gives exactly the lines the run printed."""
    record = tmp_path / "run.rec"
    with venue(tmp_path, rate=20, limit=40, drop_seqs={6}, drop_after=15, drops=1) as (_, args):
        live = fillwatch([*args, "--record", str(record), "--duration", "5s"])
    assert live.returncode == 0, live.stderr
    again = fillwatch(["replay", str(record), "--format", "jsonl"])
    assert again.returncode == 0, again.stderr
    assert lines(again.stdout) == lines(live.stdout)


@pytest.mark.parametrize("api", ["v3", "nbx"])
def test_demo_runs_either_api(api: str) -> None:
    """issue 14 item 6: `demo --venue novig` runs the v3 simulator, `--novig-api nbx` the NBX one."""
    demo = ["demo", "--venue", "novig", "--novig-api", api, "--rate", "30"]
    result = fillwatch([*demo, "--max-events", "5", "--format", "jsonl"])
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    assert len(events) == 5
    assert {e["currency"] for e in events} <= ({"USD"} if api == "v3" else {"CASH", "COIN", None})


def test_a_batch_lost_last_is_found_by_the_heartbeat(tmp_path: Path) -> None:
    """api_streaming_private.md "Heartbeat": with nothing after a lost batch, the heartbeat's seq shows the gap."""
    with venue(tmp_path, rate=20, limit=12, drop_seqs={12}, heartbeat=0.5) as (sim, args):
        result = fillwatch([*args, "--duration", "4s"])
        assert result.returncode == 0, result.stderr
        expected = truth(sim)
    assert sorted(printed(lines(result.stdout))) == sorted(expected)
    assert "+ seq 11→12: " in result.stderr


def test_a_profile_takes_the_v3_keys(tmp_path: Path) -> None:
    """CONTRACT §2: a profile's key_id and private_key select v3 as the flags do."""
    with venue(tmp_path, rate=20, limit=10) as (sim, args):
        key_id, key = args[args.index("--key-id") + 1], args[args.index("--private-key") + 1]
        config = tmp_path / "config.toml"
        config.write_text(f'[profiles.v3]\nvenue = "novig"\nkey_id = "{key_id}"\nprivate_key = "{key}"\n')
        urls = args[1:5]
        profile = ["--config", str(config), "--profile", "v3"]
        result = fillwatch(["novig", *urls, *profile, "-f", "jsonl", "--duration", "3s"])
        assert result.returncode == 0, result.stderr
        expected = truth(sim)
    assert sorted(printed(lines(result.stdout))) == sorted(expected)


def test_a_throttled_history_read_is_retried(tmp_path: Path) -> None:
    """api_throttling.md: a 429 RATE_LIMIT_EXCEEDED (Retry-After in seconds) on a history read is retried."""
    with venue(tmp_path, rate=20, limit=10, rest_failures=1, retry_after=1) as (sim, args):
        result = fillwatch([*args, "--since", "1m", "--duration", "4s"])
        assert result.returncode == 0, result.stderr
        expected = truth(sim)
        rejected = list(sim.stats.rest)
    assert sorted(printed(lines(result.stdout))) == sorted(expected)
    assert len(rejected) >= 2


def test_demo_lines_show_catalog_names_not_uuids() -> None:
    """api-reference_catalog_get-a-market.md: the market's description and the outcome's name replace the UUIDs."""
    demo = ["demo", "--venue", "novig", "--rate", "30", "--seed", "3", "--color", "never"]
    result = fillwatch([*demo, "--max-events", "40", "-f", "lines"])
    assert result.returncode == 0, result.stderr
    teams = ("Lakers", "Celtics", "Knicks", "Bulls", "Heat", "Suns")  # the simulator's catalog
    described = [f"{away} @ {home}" for away in teams for home in teams if away != home]
    named = [line for line in result.stdout.splitlines() if any(d in line for d in described)]
    assert named, result.stdout
