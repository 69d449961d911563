"""Nothing lost, nothing twice on Novig: drops with events only in REST history (fills/all, orders/all)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from fillwatch.core.events import Backfilled, BackfillFailed, Cancel, Connected, Disconnected, Fill, Item
from fillwatch.core.ledger import Ledger
from fillwatch.core.secret import Secret
from fillwatch.net.http import RestClient
from fillwatch.net.stream import StreamOptions, watch
from fillwatch.net.token import ClientCredentials, bearer_authenticator
from fillwatch.session.follow import follow, warming_up
from fillwatch.sim.novig import NovigSim, Script
from fillwatch.sim.novig_feed import Emitted
from fillwatch.venues.novig.adapter import Novig

pytestmark = pytest.mark.timeout(30)

Key = tuple[str, str, str]


def tiny_delays() -> Iterator[float]:
    return itertools.repeat(0.02)


def key_of(event: Emitted | Fill | Cancel) -> Key:
    return (event.kind, event.id, event.order_id)


def token_source(sim: NovigSim, venue: Novig, rest: RestClient) -> ClientCredentials:
    """Tokens for `sim`'s client credentials, set on `venue` as they come."""
    request = lambda: venue.token_request(sim.client_id, Secret(sim.client_secret))  # noqa: E731

    def on_token(token: Secret) -> None:
        venue.token = token

    return ClientCredentials(rest, request, venue.parse_token, venue="novig", on_token=on_token)


async def test_warm_up_reads_every_page_of_your_orders_before_connecting() -> None:
    """Before the first attempt the adapter learns every open order (both currencies, all pages)."""
    async with NovigSim(Script(seed=9)) as sim, RestClient(delays=tiny_delays) as rest:
        for _ in range(600):  # plenty of orders: more than one page of 256
            sim.feed._place()
        venue = Novig(api_url=sim.api_url, token_url=sim.token_url)
        tokens = token_source(sim, venue, rest)
        try:
            authenticate = warming_up(venue, rest, bearer_authenticator(venue, tokens))
            assert authenticate is not None
            await authenticate(False)
            expected = {o.id: o.market.id for o in sim.feed.orders.values() if o.status == "OPEN"}
            assert venue.open_orders == expected
            pages = [q for method, path, q in sim.stats.rest if path.endswith("/orders/all")]
            assert [(q["currency"], q["offset"]) for q in pages][:2] == [("CASH", "0"), ("CASH", "256")]
            assert {q["currency"] for q in pages} == {"CASH", "COIN"}
            await authenticate(False)  # later attempts: no second read
            assert len([p for _, p, _ in sim.stats.rest if p.endswith("/orders/all")]) == len(pages)
        finally:
            await tokens.aclose()


async def run_follow(
    sim: NovigSim, *, on_item: Callable[[Item], None] = lambda item: None, retry_interval: float = 30.0
) -> list[Item]:
    """Items from follow() against `sim`, as ``fillwatch novig`` wires it, until the venue has stopped
    trading (its `limit`) and every line it requires was printed (or the flow ended)."""
    venue = Novig(api_url=sim.api_url, token_url=sim.token_url)
    items: list[Item] = []
    printed: set[Key] = set()

    async def consume(flow: AsyncIterator[Item]) -> None:
        async with contextlib.aclosing(flow):
            async for item in flow:
                items.append(item)
                on_item(item)
                if isinstance(item, (Fill, Cancel)):
                    printed.add(key_of(item))

    def done() -> bool:
        finished = sim.script.limit is not None and sim.stats.events >= sim.script.limit
        return finished and {key_of(e) for e in sim.emitted} <= printed

    async with RestClient(delays=tiny_delays) as rest:
        tokens = token_source(sim, venue, rest)
        authenticate = warming_up(venue, rest, bearer_authenticator(venue, tokens))
        stream = watch(venue, StreamOptions(url=sim.url), delays=tiny_delays, authenticate=authenticate)
        flow = follow(venue, stream, rest, Ledger(), authenticate=authenticate, retry_interval=retry_interval)
        task = asyncio.create_task(consume(flow))
        try:
            for _ in itertools.count():  # polled: the venue's end is not an event the flow sees
                if done() or task.done():
                    break
                await asyncio.sleep(0.02)  # the poll's period, not a wait for time to pass
            # Real time: room for a late duplicate to show (none is expected). Nothing announces that
            # nothing more will come, so this one waits a while on purpose.
            await asyncio.sleep(0.1)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await tokens.aclose()
    return items


def check_exactly_once(sim: NovigSim, items: list[Item]) -> list[Fill | Cancel]:
    """Every line the venue requires printed once; nothing else but the cancels of CLOSEs of orders
    the stream could not know (REST may show them later), each once too."""
    events = [i for i in items if isinstance(i, (Fill, Cancel))]
    got = [key_of(e) for e in events]
    assert len(got) == len(set(got)), "printed twice"
    required = {key_of(e) for e in sim.emitted}
    assert required <= set(got), f"missing {len(required - set(got))}"
    assert set(got) - required <= {key_of(e) for e in sim.feed.unseen_closes}
    return events


@pytest.mark.parametrize("seed", [31, 32, 33])
async def test_events_missed_during_drops_come_from_history_exactly_once(seed: int) -> None:
    """Drops while the venue trades on: every event once, the ones never sent live from history."""
    script = Script(rate=150, seed=seed, drop_after=6, drops=4, limit=90)
    async with NovigSim(script) as sim:
        items = await run_follow(sim)
    events = check_exactly_once(sim, items)
    assert sim.stats.drops == 4
    history = {key_of(e) for e in events if e.source == "history"}
    live = {key_of(e) for e in events if e.source == "live"}
    assert {k for k in history if k[0] == "fill"}, "the drops left no gap: the test proves nothing"
    # Never sent live → from history. (A frame sent just before a drop may die in the
    # aborted socket's buffer: then it comes from history too, which is right.)
    assert {key_of(e) for e in sim.emitted} - set(sim.stats.delivered_keys) <= history
    assert live <= set(sim.stats.delivered_keys)
    recovered = [i for i in items if isinstance(i, Backfilled)]
    assert len(recovered) == 4
    # Fills come from history only through backfills, so their reports count each one. Cancels may also
    # come from an orders read that a market close asked for while a backfill ran (counted by neither,
    # or by the backfill with the close's `live` source): only fills are counted exactly.
    assert sum(b.fills for b in recovered) == sum(k[0] == "fill" for k in history)


async def test_a_gap_with_a_fill_a_cancel_and_a_market_close_is_recovered() -> None:
    """While disconnected: a fill, a cancel of an order the stream never showed, and a CLOSE taking
    orders fillwatch knew open. All come back from history; the CLOSE's cancels without a reason,
    since orders/all says an order was cancelled, not why."""
    script = Script(rate=100, seed=34, drop_after=5, drops=1, limit=30)
    async with NovigSim(script) as sim:
        feed = sim.feed
        injected: dict[str, list[Key]] = {}

        def in_the_gap(item: Item) -> None:
            if not isinstance(item, Disconnected) or injected:
                return
            resting = [o for o in feed.orders.values() if o.status == "OPEN" and o.visible]
            market = max({o.market.id: o.market for o in resting}.values(), key=lambda m: m.id)
            before = len(feed.emitted)
            feed._close(market)
            injected["close"] = [key_of(e) for e in feed.emitted[before:]]
            before = len(feed.emitted)
            feed._maker_fill(next(o for o in feed.orders.values() if o.status == "OPEN"))
            feed._cancel(feed._place())  # placed and cancelled unseen
            injected["fill"], injected["cancel"] = [[key_of(e)] for e in feed.emitted[before:]]

        items = await run_follow(sim, on_item=in_the_gap)
    events = check_exactly_once(sim, items)
    assert injected["close"], "no order of the closed market was known: the test proves nothing"
    by_key = {key_of(e): e for e in events}
    for key in (*injected["close"], *injected["fill"], *injected["cancel"]):
        assert by_key[key].source == "history"
    assert {by_key[k].reason for k in injected["close"]} == {None}


async def test_a_close_is_confirmed_from_orders_all_with_what_was_left() -> None:
    """No drop: each CLOSE of a market with orders known open is read from orders/all at once, and
    its cancels come out live, with the quantity the venue says was left, before the next frame."""
    async with NovigSim(Script(rate=150, seed=36, limit=150)) as sim:
        items = await run_follow(sim)
    events = check_exactly_once(sim, items)
    closes = {key_of(e): e for e in sim.emitted if e.reason == "market_closed"}
    assert closes, "no market closed: the test proves nothing"
    printed = [e for e in events if key_of(e) in closes]
    assert all(e.source == "live" and e.qty == closes[key_of(e)].qty for e in printed)
    assert not [i for i in items if isinstance(i, Backfilled)]  # a confirmation is no backfill


async def test_a_close_whose_orders_read_fails_is_reported_and_recovered() -> None:
    """REST down when a CLOSE asks for orders/all: reported, the stream goes on, and the retry
    gives the cancels, live and dated with the tick, each once."""
    async with NovigSim(Script(rate=150, seed=35, limit=120)) as sim:

        def outage(item: Item) -> None:
            if isinstance(item, Connected):
                sim.script.rest_failures = 10**6  # the orders were read: now REST goes down
            elif isinstance(item, BackfillFailed):
                sim.script.rest_failures = 0

        items = await run_follow(sim, on_item=outage, retry_interval=0.2)
    events = check_exactly_once(sim, items)
    (failed,) = [i for i in items if isinstance(i, BackfillFailed)]
    assert "503" in failed.reason
    after = items[items.index(failed) :]
    recovered = [e for e in after if isinstance(e, Cancel) and e.reason == "market_closed"]
    assert recovered, "no close was waiting for the read: the test proves nothing"
    assert {e.source for e in recovered} == {"live"}
    assert len(events) >= 120
