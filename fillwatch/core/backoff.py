"""Reconnect delays: jittered exponential backoff with a cap (CONTRACT §5).

Pure: the random source is injected so that tests can seed it. The caller
decides when the sequence starts over (at a confirmed subscription, not at the
handshake: STYLE §2, example 2).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

__all__ = ["DelayFactory", "delays"]

DelayFactory = Callable[[], Iterator[float]]
"""Makes a fresh, endless sequence of delays in seconds."""


def delays(
    *,
    initial: float = 0.5,
    factor: float = 2.0,
    cap: float = 30.0,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield reconnect delays: 0.5 s doubling to 30 s, each with "equal jitter".

    Each delay is drawn uniformly from [d/2, d] where d is the un-jittered
    value, so that many clients dropped together do not reconnect in step,
    while the wait never collapses to zero.

    Args:
        initial: the un-jittered first delay.
        factor: growth per attempt.
        cap: the largest un-jittered delay.
        rng: source of randomness; a module-level one when omitted.
    """
    uniform = (rng or random).uniform
    delay = initial
    while True:
        yield uniform(delay / 2, delay)
        delay = min(delay * factor, cap)
