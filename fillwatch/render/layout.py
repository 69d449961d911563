"""Fitting text into cells: padding, cutting, and eliding a ticker in the middle.

A ticker's distinguishing part is its end (``KXBTCD-26NOV2117-T98499``: the
strike), so a ticker too long for its column loses characters from the
middle, never the end.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from rich.cells import cell_len, set_cell_size

__all__ = ["elide", "fit", "money"]

_TICK = Decimal("0.0001")


def fit(text: str, width: int, right: bool = False) -> str:
    """`text` padded (or cut, with an ellipsis) to exactly `width` cells."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = " " * (width - length)
    return pad + text if right else text + pad


def elide(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut in the middle: its start, ``…``, its last ``-`` part whole."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return set_cell_size(text, max(width, 0))
    cut = text.rfind("-")
    tail = text[cut:] if cut > 0 else ""
    if not tail or cell_len(tail) + 2 > width:
        tail = text[-(width - 1) :]
        while cell_len(tail) > width - 1:
            tail = tail[1:]
        return "…" + tail
    head = set_cell_size(text, width - cell_len(tail) - 1).rstrip()
    return head + "…" + tail


def money(value: Decimal, *, sign: bool = True) -> str:
    """An amount with at least two decimals and at most four: +2.50, -0.0125, 0.00 (`sign`: a + when positive)."""
    try:
        rounded = value.quantize(_TICK, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:  # too many digits for four decimals (or not a number): as it is
        return f"{value:+}" if sign else f"{value}"
    text = f"{abs(rounded):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    lead = "-" if rounded < 0 else "+" if rounded > 0 and sign else ""
    return f"{lead}{whole}.{frac}"
