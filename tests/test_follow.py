"""Nothing lost, nothing twice: drops with fills only in REST history, REST faults, revoked keys."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.core.errors import AuthenticationError, ConnectionFailed
from fillwatch.core.events import Backfilled, BackfillFailed, Cancel, Connected, Disconnected, Fill, Item
from fillwatch.core.ledger import Ledger
from fillwatch.net.http import RestClient
from fillwatch.net.stream import StreamOptions, watch
from fillwatch.session.follow import follow
from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.venues.kalshi.adapter import Kalshi

pytestmark = pytest.mark.timeout(30)


def tiny_delays() -> Iterator[float]:
    return itertools.repeat(0.02)


async def run_follow(
    sim: KalshiSim,
    key: rsa.RSAPrivateKey,
    events: int,
    *,
    ledger: Ledger | None = None,
    since: datetime | None = None,
    live: bool = True,
    on_item: Callable[[Item], None] = lambda item: None,
    retry_interval: float = 30.0,
    page_size: int = 200,
) -> list[Item]:
    """Items from follow() against `sim` until `events` events (or the end of history)."""
    venue = Kalshi(sim.key_id, key, api_url=sim.api_url)
    venue.page_size = page_size
    stream = watch(venue, StreamOptions(url=sim.url), delays=tiny_delays) if live else None
    items: list[Item] = []
    async with RestClient(delays=tiny_delays) as rest:
        flow = follow(venue, stream, rest, ledger or Ledger(), since=since, retry_interval=retry_interval)
        async with contextlib.aclosing(flow):
            async for item in flow:
                items.append(item)
                on_item(item)
                if sum(isinstance(i, (Fill, Cancel)) for i in items) == events:
                    break
    return items


def keys(items: list[Item]) -> list[tuple[str, str, str]]:
    return [(i.kind, i.id, i.order_id) for i in items if isinstance(i, (Fill, Cancel))]


async def test_fills_missed_during_drops_come_from_history_exactly_once(venue_key: rsa.RSAPrivateKey) -> None:
    """Three drops with events only in REST history: every event once; the missed ones as history."""
    script = Script(rate=150, seed=21, drop_after=6, drops=3, limit=60)
    async with KalshiSim(script, key=venue_key) as sim:
        items = await run_follow(sim, venue_key, 60)
        delivered = set(sim.stats.delivered_keys)
        emitted = sim.emitted[:]
    got = keys(items)
    assert len(emitted) == 60
    assert len(got) == len(set(got)) == 60
    assert set(got) == set(emitted)
    assert sim.stats.drops == 3
    history = [(i.kind, i.id, i.order_id) for i in items if isinstance(i, (Fill, Cancel)) and i.source == "history"]
    assert history, "the drops left no gap: the test proves nothing"
    # Never sent live → from history. (A frame sent just before the drop may die in
    # the aborted socket's buffer: then it comes from history too, which is right.)
    assert set(got) - delivered <= set(history)
    assert len(set(history) & delivered) <= 2 * sim.stats.drops
    recovered = [i for i in items if isinstance(i, Backfilled)]
    assert len(recovered) == 3
    assert sum(b.fills + b.cancels for b in recovered) == len(history)
    assert all(b.downtime is not None and b.downtime > 0 for b in recovered)


async def test_history_lines_match_live_lines(venue_key: rsa.RSAPrivateKey) -> None:
    """A fill read from REST gives the live line but for source and the position REST lacks."""
    async with KalshiSim(Script(rate=200, seed=22, schema="current"), key=venue_key) as sim:
        live = await run_follow(sim, venue_key, 20)
        history = await run_follow(sim, venue_key, 20, since=datetime.now(UTC) - timedelta(minutes=5), live=False)
    by_key = {keys([i])[0]: i for i in live if isinstance(i, (Fill, Cancel))}
    compared = 0
    for event in history:
        if isinstance(event, (Fill, Cancel)) and keys([event])[0] in by_key:
            twin = by_key[keys([event])[0]]
            assert event.source == "history"
            expected = (
                twin.__class__(**{**_fields(twin), "source": "history", "position": None})
                if isinstance(twin, Fill)
                else twin.__class__(**{**_fields(twin), "source": "history"})
            )
            assert event == expected
            compared += 1
    assert compared == 20


def _fields(event: Fill | Cancel) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__slots__}  # type: ignore[attr-defined]


async def test_failed_backfill_is_reported_retried_and_recovered(venue_key: rsa.RSAPrivateKey) -> None:
    """REST down at the reconnect: reported, the stream goes on, a later retry recovers the gap."""
    script = Script(rate=150, seed=23, drop_after=5, drops=1, rest_failures=4, limit=50)
    async with KalshiSim(script, key=venue_key) as sim:
        items = await run_follow(sim, venue_key, 50, retry_interval=0.2)
        emitted = sim.emitted[:]
    got = keys(items)
    assert len(got) == len(set(got)) == 50
    assert set(got) == set(emitted)
    failed = [i for i in items if isinstance(i, BackfillFailed)]
    assert len(failed) == 1
    assert "HTTP 503" in failed[0].reason
    assert [i for i in items if isinstance(i, Backfilled)]
    assert any(isinstance(i, (Fill, Cancel)) and i.source == "history" for i in items)


async def test_rate_limited_rest_backs_off_and_completes(venue_key: rsa.RSAPrivateKey) -> None:
    """Kalshi's 429 without headers: back off, try again, read every page (7 per page here)."""
    script = Script(rate=300, seed=24, rest_rate_limit_every=2, limit=30)
    async with KalshiSim(script, key=venue_key) as sim:
        await run_follow(sim, venue_key, 30)
        since = datetime.now(UTC) - timedelta(minutes=5)
        history = await run_follow(sim, venue_key, 10**6, since=since, live=False, page_size=7)
        emitted = sim.emitted[:]
    got = keys(history)
    assert len(got) == len(set(got)) == 30
    assert set(got) == set(emitted)
    assert any(path.endswith("/portfolio/fills") and q.get("cursor") for path, q in sim.stats.rest_requests)


async def test_history_only_fails_with_exit_4_when_rest_is_down(venue_key: rsa.RSAPrivateKey) -> None:
    """--no-follow has no live stream to fall back on: REST down means gave up (exit 4)."""
    async with KalshiSim(Script(rest_failures=100), key=venue_key) as sim:
        with pytest.raises(ConnectionFailed, match="could not read the history"):
            await run_follow(sim, venue_key, 1, since=datetime.now(UTC) - timedelta(hours=1), live=False)


async def test_revoked_key_after_a_session_gets_one_retry_then_stops(venue_key: rsa.RSAPrivateKey) -> None:
    """A key revoked mid-session: the drop, one freshly signed attempt, then AuthenticationError."""
    script = Script(rate=100, seed=25, drop_after=3, drops=1)
    async with KalshiSim(script, key=venue_key) as sim:

        def revoke_on_third(item: Item) -> None:
            if isinstance(item, (Fill, Cancel)) and sim.stats.delivered >= 3:
                sim.revoked = True

        with pytest.raises(AuthenticationError, match="twice in a row"):
            await run_follow(sim, venue_key, 100, on_item=revoke_on_third)
    assert sim.stats.upgrades == 3
    assert sim.stats.rejected == 2


async def test_first_connection_backfills_from_since(venue_key: rsa.RSAPrivateKey) -> None:
    """--since prints history first (source history), then live events, none twice."""
    async with KalshiSim(Script(rate=200, seed=26), key=venue_key) as sim:
        await run_follow(sim, venue_key, 15)
        items = await run_follow(sim, venue_key, 40, since=datetime.now(UTC) - timedelta(minutes=1))
        emitted = sim.emitted[:]
    got = keys(items)
    assert len(got) == len(set(got)) == 40
    first_live = next(n for n, i in enumerate(items) if isinstance(i, (Fill, Cancel)) and i.source == "live")
    assert all(i.source == "history" for i in items[:first_live] if isinstance(i, (Fill, Cancel)))
    assert set(emitted[:15]) <= set(got)
    assert isinstance(items[first_live - 1], (Connected, Backfilled, Fill, Cancel))


@pytest.mark.parametrize("code", [10, 25])
async def test_subscription_errors_resubscribe_and_backfill(venue_key: rsa.RSAPrivateKey, code: int) -> None:
    """Kalshi's terminal errors 10/25 mid-stream (17 is retired): reconnect, resubscribe, and recover what was lost."""
    script = Script(rate=150, seed=27, error_after=(8, code), limit=40)
    async with KalshiSim(script, key=venue_key) as sim:
        items = await run_follow(sim, venue_key, 40)
        emitted = sim.emitted[:]
    got = keys(items)
    assert len(got) == len(set(got)) == 40
    assert set(got) == set(emitted)
    assert len(sim.stats.commands) == 2
    [gone] = [i for i in items if isinstance(i, Disconnected)]
    assert f"Kalshi error {code}" in gone.reason
    assert [i for i in items if isinstance(i, Backfilled)]
