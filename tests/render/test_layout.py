"""Fitting text into cells: tickers lose their middle, never their end; amounts keep cents."""

from __future__ import annotations

from decimal import Decimal

from fillwatch.render.layout import elide, money


def test_a_ticker_is_elided_in_the_middle_keeping_its_last_part() -> None:
    """The strike survives: KXBTCD-26NOV2117-T98499 in 16 cells is KXBTCD-…-T98499."""
    assert elide("KXBTCD-26NOV2117-T98499", 30) == "KXBTCD-26NOV2117-T98499"
    assert elide("KXBTCD-26NOV2117-T98499", 16) == "KXBTCD-2…-T98499"
    assert elide("KXBTCD-26NOV2117-T98499", 8) == "…-T98499"
    assert elide("KXBTCD-26NOV2117-T98499", 5) == "…8499"
    assert elide("ABCDEFGHIJ", 5) == "…GHIJ"


def test_money_has_two_to_four_decimals_and_a_sign() -> None:
    """+2.50, -0.0125, 0.00, and 1.234567 rounds half-even to 1.2346."""
    assert [money(Decimal(v)) for v in ("2.5", "-0.0125", "0", "1.234567")] == ["+2.50", "-0.0125", "0.00", "+1.2346"]
    assert money(Decimal("0.12"), sign=False) == "0.12"
