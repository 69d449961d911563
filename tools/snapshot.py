"""Regenerate the README's pictures of the live table: ``python -m tools.snapshot [DIR]``.

Two frames, one at 120×40 (``table.svg``) and one at 80×24 (``table-80x24.svg``).

Feeds the simulator's own activity (:class:`~fillwatch.sim.feed.KalshiFeed`,
the frames ``fillwatch demo`` receives) through the Kalshi adapter into a
:class:`~fillwatch.render.table.FillBoard`, exactly as a live session would,
and writes the frame with rich's :meth:`~rich.console.Console.export_svg`.
Seed, clocks and time zone are fixed, so the picture changes only when the
view does. A tool, not part of a run: that is why it may reach past the
render layer into the simulator and the adapter.
"""

from __future__ import annotations

import io
import sys
from datetime import UTC
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console

from fillwatch.core.events import Cancel, Connected, Fill
from fillwatch.render.session import Session
from fillwatch.render.table import FillBoard
from fillwatch.sim.feed import TITLES, KalshiFeed
from fillwatch.venues.kalshi.adapter import Kalshi

__all__ = ["render"]

OUT = Path(__file__).resolve().parent.parent / "docs" / "table.svg"
SIZES = {"table.svg": (120, 40), "table-80x24.svg": (80, 24)}
"""The pictures the README shows: file name → (columns, rows)."""
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


def render(*, width: int = 120, height: int = 40, text: bool = False) -> str:
    """The SVG (or, with `text`, the plain text) of one frame of the live table."""
    console = Console(
        file=io.StringIO(),
        record=True,
        width=width,
        height=height,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        _environ={},
    )
    console.print(board())
    if text:
        return console.export_text()
    return console.export_svg(title=f"fillwatch demo ({width}×{height})", unique_id=f"fillwatch-table-{width}")


def _dumps(message: object) -> str:
    return orjson.dumps(message).decode()


def main() -> None:
    """Write the SVGs into the directory given, or next to this module."""
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT.parent
    for name, (width, height) in SIZES.items():
        out = folder / name
        out.write_text(render(width=width, height=height), encoding="utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
