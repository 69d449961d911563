"""Regenerate the README's pictures of the live table: ``python -m tools.snapshot [DIR]``.

Two frames, one at 120×40 (``table.svg``) and one at 80×24 (``table-80x24.svg``), and
one of a ``watch`` of three accounts at 120×36 (``watch-table.svg``): main and hedge on
Kalshi (the simulator's feed through the Kalshi adapter, each its own seed), nv on
Novig (the Novig v3 simulator's fills and cancels, as the v3 adapter reads them).

Feeds the simulator's own activity (:class:`~fillwatch.sim.feed.KalshiFeed`,
the frames ``fillwatch demo`` receives) through the Kalshi adapter into a
:class:`~fillwatch.render.table.FillBoard`, exactly as a live session would,
and writes the frame with rich's :meth:`~rich.console.Console.export_svg`.
Seed, clocks and time zone are fixed, so the picture changes only when the
view does. A tool, not part of a run: that is why it may reach past the
render layer into the simulator and the adapter.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console

from fillwatch.core.events import Backfilled, Cancel, Connected, Disconnected, Event, Fill
from fillwatch.render.board import DeskBoard
from fillwatch.render.session import Session
from fillwatch.render.table import FillBoard
from fillwatch.sim.feed import TITLES, KalshiFeed
from fillwatch.sim.novig_v3_feed import NovigV3Feed
from fillwatch.venues.kalshi.adapter import Kalshi

__all__ = ["DESK", "desk", "render", "render_desk"]

OUT = Path(__file__).resolve().parent.parent / "docs" / "table.svg"
SIZES = {"table.svg": (120, 40), "table-80x24.svg": (80, 24)}
"""The pictures the README shows: file name → (columns, rows)."""
DESK = {"watch-table.svg": (120, 36)}
"""The picture of a watch (three accounts in one table): file name → (columns, rows)."""
START = 1_795_293_000.0  # 2026-11-21 20:30:00 UTC
EVENTS = 60


def board() -> FillBoard:
    """A board after a minute of simulated activity (fixed seed, clocks and time zone)."""
    now = [START]
    feed = KalshiFeed(seed=21, clock=lambda: now[0])
    venue = Kalshi("snapshot", rsa.generate_private_key(public_exponent=65537, key_size=1024))
    session = Session(venue="kalshi", env="demo", clock=lambda: now[0])
    view = FillBoard(
        session,
        # One market without a title shows what a failed lookup looks like: the ticker alone.
        titles={("kalshi", market): title for market, title in TITLES.items() if "Boston" not in title},
        tz=UTC,
        wall_clock=lambda: now[0] + 0.4,
    )
    session.status(Connected("ws://127.0.0.1/trade-api/ws/v2", 1))
    shown = 0
    while shown < EVENTS:
        now[0] += 1.1
        for message in feed.next_event():
            for item in venue.parse(_dumps(message)):
                if isinstance(item, (Fill, Cancel)):
                    session.add(item)
                    view.add(item)
                    session.frame(now[0])
                    shown += 1
    return view


def desk() -> DeskBoard:
    """A watch's board after a minute of three accounts' simulated activity (fixed seeds, clocks, time zone)."""
    now = [START]
    sessions = {name: Session(venue=venue, env="prod", clock=lambda: now[0]) for name, venue in _ACCOUNTS}
    novig = NovigV3Feed(seed=7, clock_ms=lambda: int(now[0] * 1000))
    titles = {("kalshi", market): title for market, title in TITLES.items()}
    titles |= {("novig", m.market_id): m.catalog()["description"] for m in novig.markets.values()}
    outcomes = {("novig", o): n for m in novig.markets.values() for o, n in zip(m.outcomes, m.names, strict=True)}
    view = DeskBoard(sessions, titles=titles, outcomes=outcomes, tz=UTC, wall_clock=lambda: now[0] + 0.4)
    for session in sessions.values():
        session.status(Connected("wss://127.0.0.1/ws", 1))
    hedge = sessions["hedge"]  # one dropped connection, its gap filled from history
    hedge.status(Disconnected("connection closed (1006)", 0.5))
    hedge.status(Connected("wss://127.0.0.1/ws", 2))
    hedge.status(Backfilled(since=datetime.fromtimestamp(START, UTC), fills=2, cancels=1, seconds=0.2, downtime=1.3))
    sources = {"main": _kalshi(21, now), "hedge": _kalshi(5, now), "nv": _novig(novig, now)}
    shown = 0
    while shown < EVENTS:
        for name, source in sources.items():
            now[0] += 0.4
            for item in source():
                event = dataclasses.replace(item, account=name)
                sessions[name].add(event)
                sessions[name].frame(now[0])
                view.add(event)
                shown += 1
    return view


_ACCOUNTS = (("main", "kalshi"), ("hedge", "kalshi"), ("nv", "novig"))


def _kalshi(seed: int, now: list[float]) -> Callable[[], list[Event]]:
    """One Kalshi account's next events: the simulator's frames through the adapter."""
    feed = KalshiFeed(seed=seed, clock=lambda: now[0])
    venue = Kalshi("snapshot", rsa.generate_private_key(public_exponent=65537, key_size=1024))

    def step() -> list[Event]:
        frames = feed.next_event()
        return [item for message in frames for item in venue.parse(_dumps(message)) if isinstance(item, (Fill, Cancel))]

    return step


def _novig(feed: NovigV3Feed, now: list[float]) -> Callable[[], list[Event]]:
    """The Novig account's next events: the v3 simulator's fills and cancels, as the v3 adapter reads them."""
    seen = [0, 0]

    def step() -> list[Event]:
        feed.step()
        ts = datetime.fromtimestamp(now[0], UTC)
        events = [_novig_fill(feed, item, ts) for item in feed.fills[seen[0] :]]
        events += [_novig_cancel(feed, order_id, ts) for order_id, _ in feed.cancels[seen[1] :]]
        seen[:] = [len(feed.fills), len(feed.cancels)]
        return events

    return step


def _novig_fill(feed: NovigV3Feed, item: dict[str, Any], ts: datetime) -> Event:
    order = feed.orders[item["orderId"]]
    return Fill(
        venue="novig",
        id=item["fillId"],
        order_id=order.order_id,
        market=order.market_id,
        side=order.outcome_id,
        action="buy",
        price=order.price,
        qty=Decimal(item["qty"]),
        ts=ts,
        taker=item["taker"],
        fee=Decimal(item["fee"]) if "fee" in item else None,
        currency="USD",
    )


def _novig_cancel(feed: NovigV3Feed, order_id: str, ts: datetime) -> Event:
    order = feed.orders[order_id]
    return Cancel(
        venue="novig",
        id=order_id,
        order_id=order_id,
        market=order.market_id,
        side=order.outcome_id,
        action="buy",
        price=order.price,
        qty=Decimal(order.remaining),
        ts=ts,
        original_qty=Decimal(order.qty),
        currency="USD",
    )


def _console(width: int, height: int) -> Console:
    return Console(
        file=io.StringIO(),
        record=True,
        width=width,
        height=height,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        _environ={},
    )


def render(*, width: int = 120, height: int = 40, text: bool = False) -> str:
    """The SVG (or, with `text`, the plain text) of one frame of the live table."""
    console = _console(width, height)
    console.print(board())
    if text:
        return console.export_text()
    return console.export_svg(title=f"fillwatch demo ({width}×{height})", unique_id=f"fillwatch-table-{width}")


def render_desk(*, width: int = 120, height: int = 36, text: bool = False) -> str:
    """The SVG (or, with `text`, the plain text) of one frame of a watch's table: three accounts."""
    console = _console(width, height)
    console.print(desk())
    if text:
        return console.export_text()
    title = f"fillwatch watch -p main -p hedge -p nv ({width}×{height})"
    return console.export_svg(title=title, unique_id=f"fillwatch-watch-{width}")


def _dumps(message: object) -> str:
    return orjson.dumps(message).decode()


def main() -> None:
    """Write the SVGs into the directory given, or next to this module."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT.parent
    for name, (width, height) in SIZES.items():
        out = folder / name
        out.write_text(render(width=width, height=height), encoding="utf-8")
        print(f"wrote {out}")
    for name, (width, height) in DESK.items():
        out = folder / name
        out.write_text(render_desk(width=width, height=height), encoding="utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
