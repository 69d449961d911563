"""Events and consoles shared by the render tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

from rich.console import Console

from fillwatch.core.events import Cancel, Fill

TS = datetime(2026, 11, 21, 20, 33, 25, 762000, tzinfo=UTC)

# What a hostile venue could put in a ticker: a window-title OSC, a colour, a cursor move.
EVIL = "EVIL\x1b]0;pwned\x07\x1b[31m\x1b[2J[bold]x"


def fill(market: str = "KXFED", *, side: str = "yes", action: str | None = "buy", price: str = "0.40",
         qty: str = "10", fee: str | None = "0.07", taker: bool | None = False, position: str | None = "10",
         ts: datetime = TS) -> Fill:  # fmt: skip
    """A fill with the given fields (money as text, kept exact)."""
    return Fill(
        venue="kalshi",
        id=f"t-{market}-{price}-{qty}",
        order_id="o1",
        market=market,
        side=side,
        action=action,
        price=Decimal(price),
        qty=Decimal(qty),
        ts=ts,
        taker=taker,
        fee=None if fee is None else Decimal(fee),
        position=None if position is None else Decimal(position),
        currency="USD",
    )


def cancel(market: str = "KXFED", *, side: str = "yes", action: str | None = "buy", qty: str = "4") -> Cancel:
    """A cancel of an order with 4 of 10 contracts left."""
    return Cancel(
        venue="kalshi",
        id="o2",
        order_id="o2",
        market=market,
        side=side,
        action=action,
        price=Decimal("0.35"),
        qty=Decimal(qty),
        ts=TS,
        original_qty=Decimal(10),
        currency="USD",
    )


def console(*, width: int = 120, height: int = 30, color_system: str | None = "truecolor") -> Console:
    """A fixed terminal-like console writing into a StringIO (read with ``.file.getvalue()``)."""
    return Console(
        file=StringIO(),
        width=width,
        height=height,
        color_system=color_system,  # type: ignore[arg-type]
        force_terminal=True,
        legacy_windows=False,
        _environ={},
    )


def output(target: Console) -> str:
    """What was written to a console made by :func:`console`."""
    assert isinstance(target.file, StringIO)
    return target.file.getvalue()
