"""The simulated Novig that ``fillwatch demo --venue novig`` tails: v3 by default, NBX with ``--novig-api nbx``.

The simulators are imported only when a demo starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from fillwatch.venues.spec import Simulated

__all__ = ["simulate"]


@contextlib.asynccontextmanager
async def simulate(values: Mapping[str, object], *, rate: float, seed: int | None) -> AsyncIterator[Simulated]:
    """A simulated Novig on loopback: v3 signed by a throwaway Ed25519 key, or NBX (``--novig-api nbx``)."""
    if values.get("novig_api") == "nbx":
        from fillwatch.venues.novig.demo import simulate as nbx

        async with nbx(values, rate=rate, seed=seed) as simulated:
            yield simulated
        return
    from cryptography.hazmat.primitives import serialization

    from fillwatch.sim.novig_v3 import NovigV3Sim, Script

    async with NovigV3Sim(Script(rate=rate, seed=seed)) as sim:
        assert sim.private_key is not None
        pem = sim.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        credentials = {"key_id": sim.key_id, "private_key": None, "private_key_pem": pem.decode()}
        yield Simulated(sim.url, {**credentials, "ws_url": sim.url, "api_url": sim.api_url})
