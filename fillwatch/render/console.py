"""The consoles and the colour palette of the terminal views.

Consoles are built here and only here (STYLE §1.8): one for stdout, one for
stderr, each following ``--color``. ``auto`` lets rich decide: colour on a
terminal, none on a pipe, and attributes without colour under ``NO_COLOR``;
an explicit ``always``/``never`` wins over both.

The palette is one place for what a row looks like: buys green, sells red,
cancels yellow and dim, taker fills bold. The ``lines`` view turns the same
styles into raw ANSI prefixes once (:func:`ansi`), so that writing a line
costs no rich call at all.
"""

from __future__ import annotations

from typing import Literal, TextIO, TypeAlias

from rich.console import COLOR_SYSTEMS, Console
from rich.style import Style

from fillwatch.core.events import Cancel, Event

__all__ = [
    "BUY",
    "CANCEL",
    "DIM",
    "OTHER",
    "SELL",
    "TAKER",
    "ColorMode",
    "ansi",
    "direction",
    "make_console",
    "row_style",
]

ColorMode: TypeAlias = Literal["auto", "always", "never"]
"""``--color``: follow the terminal and ``NO_COLOR``, or force colour on or off."""

BUY = Style(color="green")
SELL = Style(color="red")
CANCEL = Style(color="yellow", dim=True)
OTHER = Style()
TAKER = Style(bold=True)
DIM = Style(dim=True)


def direction(event: Event) -> str | None:
    """``buy`` or ``sell`` in YES-equivalent terms (buying NO is selling YES), None when unknown.

    Kalshi's lines say ``buy`` of the outcome bought; a row is green when it adds
    YES exposure and red when it adds NO exposure. Off binary markets (Novig's
    outcomes) every order buys an outcome, which says nothing of long or short:
    no direction (the row keeps the terminal's colour), unless a line says ``sell``.
    """
    action = event.action
    if action not in ("buy", "sell", None):
        return None
    side = event.side.lower()
    if side not in ("yes", "no"):
        return "sell" if action == "sell" else None
    action = action or "buy"
    return action if side == "yes" else "sell" if action == "buy" else "buy"


def row_style(event: Event) -> Style:
    """The colour of an event's row or line: by YES-equivalent direction."""
    if isinstance(event, Cancel):
        return CANCEL
    way = direction(event)
    return BUY if way == "buy" else SELL if way == "sell" else OTHER


def make_console(
    color: ColorMode = "auto", *, stderr: bool = False, file: TextIO | None = None, width: int | None = None
) -> Console:
    """A console for stdout (or stderr) that follows `color`."""
    if color == "never":
        return Console(file=file, stderr=stderr, color_system=None, no_color=True, highlight=False, width=width)
    if color == "always":
        return Console(file=file, stderr=stderr, force_terminal=True, no_color=False, highlight=False, width=width)
    return Console(file=file, stderr=stderr, highlight=False, width=width)


def ansi(console: Console, style: Style) -> tuple[str, str]:
    """The escape sequences that turn `style` on and off on `console` ("" when it shows no colour)."""
    if console.color_system is None:
        return "", ""
    if console.no_color:
        style = style.without_color
    rendered = style.render("\0", color_system=COLOR_SYSTEMS[console.color_system])
    prefix, _, suffix = rendered.partition("\0")
    return prefix, suffix
