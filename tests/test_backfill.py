"""Backfills that wait or page do not hold back the live stream; a paging loop stops with a report."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.core.errors import ConnectionFailed, ExitCode
from fillwatch.core.events import Backfilled, Cancel, Connected, Fill, Item
from fillwatch.core.ledger import Ledger
from fillwatch.net.http import RestClient
from fillwatch.net.stream import StreamOptions, watch
from fillwatch.session import follow as follow_module
from fillwatch.session.follow import follow
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.sim.thread import SimThread
from fillwatch.venues.base import Reconcile
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.conftest import fillwatch

pytestmark = pytest.mark.timeout(30)


def tiny_delays() -> Iterator[float]:
    return itertools.repeat(0.02)


def keys(items: list[Item]) -> list[tuple[str, str, str]]:
    return [(i.kind, i.id, i.order_id) for i in items if isinstance(i, (Fill, Cancel))]


async def test_live_events_flow_while_a_backfill_waits(venue_key: rsa.RSAPrivateKey) -> None:
    """A reconnect backfill held in its retry wait lets live events through meanwhile, then recovers the gap."""
    gate = asyncio.Event()

    async def held(seconds: float) -> None:  # the REST client's wait before its retry
        await gate.wait()

    script = Script(rate=100, seed=5, drop_after=5, drops=1, rest_failures=1)
    async with KalshiSim(script, key=venue_key) as sim:
        venue = Kalshi(sim.key_id, venue_key, api_url=sim.api_url)
        stream = watch(venue, StreamOptions(url=sim.url), delays=tiny_delays)
        items: list[Item] = []
        async with RestClient(delays=tiny_delays, sleep=held) as rest:
            flow = follow(venue, stream, rest, Ledger())
            async with asyncio.timeout(15), contextlib.aclosing(flow):
                async for item in flow:
                    items.append(item)
                    reconnected = [n for n, i in enumerate(items) if isinstance(i, Connected)][1:]
                    if reconnected and len(keys(items[reconnected[0] :])) >= 5:
                        gate.set()
                    if isinstance(item, Backfilled):
                        break
        emitted = sim.emitted[:]
    assert gate.is_set()
    got = keys(items)
    assert len(got) == len(set(got))
    last = max(emitted.index(key) for key in got)
    assert set(emitted[: last + 1]) <= set(got)  # nothing lost: the drop's gap came from history
    assert any(isinstance(i, (Fill, Cancel)) and i.source == "history" for i in items)


async def drain(flow: AsyncIterator[Item]) -> None:
    async with contextlib.aclosing(flow):  # type: ignore[type-var]
        async for _ in flow:
            pass


def looping_cursors(requests: list[dict[str, str]]) -> HttpServer:
    """Kalshi REST whose fills cursor alternates A, B, A, … and never ends (no rows: only paging matters)."""

    async def answer(request: HttpRequest) -> HttpResponse:
        requests.append(request.query)
        if request.path.endswith("/portfolio/fills"):
            cursor = {"": "A", "A": "B", "B": "A"}[request.query.get("cursor", "")]
            return json_response(200, {"fills": [], "cursor": cursor})
        return json_response(200, {"orders": [], "cursor": ""})

    return HttpServer(answer)


async def test_a_repeated_cursor_stops_the_read_with_a_report(venue_key: rsa.RSAPrivateKey) -> None:
    """Fills cursors A, B, A: three pages, then an error (openapi.yaml, kalshi-sdk 22.4.0: ``fills``, ``cursor``)."""
    requests: list[dict[str, str]] = []
    async with looping_cursors(requests) as server:
        venue = Kalshi("key-1", venue_key, api_url=server.url + "/trade-api/v2")
        async with RestClient(delays=tiny_delays) as rest:
            flow = follow(venue, None, rest, Ledger(), since=datetime.now(UTC) - timedelta(hours=1))
            with pytest.raises(ConnectionFailed, match="cursor 'A' again after 3 pages"):
                await drain(flow)
    assert [query.get("cursor") for query in requests] == [None, "A", "B"]


def test_a_looping_history_exits_4_with_one_line(key_file: Path) -> None:
    """``--since 1h --no-follow`` against a looping cursor ends at once: exit 4, one line naming the repeat."""
    requests: list[dict[str, str]] = []
    with SimThread(looping_cursors(requests)) as server:
        api = server.url + "/trade-api/v2"
        args = ["kalshi", "--ws-url", "ws://127.0.0.1:9/ws", "--api-url", api, "--key-id", "k"]
        result = fillwatch([*args, "--private-key", str(key_file), "--since", "1h", "--no-follow"], timeout=20)
    assert result.returncode == ExitCode.CONNECTION, result.stderr
    assert "again after 3 pages" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(requests) == 3


def test_a_recording_of_backfills_that_waited_while_live_events_flowed_replays_exactly(
    kalshi_sim: Callable[[Script], KalshiSim], key_file: Path, tmp_path: Path
) -> None:
    """Reconnect backfills retried (HTTP 503) while frames kept coming: the recording replays to the same bytes."""
    sim = kalshi_sim(Script(rate=150, seed=41, drop_after=40, drops=2, rest_failures=2))
    rec = tmp_path / "session.rec"
    args = ["kalshi", "--ws-url", sim.url, "--api-url", sim.api_url, "--key-id", sim.key_id, "--private-key"]
    live = fillwatch([*args, str(key_file), "-f", "jsonl", "--record", str(rec), "--max-events", "400"])
    assert live.returncode == 0, live.stderr
    kinds = ["history" in orjson.loads(line) for line in rec.read_bytes().splitlines()]
    assert any(kinds)  # pages…
    assert not all(kinds[kinds.index(True) :])  # …and frames recorded after them
    sources = [orjson.loads(line)["source"] for line in live.stdout.splitlines()]
    assert {"live", "history"} <= set(sources)
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl"])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout


async def test_a_read_the_stream_asked_for_holds_live_events_back_no_longer_than_the_cap(
    venue_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read the stream asks for (a Novig CLOSE's orders) is waited for alone, before the next frame, only up to
    the cap (60 s, 0.2 s here): past it the live events flow while the read goes on, and it still completes
    (openapi.yaml, kalshi-sdk 22.4.0: an empty ``orders`` page)."""
    monkeypatch.setattr(follow_module, "MAX_WAIT", 0.2)
    answered, asked = asyncio.Event(), asyncio.Event()

    async def orders(request: HttpRequest) -> HttpResponse:
        asked.set()
        await answered.wait()  # the venue is slow: nothing comes back until the test says so
        return json_response(200, {"orders": [], "cursor": ""})

    def fill(n: int) -> Fill:
        return Fill(
            venue="kalshi", id=f"t{n}", order_id="o", market="M", side="yes", action="buy",
            price=Decimal("0.5"), qty=Decimal(1), ts=datetime.now(UTC),
        )  # fmt: skip

    async def live() -> AsyncIterator[Item | Reconcile]:
        yield Reconcile("orders")
        for n in range(3):
            yield fill(n)
        await answered.wait()  # the stream stays open until the read has been answered

    async with HttpServer(orders) as server:
        venue = Kalshi("key-1", venue_key, api_url=server.url + "/trade-api/v2")
        loop = asyncio.get_running_loop()
        async with RestClient(delays=tiny_delays) as rest:
            flow = follow(venue, live(), rest, Ledger())
            began, shown = loop.time(), []
            async with asyncio.timeout(10), contextlib.aclosing(flow):
                async for item in flow:
                    if isinstance(item, Fill):
                        shown.append((item.id, answered.is_set(), loop.time() - began))
                    if len(shown) == 3:
                        answered.set()
    assert asked.is_set()
    assert [(key, done) for key, done, _ in shown] == [("t0", False), ("t1", False), ("t2", False)]
    assert shown[0][2] >= 0.2  # the read was waited for alone first, up to the cap
