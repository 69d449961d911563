"""The simulated Kalshi that ``fillwatch demo`` tails (the simulator is imported only when a demo starts)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from fillwatch.venues.spec import Simulated

__all__ = ["simulate"]


@contextlib.asynccontextmanager
async def simulate(values: Mapping[str, object], *, rate: float, seed: int | None) -> AsyncIterator[Simulated]:
    """A simulated Kalshi on loopback that verifies real signatures of a throwaway key (``--key-type``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from fillwatch.sim.kalshi import KalshiSim, Script

    key = ed25519.Ed25519PrivateKey.generate() if values.get("key_type") == "ed25519" else None
    async with KalshiSim(Script(rate=rate, seed=seed), key=key) as sim:
        pem = sim.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        credentials = {"key_id": sim.key_id, "private_key": None, "private_key_pem": pem.decode()}
        yield Simulated(sim.url, {**credentials, "ws_url": sim.url, "api_url": sim.api_url})
