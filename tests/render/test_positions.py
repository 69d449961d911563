"""Position and realized P&L per market (FIFO, YES-equivalent), checked against hand-computed figures."""

from __future__ import annotations

from decimal import Decimal

from fillwatch.render.positions import Book, yes_terms
from tests.render.helpers import cancel, fill

D = Decimal


def book_of(*events, starting=()) -> Book:
    book = Book(starting)
    for event in events:
        book.add(event)
    return book


def test_buying_no_is_selling_yes_at_one_minus_the_price() -> None:
    """A NO buy at 0.30 is −qty YES at 0.70; a legacy NO sell at 0.30 is +qty YES at 0.70."""
    assert yes_terms(fill(side="no", action="buy", price="0.30", qty="5")) == (D(-5), D("0.70"))
    assert yes_terms(fill(side="no", action="sell", price="0.30", qty="5")) == (D(5), D("0.70"))
    assert yes_terms(fill(side="yes", action="sell", price="0.30", qty="5")) == (D(-5), D("0.30"))
    assert yes_terms(fill(side="yes", action=None, price="0.30", qty="5")) == (D(5), D("0.30"))


def test_one_row_per_market_whatever_the_side() -> None:
    """YES and NO fills of one market land in one position: +10 YES then 4 NO is +6."""
    book = book_of(
        fill("M", side="yes", price="0.40", qty="10", position=None),
        fill("M", side="no", price="0.45", qty="4", position=None),
    )
    [position] = book.ordered()
    assert position.net == D(6)
    # 4 of the 10 bought at 0.40 sold at 1 − 0.45 = 0.55: 4 × 0.15 = 0.60.
    assert position.realized == D("0.60")
    assert position.average == D("0.40")


def test_partial_fills_fifo() -> None:
    """Buy 10 @0.40, buy 10 @0.50, sell 15 @0.60: 10×0.20 + 5×0.10 = 2.50; 5 left at 0.50."""
    book = book_of(
        fill("M", price="0.40", qty="10", position=None),
        fill("M", price="0.50", qty="10", position=None),
        fill("M", action="sell", price="0.60", qty="7", position=None),
        fill("M", action="sell", price="0.60", qty="8", position=None),
    )
    position = book.positions[("kalshi", "M", None)]
    assert position.realized == D("2.50")
    assert position.net == D(5)
    assert position.average == D("0.50")


def test_a_flip_from_long_to_short() -> None:
    """Long 10 @0.40, then buy 25 NO @0.35 (sell 25 YES @0.65): +2.50 realized, short 15 @0.65."""
    book = book_of(
        fill("M", price="0.40", qty="10", position=None),
        fill("M", side="no", price="0.35", qty="25", position=None),
    )
    position = book.positions[("kalshi", "M", None)]
    assert position.realized == D("2.50")
    assert position.net == D(-15)
    assert position.average == D("0.65")
    # Cover 15 @0.80: a short loses 15 × 0.15 = 2.25; flat.
    book.add(fill("M", price="0.80", qty="15", position=None))
    assert position.realized == D("0.25")
    assert position.net == 0
    assert position.average is None


def test_fees_are_summed_apart_and_cancels_counted() -> None:
    """Fees add up exactly (0.07 + 0.0175 + 0.01) and do not enter the gross P&L; cancels are counted."""
    book = book_of(
        fill("M", price="0.40", qty="10", fee="0.07", position=None),
        fill("M", action="sell", price="0.40", qty="5", fee="0.0175", position=None),
        fill("N", fee="0.01", position=None),
        cancel("M"),
    )
    assert book.positions[("kalshi", "M", None)].fees == D("0.0875")
    assert book.positions[("kalshi", "M", None)].cancels == 1
    assert book.positions[("kalshi", "M", None)].realized == 0
    assert book.fees() == D("0.0975")


def test_the_venue_position_then_the_start_then_the_session() -> None:
    """The last fill's venue position wins; without one, start + net; without a start, net."""
    with_venue = book_of(fill("A", qty="3", position="53"))
    assert with_venue.positions[("kalshi", "A", None)].position == D(53)
    started = book_of(fill("B", side="no", qty="3", position=None), starting=[("kalshi", "B", D(20))])
    assert started.positions[("kalshi", "B", None)].position == D(17)
    bare = book_of(fill("C", side="no", qty="3", position=None))
    assert bare.positions[("kalshi", "C", None)].position == D(-3)


def test_an_outcome_off_a_binary_market_is_its_own_instrument() -> None:
    """A Novig-style outcome keeps its own price and sign: buy 4 @0.25, sell 4 @0.30 is +0.20."""
    book = book_of(
        fill("GAME", side="over-26.5", price="0.25", qty="4", position=None),
        fill("GAME", side="over-26.5", action="sell", price="0.30", qty="4", position=None),
    )
    position = book.positions[("kalshi", "GAME", "over-26.5")]
    assert position.realized == D("0.20")
    assert position.net == 0


def test_numbers_no_arithmetic_can_use_do_not_break_the_views() -> None:
    """A NaN quantity is counted as a fill but not traded; a 40-digit price still renders in the summary."""
    from fillwatch.render.session import Session
    from fillwatch.render.summary import summary
    from tests.render.helpers import console, output

    session = Session(venue="kalshi", env="prod")
    session.add(fill("M", qty="NaN", position=None))
    session.add(fill("N", price="1" + "0" * 40, qty="1", fee="NaN", position=None))
    position = session.book.positions[("kalshi", "M", None)]
    assert (position.fills, position.net) == (1, 0)
    target = console(color_system=None, width=200)
    target.print(summary(session))
    assert "E+40" in output(target)
