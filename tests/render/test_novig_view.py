"""Novig in the views: names instead of ids, contracts with their currency, the cost of a CASH fill."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal

from fillwatch.core.events import Fill
from fillwatch.render.lines import LineFormatter
from fillwatch.render.session import Session
from fillwatch.render.summary import summary
from fillwatch.render.table import FillBoard
from tests.render.helpers import TS, console, output

MARKET = "123e4567-e89b-12d3-a456-426614174002"
OVER = "123e4567-e89b-12d3-a456-426614174003"
TITLES = {("novig", MARKET): "KC Chiefs vs BUF Bills — KC v BUF Total"}
OUTCOMES = {("novig", OVER): "Over 47.5"}


def novig_fill(*, qty: str = "50", currency: str | None = "CASH") -> Fill:
    """The private `fill` example of protocols/novig.md §4.3: qty 50 MCU @ 0.667 on outcome `…4003`."""
    return Fill(venue="novig", id="f1", order_id="o1", market=MARKET, side=OVER, action="buy", price=Decimal("0.667"),
                qty=Decimal(qty), ts=TS, taker=True, currency=currency)  # fmt: skip


def test_a_cash_fill_line_has_names_contracts_and_its_dollar_cost() -> None:
    """§4.6: 50 MCU of CASH @ 0.667 is 0.5 contracts ($0.50 payout) costing $0.3335; ids give way to names."""
    fmt = LineFormatter(console(color_system=None), titles=TITLES, outcomes=OUTCOMES, tz=UTC)
    line = fmt(novig_fill())
    assert re.search(r"BUY +Over 47\.5 +0\.5 CASH @ 0\.667 +\$0\.3335 +KC Chiefs vs BUF Bills — KC v BUF Total", line)
    assert MARKET not in line
    assert OVER not in line


def test_a_coin_fill_is_counted_in_coins_without_a_dollar_cost() -> None:
    """COIN has no dollar value: 50 units are 50 coins of payout, no $ cost."""
    fmt = LineFormatter(console(color_system=None), titles=TITLES, outcomes=OUTCOMES, tz=UTC)
    line = fmt(novig_fill(currency="COIN"))
    assert re.search(r" 50 COIN @ 0\.667 ", line)
    assert "$" not in line


def test_the_table_and_summary_name_the_market_and_outcome() -> None:
    """The table's row shows the title and the outcome's name, qty in contracts with CASH; the summary names both."""
    session = Session(venue="novig", env="prod")
    board = FillBoard(session, titles=TITLES, outcomes=OUTCOMES, tz=UTC, wall_clock=lambda: 0.0)
    for event in (novig_fill(), novig_fill(qty="150")):
        session.add(event)
        board.add(event)
    target = console(color_system=None, width=160)
    target.print(board)
    text = output(target)
    row = next(line for line in text.splitlines() if line.startswith("20:33:25"))
    assert "KC Chiefs vs BUF Bills" in row
    assert "Over 47.5" in row
    assert "1.5 CASH" in row
    assert MARKET not in text
    target = console(color_system=None, width=160)
    target.print(summary(session, titles=TITLES, outcomes=OUTCOMES))
    assert re.search(r"KC Chiefs vs BUF Bills — KC v BUF Total: Over 47\.5 \(CASH\) +\+2 +0\.667", output(target))


def test_novig_fills_are_not_all_green() -> None:
    """Every Novig order buys an outcome: its lines keep the terminal's colour rather than all reading as buys."""
    from fillwatch.render.console import BUY, row_style

    fmt = LineFormatter(console(color_system="standard"), titles=TITLES, outcomes=OUTCOMES, tz=UTC)
    assert not fmt(novig_fill()).startswith("\x1b[32m")
    assert row_style(novig_fill()) != BUY


def test_v3_contracts_read_as_contracts_not_dollars() -> None:
    """api_concepts_money.md (a v3 ``qty`` counts whole contracts): the ``USD`` currency gets no label."""
    fmt = LineFormatter(console(color_system=None), titles=TITLES, outcomes=OUTCOMES, tz=UTC)
    line = fmt(novig_fill(qty="257", currency="USD"))
    assert re.search(r"Over 47\.5 +257 +@ 0\.667 ", line)
    assert "USD" not in line
    session = Session(venue="novig", env="prod")
    board = FillBoard(session, titles=TITLES, outcomes=OUTCOMES, tz=UTC, wall_clock=lambda: 0.0)
    session.add(novig_fill(qty="257", currency="USD"))
    board.add(novig_fill(qty="257", currency="USD"))
    target = console(color_system=None, width=160)
    target.print(board)
    target.print(summary(session, titles=TITLES, outcomes=OUTCOMES))
    text = output(target)
    assert " 257 " in text
    assert "USD" not in text
