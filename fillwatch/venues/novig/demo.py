"""The simulated Novig that ``fillwatch demo`` tails (the simulator is imported only when a demo starts)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from fillwatch.venues.spec import Simulated

__all__ = ["simulate"]


@contextlib.asynccontextmanager
async def simulate(values: Mapping[str, object], *, rate: float, seed: int | None) -> AsyncIterator[Simulated]:
    """A simulated Novig on loopback that issues expiring OAuth tokens to throwaway client credentials."""
    from fillwatch.sim.novig import NovigSim, Script

    async with NovigSim(Script(rate=rate, seed=seed)) as sim:
        credentials = {"client_id": sim.client_id, "client_secret": sim.client_secret, "token": None}
        urls = {"ws_url": sim.url, "api_url": sim.api_url, "token_url": sim.token_url}
        yield Simulated(sim.url, {**credentials, **urls})
