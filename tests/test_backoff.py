"""Reconnect delays: jittered, doubling from 0.5 s, capped at 30 s."""

from __future__ import annotations

import random
from itertools import islice

from fillwatch.core.backoff import delays


def test_delays_double_with_jitter_up_to_the_cap() -> None:
    """Delay n lies in [d/2, d] for d = min(0.5 * 2**n, 30)."""
    got = list(islice(delays(rng=random.Random(1)), 12))
    for n, delay in enumerate(got):
        ceiling = min(0.5 * 2**n, 30.0)
        assert ceiling / 2 <= delay <= ceiling
    assert max(got) > 15


def test_jitter_differs_between_clients() -> None:
    """Two clients with different random sources do not reconnect in step."""
    first = list(islice(delays(rng=random.Random(1)), 5))
    second = list(islice(delays(rng=random.Random(2)), 5))
    assert first != second
