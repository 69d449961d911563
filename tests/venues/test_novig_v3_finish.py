"""`fillwatch novig` (v3) end to end: reconnect timing, ``Retry-After``, ``--since``; the CLI against the v3 simulator.

Sources (``Semionsr/novig-v3-kit``, ``fixtures/docs/``): api_streaming_connection.md (close codes),
api_throttling.md (429, ``Retry-After`` in seconds), api-reference_execution_list-fills.md (history).
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import fillwatch
from tests.venues.test_novig_v3_cli import lines, printed, truth, venue


def test_slow_consumer_reconnects_at_once_then_backs_off_if_closed_again(tmp_path: Path) -> None:
    """api_streaming_connection.md: 1008 SLOW_CONSUMER reconnects at once; a second such close in a row backs off."""
    with venue(tmp_path, rate=20, limit=40, close_after=8, closes=2) as (sim, args):
        result = fillwatch([*args, "--duration", "4s"])
        assert result.returncode == 0, result.stderr
        expected = truth(sim)
        closes, upgrades = sim.stats.close_times, sim.stats.upgrade_times
    assert sorted(printed(lines(result.stdout))) == sorted(expected)
    assert len(closes) == 2, closes
    assert len(upgrades) == 3, upgrades
    assert upgrades[1] - closes[0] < 0.2  # the backoff's first delay is at least 0.25 s
    assert upgrades[2] - closes[1] >= 0.25
    assert "1008 SLOW_CONSUMER); retrying in 0.0 s" in result.stderr


def test_a_429_on_a_rest_read_waits_retry_after_in_seconds(tmp_path: Path) -> None:
    """api_throttling.md: a 429's ``Retry-After`` is seconds; the read is retried about 1 s later, not 1 ms nor 30 s."""
    with venue(tmp_path, rate=20, limit=10, rest_failures=1, retry_after=1) as (sim, args):
        result = fillwatch([*args, "--since", "1m", "--duration", "3s"])
        assert result.returncode == 0, result.stderr
        expected = truth(sim)
        calls, times = sim.stats.rest, sim.stats.rest_times
    assert sorted(printed(lines(result.stdout))) == sorted(expected)
    assert calls[0][:2] == calls[1][:2], calls[:2]  # the refused read, then the same read again
    assert 0.9 <= times[1] - times[0] < 3


def test_since_bounds_the_history_read_and_what_is_printed(tmp_path: Path) -> None:
    """api-reference_execution_list-fills.md (newest first, paged): ``--since 1h`` reads back one hour, no more."""
    ago = [0.0]
    with venue(tmp_path, rate=None) as (sim, args):
        sim._clock = lambda: time.time() - ago[0]  # the venue's clock, for the batches made before the run
        old, recent = [], []
        olds = [(3 - n / 100, old) for n in range(200)]  # 600 fills: more than a page (limit 500)
        for hours, made in (*olds, (0.5, recent), (0.25, recent)):
            ago[0] = hours * 3600
            order = sim.feed.place(qty=100, fills=(10, 20, 30), tif="IOC")
            made.extend(f"{order.events[0]['orderId']}:{left}" for left in (90, 70, 40))
        ago[0] = 0.0
        result = fillwatch([*args, "--since", "1h", "--duration", "2s"])
        assert result.returncode == 0, result.stderr
        fills = [query for _, path, query in sim.stats.rest if path == "/v3/portfolio/fills"]
    events = lines(result.stdout)
    assert sorted(e["id"] for e in events if e["kind"] == "fill") == sorted(recent)
    assert {e["source"] for e in events} == {"history"}
    assert fills, "the history was read"
    assert not [q for q in fills if "after=" in q]  # the first page reached back past the hour: no next page
