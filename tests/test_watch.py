"""`fillwatch watch`: several accounts (two Kalshi, one Novig v3) in one process, one stream of lines.

The Kalshi simulator speaks the protocol of Kalshi's AsyncAPI document (``kalshi-sdk`` ``specs/``, checked in
tests/test_sim_fidelity.py); the Novig v3 simulator that of ``Semionsr/novig-v3-kit`` ``fixtures/docs/``
(api_streaming_private.md, api-reference_execution_list-fills.md). CONTRACT §1–§5 (``watch``, ``account``,
per-account checkpoints, the exit rule).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.sim.novig_v3 import NovigV3Sim
from fillwatch.sim.novig_v3 import Script as V3Script
from fillwatch.sim.novig_v3_auth import ApiKey
from fillwatch.sim.thread import SimThread
from tests.conftest import fillwatch, write_key

pytestmark = pytest.mark.timeout(90)


@dataclass
class Desk:
    """Three simulated accounts and a config file naming them (profiles main, hedge, nv; group all)."""

    config: Path
    main: KalshiSim
    hedge: KalshiSim
    nv: NovigV3Sim

    def run(self, *args: str, timeout: float = 60) -> Any:
        return fillwatch(["watch", "--config", str(self.config), *args], timeout=timeout)


def _kalshi_profile(name: str, sim: KalshiSim, key: Path) -> str:
    return (
        f'[profiles.{name}]\nvenue = "kalshi"\nkey_id = "{sim.key_id}"\nprivate_key = "{key}"\n'
        f'ws_url = "{sim.url}"\napi_url = "{sim.api_url}"\n'
    )


@contextmanager
def desk(
    tmp_path: Path, venue_key: rsa.RSAPrivateKey, main: Script, hedge: Script, nv: dict[str, Any] | None = None
) -> Iterator[Desk]:
    """Start the three simulators (each its own key) and write the config file."""
    ed = Ed25519PrivateKey.generate()
    ed_path = tmp_path / "novig.pem"
    ed_path.write_bytes(
        ed.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ed_path.chmod(0o600)
    key_id = str(uuid.uuid4())
    hedge_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with ExitStack() as stack:
        a = stack.enter_context(SimThread(KalshiSim(main, key=venue_key)))
        b = stack.enter_context(SimThread(KalshiSim(hedge, key=hedge_key)))
        script = V3Script(**{"seed": 7, "golive_every": None, "rate": 40.0, **(nv or {})})
        c = stack.enter_context(SimThread(NovigV3Sim(script, keys=[ApiKey(key_id, ed.public_key())])))
        config = tmp_path / "config.toml"
        config.write_text(
            _kalshi_profile("main", a, write_key(tmp_path / "main.pem", venue_key))
            + _kalshi_profile("hedge", b, write_key(tmp_path / "hedge.pem", hedge_key))
            + f'[profiles.nv]\nvenue = "novig"\nkey_id = "{key_id}"\nprivate_key = "{ed_path}"\n'
            f'ws_url = "{c.url}"\napi_url = "{c.api_url}"\n'
            '[groups]\nall = ["main", "hedge", "nv"]\n'
        )
        config.chmod(0o600)
        yield Desk(config, a, b, c)


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_three_accounts_one_stream_each_event_once_with_its_account(tmp_path: Path, venue_key) -> None:
    """-g all over two Kalshi accounts and one Novig v3: every line names its account, none repeats."""
    with desk(tmp_path, venue_key, Script(rate=40, seed=1), Script(rate=40, seed=2)) as d:
        result = d.run("-g", "all", "-f", "jsonl", "--max-events", "60")
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    assert len(events) == 60
    accounts = Counter(e["account"] for e in events)
    assert set(accounts) == {"main", "hedge", "nv"}, accounts
    assert {(e["account"], e["venue"]) for e in events} <= {("main", "kalshi"), ("hedge", "kalshi"), ("nv", "novig")}
    keys = [(e["account"], e["kind"], e["id"], e["order_id"]) for e in events]
    assert len(keys) == len(set(keys))
    assert all(list(e)[-1] == "account" for e in events)
