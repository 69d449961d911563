"""The chaos run's Novig v3 venue (``python -m tools.chaos --venue novig-v3``): see ``tools/chaos.py``."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from fillwatch.sim import novig_v3
from tools.chaos import DROP_BETWEEN, Key, Venue

__all__ = ["NovigV3"]


class NovigV3(Venue):
    """Novig's v3 API: connection drops, and ``orders`` batches dropped on live connections."""

    DROP_CHANCE = 0.07

    def __init__(self, args: argparse.Namespace) -> None:
        script = novig_v3.Script(
            rate=args.rate, seed=args.seed, drop_between=DROP_BETWEEN, drop_chance=self.DROP_CHANCE, throttle=False
        )
        self.sim = novig_v3.NovigV3Sim(script)

    def _sim(self) -> novig_v3.NovigV3Sim:
        assert isinstance(self.sim, novig_v3.NovigV3Sim)
        return self.sim

    @contextmanager
    def client(self) -> Iterator[tuple[list[str], dict[str, str]]]:
        sim = self._sim()
        assert sim.private_key is not None
        with tempfile.TemporaryDirectory() as scratch:
            key = Path(scratch) / "chaos-v3.pem"
            key.write_bytes(
                sim.private_key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            key.chmod(0o600)
            command = ["novig", "--ws-url", sim.url, "--api-url", sim.api_url, "--key-id", sim.key_id]
            yield [*command, "--private-key", str(key)], {}

    def required(self) -> list[Key]:
        keys: list[Key] = []
        for batch in self._sim().feed.batches:
            for event in batch.events:
                order = event["orderId"]
                if event["kind"] == "fill":
                    keys.append(("fill", f"{order}:{event['remaining']}", order))
                elif event["kind"] == "cancel":
                    keys.append(("cancel", order, order))
        return keys

    def quantities(self) -> dict[Key, float]:
        feed = self._sim().feed
        found: dict[Key, float] = {}
        for batch in feed.batches:
            for event in batch.events:
                order = event["orderId"]
                if event["kind"] == "fill":
                    found["fill", f"{order}:{event['remaining']}", order] = event["qty"]
                elif event["kind"] == "cancel":
                    found["cancel", order, order] = feed.orders[order].remaining
        return found

    def describe(self, order_id: str) -> str:
        order = self._sim().feed.orders[order_id]
        sent = [(s.connection, s.seq, s.kind) for s in self._sim().stats.sent if s.order_id == order_id]
        return f"{order.status} {order.tif} remaining={order.remaining}/{order.qty}; sent {sent}"

    def figures(self, printed: set[Key]) -> dict[str, object]:
        stats = self._sim().stats
        return {"orders batches dropped on live connections": len(stats.dropped_seqs)}

    def sound(self, args: argparse.Namespace, diagnostics: list[str]) -> bool:
        return bool(len(self._sim().stats.dropped_seqs) >= args.min_drops)
