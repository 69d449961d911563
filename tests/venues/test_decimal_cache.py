"""Decimals read from text are kept by their text: the same value every time, refusals included, memory bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillwatch.venues import base
from fillwatch.venues.base import to_decimal


def test_a_repeated_text_reads_the_same_exact_decimal() -> None:
    """A second reading of ``"0.7500"`` is the Decimal of the first, digits and exponent kept (``-0`` too)."""
    for text in ("0.7500", "278.00", "-0", "1E+2", "0.000001"):
        first, again = to_decimal(text), to_decimal(text)
        assert again is first
        assert str(again) == str(Decimal(text))
    assert str(to_decimal("0.75")) == "0.75"  # an equal value under other text is its own entry


def test_refused_texts_are_refused_every_time() -> None:
    """An out-of-range or unreadable text raises on every reading: nothing refused is kept."""
    for text in ("1e-999", "NaN", "x", "9" * 30):
        for _ in range(2):
            with pytest.raises(ValueError, match="number"):
                to_decimal(text)
        assert text not in base._DECIMALS


def test_the_kept_decimals_are_bounded() -> None:
    """Reading many distinct texts keeps at most the bound, and every reading stays exact."""
    for n in range(3 * base._DECIMALS_KEPT):
        assert to_decimal(f"{n}.50") == Decimal(n) + Decimal("0.5")
    assert len(base._DECIMALS) <= base._DECIMALS_KEPT
